"""Short real training runs of the vanilla family: they must learn, not just run."""

import numpy as np

from tfgan_zoo import build, config, metrics, paths, training


def test_short_ring_run_covers_all_eight_modes(tmp_path):
    cfg = config.load(
        paths.config_path("vanilla_ring8"),
        ["train.steps=2000", "train.lr_schedule=constant", "data.batch_size=128", "runtime.precision=float32"],
    )
    gan, history = training.train(cfg, tmp_path, verbose=0)
    source = build.load_source(cfg, "test")
    result = metrics.mode_coverage(gan.sample(2500, seed=7), source.metadata["centers"], source.metadata["std"])
    assert result["modes_covered"] == 8, result
    assert result["high_quality"] > 0.8, result
    assert result["reverse_kl"] < 0.3, result
    assert history.history["high_quality"][-1] > history.history["high_quality"][0]


def test_gaussian2d_learns_the_mean_and_covariance(tmp_path, zoo_config):
    cfg = zoo_config("vanilla_gaussian2d", ["train.steps=2000"])
    gan, history = training.train(cfg, tmp_path, verbose=0)
    errors = metrics.moment_errors(gan.sample(20000, seed=1), [1.0, -1.0], [[1.0, 0.5], [0.5, 2.0]])
    assert errors["mean_error"] < 0.25, errors
    assert errors["cov_error"] < 0.5, errors
    untrained = build.build_gan(cfg, (2,))
    before = metrics.moment_errors(untrained.sample(20000, seed=1), [1.0, -1.0], [[1.0, 0.5], [0.5, 2.0]])
    assert errors["mean_error"] + errors["cov_error"] < 0.3 * (before["mean_error"] + before["cov_error"])
    assert np.isfinite(history.history["cov_error"][-1])

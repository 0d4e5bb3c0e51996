"""Training from a config: the workdir's outputs, exact resume, and the errors that protect a run."""

import numpy as np
import pytest

from tfgan_zoo import config, training, zoo

TINY = ["data.num_examples=2000", "data.batch_size=64", "model.generator_units=[16, 16]",
        "model.discriminator_units=[16, 16]", "train.steps_per_epoch=2", "runtime.jit_compile=false",
        "eval.num_samples=200", "train.label_noise=0.1", "train.instance_noise=0.1",
        "train.instance_noise_decay_steps=10", "train.d_steps=2", "model.ema_decay=0.9",
        "train.lr_schedule=constant"]  # a decay schedule spans train.steps, which these tests extend


def tiny_config(*overrides):
    return config.load(zoo.config_path("vanilla_ring8"), TINY + list(overrides))


def all_weights(gan):
    return gan.generator.get_weights() + gan.discriminator.get_weights() + gan.ema_generator.get_weights()


def test_a_run_writes_its_outputs(tmp_path):
    gan, history = training.train(tiny_config("train.steps=4"), tmp_path, verbose=0)
    for name in ["config.yaml", "history.csv", "samples.png", "losses.png", "gan.keras", "checkpoints/checkpoint"]:
        assert (tmp_path / name).exists(), name
    assert len(list((tmp_path / "samples").glob("step_*.png"))) == 2
    assert list((tmp_path / "logs").rglob("events.out.tfevents.*"))
    assert {"modes_covered", "high_quality", "reverse_kl", "spread"} <= set(history.history)
    assert int(gan.step.numpy()) == 4


def test_resumed_run_ends_with_the_weights_of_an_uninterrupted_one(tmp_path):
    straight, _ = training.train(tiny_config("train.steps=6"), tmp_path / "straight", verbose=0)
    training.train(tiny_config("train.steps=2"), tmp_path / "resumed", verbose=0)
    resumed, _ = training.train(tiny_config("train.steps=6"), tmp_path / "resumed", verbose=0)
    assert int(resumed.step.numpy()) == 6
    assert int(resumed.d_optimizer.iterations.numpy()) == 12
    for a, b in zip(all_weights(straight), all_weights(resumed)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    rows = (tmp_path / "resumed" / "history.csv").read_text().strip().splitlines()
    assert len(rows) == 1 + 3  # header + one row per epoch across both invocations


def test_a_workdir_refuses_a_different_config(tmp_path):
    training.train(tiny_config("train.steps=2"), tmp_path, verbose=0)
    with pytest.raises(config.ConfigError, match=r"different config \(changed: train\.loss\)"):
        training.train(tiny_config("train.steps=2", "train.loss=least_squares"), tmp_path, verbose=0)
    assert (tmp_path / "checkpoints" / "checkpoint").exists()


def test_steps_must_fill_whole_epochs(tmp_path):
    with pytest.raises(config.ConfigError, match=r"train\.steps \(3\) must be a multiple of train\.steps_per_epoch \(2\)"):
        training.train(tiny_config("train.steps=3"), tmp_path, verbose=0)


def test_unknown_family_and_schedule(tmp_path):
    with pytest.raises(config.ConfigError, match="Unknown model.family 'vanila'"):
        training.train(tiny_config("train.steps=2", "model.family=vanila"), tmp_path / "a", verbose=0)
    with pytest.raises(config.ConfigError, match="Unknown train.lr_schedule 'cosine'"):
        training.train(tiny_config("train.steps=2", "train.lr_schedule=cosine"), tmp_path / "b", verbose=0)


def test_linear_decay_reaches_zero_at_the_last_step(tmp_path):
    gan, _ = training.train(tiny_config("train.steps=4", "train.lr_schedule=linear_decay"), tmp_path, verbose=0)
    assert float(gan.g_optimizer.learning_rate) == pytest.approx(0.0)
    assert float(gan.d_optimizer.learning_rate) == pytest.approx(0.0)

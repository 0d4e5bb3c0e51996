"""`MetricsCallback` during `fit`: values in History and CSVLogger, NaN between evaluations, the best model kept."""

import functools
import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfgan_zoo import data, metrics

RING = data.load("ring8", num_examples=512)
DIGITS = data.load("digits", "train")


def coverage(samples):
    return metrics.mode_coverage(samples, RING.metadata["centers"], RING.metadata["std"])


def test_values_reach_history_csv_and_tensorboard_every_n_epochs_and_the_best_model_is_saved(tmp_path, mlp_gan):
    gan = mlp_gan(output_activation="tanh", jit_compile=False)
    callback = metrics.MetricsCallback(
        coverage, num_samples=200, every_n_epochs=2, best_path=str(tmp_path / "best.keras"), monitor="high_quality"
    )
    csv = tmp_path / "history.csv"
    history = gan.fit(
        data.make_dataset(RING, 64),
        epochs=5,
        steps_per_epoch=1,
        verbose=0,
        callbacks=[callback, keras.callbacks.CSVLogger(str(csv)), keras.callbacks.TensorBoard(str(tmp_path / "logs"))],
    )
    values = history.history["high_quality"]
    # Evaluated: the first epoch, epochs 2 and 4 (1-based), and the last; NaN in between.
    assert [math.isnan(v) for v in values] == [False, False, True, False, False]
    assert set(history.history) >= {"modes_covered", "reverse_kl", "spread", "d_loss"}
    assert "high_quality" in csv.read_text().splitlines()[0]
    tags = {
        value.tag
        for path in (tmp_path / "logs").rglob("events.out.tfevents.*")
        for event in tf.compat.v1.train.summary_iterator(str(path))
        for value in event.summary.value
    }
    assert "epoch_high_quality" in tags
    assert callback.mode == "max" and callback.best == max(v for v in values if not math.isnan(v))
    assert keras.models.load_model(tmp_path / "best.keras").latent_dim == 4


def test_image_metrics_of_a_conditional_gan(mlp_gan):
    pixels = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(name="pixels")])
    extractor = metrics.FeatureExtractor(pixels, "pixels")
    gan = mlp_gan((8, 8, 1), 10, output_activation="tanh", jit_compile=False)
    image_metrics = metrics.ImageMetrics(DIGITS.x[:300], extractor, ["fd", "kid", "precision_recall"])
    history = gan.fit(
        data.make_dataset(DIGITS, 32),
        epochs=1,
        steps_per_epoch=1,
        verbose=0,
        callbacks=[metrics.MetricsCallback(image_metrics, num_samples=300)],
    )
    assert {"fd", "kid", "kid_std", "precision", "recall"} <= set(history.history)
    assert history.history["fd"][0] > 0


def test_clear_errors(mlp_gan):
    with pytest.raises(ValueError, match="best_path needs monitor"):
        metrics.MetricsCallback(coverage, best_path="best.keras")
    with pytest.raises(ValueError, match="Unknown image metric.*fid"):
        metrics.ImageMetrics(DIGITS.x, None, ["fid"])
    gan = mlp_gan(output_activation="tanh", jit_compile=False)
    with pytest.raises(KeyError, match="monitor='fd' is not among the metrics computed: modes_covered"):
        gan.fit(
            data.make_dataset(RING, 64),
            epochs=1,
            steps_per_epoch=1,
            verbose=0,
            callbacks=[metrics.MetricsCallback(functools.partial(coverage), num_samples=100, monitor="fd")],
        )


def test_balanced_labels():
    from tfgan_zoo.metrics import suite  # pylint: disable=import-outside-toplevel

    labels = suite.balanced_labels(103, 10, seed=1)
    assert np.bincount(labels).tolist() == [11, 11, 11] + [10] * 7
    assert labels[:10].tolist() != list(range(10))  # shuffled


def test_a_registered_metric_sets_the_callbacks_direction():
    metrics.register("my_score", better="higher")
    assert metrics.MetricsCallback(lambda x: {}, best_path="best.keras", monitor="my_score").mode == "max"
    assert metrics.MetricsCallback(lambda x: {}, best_path="best.keras", monitor="fd").mode == "min"
    with pytest.raises(ValueError, match="spread is best neither high nor low"):
        metrics.MetricsCallback(lambda x: {}, monitor="spread")

"""Feature extractors: any Keras model, the shipped Fashion-MNIST classifier, InceptionV3's clear failure offline."""

import json

import keras
import numpy as np
import pytest

from tfgan_zoo import data, metrics, paths

RNG = np.random.default_rng(0)


def pixels_and_probabilities(input_shape=(8, 8, 1)):
    inputs = keras.Input(input_shape)
    flat = keras.layers.Flatten(name="flat")(inputs)
    return keras.Model(inputs, keras.layers.Dense(3, activation="softmax", name="probs")(flat), name="toy")


def test_a_user_model_gives_its_layer_as_features_in_its_input_range():
    extractor = metrics.FeatureExtractor(
        pixels_and_probabilities(), "flat", "probs", input_range=(0.0, 255.0), batch_size=7
    )
    images = RNG.uniform(-1, 1, size=(20, 8, 8, 1)).astype(np.float32)
    feats, logits = extractor(images)
    np.testing.assert_allclose(feats, (images.reshape(20, -1) + 1) * 127.5, rtol=1e-5)
    # A softmax layer gives probabilities; their logs are logits of the same distribution.
    probabilities = extractor.model(extractor._prepare(images))[1]  # pylint: disable=protected-access
    np.testing.assert_allclose(keras.ops.softmax(logits), probabilities, atol=1e-6)
    assert extractor.info == {"name": "toy", "feature_layer": "flat", "logits_layer": "probs"}


def test_images_are_resized_and_grey_becomes_rgb():
    extractor = metrics.FeatureExtractor(pixels_and_probabilities((16, 16, 3)), "flat")
    feats, logits = extractor(np.zeros((4, 8, 8, 1), np.float32))
    assert feats.shape == (4, 16 * 16 * 3) and logits is None


def test_an_unknown_layer_names_the_model_layers():
    with pytest.raises(ValueError, match=r"no layer 'pool'; its layers are: .*flat, probs"):
        metrics.FeatureExtractor(pixels_and_probabilities(), "pool")


def test_inception_without_weights_fails_with_a_clear_message(monkeypatch):
    def offline(**kwargs):  # What Keras raises when the weights cannot be downloaded.
        # pylint: disable-next=broad-exception-raised
        raise Exception(
            "URL fetch failure on https://storage.googleapis.com/...: None -- [Errno -2] Name or service not known"
        )

    monkeypatch.setattr(keras.applications, "InceptionV3", offline)
    with pytest.raises(
        metrics.EvaluatorUnavailableError,
        match=r"InceptionV3's ImageNet weights .* ~/\.keras/models/.*fashion_mnist_classifier",
    ):
        metrics.inception_v3()


def test_an_unknown_evaluator_lists_the_shipped_ones():
    with pytest.raises(metrics.EvaluatorUnavailableError, match="No evaluator 'nope'.*fashion_mnist_classifier"):
        metrics.load_evaluator("nope")


def test_the_shipped_evaluator_matches_its_card():
    folder = paths.evaluators()["fashion_mnist_classifier"][1]
    card = json.loads((folder / "model_card.json").read_text())
    assert card["test_accuracy"] >= 0.92
    assert (folder / card["file"]).stat().st_size < 2_000_000
    assert card["training"]["command"].startswith("python tools/train_evaluator.py")
    evaluator = metrics.load_evaluator()
    assert evaluator.info["test_accuracy"] == card["test_accuracy"]
    assert evaluator.input_range == (-1.0, 1.0)


@pytest.mark.skipif(
    not data.images._DEBIAN_FASHION_MNIST.is_dir(), reason="Debian's dataset-fashion-mnist not installed"
)
def test_the_shipped_evaluator_classifies_the_test_split():
    test = data.load("fashion_mnist", "test", num_examples=2000)
    feats, logits = metrics.load_evaluator()(test.x)
    assert feats.shape == (2000, 128) and logits.shape == (2000, 10)
    assert (logits.argmax(1) == test.y).mean() > 0.9

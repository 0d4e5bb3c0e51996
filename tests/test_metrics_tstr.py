"""TSTR: a perfect generator matches real data, a useless one scores chance, and the protocol is deterministic."""

import numpy as np
import pytest

from tfgan_zoo import data, metrics
from tfgan_zoo.metrics import tstr

TRAIN, TEST = data.load("digits", "train"), data.load("digits", "test")


class RealSampler:
    """A perfect conditional generator: real training examples of the requested classes."""

    num_classes = 10

    def sample(self, n, seed=0, labels=None):
        rng = np.random.default_rng(seed)
        return np.stack([TRAIN.x[rng.choice(np.flatnonzero(TRAIN.y == label))] for label in labels])


def test_a_perfect_generator_scores_like_real_data():
    result = metrics.train_on_synthetic_test_on_real(
        RealSampler(), (TRAIN.x, TRAIN.y), (TEST.x, TEST.y), num_samples=1000
    )
    assert result["real_accuracy"] > 0.8
    assert result["tstr_ratio"] == pytest.approx(1.0, abs=0.1)
    assert result["tstr_ratio"] == result["tstr_accuracy"] / result["real_accuracy"]


def test_the_protocol_is_deterministic_and_leaves_global_randomness_alone():
    state = np.random.get_state()[1].copy()
    first = tstr.classifier_accuracy(TRAIN.x[:300], TRAIN.y[:300], TEST.x, TEST.y, 10, seed=3)
    assert tstr.classifier_accuracy(TRAIN.x[:300], TRAIN.y[:300], TEST.x, TEST.y, 10, seed=3) == first
    np.testing.assert_array_equal(np.random.get_state()[1], state)


def test_class_recalls_are_the_share_of_each_class_predicted_as_itself():
    labels = np.array([0, 0, 0, 0, 1, 1, 2, 2, 2])
    predicted = np.array([0, 0, 1, 2, 1, 1, 0, 0, 2])
    np.testing.assert_allclose(tstr.class_recalls(predicted, labels, 4), [0.5, 1.0, 1 / 3, np.nan])


def test_tstr_needs_a_conditional_generator():
    class Unconditional:
        num_classes = 0

    with pytest.raises(ValueError, match="conditional generator"):
        metrics.train_on_synthetic_test_on_real(Unconditional(), (TRAIN.x, TRAIN.y), (TEST.x, TEST.y))

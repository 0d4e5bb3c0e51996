"""Mode coverage with the PacGAN protocol, on samplers whose answers are known."""

import math

import numpy as np
import pytest

from tfgan_zoo import data, metrics
from tfgan_zoo.metrics import mixture

RING = data.load("ring8", num_examples=10)


def mixture_samples(n, std, seed=0, modes=None):
    rng = np.random.default_rng(seed)
    centers = RING.metadata["centers"]
    which = rng.integers(len(centers), size=n) if modes is None else np.resize(modes, n)
    return centers[which] + std * rng.standard_normal((n, 2))


def coverage(samples):
    return metrics.mode_coverage(samples, RING.metadata["centers"], RING.metadata["std"])


def test_a_perfect_sampler_scores_the_gaussian_mass_within_three_std():
    result = coverage(mixture_samples(20000, 0.01))
    assert result["modes_covered"] == 8
    assert result["high_quality"] == pytest.approx(1 - math.exp(-4.5), abs=0.003)  # 98.9%
    assert result["spread"] == pytest.approx(1.0, abs=0.02)
    assert result["reverse_kl"] < 0.01


def test_real_samples_have_a_spread_of_one():
    # Within 3 std, a faithful sample lies E[r | r <= 3] = 1.2303 std from its mode, not sqrt(pi/2) = 1.2533:
    # dividing by the untruncated mean scored real samples 0.983.
    assert mixture.truncated_rayleigh_mean(3.0) == pytest.approx(1.23027, abs=1e-5)
    assert mixture.truncated_rayleigh_mean(50.0) == pytest.approx(math.sqrt(math.pi / 2))
    for name in ("ring8", "grid25"):
        source = data.load(name, num_examples=200000, seed=1)
        spread = metrics.mode_coverage(source.x, source.metadata["centers"], source.metadata["std"])["spread"]
        assert spread == pytest.approx(1.0, abs=0.005), name


def test_a_collapsed_sampler_covers_one_mode_with_maximal_reverse_kl():
    result = coverage(mixture_samples(2500, 0.01, modes=[3]))
    assert result["modes_covered"] == 1
    assert result["reverse_kl"] == pytest.approx(math.log(8))


def test_shrunken_modes_score_high_quality_but_a_small_spread():
    result = coverage(mixture_samples(2500, 0.001))
    assert result["high_quality"] == 1.0
    assert result["spread"] == pytest.approx(0.1, abs=0.01)


def test_samples_between_modes_are_not_high_quality():
    result = coverage(np.zeros((100, 2)))
    assert result == {"modes_covered": 0, "high_quality": 0.0, "reverse_kl": pytest.approx(math.log(8)), "spread": 0.0}


def test_moment_errors():
    rng = np.random.default_rng(0)
    samples = rng.multivariate_normal([1, -1], [[1, 0.5], [0.5, 2]], size=200000)
    errors = metrics.moment_errors(samples, [1, -1], [[1, 0.5], [0.5, 2]])
    assert errors["mean_error"] < 0.01 and errors["cov_error"] < 0.02
    assert metrics.moment_errors(samples + 0.5, [1, -1], [[1, 0.5], [0.5, 2]])["mean_error"] == pytest.approx(
        0.5, abs=0.01
    )

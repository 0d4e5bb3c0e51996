"""Scores on features and SWD on pixels: known answers, and agreement with independent numpy/scipy code."""

import numpy as np
import pytest
import scipy.linalg
import scipy.special
import scipy.stats
import tensorflow as tf
from sklearn.neighbors import NearestNeighbors

from tfgan_zoo import metrics, tfgan_compat
from tfgan_zoo.metrics import sliced_wasserstein as swd_lib

RNG = np.random.default_rng(0)


def gaussian(n, mean, stddevs, seed):
    rng = np.random.default_rng(seed)
    return np.asarray(mean) + rng.standard_normal((n, len(stddevs))) * np.asarray(stddevs)


# ----- Fréchet distance -----


def test_frechet_distance_of_a_set_with_itself_is_zero():
    x = RNG.normal(size=(500, 16))
    assert metrics.frechet_distance(x, x) == pytest.approx(0.0, abs=1e-6)


def test_frechet_distance_of_shifted_gaussians_matches_the_closed_form():
    # N(m1, diag(s1^2)) vs N(m2, diag(s2^2)): |m1 - m2|^2 + sum (s1 - s2)^2.
    m1, s1, m2, s2 = [0.0, 0.0, 0.0], [1.0, 2.0, 0.5], [3.0, 0.0, -1.0], [1.0, 1.0, 1.5]
    expected = np.sum(np.subtract(m1, m2) ** 2) + np.sum(np.subtract(s1, s2) ** 2)  # 10 + 0 + 1 + 1 = 12
    fd = metrics.frechet_distance(gaussian(100_000, m1, s1, 1), gaussian(100_000, m2, s2, 2))
    assert fd == pytest.approx(expected, rel=0.01)


def test_frechet_distance_agrees_with_scipy_sqrtm():
    a = RNG.normal(size=(400, 8)) @ RNG.normal(size=(8, 8))
    b = RNG.exponential(size=(300, 8)) @ RNG.normal(size=(8, 8)) + 1.0
    mu_a, mu_b, cov_a, cov_b = a.mean(0), b.mean(0), np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = scipy.linalg.sqrtm(cov_a @ cov_b).real
    expected = np.sum((mu_a - mu_b) ** 2) + np.trace(cov_a + cov_b - 2 * covmean)
    assert metrics.frechet_distance(a, b) == pytest.approx(expected, rel=1e-6)


# ----- KID -----


def mmd2_unbiased(x, y):
    """Independent MMD^2 estimate with the kernel (x.y / d + 1)^3, as in Binkowski et al. 2018."""
    d = x.shape[1]
    k_xx, k_yy, k_xy = ((x @ x.T) / d + 1) ** 3, ((y @ y.T) / d + 1) ** 3, ((x @ y.T) / d + 1) ** 3
    m, n = len(x), len(y)
    return (
        (k_xx.sum() - np.trace(k_xx)) / (m * (m - 1)) + (k_yy.sum() - np.trace(k_yy)) / (n * (n - 1)) - 2 * k_xy.mean()
    )


def test_kid_of_one_block_is_the_unbiased_mmd_and_has_no_std():
    a, b = RNG.normal(size=(200, 10)), RNG.normal(0.3, 1.0, size=(150, 10))
    kid, std = metrics.kernel_distance(a, b, max_block_size=1000)
    assert kid == pytest.approx(mmd2_unbiased(a, b), rel=1e-9)
    assert np.isnan(std)


def test_kid_over_blocks_is_the_mean_of_block_estimates_with_its_standard_error():
    a, b = RNG.normal(size=(400, 6)), RNG.normal(0.5, 1.0, size=(400, 6))
    kid, std = metrics.kernel_distance(a, b, max_block_size=100)
    blocks = [mmd2_unbiased(a[i : i + 100], b[i : i + 100]) for i in range(0, 400, 100)]
    assert kid == pytest.approx(np.mean(blocks), rel=1e-9)
    assert std == pytest.approx(np.std(blocks, ddof=1) / 2, rel=1e-9)


def test_kid_is_near_zero_for_one_distribution_and_grows_with_the_shift():
    same = metrics.kernel_distance(gaussian(2000, [0] * 4, [1] * 4, 1), gaussian(2000, [0] * 4, [1] * 4, 2))[0]
    shifted = metrics.kernel_distance(gaussian(2000, [0] * 4, [1] * 4, 1), gaussian(2000, [1] * 4, [1] * 4, 2))[0]
    assert abs(same) < 0.01 < shifted


# ----- classifier score -----


def test_classifier_score_ranges_from_one_to_the_number_of_classes():
    assert metrics.classifier_score(np.zeros((50, 10))) == pytest.approx(1.0)
    confident_and_balanced = 100.0 * np.eye(10)[np.arange(50) % 10]
    assert metrics.classifier_score(confident_and_balanced) == pytest.approx(10.0, rel=1e-6)
    confident_one_class = 100.0 * np.eye(10)[np.zeros(50, int)]
    assert metrics.classifier_score(confident_one_class) == pytest.approx(1.0, rel=1e-6)


def test_classifier_score_agrees_with_scipy():
    logits = RNG.normal(scale=3.0, size=(300, 7))
    p = scipy.special.softmax(logits, axis=1)
    expected = np.exp(np.mean([scipy.stats.entropy(row, p.mean(0)) for row in p]))
    assert metrics.classifier_score(logits) == pytest.approx(expected, rel=1e-6)


# ----- precision and recall -----


def precision_recall_sklearn(real, fake, k):
    """Independent implementation with scikit-learn's exact nearest neighbours."""

    def radii(x):
        return NearestNeighbors(n_neighbors=k + 1).fit(x).kneighbors(x)[0][:, k]

    def inside(queries, centers, r):
        distances = np.linalg.norm(queries[:, None] - centers[None], axis=-1)
        return float((distances <= r[None] + 1e-9).any(axis=1).mean())

    return inside(fake, real, radii(real)), inside(real, fake, radii(fake))


def test_precision_recall_agrees_with_sklearn_neighbours():
    real, fake = RNG.normal(size=(300, 5)), RNG.normal(0.7, 1.3, size=(250, 5))
    result = metrics.precision_recall(real, fake, k=3, batch_size=64)
    expected = precision_recall_sklearn(real, fake, 3)
    assert (result["precision"], result["recall"]) == pytest.approx(expected, abs=1e-9)
    assert 0.2 < result["precision"] < 1 and 0.2 < result["recall"] < 1


def test_identical_sets_have_full_precision_and_recall():
    x = RNG.normal(size=(200, 4))
    assert metrics.precision_recall(x, x) == {"precision": 1.0, "recall": 1.0}


def test_a_collapsed_generator_keeps_precision_and_loses_recall():
    real = RNG.normal(size=(1000, 4))
    collapsed = RNG.normal(scale=0.05, size=(1000, 4))  # every sample near the real mode
    result = metrics.precision_recall(real, collapsed)
    assert result["precision"] > 0.95 and result["recall"] < 0.1


def test_precision_recall_needs_more_samples_than_k():
    with pytest.raises(ValueError, match="more than k=3 samples"):
        metrics.precision_recall(np.zeros((3, 2)), np.zeros((10, 2)))


def test_features_must_be_a_matrix():
    with pytest.raises(ValueError, match=r"\[N, D\] array"):
        metrics.frechet_distance(np.zeros(10), np.zeros((10, 2)))


# ----- sliced Wasserstein distance -----


def test_projected_distance_is_scipy_wasserstein_per_direction():
    a, b = RNG.normal(size=(500, 3)), RNG.normal(1.0, 2.0, size=(500, 3))
    direction = np.array([[1.0], [2.0], [-0.5]])
    unit = direction[:, 0] / np.linalg.norm(direction)
    expected = scipy.stats.wasserstein_distance(a @ unit, b @ unit)
    assert swd_lib.sliced_wasserstein(a, b, direction) == pytest.approx(expected, rel=1e-5)


def test_projected_distance_agrees_with_tfgan_over_many_directions():
    a = RNG.normal(size=(2000, 12)).astype(np.float32)
    b = (RNG.normal(size=(2000, 12)) * np.linspace(0.5, 2.0, 12) + 0.3).astype(np.float32)
    tf.random.set_seed(0)
    tfgan_swd = tfgan_compat.load("python.eval.sliced_wasserstein")
    reference = tfgan_swd._sliced_wasserstein(  # pylint: disable=protected-access
        tf.constant(a), tf.constant(b), random_sampling_count=8, random_projection_dim=256
    )
    ours = swd_lib.sliced_wasserstein(a, b, RNG.standard_normal((12, 2048)))
    assert ours == pytest.approx(float(reference), rel=0.03)


def test_pyramid_levels():
    assert swd_lib.pyramid_resolutions(28) == [28, 14]
    assert swd_lib.pyramid_resolutions(64) == [64, 32, 16, 8]
    assert swd_lib.pyramid_resolutions(1024, min_resolution=16) == [1024, 512, 256, 128, 64, 32, 16]


def smooth_images(n, seed):
    """Random smooth 28x28 grey images in [-1, 1]."""
    noise = np.random.default_rng(seed).standard_normal((n, 7, 7, 1)).astype(np.float32)
    return np.tanh(tf.image.resize(noise, (28, 28), method="bicubic").numpy())


def test_swd_is_small_for_one_distribution_grows_with_noise_and_is_seeded():
    real, other = smooth_images(128, 1), smooth_images(128, 2)
    noisy = np.clip(other + 0.3 * RNG.standard_normal(other.shape).astype(np.float32), -1, 1)
    same = metrics.sliced_wasserstein_distance(real, other, patches_per_image=64, num_directions=128)
    worse = metrics.sliced_wasserstein_distance(real, noisy, patches_per_image=64, num_directions=128)
    assert set(same) == {"swd", "swd_28", "swd_14"}
    assert same["swd"] == pytest.approx((same["swd_28"] + same["swd_14"]) / 2)
    assert worse["swd_28"] > 3 * same["swd_28"]
    again = metrics.sliced_wasserstein_distance(real, noisy, patches_per_image=64, num_directions=128)
    assert again == worse


def test_swd_needs_equal_image_sets():
    with pytest.raises(ValueError, match="same shape and count"):
        metrics.sliced_wasserstein_distance(np.zeros((4, 28, 28, 1)), np.zeros((5, 28, 28, 1)))

"""Mode coverage of 2-D Gaussian mixtures, with the protocol of PacGAN (Lin et al. 2018) and VEEGAN.

A sample is high quality when it lies within 3 std of its nearest mode; a mode is covered when it
gets at least one high-quality sample. High quality alone rewards a generator that shrinks every
mode to its centre, so `spread` reports how wide the high-quality samples are relative to a
faithful sampler (1.0).
"""

import math

import numpy as np


def truncated_rayleigh_mean(a):
    """E[r | r <= a] for r = ||e||, e ~ N(0, I_2): the mean distance to its mode, in std, of a faithful sample
    that is high quality at threshold `a` (1.2303 at 3, against sqrt(pi/2) = 1.2533 untruncated)."""
    inside = 1.0 - math.exp(-a * a / 2)  # P(r <= a)
    return (math.sqrt(math.pi / 2) * math.erf(a / math.sqrt(2)) - a * math.exp(-a * a / 2)) / inside


def mode_coverage(samples, centers, std, threshold=3.0):
    """Coverage metrics of `samples` [N, 2] against a mixture of equal-weight modes at `centers` [K, 2].

    Returns a dict: `modes_covered`, `high_quality` (fraction of samples within `threshold` std of
    their nearest mode), `reverse_kl` (KL(q || uniform) of the high-quality samples' mode histogram q:
    0 when every mode gets its share, log K when all fall on one mode) and `spread` (mean distance of
    high-quality samples to their mode, in std, over a faithful sampler's, `truncated_rayleigh_mean(threshold)`).
    """
    samples, centers = np.asarray(samples, np.float64), np.asarray(centers, np.float64)
    distances = np.linalg.norm(samples[:, None, :] - centers[None, :, :], axis=-1)
    nearest = distances.argmin(axis=1)
    nearest_distance = distances[np.arange(len(samples)), nearest]
    good = nearest_distance <= threshold * std
    counts = np.bincount(nearest[good], minlength=len(centers))
    if good.any():
        q = counts / counts.sum()
        reverse_kl = float(np.sum(q[q > 0] * np.log(q[q > 0] * len(centers))))
        spread = float(nearest_distance[good].mean() / std / truncated_rayleigh_mean(threshold))
    else:
        reverse_kl, spread = math.log(len(centers)), 0.0
    return {
        "modes_covered": int((counts > 0).sum()),
        "high_quality": float(good.mean()),
        "reverse_kl": reverse_kl,
        "spread": spread,
    }


def moment_errors(samples, mean, cov):
    """How far the samples' mean and covariance are from the target's: max absolute errors."""
    samples = np.asarray(samples, np.float64)
    return {
        "mean_error": float(np.abs(samples.mean(axis=0) - np.asarray(mean)).max()),
        "cov_error": float(np.abs(np.cov(samples, rowvar=False) - np.asarray(cov)).max()),
    }

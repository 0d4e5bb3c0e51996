"""Scores of generated samples computed from features of a classifier: pure functions on numpy arrays.

The Fréchet distance, KID and classifier score are TF-GAN's eval math (`classifier_metrics`, loaded
through `tfgan_compat`), computed in float64; improved precision and recall, which TF-GAN lacks, are
written here in numpy. Every function takes `[N, D]` features (or `[N, K]` logits) and returns floats.
"""

import numpy as np
import tensorflow as tf

from tfgan_zoo import tfgan_compat


def _classifier_metrics():
    return tfgan_compat.load("python.eval.classifier_metrics")


def _features(name, values):
    values = np.asarray(values, np.float64)
    if values.ndim != 2 or len(values) < 2:
        raise ValueError(f"{name} must be a [N, D] array of features with N >= 2, got shape {values.shape}.")
    return values


def frechet_distance(real_features, fake_features):
    """Fréchet distance between Gaussians fitted to two feature sets (Heusel et al. 2017, FID).

    `|mu_r - mu_f|^2 + Tr(S_r + S_f - 2 (S_r S_f)^(1/2))`. It is biased upwards at small N, so compare
    figures computed with the same number of samples (and the same feature extractor) only.
    """
    real, fake = _features("real_features", real_features), _features("fake_features", fake_features)
    return float(_classifier_metrics().frechet_classifier_distance_from_activations(real, fake))


def kernel_distance(real_features, fake_features, max_block_size=1000):
    """Kernel Inception distance (Bińkowski et al. 2018): unbiased MMD^2 with the cubic polynomial kernel.

    `k(x, y) = (x.y / D + 1)^3`. Unlike the Fréchet distance its estimator is unbiased, so figures from
    different N compare. Returns `(kid, kid_std)`: TF-GAN's block estimator averages the MMD^2 of blocks of
    at most `max_block_size` samples; `kid_std` is its standard error across blocks (NaN with one block).
    """
    real, fake = _features("real_features", real_features), _features("fake_features", fake_features)
    kid, std = _classifier_metrics().kernel_classifier_distance_and_std_from_activations(
        tf.constant(real), tf.constant(fake), max_block_size=max_block_size
    )
    return float(kid), float(std)


def classifier_score(logits):
    """`exp(E_x KL(p(y|x) || p(y)))`, the Inception score formula (Salimans et al. 2016) on any classifier.

    From 1 (every sample gets the same class distribution) to K, the number of classes (confident and
    balanced predictions): it rewards recognisable, diverse samples and ignores the real data entirely.
    """
    logits = _features("logits", logits)
    return float(_classifier_metrics().classifier_score_from_logits(logits))


def precision_recall(real_features, fake_features, k=3, batch_size=1000):
    """Improved precision and recall (Kynkäänniemi et al. 2019).

    Each set's manifold is the union of balls around its samples, each ball reaching its sample's k-th
    nearest neighbour in the same set. Precision is the fraction of fake samples inside the real manifold
    (quality); recall the fraction of real samples inside the fake manifold (coverage): a collapsed
    generator keeps its precision and loses its recall. The paper uses k=3; both sets should hold the
    same number of samples, since the balls shrink as N grows.
    """
    # float32, as in the paper's code: twice as fast as float64, and the balls are far larger than its rounding.
    real = _features("real_features", real_features).astype(np.float32)
    fake = _features("fake_features", fake_features).astype(np.float32)
    if min(len(real), len(fake)) <= k:
        raise ValueError(f"precision_recall needs more than k={k} samples per set, got {len(real)} and {len(fake)}.")
    real_radii = _kth_neighbour_distances(real, k, batch_size)
    fake_radii = _kth_neighbour_distances(fake, k, batch_size)
    return {
        "precision": _fraction_inside(fake, real, real_radii, batch_size),
        "recall": _fraction_inside(real, fake, fake_radii, batch_size),
    }


def _squared_distances(a, b):
    squared = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T
    return np.maximum(squared, 0.0)


def _kth_neighbour_distances(points, k, batch_size):
    """Squared distance of every point to its k-th nearest other point (the point itself is at 0)."""
    return np.concatenate(
        [
            np.partition(_squared_distances(points[i : i + batch_size], points), k, axis=1)[:, k]
            for i in range(0, len(points), batch_size)
        ]
    )


def _fraction_inside(queries, centers, squared_radii, batch_size):
    inside = [
        (_squared_distances(queries[i : i + batch_size], centers) <= squared_radii[None, :]).any(axis=1)
        for i in range(0, len(queries), batch_size)
    ]
    return float(np.concatenate(inside).mean())

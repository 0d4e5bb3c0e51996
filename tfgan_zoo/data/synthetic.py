"""Synthetic 2-D point sources: the ring8 and grid25 Gaussian mixtures, and one correlated Gaussian."""

import numpy as np

from tfgan_zoo.data.source import Source, split_rng

SOURCES = ("ring8", "grid25", "gaussian2d")
DEFAULT_SIZE = {"train": 100_000, "test": 10_000}


def mixture(name, split, seed, num_examples):
    """`"ring8"` (8 modes on the unit circle, std 0.01) or `"grid25"` (a 5x5 grid of spacing 2, std 0.05)."""
    if name == "ring8":
        angles = 2 * np.pi * np.arange(8) / 8
        centers, std = np.stack([np.cos(angles), np.sin(angles)], axis=1), 0.01
    else:
        ticks = np.array([-4.0, -2.0, 0.0, 2.0, 4.0])
        centers, std = np.stack(np.meshgrid(ticks, ticks, indexing="ij"), axis=-1).reshape(-1, 2), 0.05
    n = num_examples or DEFAULT_SIZE[split]
    rng = split_rng(seed, split)
    y = rng.integers(len(centers), size=n)
    x = centers[y] + std * rng.standard_normal((n, 2))
    return Source(
        name=name,
        x=x.astype(np.float32),
        y=y.astype(np.int32),
        num_classes=len(centers),
        origin="synthetic",
        metadata={"centers": centers.astype(np.float32), "std": std, "value_range": None},
    )


def gaussian2d(split, seed, num_examples, mean=(1.0, -1.0), cov=((1.0, 0.5), (0.5, 2.0))):
    mean, cov = np.asarray(mean, np.float64), np.asarray(cov, np.float64)
    if mean.shape != (2,) or cov.shape != (2, 2):
        raise ValueError(
            f"gaussian2d needs mean of shape [2] and cov of shape [2, 2], got {mean.shape} and {cov.shape}."
        )
    n = num_examples or DEFAULT_SIZE[split]
    x = split_rng(seed, split).multivariate_normal(mean, cov, size=n, check_valid="raise")
    return Source(
        name="gaussian2d",
        x=x.astype(np.float32),
        y=None,
        num_classes=0,
        origin="synthetic",
        metadata={"mean": mean.astype(np.float32), "cov": cov.astype(np.float32), "value_range": None},
    )

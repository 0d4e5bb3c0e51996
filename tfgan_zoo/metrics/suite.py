"""The image metrics by name: embed a set of images once, compare it with a real set in one call.

`compare(real, fake, names)` is what `tfgan-zoo evaluate` and `MetricsCallback` both compute, so a
figure logged during training and one in a model card mean the same thing.

Metric names and the values they give:

| name | values | better |
|---|---|---|
| `fd` | `fd`: Fréchet distance of the features | lower |
| `kid` | `kid`, `kid_std`: kernel distance and its standard error | lower |
| `classifier_score` | `classifier_score`: the Inception score formula on the logits | higher |
| `precision_recall` | `precision`, `recall` (k=3) | higher |
| `swd` | `swd` and `swd_<resolution>`: PGGAN's sliced Wasserstein distance x1000 on the pixels | lower |
"""

import dataclasses

import numpy as np

from tfgan_zoo.metrics import scores
from tfgan_zoo.metrics.sliced_wasserstein import sliced_wasserstein_distance

IMAGE_METRICS = ("fd", "kid", "classifier_score", "precision_recall", "swd")


@dataclasses.dataclass(frozen=True)
class Embedded:
    """Images with their features and logits (None when the extractor has no logits layer)."""

    images: np.ndarray
    features: np.ndarray
    logits: np.ndarray | None


def embed(extractor, images):
    """Runs `extractor` over `images` once, for any number of `compare` calls."""
    features, logits = extractor(images)
    return Embedded(np.asarray(images, np.float32), features, logits)


def compare(real, fake, names=IMAGE_METRICS, *, k=3, kid_block_size=1000, swd_images=1024, seed=0):
    """The metrics `names` of `fake` against `real` (both `Embedded`), as a flat dict of floats.

    `swd_images` caps the images the sliced Wasserstein distance uses (the first ones of each set):
    its cost grows with the 128 patches it takes per image and level.
    """
    names = metric_names(names)
    values = {}
    if "fd" in names:
        values["fd"] = scores.frechet_distance(real.features, fake.features)
    if "kid" in names:
        values["kid"], values["kid_std"] = scores.kernel_distance(real.features, fake.features, kid_block_size)
    if "classifier_score" in names:
        if fake.logits is None:
            raise ValueError("classifier_score needs logits: give the feature extractor a logits_layer.")
        values["classifier_score"] = scores.classifier_score(fake.logits)
    if "precision_recall" in names:
        values.update(scores.precision_recall(real.features, fake.features, k=k))
    if "swd" in names:
        n = min(len(real.images), len(fake.images), swd_images)
        values.update(sliced_wasserstein_distance(real.images[:n], fake.images[:n], seed=seed))
    return values


def metric_names(names):
    """`names` (one name or several) as a tuple, or a ValueError naming those not in `IMAGE_METRICS`."""
    names = (names,) if isinstance(names, str) else tuple(names)
    unknown = [name for name in names if name not in IMAGE_METRICS]
    if unknown:
        raise ValueError(
            f"Unknown image metric(s) {', '.join(map(str, unknown))}; choose from {', '.join(IMAGE_METRICS)}."
        )
    return names


def balanced_labels(n, num_classes, seed=0):
    """`n` labels with every class `n / num_classes` times (within one), in a seeded random order.

    The order matters: KID's block estimator assumes the samples of each block are drawn at random.
    """
    return np.random.default_rng(seed).permutation(np.arange(n) % num_classes).astype(np.int32)


def sample(generator, n, seed=0, conditions=None, truncation=1.0):
    """`n` samples of anything with `sample(n, seed=..., labels=...)`, and their labels (None if unconditional).

    A generator with `num_classes > 0` gets balanced labels; `conditions` (name -> `n` values), when given,
    go to its continuous conditions; a `truncation` other than 1.0 to its `sample(..., truncation=)`.
    """
    num_classes = getattr(generator, "num_classes", 0)
    labels = balanced_labels(n, num_classes, seed) if num_classes else None
    given = {"conditions": conditions} if conditions else {}  # only generators with conditions take them
    given.update({"truncation": truncation} if truncation != 1.0 else {})  # nor need others take truncation
    return np.asarray(generator.sample(n, seed=seed, labels=labels, **given)), labels


class ImageMetrics:
    """A function `samples -> dict` comparing generated images with a fixed real set, for `MetricsCallback`.

    The real set is embedded once, at the first call.

    Args:
        real_images: `[N, H, W, C]` in [-1, 1], e.g. the test split.
        extractor: a `FeatureExtractor`.
        names: metric names from `IMAGE_METRICS`.
        **options: passed to `compare` (`k`, `kid_block_size`, `swd_images`, `seed`).
    """

    def __init__(self, real_images, extractor, names=("fd", "kid"), **options):
        self.names = metric_names(names)
        self.real_images, self.extractor, self.options = real_images, extractor, options
        self._real = None

    def __call__(self, samples):
        if self._real is None:
            self._real = embed(self.extractor, self.real_images)
        return compare(self._real, embed(self.extractor, samples), self.names, **self.options)

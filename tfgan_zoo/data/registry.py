"""The named data sources, and `load`, which checks a request and hands it to the source's module."""

from tfgan_zoo.data import images, lightcurves, synthetic
from tfgan_zoo.data.source import SPLITS, Source

SOURCES = synthetic.SOURCES + images.SOURCES + ("lightcurves",)
_PARAMS = {
    "gaussian2d": ("mean", "cov"),
    "image_folder": ("path", "image_size", "channels", "skip_unreadable"),
}


def load(
    name: str,
    split: str = "train",
    *,
    seed: int = 0,
    num_examples: int | None = None,
    data_dir: str | None = None,
    **params,
) -> Source:
    """Loads a named source into memory.

    Args:
        name: one of `SOURCES`.
        split: `"train"` or `"test"`.
        seed: seeds the sampling of synthetic sources (with `split`, so train and test differ). Real
            datasets ignore it: their splits are fixed so a test set stays held out whatever the seed.
        num_examples: keep at most the first this many examples (for synthetic sources: how many to
            draw; default 100,000 for train, 10,000 for test; light curves 20,000 and 2,000).
        data_dir: where prepared TFDS data lives (TFDS's default when None).
        **params: source parameters: `gaussian2d` takes `mean` and `cov`; `image_folder` takes `path`
            (required), `image_size` (int or `[H, W]`), `channels` (1 or 3) and `skip_unreadable` (warn about
            files that do not decode instead of failing); every image source takes `pad_to` (see `pad`).

    Returns:
        A `Source`.
    """
    if name not in SOURCES:
        raise ValueError(f"Unknown data source {name!r}; known sources: {', '.join(SOURCES)}.")
    allowed = _PARAMS.get(name, ()) + (("pad_to",) if name in images.SOURCES else ())
    for key in params:
        if key not in allowed:
            raise ValueError(
                f"Unknown parameter {key!r} for data source {name!r}; "
                f"allowed: {', '.join(allowed) if allowed else 'none'}."
            )
    if split not in SPLITS:
        raise ValueError(f"Unknown split {split!r} for data source {name!r}; use one of {SPLITS}.")
    if num_examples is not None and num_examples < 1:
        raise ValueError(f"num_examples must be positive, got {num_examples}.")

    if name in ("ring8", "grid25"):
        return synthetic.mixture(name, split, seed, num_examples)
    if name == "gaussian2d":
        return synthetic.gaussian2d(split, seed, num_examples, **params)
    if name == "lightcurves":
        return lightcurves.lightcurves(split, seed, num_examples)
    pad_to = params.pop("pad_to", None)
    if name == "digits":
        source = images.digits(split, num_examples)
    elif name == "image_folder":
        source = images.image_folder(split, num_examples, **params)
    else:
        source = images.tfds_images(name, split, num_examples, data_dir)
    return source if pad_to is None else images.pad(source, pad_to)

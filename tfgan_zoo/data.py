"""Named data sources as in-memory arrays, and a deterministic, resumable `tf.data` stream of batches.

`load(name)` returns a `Source`: images as float32 NHWC in `[-1, 1]`, 2-D points as plain coordinates, or
light curves `[N, 128, 1]` in `[-1, 1]`, with int32 labels where the data has them, per-example continuous
conditions where it has them (the light curves' amplitude and period), and a record of where the data came from. Real image data is
looked for offline first (prepared TFDS data, Debian's `dataset-fashion-mnist` files) and downloaded by
TFDS only as a last resort, so the same config works on a laptop with internet and on an offline box.

`make_dataset(source, batch_size, seed=..., start_step=...)` maps a step number to its batch with
stateless ops only: batch `k` depends on nothing but `(seed, k)`, so a run resumed at step `k` sees
exactly the batches an uninterrupted run would have seen, and every replica can compute the same stream.
"""

import dataclasses
import gzip
import pathlib
import socket
import urllib.request

import numpy as np
import tensorflow as tf
from absl import logging

SOURCES = (
    "ring8",
    "grid25",
    "gaussian2d",
    "mnist",
    "fashion_mnist",
    "cifar10",
    "digits",
    "image_folder",
    "lightcurves",
)
SPLITS = ("train", "test")

_POINT_SOURCES = ("ring8", "grid25", "gaussian2d")
_PARAMS = {
    "gaussian2d": ("mean", "cov"),
    "image_folder": ("path", "image_size", "channels"),
}
_MIXTURE_DEFAULT_SIZE = {"train": 100_000, "test": 10_000}
_LIGHTCURVE_DEFAULT_SIZE = {"train": 20_000, "test": 2_000}
# Light curves: regularly sampled windows of LIGHTCURVE_LENGTH steps. Periods (in steps) stay below half the
# window, so every window holds at least two full periods, and above 16 steps, so an eclipse spans several
# samples. Amplitude is half the peak-to-peak flux of the noiseless curve; with at most 0.7 the flux lies in
# [-1, 1], the range of the generator's tanh output, until the noise passes 6 stddevs (clipped there).
LIGHTCURVE_LENGTH = 128
LIGHTCURVE_RANGES = {"amplitude": (0.2, 0.7), "period": (16.0, 48.0)}
LIGHTCURVE_NOISE = 0.05
_DEBIAN_FASHION_MNIST = pathlib.Path("/usr/share/datasets/fashion-mnist")
_IDX_PREFIX = {"train": "train", "test": "t10k"}
_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
_IMAGE_RANGE = (-1.0, 1.0)
_CLASS_NAMES = {
    "mnist": tuple(str(d) for d in range(10)),
    "digits": tuple(str(d) for d in range(10)),
    "fashion_mnist": (
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ),
    "cifar10": (
        "airplane",
        "automobile",
        "bird",
        "cat",
        "deer",
        "dog",
        "frog",
        "horse",
        "ship",
        "truck",
    ),
    "lightcurves": ("sinusoidal pulsator", "RR Lyrae (sawtooth)", "eclipsing binary"),
}
# Third word of the index-shuffle key; fixed so that (seed, epoch) alone picks the permutation.
_SHUFFLE_KEY = 0x5EED


@dataclasses.dataclass(frozen=True)
class Source:
    """A dataset held in memory.

    Attributes:
        name: the source name, one of `SOURCES`.
        x: float32 examples: images `[N, H, W, C]` in `[-1, 1]`, 2-D points `[N, 2]` as coordinates, or time
            series `[N, T, 1]`.
        y: int32 labels `[N]`, or None when unlabelled.
        conditions: continuous condition name -> float32 `[N]`, the value of each example (e.g. a light
            curve's amplitude and period); their ranges are in `metadata["condition_ranges"]`. Empty when none.
        num_classes: number of classes, 0 when unlabelled.
        origin: where the data came from, e.g. `"tfds:mnist"` or `"debian:/usr/share/datasets/fashion-mnist"`.
        metadata: source facts consumers need: `value_range` (None for points), `class_names`, and for
            synthetic sources their parameters (`centers` and `std` of a mixture, `mean` and `cov`,
            `condition_ranges` name -> (min, max) and the `noise` of light curves, and their `phase`).
    """

    name: str
    x: np.ndarray
    y: np.ndarray | None
    num_classes: int
    origin: str
    metadata: dict
    conditions: dict = dataclasses.field(default_factory=dict)


def load(name, split="train", *, seed=0, num_examples=None, data_dir=None, **params):
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
            (required), `image_size` (int or `[H, W]`) and `channels` (1 or 3); every image source takes
            `pad_to` (see `pad`).

    Returns:
        A `Source`.
    """
    if name not in SOURCES:
        raise ValueError(f"Unknown data source {name!r}; known sources: {', '.join(SOURCES)}.")
    allowed = _PARAMS.get(name, ()) + (() if name in _POINT_SOURCES + ("lightcurves",) else ("pad_to",))
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
        return _mixture(name, split, seed, num_examples)
    if name == "gaussian2d":
        return _gaussian2d(split, seed, num_examples, **params)
    if name == "lightcurves":
        return _lightcurves(split, seed, num_examples)
    pad_to = params.pop("pad_to", None)
    if name == "digits":
        source = _digits(split, num_examples)
    elif name == "image_folder":
        source = _image_folder(split, num_examples, **params)
    else:
        source = _tfds_images(name, split, num_examples, data_dir)
    return source if pad_to is None else pad(source, pad_to)


def pad(source, side):
    """The images of `source` centred on `side` x `side` canvases of background (-1), e.g. Fashion-MNIST's
    28x28 on 32x32 for the progressive family. `metadata["padding"]` records the margins
    `((top, bottom), (left, right))` that `crop_padding` removes from samples."""
    height, width = source.x.shape[1:3]
    if side < max(height, width):
        raise ValueError(
            f"pad_to={side} is smaller than the {height}x{width} images of {source.name}; "
            f"pass a side of at least {max(height, width)}."
        )
    top, left = (side - height) // 2, (side - width) // 2
    padding = ((top, side - height - top), (left, side - width - left))
    x = np.pad(source.x, ((0, 0), *padding, (0, 0)), constant_values=_IMAGE_RANGE[0])
    return dataclasses.replace(source, x=x, metadata={**source.metadata, "padding": padding})


def crop_padding(samples, padding):
    """Samples `[N, H, W, C]` of a model trained on padded images, cropped back to the data's own shape."""
    (top, bottom), (left, right) = padding
    return samples[:, top : samples.shape[1] - bottom, left : samples.shape[2] - right]


def _points_rng(seed, split):
    """One generator per (seed, split): each split is reproducible and train never repeats test."""
    return np.random.default_rng([seed, SPLITS.index(split)])


def _mixture(name, split, seed, num_examples):
    if name == "ring8":
        angles = 2 * np.pi * np.arange(8) / 8
        centers, std = np.stack([np.cos(angles), np.sin(angles)], axis=1), 0.01
    else:
        ticks = np.array([-4.0, -2.0, 0.0, 2.0, 4.0])
        centers, std = np.stack(np.meshgrid(ticks, ticks, indexing="ij"), axis=-1).reshape(-1, 2), 0.05
    n = num_examples or _MIXTURE_DEFAULT_SIZE[split]
    rng = _points_rng(seed, split)
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


def _gaussian2d(split, seed, num_examples, mean=(1.0, -1.0), cov=((1.0, 0.5), (0.5, 2.0))):
    mean, cov = np.asarray(mean, np.float64), np.asarray(cov, np.float64)
    if mean.shape != (2,) or cov.shape != (2, 2):
        raise ValueError(
            f"gaussian2d needs mean of shape [2] and cov of shape [2, 2], got {mean.shape} and {cov.shape}."
        )
    n = num_examples or _MIXTURE_DEFAULT_SIZE[split]
    x = _points_rng(seed, split).multivariate_normal(mean, cov, size=n, check_valid="raise")
    return Source(
        name="gaussian2d",
        x=x.astype(np.float32),
        y=None,
        num_classes=0,
        origin="synthetic",
        metadata={"mean": mean.astype(np.float32), "cov": cov.astype(np.float32), "value_range": None},
    )


def lightcurve_shapes(labels, phase):
    """Noiseless light curves of unit amplitude (peak-to-peak from -1 to 1) at `phase` (in cycles, any shape),
    for each class: 0 a sinusoid; 1 an RR Lyrae-like sawtooth, a fast rise over 15% of the cycle and a slow
    decline; 2 an eclipsing binary, flat at maximum with a primary eclipse (full depth) and, half a cycle
    later, a secondary one of half that depth, each Gaussian with a width of 5% of the cycle."""
    labels = np.reshape(labels, np.shape(labels) + (1,) * (np.ndim(phase) - np.ndim(labels)))
    cycle = np.mod(phase, 1.0)
    rise = 0.15
    sawtooth = np.where(cycle < rise, -1 + 2 * cycle / rise, 1 - 2 * (cycle - rise) / (1 - rise))

    def dip(center):
        distance = np.mod(cycle - center + 0.5, 1.0) - 0.5
        return np.exp(-0.5 * (distance / 0.05) ** 2)

    eclipses = 1 - 2 * (dip(0.0) + 0.5 * dip(0.5))
    return np.select([labels == 0, labels == 1], [np.sin(2 * np.pi * cycle), sawtooth], eclipses)


def _lightcurves(split, seed, num_examples):
    """Periodic light curves of three classes with uniform random amplitude, period and phase, plus Gaussian
    observation noise of stddev `LIGHTCURVE_NOISE`, sampled at `LIGHTCURVE_LENGTH` regular time steps."""
    n = num_examples or _LIGHTCURVE_DEFAULT_SIZE[split]
    rng = _points_rng(seed, split)
    labels = rng.integers(len(_CLASS_NAMES["lightcurves"]), size=n)
    conditions = {name: rng.uniform(low, high, n) for name, (low, high) in LIGHTCURVE_RANGES.items()}
    phase = rng.uniform(0, 1, n)
    cycles = np.arange(LIGHTCURVE_LENGTH) / conditions["period"][:, None] + phase[:, None]
    noise = LIGHTCURVE_NOISE * rng.standard_normal((n, LIGHTCURVE_LENGTH))
    x = conditions["amplitude"][:, None] * lightcurve_shapes(labels, cycles) + noise
    return Source(
        name="lightcurves",
        x=np.clip(x, *_IMAGE_RANGE)[..., None].astype(np.float32),
        y=labels.astype(np.int32),
        num_classes=len(_CLASS_NAMES["lightcurves"]),
        origin="synthetic",
        metadata={
            "value_range": _IMAGE_RANGE,
            "class_names": _CLASS_NAMES["lightcurves"],
            "condition_ranges": LIGHTCURVE_RANGES,
            "noise": LIGHTCURVE_NOISE,
            "phase": phase.astype(np.float32),
        },
        conditions={name: values.astype(np.float32) for name, values in conditions.items()},
    )


def _to_unit_range(images, max_value):
    """Scales `[0, max_value]` to `[-1, 1]`, adding a channel axis to grayscale `[N, H, W]`."""
    x = images.astype(np.float32) * (2.0 / max_value) - 1.0
    return x[..., None] if x.ndim == 3 else x


def _image_source(name, images, labels, max_value, origin, class_names):
    return Source(
        name=name,
        x=_to_unit_range(images, max_value),
        y=None if labels is None else labels.astype(np.int32),
        num_classes=len(class_names),
        origin=origin,
        metadata={"value_range": _IMAGE_RANGE, "class_names": tuple(class_names)},
    )


def _digits(split, num_examples):
    """scikit-learn's bundled 8x8 digits, split 80/20 stratified with a fixed seed."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    train_x, test_x, train_y, test_y = train_test_split(
        digits.images, digits.target, test_size=0.2, random_state=0, stratify=digits.target
    )
    images, labels = (train_x, train_y) if split == "train" else (test_x, test_y)
    images, labels = images[:num_examples], labels[:num_examples]
    return _image_source("digits", images, labels, 16.0, "sklearn:load_digits", _CLASS_NAMES["digits"])


def _tfds_images(name, split, num_examples, data_dir):
    """Tries prepared TFDS data, then (Fashion-MNIST only) Debian's IDX files, then a TFDS download."""
    attempts = [
        (
            f"TFDS data prepared in {data_dir or 'the default TFDS data_dir'}",
            f"tfds:{name}",
            lambda: _tfds_arrays(name, split, num_examples, data_dir),
        ),
    ]
    if name == "fashion_mnist":
        attempts.append(
            (
                f"Debian's IDX files in {_DEBIAN_FASHION_MNIST}",
                f"debian:{_DEBIAN_FASHION_MNIST}",
                lambda: _debian_fashion_mnist(split, num_examples),
            )
        )
    attempts.append(("TFDS download", f"tfds:{name}", lambda: _tfds_download(name, split, num_examples, data_dir)))
    failures = []
    for description, origin, attempt in attempts:
        try:
            images, labels = attempt()
        except Exception as error:  # Each attempt fails in its own way (missing files, no network, ...).
            reason = (str(error).splitlines() or [type(error).__name__])[0]
            failures.append(f"  - {description}: {reason}")
            continue
        logging.info("Loaded %s[%s] (%d examples) from %s.", name, split, len(images), origin)
        return _image_source(name, images, labels, 255.0, origin, _CLASS_NAMES[name])

    how = [
        "run once on a machine with internet so TFDS can download and prepare it, then copy the TFDS data "
        "directory here",
        "or pass data_dir=<directory with prepared TFDS data>",
    ]
    if name == "fashion_mnist":
        how.append("or `apt-get install dataset-fashion-mnist`")
    raise FileNotFoundError(
        f"Could not load data source {name!r} (split {split!r}). Tried:\n"
        + "\n".join(failures)
        + "\nTo get the data: "
        + "; ".join(how)
        + "."
    )


def _tfds_arrays(name, split, num_examples, data_dir, download=False):
    """The split as uint8 images and labels; with download=False only data already prepared in data_dir."""
    import tensorflow_datasets as tfds

    split = split if num_examples is None else f"{split}[:{num_examples}]"
    images, labels = tfds.as_numpy(
        tfds.load(name, split=split, data_dir=data_dir, download=download, batch_size=-1, as_supervised=True)
    )
    return images, labels


def _tfds_download(name, split, num_examples, data_dir):
    """Downloads through TFDS after a quick reachability check: offline, TFDS's retries take minutes."""
    if "https" not in urllib.request.getproxies():
        with socket.create_connection(("storage.googleapis.com", 443), timeout=3):
            pass
    return _tfds_arrays(name, split, num_examples, data_dir, download=True)


def _debian_fashion_mnist(split, num_examples):
    prefix = _DEBIAN_FASHION_MNIST / _IDX_PREFIX[split]
    images = _read_idx(pathlib.Path(f"{prefix}-images-idx3-ubyte.gz"), num_examples)
    labels = _read_idx(pathlib.Path(f"{prefix}-labels-idx1-ubyte.gz"), num_examples)
    return images, labels


def _read_idx(path, num_examples):
    """Reads the first `num_examples` items of a gzipped IDX file of unsigned bytes (the MNIST format).

    The header is two zero bytes, a type code (0x08: uint8), the number of dimensions, then each
    dimension as a big-endian int32; the data follows in C order.
    """
    with gzip.open(path, "rb") as f:
        header = f.read(4)
        if header[:3] != b"\x00\x00\x08":
            raise ValueError(f"{path} is not an IDX file of uint8 (header {header.hex()}).")
        ndim = header[3]
        shape = list(np.frombuffer(f.read(4 * ndim), dtype=">i4"))
        if num_examples is not None:
            shape[0] = min(shape[0], num_examples)
        data = np.frombuffer(f.read(int(np.prod(shape))), dtype=np.uint8)
    return data.reshape(shape)


def _image_folder(split, num_examples, path=None, image_size=None, channels=3):
    """Images under `path` (or `path/<split>` when it exists); class subfolders become labels."""
    from PIL import Image

    if path is None:
        raise ValueError("Data source 'image_folder' needs path=<folder of .png/.jpg images>.")
    if channels not in (1, 3):
        raise ValueError(f"image_folder channels must be 1 or 3, got {channels!r}.")
    root = pathlib.Path(path).expanduser()
    if (root / split).is_dir():
        root = root / split
    elif split != "train":
        raise FileNotFoundError(f"image_folder has no {split!r} split: {root / split} is not a folder.")
    if not root.is_dir():
        raise FileNotFoundError(f"image_folder path {root} is not a folder.")

    def images_in(folder):
        return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in _IMAGE_SUFFIXES)

    class_dirs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if class_dirs:
        loose = [p for p in root.iterdir() if p.is_file() and p.suffix.lower() in _IMAGE_SUFFIXES]
        if loose:
            raise ValueError(
                f"{root} mixes class subfolders with loose images such as {loose[0].name}; "
                "put every image in a class subfolder, or use a folder without subfolders."
            )
        files = [(f, label) for label, d in enumerate(class_dirs) for f in images_in(d)]
        class_names = [d.name for d in class_dirs]
    else:
        files = [(f, None) for f in images_in(root)]
        class_names = []
    if not files:
        raise FileNotFoundError(f"No .png/.jpg/.jpeg images found in {root}.")
    files = files[:num_examples]

    mode = "L" if channels == 1 else "RGB"
    pictures = [Image.open(f).convert(mode) for f, _ in files]
    if image_size is None:
        sizes = {p.size for p in pictures}
        if len(sizes) > 1:
            raise ValueError(
                f"Images in {root} have different sizes ({len(sizes)} distinct, e.g. "
                f"{sorted(sizes)[:3]} as (W, H)); pass image_size=<int or [H, W]>."
            )
    else:
        height, width = (image_size, image_size) if isinstance(image_size, int) else image_size
        pictures = [p.resize((width, height), Image.Resampling.BICUBIC) for p in pictures]
    images = np.stack([np.asarray(p) for p in pictures])
    labels = np.array([label for _, label in files]) if class_dirs else None
    logging.info("Loaded %d images from %s.", len(images), root)
    return _image_source("image_folder", images, labels, 255.0, f"folder:{root}", class_names)


def make_dataset(source_or_x, batch_size, *, seed=0, start_step=0, labels=None, conditions=()):
    """An infinite stream of batches where batch `k` is a pure function of `(seed, k)`.

    Example `j` of step `k` is the flat index `i = k * batch_size + j`; it lies in epoch `i // N`,
    where a stateless index shuffle keyed by `(seed, epoch)` permutes the N examples. So each epoch
    visits every example exactly once, and starting at `start_step=k` reproduces an uninterrupted
    run from its step `k` on: exact resume with nothing to checkpoint but the step.

    Args:
        source_or_x: a `Source`, an array `x`, or a tuple `(x, y)`.
        batch_size: examples per batch; batches have the static shape `[batch_size, ...]`.
        seed: picks the sequence of permutations.
        start_step: the first step the stream yields.
        labels: yield `(x, y)` instead of `x`. Defaults to True for a labelled `Source` and for an
            `(x, y)` tuple, False for a bare array.
        conditions: names of continuous conditions of a `Source` to yield with each example: batches are
            then `(x, {"label": y, name: values, ...})` (`"label"` only with `labels`), what `GAN` takes.

    Returns:
        A `tf.data.Dataset` of `x`, `(x, y)` or `(x, {"label": y, name: values, ...})` batches.
    """
    if isinstance(source_or_x, Source):
        x, y = source_or_x.x, source_or_x.y
        has_labels = y is not None and source_or_x.num_classes > 0
        missing = [name for name in conditions if name not in source_or_x.conditions]
        if missing:
            raise ValueError(
                f"The data {source_or_x.name} has no condition {', '.join(missing)}; its conditions: "
                f"{', '.join(source_or_x.conditions) or 'none'}."
            )
        condition_values = {name: tf.constant(source_or_x.conditions[name], tf.float32) for name in conditions}
    elif isinstance(source_or_x, tuple):
        x, y = source_or_x
        has_labels = True
    else:
        x, y, has_labels = source_or_x, None, False
    if conditions and not isinstance(source_or_x, Source):
        raise ValueError("conditions are read from a Source; pass data.load(...)'s Source instead of arrays.")
    labels = has_labels if labels is None else labels
    if labels and y is None:
        raise ValueError("labels=True but the data has no labels; pass a labelled Source or a tuple (x, y).")
    x = np.asarray(x, np.float32)
    num = len(x)
    if not 0 < batch_size <= num:
        raise ValueError(f"batch_size must be in [1, {num}] (the number of examples), got {batch_size}.")
    if labels and len(y) != num:
        raise ValueError(f"x has {num} examples but y has {len(y)} labels.")

    x_all = tf.constant(x)
    y_all = tf.constant(np.asarray(y, np.int32)) if labels else None
    offsets = tf.range(batch_size, dtype=tf.int64)

    def batch_at(step):
        flat = step * batch_size + offsets
        epoch = flat // num
        # The raw op takes the full [batch, 3] key; TF 2.21's index_shuffle wrapper mis-pads a
        # batched [batch, 2] seed, and one batch can straddle two epochs.
        key = tf.stack(
            [
                tf.fill([batch_size], tf.constant(seed, tf.int64)),
                epoch,
                tf.fill([batch_size], tf.constant(_SHUFFLE_KEY, tf.int64)),
            ],
            axis=1,
        )
        index = tf.raw_ops.RandomIndexShuffle(
            index=flat % num, seed=key, max_index=tf.constant(num - 1, tf.int64), rounds=4
        )
        if conditions:
            given = {name: tf.gather(values, index) for name, values in condition_values.items()}
            return tf.gather(x_all, index), {**({"label": tf.gather(y_all, index)} if labels else {}), **given}
        if labels:
            return tf.gather(x_all, index), tf.gather(y_all, index)
        return tf.gather(x_all, index)

    steps = tf.data.Dataset.range(start_step, np.iinfo(np.int64).max)
    return steps.map(batch_at, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True).prefetch(tf.data.AUTOTUNE)

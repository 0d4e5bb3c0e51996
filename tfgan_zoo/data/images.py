"""Image sources as float32 NHWC in `[-1, 1]`: Fashion-MNIST, MNIST and CIFAR-10 through TFDS or Debian's
files, scikit-learn's digits, and folders of images; and the padding of images to a larger square.

Real image data is looked for offline first (prepared TFDS data, Debian's `dataset-fashion-mnist` files) and
downloaded by TFDS only as a last resort, so the same config works on a laptop with internet and on an
offline box.
"""

import dataclasses
import gzip
import pathlib
import socket
import urllib.request

import numpy as np
from absl import logging

from tfgan_zoo.data.source import VALUE_RANGE, Source

SOURCES = ("mnist", "fashion_mnist", "cifar10", "digits", "image_folder")
_DEBIAN_FASHION_MNIST = pathlib.Path("/usr/share/datasets/fashion-mnist")
_IDX_PREFIX = {"train": "train", "test": "t10k"}
_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
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
}


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
    x = np.pad(source.x, ((0, 0), *padding, (0, 0)), constant_values=VALUE_RANGE[0])
    return dataclasses.replace(source, x=x, metadata={**source.metadata, "padding": padding})


def crop_padding(samples, padding):
    """Samples `[N, H, W, C]` of a model trained on padded images, cropped back to the data's own shape."""
    (top, bottom), (left, right) = padding
    return samples[:, top : samples.shape[1] - bottom, left : samples.shape[2] - right]


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
        metadata={"value_range": VALUE_RANGE, "class_names": tuple(class_names)},
    )


def digits(split, num_examples):
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


def tfds_images(name, split, num_examples, data_dir):
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


def image_folder(split, num_examples, path=None, image_size=None, channels=3, skip_unreadable=False):
    """Images under `path` (or `path/<split>` when it exists); class subfolders become labels. A file that does not
    decode (corrupt, truncated) is an error naming it, or with `skip_unreadable` a warning naming it."""
    from PIL import Image

    if path is None:
        raise ValueError(
            "Data source 'image_folder' needs data.params.path, a folder of .png/.jpg images: "
            "--set data.params.path=/path/to/images."
        )
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
    pictures, readable = [], []
    for f, label in files:
        try:
            pictures.append(Image.open(f).convert(mode))
        except OSError as error:  # PIL's UnidentifiedImageError and "image file is truncated" are OSErrors
            if not skip_unreadable:
                raise ValueError(
                    f"{f} is not a readable image ({error}). Replace or remove it, or set "
                    "data.params.skip_unreadable=true to skip unreadable files with a warning."
                ) from None
            logging.warning("Skipped %s: not a readable image (%s).", f, error)
            continue
        readable.append((f, label))
    files = readable
    if not files:
        raise FileNotFoundError(f"None of the images in {root} is readable.")
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

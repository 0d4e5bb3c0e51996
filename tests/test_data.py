"""Tests for tfgan_zoo.data: sources load with the promised shapes, ranges and provenance; the stream resumes exactly."""

import itertools

import numpy as np
import pytest
from PIL import Image

from tfgan_zoo import data


def _take(dataset, count):
    return [
        tuple(np.asarray(t) for t in b) if isinstance(b, tuple) else np.asarray(b)
        for b in itertools.islice(dataset.as_numpy_iterator(), count)
    ]


@pytest.fixture
def offline(monkeypatch):
    """Makes the TFDS download attempt fail at once, so no test touches the network."""

    def no_download(*args, **kwargs):
        raise OSError("offline (test)")

    monkeypatch.setattr(data, "_tfds_download", no_download)


# --- Synthetic sources --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name, modes, std", [("ring8", 8, 0.01), ("grid25", 25, 0.05)])
def test_mixture_samples_sit_at_their_centres_with_the_stated_std(name, modes, std):
    source = data.load(name, num_examples=20_000)
    assert source.x.shape == (20_000, 2) and source.x.dtype == np.float32
    assert source.y.dtype == np.int32 and source.num_classes == modes
    centers = source.metadata["centers"]
    assert centers.shape == (modes, 2) and source.metadata["std"] == std
    assert set(np.unique(source.y)) == set(range(modes))
    residual = source.x - centers[source.y]
    np.testing.assert_allclose(residual.mean(axis=0), 0.0, atol=std * 0.05)
    np.testing.assert_allclose(residual.std(axis=0), std, rtol=0.05)
    nearest = np.argmin(np.linalg.norm(source.x[:, None] - centers[None], axis=-1), axis=1)
    np.testing.assert_array_equal(nearest, source.y)


def test_mixture_layouts():
    ring = data.load("ring8", num_examples=1).metadata["centers"]
    np.testing.assert_allclose(np.linalg.norm(ring, axis=1), 1.0, atol=1e-6)
    np.testing.assert_allclose(ring[2], [0.0, 1.0], atol=1e-6)
    grid = data.load("grid25", num_examples=1).metadata["centers"]
    assert {tuple(c) for c in grid} == {(a, b) for a in (-4, -2, 0, 2, 4) for b in (-4, -2, 0, 2, 4)}


def test_mixture_default_sizes():
    assert len(data.load("ring8").x) == 100_000
    assert len(data.load("ring8", "test").x) == 10_000


def test_synthetic_sampling_is_keyed_by_seed_and_split():
    first = data.load("grid25", num_examples=500, seed=3)
    np.testing.assert_array_equal(first.x, data.load("grid25", num_examples=500, seed=3).x)
    assert not np.allclose(first.x, data.load("grid25", num_examples=500, seed=4).x)
    assert not np.allclose(first.x, data.load("grid25", "test", num_examples=500, seed=3).x)


def test_gaussian2d_matches_its_mean_and_cov():
    source = data.load("gaussian2d", num_examples=50_000)
    assert source.y is None and source.num_classes == 0 and source.x.shape == (50_000, 2)
    np.testing.assert_allclose(source.x.mean(axis=0), [1.0, -1.0], atol=0.03)
    np.testing.assert_allclose(np.cov(source.x.T), [[1.0, 0.5], [0.5, 2.0]], atol=0.05)
    custom = data.load("gaussian2d", num_examples=20_000, mean=[3.0, 0.0], cov=[[0.25, 0.0], [0.0, 0.25]])
    np.testing.assert_allclose(custom.metadata["mean"], [3.0, 0.0])
    np.testing.assert_allclose(custom.x.mean(axis=0), [3.0, 0.0], atol=0.02)
    np.testing.assert_allclose(custom.x.std(axis=0), 0.5, rtol=0.03)


# --- Real image sources -------------------------------------------------------------------------------------------


def _assert_images(source, shape, num_classes=10):
    assert source.x.shape == shape and source.x.dtype == np.float32
    assert source.x.min() >= -1.0 and source.x.max() <= 1.0
    assert source.x.min() == -1.0 and source.x.max() == 1.0  # Full range used: scaled, not clipped.
    assert source.y.shape == shape[:1] and source.y.dtype == np.int32
    assert source.num_classes == num_classes and 0 <= source.y.min() and source.y.max() < num_classes
    assert source.metadata["value_range"] == (-1.0, 1.0)
    assert len(source.metadata["class_names"]) == num_classes


def test_digits_split_is_fixed_stratified_and_scaled():
    train, test = data.load("digits"), data.load("digits", "test")
    _assert_images(train, (1437, 8, 8, 1))
    _assert_images(test, (360, 8, 8, 1))
    np.testing.assert_array_equal(train.x, data.load("digits", seed=7).x)
    np.testing.assert_allclose(np.bincount(test.y) / 360, np.bincount(train.y) / 1437, atol=0.01)
    assert data.load("digits", num_examples=10).x.shape == (10, 8, 8, 1)


@pytest.mark.skipif(not data._DEBIAN_FASHION_MNIST.is_dir(), reason="Debian's dataset-fashion-mnist not installed")
def test_fashion_mnist_from_debian_files(tmp_path, offline):
    train = data.load("fashion_mnist", num_examples=200, data_dir=str(tmp_path))
    _assert_images(train, (200, 28, 28, 1))
    assert train.origin == f"debian:{data._DEBIAN_FASHION_MNIST}"
    assert train.metadata["class_names"][9] == "Ankle boot"
    fewer = data.load("fashion_mnist", num_examples=50, data_dir=str(tmp_path))
    np.testing.assert_array_equal(fewer.x, train.x[:50])
    test = data.load("fashion_mnist", "test", num_examples=200, data_dir=str(tmp_path))
    _assert_images(test, (200, 28, 28, 1))
    assert not np.array_equal(train.x, test.x)


@pytest.mark.parametrize("name", ["mnist", "cifar10"])
def test_tfds_source_unavailable_offline_says_what_was_tried(name, tmp_path, offline):
    with pytest.raises(FileNotFoundError, match=name) as error:
        data.load(name, data_dir=str(tmp_path))
    message = str(error.value)
    assert str(tmp_path) in message and "offline (test)" in message
    assert "internet" in message and "data_dir" in message


def test_fashion_mnist_without_any_copy_suggests_debian_package(tmp_path, offline, monkeypatch):
    monkeypatch.setattr(data, "_DEBIAN_FASHION_MNIST", tmp_path / "absent")
    with pytest.raises(FileNotFoundError, match="apt-get install dataset-fashion-mnist"):
        data.load("fashion_mnist", data_dir=str(tmp_path))


# --- image_folder -------------------------------------------------------------------------------------------------


def _write_png(path, size, value, mode="RGB"):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, value if mode == "L" else (value,) * 3).save(path)


def test_image_folder_without_subfolders_is_unlabelled(tmp_path):
    for i in range(3):
        _write_png(tmp_path / f"{i}.png", (6, 4), 255 * (i % 2))  # Pillow sizes are (W, H).
    source = data.load("image_folder", path=str(tmp_path))
    assert source.x.shape == (3, 4, 6, 3) and source.x.dtype == np.float32
    assert source.y is None and source.num_classes == 0
    np.testing.assert_array_equal(source.x[:, 0, 0, 0], [-1.0, 1.0, -1.0])
    gray = data.load("image_folder", path=str(tmp_path), channels=1, image_size=[8, 5])
    assert gray.x.shape == (3, 8, 5, 1)


def test_image_folder_class_subfolders_become_sorted_labels(tmp_path):
    for name, value in [("zebra", 255), ("ant", 0)]:
        for i in range(2):
            _write_png(tmp_path / name / f"{i}.jpg", (5, 5), value)
    source = data.load("image_folder", path=str(tmp_path), image_size=4, num_examples=3)
    assert source.x.shape == (3, 4, 4, 3)
    np.testing.assert_array_equal(source.y, [0, 0, 1])
    assert source.num_classes == 2 and source.metadata["class_names"] == ("ant", "zebra")
    np.testing.assert_allclose(source.x[:, 0, 0, 0], [-1.0, -1.0, 1.0], atol=0.02)  # JPEG is lossy.


def test_image_folder_split_subfolders(tmp_path):
    _write_png(tmp_path / "train" / "a" / "0.png", (4, 4), 0)
    _write_png(tmp_path / "test" / "a" / "0.png", (4, 4), 255)
    assert data.load("image_folder", path=str(tmp_path)).x.max() == -1.0
    assert data.load("image_folder", "test", path=str(tmp_path)).x.min() == 1.0


def test_image_folder_errors(tmp_path):
    with pytest.raises(ValueError, match="path"):
        data.load("image_folder")
    with pytest.raises(FileNotFoundError, match="not a folder"):
        data.load("image_folder", path=str(tmp_path / "missing"))
    with pytest.raises(FileNotFoundError, match="No .png"):
        data.load("image_folder", path=str(tmp_path))
    _write_png(tmp_path / "a.png", (4, 4), 0)
    with pytest.raises(FileNotFoundError, match="'test'"):
        data.load("image_folder", "test", path=str(tmp_path))
    _write_png(tmp_path / "b.png", (5, 4), 0)
    with pytest.raises(ValueError, match="image_size"):
        data.load("image_folder", path=str(tmp_path))


# --- load() argument errors ---------------------------------------------------------------------------------------


def test_unknown_source_lists_the_known_ones():
    with pytest.raises(ValueError, match="'celeba'.*ring8.*image_folder"):
        data.load("celeba")


def test_unknown_parameter_names_key_and_allowed_ones():
    with pytest.raises(ValueError, match="'covariance'.*mean, cov"):
        data.load("gaussian2d", covariance=[[1, 0], [0, 1]])
    with pytest.raises(ValueError, match="'std'.*none"):
        data.load("ring8", std=0.1)


def test_bad_split_and_num_examples():
    with pytest.raises(ValueError, match="'validation'"):
        data.load("ring8", "validation")
    with pytest.raises(ValueError, match="num_examples"):
        data.load("ring8", num_examples=0)


# --- make_dataset -------------------------------------------------------------------------------------------------


def _indexed(num):
    """Examples whose value is their index, with labels derived from it, so batches show what was gathered."""
    x = np.arange(num, dtype=np.float32).reshape(num, 1)
    return x, (np.arange(num) * 7 % 5).astype(np.int32)


def test_resumed_stream_matches_uninterrupted_run():
    source = data.load("ring8", num_examples=50)
    full = _take(data.make_dataset(source, 8, seed=5), 20)
    for k in (0, 3, 6, 19):
        resumed = _take(data.make_dataset(source, 8, seed=5, start_step=k), 1)[0]
        np.testing.assert_array_equal(resumed[0], full[k][0])
        np.testing.assert_array_equal(resumed[1], full[k][1])


def test_each_epoch_visits_every_example_once():
    x, _ = _indexed(10)
    batches = _take(data.make_dataset(x, 3, seed=1), 10)  # 30 examples: three epochs, batches straddle them.
    order = np.concatenate(batches)[:, 0].astype(int)
    epochs = order.reshape(3, 10)
    for epoch in epochs:
        np.testing.assert_array_equal(np.sort(epoch), np.arange(10))
    assert not np.array_equal(epochs[0], epochs[1])
    assert not np.array_equal(order, np.concatenate(_take(data.make_dataset(x, 3, seed=2), 10))[:, 0])


def test_labels_align_with_examples_and_shapes_are_static():
    x, y = _indexed(37)
    dataset = data.make_dataset((x, y), 16, seed=0)
    assert dataset.element_spec[0].shape == (16, 1) and dataset.element_spec[1].shape == (16,)
    for batch_x, batch_y in _take(dataset, 5):
        np.testing.assert_array_equal(batch_y, y[batch_x[:, 0].astype(int)])


def test_labels_default_to_what_the_input_has():
    source = data.load("ring8", num_examples=20)
    assert isinstance(data.make_dataset(source, 4).element_spec, tuple)
    assert data.make_dataset(source, 4, labels=False).element_spec.shape == (4, 2)
    assert data.make_dataset(source.x, 4).element_spec.shape == (4, 2)
    assert data.make_dataset(data.load("gaussian2d", num_examples=20), 4).element_spec.shape == (4, 2)
    with pytest.raises(ValueError, match="no labels"):
        data.make_dataset(source.x, 4, labels=True)


def test_batch_size_must_fit_the_data():
    x, _ = _indexed(5)
    for bad in (0, 6):
        with pytest.raises(ValueError, match="batch_size"):
            data.make_dataset(x, bad)

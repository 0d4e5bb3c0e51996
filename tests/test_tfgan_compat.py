"""Tests for tfgan_zoo.tfgan_compat: loading TF-GAN submodules on TF >= 2.16."""

import sys
import textwrap

import numpy as np
import pytest
import tensorflow as tf

from tfgan_zoo import tfgan_compat


@pytest.fixture
def isolated_tfgan(monkeypatch):
    """Hides every `tensorflow_gan*` module and the loader's cache for one test, then restores them."""
    saved = {name: module for name, module in sys.modules.items() if name.split(".")[0] == "tensorflow_gan"}
    for name in saved:
        del sys.modules[name]
    monkeypatch.setattr(tfgan_compat, "_CACHE", {})
    yield
    for name in [name for name in sys.modules if name.split(".")[0] == "tensorflow_gan"]:
        del sys.modules[name]
    sys.modules.update(saved)


def _write_fake_tfgan(root, init_body):
    """A minimal tensorflow_gan package on disk whose package __init__ runs `init_body`."""
    package = root / "tensorflow_gan"
    (package / "python" / "losses").mkdir(parents=True)
    (package / "__init__.py").write_text(textwrap.dedent(init_body))
    (package / "python" / "__init__.py").write_text(textwrap.dedent(init_body))
    (package / "python" / "losses" / "__init__.py").write_text(textwrap.dedent(init_body))
    (package / "python" / "losses" / "losses_impl.py").write_text("def answer():\n    return 42\n")


def test_loads_losses_impl_and_its_functions_work():
    losses_impl = tfgan_compat.load("python.losses.losses_impl")
    loss = losses_impl.wasserstein_generator_loss(tf.constant([1.0, 2.0]))
    np.testing.assert_allclose(loss.numpy(), -1.5)
    per_example = losses_impl.least_squares_generator_loss(
        tf.constant([0.0, 3.0]), reduction=tf.compat.v1.losses.Reduction.NONE
    )
    np.testing.assert_allclose(per_example.numpy(), [0.5, 2.0])


def test_loads_classifier_metrics_and_its_functions_work():
    classifier_metrics = tfgan_compat.load("python.eval.classifier_metrics")
    rng = np.random.default_rng(0)
    activations = rng.normal(size=(64, 3)).astype(np.float32)
    same = classifier_metrics.frechet_classifier_distance_from_activations(activations, activations)
    np.testing.assert_allclose(same.numpy(), 0.0, atol=1e-3)
    # Shifting every activation by 2 along one axis moves the mean by 2: FD = |delta mu|^2 = 4.
    shifted = classifier_metrics.frechet_classifier_distance_from_activations(
        activations, activations + [2.0, 0.0, 0.0]
    )
    np.testing.assert_allclose(shifted.numpy(), 4.0, rtol=1e-3)
    # Classifier (Inception) score of uniform logits over 4 classes is 1.
    score = classifier_metrics.classifier_score_from_logits(tf.zeros([8, 4]))
    np.testing.assert_allclose(score.numpy(), 1.0, rtol=1e-5)


def test_loads_sliced_wasserstein_and_its_functions_work():
    sliced_wasserstein = tfgan_compat.load("python.eval.sliced_wasserstein")
    rng = np.random.default_rng(0)
    real = tf.constant(rng.uniform(0, 255, (4, 16, 16, 3)), tf.float32)
    fake = tf.constant(rng.uniform(0, 255, (4, 16, 16, 3)), tf.float32)
    distances = sliced_wasserstein.sliced_wasserstein_distance(real, fake, resolution_min=16, patches_per_image=8)
    assert len(distances) == 1  # One Laplacian level at 16x16.
    for value in distances[0]:
        assert np.isfinite(value.numpy()) and value.numpy() >= 0.0


def test_load_is_cached_and_accepts_the_full_name():
    first = tfgan_compat.load("python.losses.losses_impl")
    assert tfgan_compat.load("python.losses.losses_impl") is first
    assert tfgan_compat.load("tensorflow_gan.python.losses.losses_impl") is first
    assert sys.modules["tensorflow_gan.python.losses.losses_impl"] is first


def test_loaded_module_is_reachable_by_a_normal_import():
    losses_impl = tfgan_compat.load("python.losses.losses_impl")
    from tensorflow_gan.python.losses import losses_impl as imported  # pylint: disable=import-outside-toplevel

    assert imported is losses_impl


@pytest.mark.parametrize("bad", ["", ".", "python..losses", "python.losses-impl", None])
def test_rejects_malformed_names(bad):
    with pytest.raises(ValueError):
        tfgan_compat.load(bad)


def test_unknown_submodule_is_a_clear_error():
    with pytest.raises(ModuleNotFoundError, match="tensorflow-gan==2.1.0"):
        tfgan_compat.load("python.losses.no_such_module")


@pytest.mark.usefixtures("isolated_tfgan")
def test_missing_package_names_the_fix(monkeypatch, tmp_path):
    monkeypatch.setattr(sys, "path", [str(tmp_path)])
    with pytest.raises(ImportError, match=r"pip install tensorflow-gan==2\.1\.0"):
        tfgan_compat.load("python.losses.losses_impl")
    assert "tensorflow_gan" not in sys.modules


@pytest.mark.usefixtures("isolated_tfgan")
def test_missing_package_names_the_fix_on_old_tensorflow(monkeypatch, tmp_path):
    monkeypatch.setattr(sys, "path", [str(tmp_path)])
    monkeypatch.setattr(tfgan_compat, "_tf_has_estimator", lambda: True)
    with pytest.raises(ImportError, match=r"pip install tensorflow-gan==2\.1\.0"):
        tfgan_compat.load("python.losses.losses_impl")


@pytest.mark.usefixtures("isolated_tfgan")
def test_skips_package_init_that_needs_tf_estimator(monkeypatch, tmp_path):
    # Stands in for TF-GAN 2.1.0 on TF >= 2.16: every package __init__ fails, the submodule works.
    _write_fake_tfgan(tmp_path, "raise AttributeError(\"module 'tensorflow' has no attribute 'estimator'\")\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(tfgan_compat, "_tf_has_estimator", lambda: False)
    losses_impl = tfgan_compat.load("python.losses.losses_impl")
    assert losses_impl.answer() == 42
    assert losses_impl.__file__.startswith(str(tmp_path))
    top = sys.modules["tensorflow_gan"]
    assert tfgan_compat._is_stub(top)  # pylint: disable=protected-access
    assert top.python.losses.losses_impl is losses_impl
    with pytest.raises(AttributeError, match="tfgan_compat.load"):
        top.eval  # pylint: disable=pointless-statement


@pytest.mark.usefixtures("isolated_tfgan")
def test_uses_a_real_importable_tensorflow_gan(monkeypatch, tmp_path):
    # On a TensorFlow that still has tf.estimator, TF-GAN is imported the normal way, __init__ included.
    _write_fake_tfgan(tmp_path, "INIT_RAN = True\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(tfgan_compat, "_tf_has_estimator", lambda: True)
    losses_impl = tfgan_compat.load("python.losses.losses_impl")
    assert losses_impl.answer() == 42
    top = sys.modules["tensorflow_gan"]
    assert not tfgan_compat._is_stub(top)  # pylint: disable=protected-access
    assert top.INIT_RAN and top.python.INIT_RAN


@pytest.mark.usefixtures("isolated_tfgan")
def test_keeps_an_already_imported_real_tensorflow_gan(monkeypatch, tmp_path):
    _write_fake_tfgan(tmp_path, "INIT_RAN = True\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import tensorflow_gan  # pylint: disable=import-outside-toplevel

    monkeypatch.setattr(tfgan_compat, "_tf_has_estimator", lambda: False)
    losses_impl = tfgan_compat.load("python.losses.losses_impl")
    assert sys.modules["tensorflow_gan"] is tensorflow_gan
    assert sys.modules["tensorflow_gan.python"].INIT_RAN
    assert losses_impl.answer() == 42

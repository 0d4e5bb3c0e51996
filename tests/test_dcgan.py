"""The DCGAN and conditional families: shapes, conditioning variants, latent tools, and short runs that learn."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image
from sklearn.linear_model import LogisticRegression

from tfgan_zoo import build, config, data, latent, paths, training
from tfgan_zoo.gan import GAN
from tfgan_zoo.networks import conv1d, dcgan


@pytest.mark.parametrize("shape", [(8, 8, 1), (28, 28, 1), (32, 32, 3), (64, 64, 3)])
@pytest.mark.parametrize("upsampling", dcgan.UPSAMPLINGS)
def test_one_builder_serves_every_resolution(shape, upsampling):
    g = dcgan.generator(16, shape, channels=8, upsampling=upsampling)
    d = dcgan.discriminator(shape, channels=8)
    images = g(np.zeros((2, 16), "float32"))
    assert images.shape == (2, *shape)
    assert np.abs(images).max() <= 1.0
    assert d(images).shape == (2,)
    assert not any(isinstance(layer, keras.layers.Dense) for layer in d.layers[:-2])  # no hidden dense in D


def test_unsupported_resolution_and_options_are_clear_errors():
    with pytest.raises(ValueError, match="halves at least once to 4..7 pixels; got 7"):
        dcgan.generator(8, (7, 7, 1))
    with pytest.raises(ValueError, match="Unknown upsampling 'bilinear'"):
        dcgan.generator(8, (8, 8, 1), upsampling="bilinear")
    with pytest.raises(ValueError, match="Unknown conditioning 'film'"):
        dcgan.discriminator((8, 8, 1), num_classes=3, conditioning="film")


@pytest.mark.parametrize("conditioning", dcgan.CONDITIONINGS)
def test_conditioning_variants_use_the_label(conditioning):
    keras.utils.set_random_seed(0)
    d = dcgan.discriminator((8, 8, 1), channels=8, num_classes=5, conditioning=conditioning)
    images = np.random.default_rng(0).normal(size=(4, 8, 8, 1)).astype("float32")
    out_a = d([images, np.zeros(4, "int32")])
    out_b = d([images, np.full(4, 3, "int32")])
    if conditioning == "acgan":
        assert out_a[0].shape == (4,) and out_a[1].shape == (4, 5)
        np.testing.assert_allclose(out_a[1], out_b[1])  # the class head reads the image only
    else:
        assert out_a.shape == (4,)
        assert not np.allclose(out_a, out_b)


@pytest.mark.parametrize("network", ["dcgan", "conv1d"])
def test_spectral_norm_bounds_the_projection_embedding(network, tmp_path):
    keras.utils.set_random_seed(0)
    if network == "dcgan":
        d = dcgan.discriminator((8, 8, 1), 8, 5, "projection", spectral_norm=True)
        samples = np.random.default_rng(0).normal(size=(4, 8, 8, 1)).astype("float32")
    else:
        d = conv1d.discriminator((32, 1), 8, 5, conditioning="projection", spectral_norm=True)
        samples = np.random.default_rng(0).normal(size=(4, 32, 1)).astype("float32")
    labels = np.array([0, 1, 3, 3], "int32")
    (embedding,) = [layer for layer in d.layers if "embedding" in layer.name]
    table = getattr(embedding, "layer", embedding).embeddings  # left unnormalised, sigma 3.7 after 30 calls
    table.assign(table * 10.0)
    for _ in range(30):  # one power iteration per training call
        d([samples, labels], training=True)
    assert np.linalg.svd(table.numpy(), compute_uv=False)[0] == pytest.approx(1.0, rel=0.05)
    logits = d([samples, labels]).numpy()
    assert not np.allclose(logits, d([samples, np.zeros(4, "int32")]))  # the label's vector reaches the logit
    d.save(tmp_path / "d.keras")
    np.testing.assert_allclose(keras.models.load_model(tmp_path / "d.keras")([samples, labels]), logits, rtol=1e-6)


def test_acgan_trains_its_class_head_through_the_shared_step():
    keras.utils.set_random_seed(0)
    source = data.load("digits")
    gan = GAN(dcgan.generator(16, (8, 8, 1), 16, 10), dcgan.discriminator((8, 8, 1), 16, 10, "acgan"), 16, 10)
    gan.compile(keras.optimizers.Adam(1e-3, 0.5), keras.optimizers.Adam(1e-3, 0.5))
    history = gan.fit(data.make_dataset(source, 64), steps_per_epoch=100, epochs=2, verbose=0).history
    assert history["class_loss"][-1] < history["class_loss"][0]
    test = data.load("digits", "test")
    class_logits = gan.discriminator([test.x, test.y])[1]
    assert (np.argmax(class_logits, axis=1) == test.y).mean() > 0.5


def test_spherical_latents_lie_on_the_sphere():
    gan = GAN(dcgan.generator(16, (8, 8, 1), 8), dcgan.discriminator((8, 8, 1), 8), 16, latent_distribution="spherical")
    z = gan.latent(100, tf.constant([0, 0], tf.int64)).numpy()
    np.testing.assert_allclose(np.linalg.norm(z, axis=1), 4.0, rtol=1e-5)
    with pytest.raises(ValueError, match="normal or spherical"):
        GAN(gan.generator, gan.discriminator, 16, latent_distribution="uniform")


def test_slerp_follows_the_great_circle():
    z0, z1 = np.array([3.0, 0.0]), np.array([0.0, 3.0])
    path = latent.interpolation_latents(z0, z1, 5)
    np.testing.assert_allclose(path[0], z0, atol=1e-6)
    np.testing.assert_allclose(path[-1], z1, atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(path, axis=1), 3.0, rtol=1e-6)
    np.testing.assert_allclose(path[2], [3 / np.sqrt(2), 3 / np.sqrt(2)], rtol=1e-6)


def test_slerp_between_antipodal_latents_follows_a_great_circle():
    z0 = np.array([1.0, 2.0, -2.0])
    path = latent.interpolation_latents(z0, -2 * z0, 5)  # the old formula gave zero vectors between the ends
    np.testing.assert_allclose(path[0], z0, atol=1e-6)
    np.testing.assert_allclose(path[-1], -2 * z0, atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(path, axis=1), [3.0, 3.75, 4.5, 5.25, 6.0], rtol=1e-6)
    np.testing.assert_allclose(path[2] @ z0, 0.0, atol=1e-5)  # halfway round: perpendicular to both ends
    # Through the x axis, least aligned with z0: 4.5 (8, -2, 2) / sqrt(72).
    np.testing.assert_allclose(path[2], np.array([3.0, -0.75, 0.75]) * np.sqrt(2), rtol=1e-6)


def test_vector_arithmetic_combines_set_means():
    a, b, c = np.ones((3, 4)), np.full((2, 4), 2.0), np.full((5, 4), 0.5)
    np.testing.assert_allclose(latent.vector_arithmetic(a, b, c), np.full(4, -0.5))


def pixel_statistics_gap(samples, real):
    """Mean absolute gap between per-pixel means and stds of two image sets."""
    return np.abs(samples.mean(0) - real.mean(0)).mean() + np.abs(samples.std(0) - real.std(0)).mean()


def test_dcgan_on_digits_moves_sample_statistics_toward_the_data(tmp_path, zoo_config):
    cfg = zoo_config("dcgan_digits", ["train.steps=750", "train.steps_per_epoch=250"])
    source = build.load_source(cfg)
    untrained = build.build_gan(cfg, source.x.shape[1:])
    before = pixel_statistics_gap(untrained.sample(500, seed=1), source.x)
    gan, history = training.train(cfg, tmp_path, verbose=0)
    after = pixel_statistics_gap(gan.sample(500, seed=1), source.x)
    assert after < 0.5 * before
    # D is not winning outright: it cannot separate real from generated samples perfectly.
    assert history.history["d_loss"][-1] > 0.5


def test_conditional_digits_are_recognisable_as_the_asked_class(tmp_path, zoo_config):
    cfg = zoo_config("cgan_digits")
    gan, _ = training.train(cfg, tmp_path, verbose=0)
    train, test = data.load("digits"), data.load("digits", "test")
    classifier = LogisticRegression(max_iter=2000).fit(train.x.reshape(len(train.x), -1), train.y)
    assert classifier.score(test.x.reshape(len(test.x), -1), test.y) > 0.9
    labels = np.repeat(np.arange(10), 50)
    samples = gan.sample(len(labels), seed=3, labels=labels)
    accuracy = (classifier.predict(samples.reshape(len(samples), -1)) == labels).mean()
    assert accuracy > 0.6, accuracy
    with pytest.raises(ValueError, match="Label 10 is out of range"):
        gan.sample(1, labels=[10])


def test_rgb_config_trains_on_small_random_rgb_data(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(64):
        Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(folder / f"{i}.png")
    cfg = config.load(
        paths.config_path("dcgan_cifar10"),
        [
            "runtime.jit_compile=false",
            "runtime.precision=float32",
            "data.source=image_folder",
            f"data.params={{path: {folder}}}",
            "data.batch_size=16",
            "model.channels=8",
            "train.steps=2",
            "train.steps_per_epoch=1",
            "runtime.jit_compile=false",
        ],
    )
    gan, _ = training.train(cfg, tmp_path / "run", verbose=0)
    assert gan.sample(3).shape == (3, 32, 32, 3)


def test_conditional_training_rejects_labels_out_of_range(tmp_path, zoo_config):
    cfg = zoo_config("cgan_digits", ["train.steps=1", "train.steps_per_epoch=1"])
    source = build.load_source(cfg)
    gan = build.build_gan(cfg, source.x.shape[1:], num_classes=5)
    with pytest.raises(ValueError, match=r"Label \d is out of range: this generator has 5 classes"):
        gan.check_labels(source.y, len(source.y))


def test_keras_round_trip_of_custom_layers(tmp_path):
    gan = GAN(
        dcgan.generator(8, (8, 8, 1), 8, 3, upsampling="pixel_shuffle"),
        dcgan.discriminator((8, 8, 1), 8, 3, "concat"),
        8,
        3,
    )
    gan.compile(keras.optimizers.Adam(), keras.optimizers.Adam())
    gan.save(tmp_path / "gan.keras")
    loaded = keras.models.load_model(tmp_path / "gan.keras")
    np.testing.assert_array_equal(loaded.sample(4, labels=[0, 1, 2, 0]), gan.sample(4, labels=[0, 1, 2, 0]))

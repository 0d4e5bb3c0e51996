"""The progressive family: equalized-LR layers, the growth schedule, growth 4x4 -> 8x8 inside one `fit`, exact
resume in the middle of a fade-in, and serialization."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from tfgan_zoo import data, health, training
from tfgan_zoo.networks import progressive

# The tiny progressive config's growth: 16 real images per step, 4 steps of 4x4, a fade-in over 4 steps, then 8x8.
EXPECTED_GROWTH = [(0, 1.0)] * 4 + [(1, 0.0), (1, 0.25), (1, 0.5), (1, 0.75)] + [(1, 1.0)] * 4


def blocky(images):
    """Whether every 2x2 block of each image is constant: the effective resolution is half the side."""
    images = np.asarray(images)
    return all(np.allclose(images[:, i::2, j::2], images[:, ::2, ::2], atol=1e-6) for i in (0, 1) for j in (0, 1))


def test_equalized_layers_scale_unit_normal_weights_by_he_constant():
    keras.utils.set_random_seed(0)
    dense, conv = progressive.EqualizedDense(64), progressive.EqualizedConv2D(32, 3, gain=1.0)
    dense(np.ones((1, 50), "float32"))
    conv(np.ones((1, 6, 6, 8), "float32"))
    assert np.std(dense.kernel.numpy()) == pytest.approx(1.0, abs=0.05)  # stored at unit scale
    assert np.std(conv.kernel.numpy()) == pytest.approx(1.0, abs=0.05)
    dense.kernel.assign(tf.ones_like(dense.kernel))
    conv.kernel.assign(tf.ones_like(conv.kernel))
    # A sum of fan_in ones, times gain / sqrt(fan_in).
    np.testing.assert_allclose(dense(np.ones((1, 50), "float32")), math.sqrt(2.0) / math.sqrt(50) * 50, rtol=1e-5)
    centre = conv(np.ones((1, 6, 6, 8), "float32"))[0, 2, 2]  # a pixel whose 3x3 patch lies inside the image
    np.testing.assert_allclose(centre, 1.0 / math.sqrt(3 * 3 * 8) * 72, rtol=1e-5)


def test_pixel_norm_gives_each_pixel_unit_mean_square():
    x = np.random.default_rng(0).normal(scale=5.0, size=(2, 3, 3, 16)).astype("float32")
    np.testing.assert_allclose(np.mean(np.square(progressive.PixelNorm()(x)), axis=-1), 1.0, rtol=1e-4)


def test_the_schedule_alternates_fade_ins_and_stable_phases():
    def at(images):
        return progressive.growth_at(images, num_levels=3, stable_images=100, transition_images=50)

    assert [at(n) for n in (0, 99, 100, 125, 149, 150, 249, 250, 275, 300, 10**9)] == [
        (0, 1.0),
        (0, 1.0),
        (1, 0.0),
        (1, 0.5),
        (1, 0.98),
        (1, 1.0),
        (1, 1.0),
        (2, 0.0),
        (2, 0.5),
        (2, 1.0),
        (2, 1.0),
    ]
    with pytest.raises(ValueError, match=r"image side must be 4 \* 2\*\*k .* got 28. Pad the images"):
        progressive.generator(8, (28, 28, 1))


def test_one_fit_grows_from_4x4_to_8x8_at_the_scheduled_step(tiny_gan):
    gan, source = tiny_gan("pggan_digits")
    z = gan.latent(8, tf.constant([1, 2], tf.int64))
    real = source.x[:8]
    seen = []

    class Record(keras.callbacks.Callback):  # runs after the growth callback, before each step
        def on_train_batch_begin(self, batch, logs=None):
            seen.append(
                (progressive.growth(gan), blocky(gan.generate(z, use_ema=False)), blocky(gan.real_transform(real)))
            )
            states = {
                (int(layer.level.numpy()), float(layer.alpha.numpy())) for layer in progressive.growth_layers(gan)
            }
            assert len(states) == 1 and len(progressive.growth_layers(gan)) == 4  # G, EMA G, D, reals agree

    growth = progressive.ProgressiveGrowth(64, 64, images_per_step=16)
    gan.fit(
        data.make_dataset(source, 16, labels=False),
        steps_per_epoch=12,
        epochs=1,
        verbose=0,
        callbacks=[growth, Record()],
    )
    assert [state for state, _, _ in seen] == EXPECTED_GROWTH
    # 4x4 until the fade-in starts (at alpha 0 the new level adds nothing), 8x8 from its first step on.
    assert [fake for _, fake, _ in seen] == [True] * 5 + [False] * 7
    assert [reals for _, _, reals in seen] == [True] * 5 + [False] * 7
    np.testing.assert_allclose(gan.real_transform(real), real, atol=1e-6)  # at 8x8, stable: the images as they are
    assert gan.generate(z).shape == (8, 8, 8, 1)


def test_a_run_interrupted_mid_fade_in_resumes_with_its_level_and_alpha(
    tmp_path, tiny_config, tiny_gan, assert_same_weights
):
    straight, _ = training.train(tiny_config("pggan_digits", "train.steps=12"), tmp_path / "straight", verbose=0)
    interrupted, _ = training.train(tiny_config("pggan_digits", "train.steps=6"), tmp_path / "resumed", verbose=0)
    assert progressive.growth(interrupted) == (1, 0.25)  # step 6 set at the start of step 5: 80 images

    restored, _ = tiny_gan("pggan_digits")
    tf.train.Checkpoint(gan=restored).restore(
        tf.train.latest_checkpoint(str(tmp_path / "resumed" / "checkpoints"))
    ).expect_partial()
    assert int(restored.step.numpy()) == 6 and progressive.growth(restored) == (1, 0.25)

    resumed, _ = training.train(tiny_config("pggan_digits", "train.steps=12"), tmp_path / "resumed", verbose=0)
    assert progressive.growth(resumed) == progressive.growth(straight) == (1, 1.0)
    assert_same_weights(straight, resumed, rtol=1e-5, atol=1e-6)
    pictures = {p.name for p in (tmp_path / "straight" / "samples").glob("level_*.png")}
    assert pictures == {"level_4x4.png", "level_8x8.png"}


@pytest.mark.parametrize(
    "layer",
    [
        progressive.EqualizedDense(3, gain=1.0),
        progressive.EqualizedConv2D(2, 3),
        progressive.PixelNorm(),
        progressive.Synthesis([8, 4], 1),
        progressive.Analysis([8, 4]),
        progressive.RealImages(3),
    ],
    ids=lambda layer: type(layer).__name__,
)
def test_layers_round_trip_through_their_config(layer):
    copy = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert type(copy) is type(layer) and copy.get_config() == layer.get_config()


def test_keras_file_keeps_the_growth_and_the_samples(tmp_path, tiny_gan):
    gan, _ = tiny_gan("pggan_digits", "model.conditional=true", "model.conditioning=projection")
    progressive.set_growth(gan, 1, 0.5)
    gan.save(tmp_path / "gan.keras")
    loaded = keras.models.load_model(tmp_path / "gan.keras")
    assert progressive.growth(loaded) == (1, 0.5) and len(progressive.growth_layers(loaded)) == 4
    labels = np.arange(8) % 10
    np.testing.assert_array_equal(loaded.sample(8, seed=3, labels=labels), gan.sample(8, seed=3, labels=labels))


def test_images_are_padded_with_background_and_cropped_back(zoo_config):
    source = data.load("digits", num_examples=4, pad_to=12)
    assert source.x.shape == (4, 12, 12, 1) and source.metadata["padding"] == ((2, 2), (2, 2))
    assert np.all(source.x[:, :2] == -1.0)
    np.testing.assert_array_equal(
        data.crop_padding(source.x, source.metadata["padding"]), data.load("digits", num_examples=4).x
    )
    cfg = zoo_config("pggan_fashion_mnist")
    assert cfg.data.params == {"pad_to": 32} and cfg.model.family == "progressive"


def test_only_the_levels_in_use_are_computed(tiny_gan):
    """The levels above the current one are never run: weights of NaN there leave the samples, D's logits and
    both networks' gradients finite (a fade weight of 0 would still multiply out NaN)."""
    gan, source = tiny_gan("pggan_digits")
    synthesis, analysis = gan.generator.get_layer("synthesis"), gan.discriminator.get_layer("analysis")
    for layer in (synthesis.at("conv0", 1), synthesis.at("to_image", 1), analysis.at("from_image", 1)):
        layer.kernel.assign(tf.fill(layer.kernel.shape, np.nan))
    progressive.set_growth(gan, 0, 1.0)
    z = gan.latent(8, tf.constant([1, 2], tf.int64))
    with tf.GradientTape(persistent=True) as tape:
        logits = gan.discriminator(gan.generator(z, training=True), training=True)
        loss = tf.reduce_mean(logits)
    assert np.all(np.isfinite(logits))
    for network in (gan.generator, gan.discriminator):
        gradients = tape.gradient(loss, network.trainable_weights)
        assert all(np.all(np.isfinite(g)) for g in gradients if g is not None)
    progressive.set_growth(gan, 1, 0.5)  # and at the level that uses them, they are used
    assert np.all(np.isnan(gan.generator(z)))


def test_the_image_folder_config_grows_rgb_images_to_64x64(tmp_path, tiny_config):
    rng = np.random.default_rng(0)
    folder = tmp_path / "images"
    folder.mkdir()
    for i in range(24):  # any size: the config resizes them to 64x64
        Image.fromarray(rng.integers(0, 256, (48, 80, 3), dtype=np.uint8)).save(folder / f"{i}.png")
    # 8 real images per step: 8 of 4x4, then a fade-in and a stable phase of 8 each per level; 64x64 from step 8.
    cfg = tiny_config(
        "pggan_image_folder_64",
        f"data.params.path={folder}",
        "data.batch_size=8",
        "train.stable_images=8",
        "train.transition_images=8",
        "train.steps=9",
        "train.steps_per_epoch=9",
        "model.channels=4",
        "train.gradient_penalty=0.0",  # the growth is the point here, and tracing the penalty's double backprop is slow
    )
    gan, _ = training.train(cfg, tmp_path / "run", verbose=0)
    assert progressive.growth(gan) == (4, 1.0)
    assert gan.sample(2).shape == (2, 64, 64, 3)


def test_the_image_folder_config_asks_for_the_folder(zoo_config):
    with pytest.raises(ValueError, match=r"needs data.params.path, a folder of .png/.jpg images: --set data.params"):
        training.train(zoo_config("pggan_image_folder_64"), "unused", verbose=0)


def test_the_health_monitor_compares_samples_with_the_real_images_of_the_current_level(tmp_path, tiny_gan, monkeypatch):
    """At 4x4, a generator that draws exactly the real images at 4x4 is not collapsing."""
    gan, source = tiny_gan("pggan_digits")
    progressive.set_growth(gan, 0, 1.0)
    others = source.x[400:600]
    monkeypatch.setattr(health.suite, "sample", lambda model, n: (np.asarray(gan.real_transform(others[:n])), None))
    monitor = health.TrainingHealth(str(tmp_path), lambda: None, source.x[:400], "wasserstein", num_samples=200)
    monitor.set_model(gan)
    logs = {}
    monitor.on_epoch_end(0, logs)
    assert logs["diversity"] > 0.7 and not monitor.findings

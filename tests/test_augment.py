"""Augmentation of what D sees: each augmentation by hand-checkable values, the policies and their errors, ADA's p
(its direction, its place in checkpoints, `.keras` files and the health warning, its absence from the exported
generator), and exact resume of augmented runs."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from tfgan_zoo import augment, build, config, health, signatures, training, workdirs
from tfgan_zoo.gan import GAN
from tfgan_zoo.networks import mlp

SEED = tf.constant([7, 3], tf.int64)


def zero_padded_shift(image, dy, dx):
    """`image` [H, W, C] moved down by dy and right by dx, zeros where nothing moved in."""
    height, width = image.shape[:2]
    out = np.zeros_like(image)
    out[max(dy, 0) : height + min(dy, 0), max(dx, 0) : width + min(dx, 0)] = image[
        max(-dy, 0) : height - max(dy, 0), max(-dx, 0) : width - max(dx, 0)
    ]
    return out


def test_translation_moves_images_by_whole_pixels_filling_with_zeros():
    # 16 x 12 images of 2 channels: shifts up to 0.125 of each side, rounded (2 and 2 pixels).
    images = np.random.default_rng(0).uniform(-1, 1, (64, 16, 12, 2)).astype("float32")
    moved = augment.translation(images, SEED).numpy()
    shifts = []
    for image, out in zip(images, moved):
        matches = [
            (dy, dx)
            for dy in range(-2, 3)
            for dx in range(-2, 3)
            if np.array_equal(out, zero_padded_shift(image, dy, dx))
        ]
        assert len(matches) == 1
        shifts += matches
    assert len(set(shifts)) > 10  # drawn per example
    np.testing.assert_array_equal(zero_padded_shift(images[0], 1, -2)[0], 0.0)  # the helper fills with zeros


def test_translation_of_series_is_a_circular_shift():
    series = np.random.default_rng(1).normal(size=(32, 16, 2)).astype("float32")
    moved = augment.translation(series, SEED).numpy()
    for curve, out in zip(series, moved):
        assert sum(np.array_equal(out, np.roll(curve, shift, axis=0)) for shift in range(-2, 3)) == 1


def test_cutout_zeroes_one_rectangle_of_half_the_sides_clipped_at_the_borders():
    ones = np.ones((200, 8, 10, 3), "float32")
    out = augment.cutout(ones, SEED).numpy()
    assert set(np.unique(out)) == {0.0, 1.0}
    sizes = set()
    for image in out:
        zero = image[..., 0] == 0
        assert (image == image[..., :1]).all()  # every channel alike
        rows, columns = np.flatnonzero(zero.any(axis=1)), np.flatnonzero(zero.any(axis=0))
        assert zero[rows[0] : rows[-1] + 1, columns[0] : columns[-1] + 1].all() and zero.sum() == len(rows) * len(
            columns
        )
        assert np.ptp(rows) + 1 == len(rows) and np.ptp(columns) + 1 == len(columns)  # contiguous
        sizes.add((len(rows), len(columns)))
    assert (4, 5) in sizes and max(sizes) == (4, 5) and len(sizes) > 3  # whole, or clipped at a border


def test_flip_mirrors_half_the_images_at_probability_1():
    images = np.random.default_rng(2).uniform(-1, 1, (400, 5, 6, 1)).astype("float32")
    out = augment.flip(images, SEED).numpy()
    mirrored = np.array([np.array_equal(o, i[:, ::-1]) for o, i in zip(out, images)])
    kept = np.array([np.array_equal(o, i) for o, i in zip(out, images)])
    assert (mirrored | kept).all() and 0.4 < mirrored.mean() < 0.6


def test_color_shifts_brightness_and_scales_contrast_within_diffaugments_ranges():
    # One channel: no saturation, so out - mean(out) = c (x - mean(x)), c in [0.5, 1.5), and the mean moves by
    # the brightness, in [-0.5, 0.5).
    gray = np.random.default_rng(3).uniform(-1, 1, (100, 6, 6, 1)).astype("float32")
    out = augment.color(gray, SEED).numpy()
    centred, centred_out = (
        gray - gray.mean(axis=(1, 2, 3), keepdims=True),
        out - out.mean(axis=(1, 2, 3), keepdims=True),
    )
    contrast = (centred_out * centred).sum(axis=(1, 2, 3)) / (centred**2).sum(axis=(1, 2, 3))
    np.testing.assert_allclose(centred_out, contrast[:, None, None, None] * centred, atol=1e-5)
    assert 0.5 <= contrast.min() and contrast.max() < 1.5
    brightness = out.mean(axis=(1, 2, 3)) - gray.mean(axis=(1, 2, 3))
    assert -0.5 - 1e-5 <= brightness.min() and brightness.max() < 0.5
    # Saturation keeps each pixel's channel mean and contrast the image's mean: the mean still moves by the
    # brightness alone.
    rgb = np.random.default_rng(4).uniform(-1, 1, (100, 6, 6, 3)).astype("float32")
    out = augment.color(rgb, SEED).numpy()
    brightness = out.mean(axis=(1, 2, 3)) - rgb.mean(axis=(1, 2, 3))
    assert -0.5 - 1e-5 <= brightness.min() and brightness.max() < 0.5
    assert np.abs(out).max() < 4.5


def test_noise_on_series_is_zero_mean_with_the_light_curves_stddev():
    series = np.zeros((50, 128, 1), "float32")
    out = augment.noise(series, SEED).numpy()
    assert abs(out.mean()) < 0.002 and out.std() == pytest.approx(augment.SERIES_NOISE, rel=0.03)


@pytest.mark.parametrize(
    "policy, shape",
    [(("flip", "color", "translation", "cutout"), (8, 8, 3)), (("translation", "noise"), (16, 1))],
    ids=["images", "series"],
)
def test_probability_0_is_the_identity_1_always_applies_and_between_draws_per_example(policy, shape):
    x = np.random.default_rng(5).uniform(-1, 1, (1000, *shape)).astype("float32")
    np.testing.assert_array_equal(augment.augment(x, policy, SEED, 0.0), x)
    for name in policy:
        changed = [
            np.mean(np.any(augment.augment(x, (name,), SEED, p).numpy() != x, axis=tuple(range(1, x.ndim))))
            for p in (1.0, 0.3)
        ]
        at_one = {"flip": 0.5, "translation": 1 - 1 / (3 * 3 if len(shape) == 3 else 5)}.get(name, 1.0)
        assert changed[0] == pytest.approx(at_one, abs=0.05), name
        assert changed[1] == pytest.approx(0.3 * at_one, abs=0.05), name


def test_augmentations_are_differentiable():
    images = tf.constant(np.random.default_rng(6).uniform(-1, 1, (4, 8, 8, 3)), tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(images)
        total = tf.reduce_sum(augment.augment(images, ("flip", "color", "translation", "cutout"), SEED) ** 2)
    gradient = tape.gradient(total, images)
    assert gradient is not None and bool(tf.reduce_any(gradient != 0))


def test_each_augmentation_draws_the_same_whichever_others_the_policy_names():
    images = np.random.default_rng(7).uniform(-1, 1, (16, 8, 8, 1)).astype("float32")
    np.testing.assert_array_equal(
        augment.augment(images, ("translation",), SEED),
        augment.translation(images, tf.random.experimental.stateless_fold_in(SEED, 2)),
    )


def test_policies_are_checked_against_the_kind_of_samples():
    assert augment.check_policy(" cutout,translation ,flip", (8, 8, 1)) == ("flip", "translation", "cutout")
    with pytest.raises(ValueError, match=r"rotate: no such augmentation; images take translation, cutout, color, flip"):
        augment.check_policy("translation,rotate", (8, 8, 1))
    with pytest.raises(ValueError, match=r"cutout do not apply to series; series take translation, noise"):
        augment.check_policy("translation,cutout", (128, 1))
    with pytest.raises(ValueError, match="augmentation applies to images and series; these samples are points"):
        augment.check_policy("translation", (2,))
    with pytest.raises(ValueError, match="no augmentation named"):
        augment.check_policy(" , ", (8, 8, 1))


def test_config_errors_name_the_keys_and_what_applies(tiny_config):
    cfg = tiny_config("cgan_lightcurves", "train.augment=diffaugment")
    with pytest.raises(
        config.ConfigError,
        match=r"train.augment=diffaugment with train.augment_policy='color,translation,cutout': color, cutout do "
        r"not apply to series; series take translation, noise",
    ):
        build.build_gan(cfg, (128, 1), 3, {"amplitude": (0.2, 0.7), "period": (16.0, 48.0)})
    with pytest.raises(config.ConfigError, match=r"train.augment must be one of 'none', 'diffaugment', 'ada'"):
        tiny_config("dcgan_digits", "train.augment=adaptive")
    with pytest.raises(config.ConfigError, match=r"train.ada_target = 1.5 is out of range: it must be in \[0, 1\]"):
        tiny_config("dcgan_digits", "train.ada_target=1.5")


def test_ada_probability_steps_towards_the_target_by_the_images_seen():
    step = 64 / 1000  # 64 images at ada_kimg=1
    assert float(augment.ada_probability(0.5, 0.9, 0.6, 64, 1)) == pytest.approx(0.5 + step)
    assert float(augment.ada_probability(0.5, 0.2, 0.6, 64, 1)) == pytest.approx(0.5 - step)
    assert float(augment.ada_probability(0.01, -1.0, 0.6, 64, 1)) == 0.0
    assert float(augment.ada_probability(0.99, 1.0, 0.6, 64, 1)) == 1.0


# ----- ADA inside the GAN -----


def judge(sample_shape, verdict):
    """A D that gives every sample the logit `verdict`, whatever it sees."""
    inputs = keras.Input(sample_shape)
    logit = keras.layers.Dense(1, kernel_initializer="zeros", bias_initializer=keras.initializers.Constant(verdict))
    return keras.Model(inputs, logit(keras.layers.Flatten()(inputs)))


def ada_gan(discriminator, sample_shape=(4, 4, 1), policy="translation,cutout", **compile_kwargs):
    keras.utils.set_random_seed(0)
    generator = mlp.generator(4, sample_shape, (8,), output_activation="tanh")
    gan = GAN(generator, discriminator, 4, ema_decay=0.9, augment="ada", augment_policy=policy, ada_kimg=1)
    # Learning rates 0: D keeps its verdict.
    gan.compile(keras.optimizers.Adam(0.0), keras.optimizers.Adam(0.0), **compile_kwargs)
    return gan


def fit(gan, x, steps, batch=16):
    stream = tf.data.Dataset.from_tensor_slices(x).repeat().batch(batch, drop_remainder=True)
    return gan.fit(stream, steps_per_epoch=steps, epochs=1, verbose=0).history


@pytest.mark.parametrize("verdict, start, end", [(10.0, 0.0, 0.032), (-10.0, 0.5, 0.468)], ids=["sure", "unsure"])
def test_p_rises_while_d_is_sure_of_real_examples_and_falls_while_not(verdict, start, end):
    # r_t = E[sign(D(real))] is 1 (or -1), above (below) the target 0.6: two steps of 16 images at ada_kimg=1 move
    # p by 2 * 16 / 1000.
    gan = ada_gan(judge((4, 4, 1), verdict))
    gan.augment_probability.assign(start)
    history = fit(gan, np.zeros((64, 4, 4, 1), "float32"), 2)
    assert float(gan.augment_probability.numpy()) == pytest.approx(end)
    assert history["ada_r_t"] == [np.sign(verdict)]
    assert history["ada_p"][0] == pytest.approx((start + (start + end) / 2) / 2)  # the mean p the steps used


def test_r_t_is_averaged_over_every_discriminator_step():
    gan = ada_gan(judge((4, 4, 1), 10.0), d_steps=3)
    fit(gan, np.zeros((96, 4, 4, 1), "float32"), 1, batch=48)
    assert float(gan.augment_probability.numpy()) == pytest.approx(48 / 1000)  # the step's 3 x 16 real images


def test_series_train_with_translation_and_noise():
    gan = GAN(
        mlp.generator(4, (16, 1), (8,), output_activation="tanh"),
        mlp.discriminator((16, 1), (8,)),
        4,
        augment="diffaugment",
        augment_policy="translation,noise",
    )
    gan.compile(keras.optimizers.Adam(1e-3), keras.optimizers.Adam(1e-3))
    history = fit(gan, np.random.default_rng(8).uniform(-1, 1, (64, 16, 1)).astype("float32"), 2)
    assert np.isfinite(history["d_loss"][0]) and "ada_p" not in history


@pytest.mark.filterwarnings("ignore:Skipping variable loading for optimizer")  # the lean file has none, by design
def test_p_is_saved_with_the_gan_but_not_exported_with_the_generator(tmp_path):
    gan = ada_gan(mlp.discriminator((4, 4, 1), (8,)))
    gan.augment_probability.assign(0.25)
    for name, options in [("full.keras", {}), ("lean.keras", {"include_optimizer": False})]:
        gan.save(tmp_path / name, **options)
        loaded = keras.models.load_model(tmp_path / name)
        assert loaded.augment == "ada" and loaded.augment_policy == ("translation", "cutout")
        assert float(loaded.augment_probability.numpy()) == 0.25
    restored = ada_gan(mlp.discriminator((4, 4, 1), (8,)))
    tf.train.Checkpoint(gan=restored).read(
        tf.train.Checkpoint(gan=gan).write(str(tmp_path / "ckpt"))
    ).assert_existing_objects_matched()
    assert float(restored.augment_probability.numpy()) == 0.25

    assert not any("augment" in w.path for w in gan.inference_generator.weights)
    archive, _ = signatures.export_archive(gan)
    archive.write_out(str(tmp_path / "export"), verbose=False)
    saved = tf.train.load_checkpoint(str(tmp_path / "export" / "variables" / "variables")).get_variable_to_shape_map()
    saved.pop("_CHECKPOINTABLE_OBJECT_GRAPH")
    # The generator's weights and nothing else: no scalar p.
    assert sorted(map(tuple, saved.values())) == sorted(tuple(v.shape) for v in gan.inference_generator.weights)


def test_the_winning_discriminator_warning_speaks_of_augmentation(tmp_path):
    def warning(gan, **logs):
        monitor = health.TrainingHealth(str(tmp_path), lambda: None, np.zeros((8, 4, 4, 1)), "non_saturating", window=2)
        monitor.set_model(gan)
        for batch in range(2):
            monitor.on_train_batch_end(batch, {"d_loss": 0.01, **logs})
        (finding,) = monitor.findings
        return finding

    gan = ada_gan(judge((4, 4, 1), 10.0))
    gan.augment_probability.assign(0.3)
    assert (
        "ADA's augmentation probability p is 0.30 and D's overfitting r_t 0.90 (target 0.6): it rises while r_t stays "
        "above the target, faster with a lower train.ada_kimg." in warning(gan, ada_r_t=0.9)
    )
    gan.augment_probability.assign(1.0)
    assert "it can augment no more" in warning(gan, ada_r_t=0.9)
    plain = GAN(mlp.generator(4, (4, 4, 1), (8,)), judge((4, 4, 1), 10.0), 4)
    plain.compile(keras.optimizers.Adam(), keras.optimizers.Adam())
    assert "augment what it sees (train.augment=ada or diffaugment, in a new --workdir)" in warning(plain)


# ----- exact resume of augmented runs -----


@pytest.fixture(scope="module")
def image_folder(tmp_path_factory):
    """A folder of 64 random 16x16 RGB PNGs."""
    folder = tmp_path_factory.mktemp("images")
    pixels = np.random.default_rng(9).integers(0, 256, (64, 16, 16, 3), dtype=np.uint8)
    for i, image in enumerate(pixels):
        Image.fromarray(image).save(folder / f"{i:02d}.png")
    return folder


RESUMED = {
    # The example config on RGB images of its folder; ADA's target 0 makes p rise from the first step.
    "ada": ("dcgan_image_folder_augmented", ["data.batch_size=16", "train.ada_kimg=1", "train.ada_target=0.0"]),
    "diffaugment": (
        "dcgan_digits",
        ["train.augment=diffaugment", "train.augment_policy=translation,cutout,color,flip"],
    ),
}


@pytest.mark.parametrize("mode", sorted(RESUMED))
def test_a_resumed_augmented_run_ends_with_the_weights_of_an_uninterrupted_one(
    mode, tmp_path, tiny_config, assert_same_weights, image_folder
):
    name, overrides = RESUMED[mode]
    overrides = (
        [*overrides, f"data.params={{path: {image_folder}, image_size: 16, channels: 3}}"]
        if mode == "ada"
        else overrides
    )
    straight, history = training.train(tiny_config(name, "train.steps=3", *overrides), tmp_path / "straight", verbose=0)
    training.train(tiny_config(name, "train.steps=1", *overrides), tmp_path / "resumed", verbose=0)
    resumed, _ = training.train(tiny_config(name, "train.steps=3", *overrides), tmp_path / "resumed", verbose=0)
    assert straight.augment == mode
    assert_same_weights(straight, resumed, rtol=1e-5, atol=1e-6)
    if mode == "ada":
        assert 0 < float(straight.augment_probability.numpy()) == float(resumed.augment_probability.numpy())
        assert {"ada_p", "ada_r_t"} <= history.history.keys()
        events = next((tmp_path / "straight" / "logs" / "train").glob("events.out.tfevents.*"))
        tags = {
            value.tag for event in tf.compat.v1.train.summary_iterator(str(events)) for value in event.summary.value
        }
        assert {"epoch_ada_p", "epoch_ada_r_t"} <= tags


def test_a_resumed_run_may_steer_ada_but_not_change_what_d_sees(tmp_path, tiny_config):
    workdirs.prepare(tmp_path, tiny_config("dcgan_digits", "train.augment=ada"))
    changed = workdirs.prepare(
        tmp_path, tiny_config("dcgan_digits", "train.augment=ada", "train.ada_kimg=20"), write=False
    )
    assert changed == {"train.ada_kimg": (100, 20)}
    for change in ("train.augment=diffaugment", "train.augment_policy=translation"):
        with pytest.raises(config.ConfigError, match=rf"different config \(changed: {change.split('=')[0]}\)"):
            workdirs.prepare(tmp_path, tiny_config("dcgan_digits", "train.augment=ada", change), write=False)

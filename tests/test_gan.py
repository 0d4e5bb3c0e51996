"""The shared train_step and each of its options, shown by their effect."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfgan_zoo import gan as gan_lib
from tfgan_zoo import losses
from tfgan_zoo.gan import GAN
from tfgan_zoo.networks import layers, mlp

LATENT = 4


def points(n=512, seed=0):
    return np.random.default_rng(seed).normal(size=(n, 2)).astype("float32")


def stream(x, batch):
    return tf.data.Dataset.from_tensor_slices(x).repeat().batch(batch, drop_remainder=True)


@pytest.mark.parametrize("loss", losses.NAMES)
def test_every_loss_trains_and_reports_its_metrics(loss, mlp_gan):
    gan = mlp_gan(loss=loss)
    history = gan.fit(stream(points(), 32), steps_per_epoch=5, epochs=1, verbose=0).history
    assert {"d_loss", "g_loss", "d_real", "d_fake", "d_grad_norm", "g_grad_norm"} <= set(history)
    assert all(math.isfinite(values[-1]) for values in history.values())
    assert int(gan.step.numpy()) == 5


@pytest.mark.parametrize("penalty", ["gradient_penalty", "r1", "drift"])
def test_penalties_are_reported_and_positive(penalty, mlp_gan):
    gan = mlp_gan(loss="wasserstein", **{penalty: 1.0})
    history = gan.fit(stream(points(), 32), steps_per_epoch=3, epochs=1, verbose=0).history
    assert history[penalty][-1] > 0


def test_a_lazy_penalty_is_computed_every_nth_update_at_n_times_its_weight(mlp_gan):
    # SGD has no state, so one update depends only on the weights, the step (for the randomness) and the loss.
    def make(**penalties):
        return mlp_gan(
            loss="wasserstein",
            d_optimizer=keras.optimizers.SGD(0.1),
            g_optimizer=keras.optimizers.SGD(0.1),
            **penalties,
        )

    def train_one_step(gan):
        gan.fit(stream(points(), 32), steps_per_epoch=1, epochs=1, verbose=0)
        return [w.numpy() for w in gan.discriminator.weights]

    lazy, weighted, unpenalized = make(gradient_penalty=1.0, penalty_interval=2), make(gradient_penalty=2.0), make()
    for a, b in zip(train_one_step(lazy), train_one_step(weighted)):  # update 0 is penalized, twice as much
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)
    for network in ["generator", "discriminator", "ema_generator"]:
        if getattr(lazy, network) is not None:
            getattr(unpenalized, network).set_weights(getattr(lazy, network).get_weights())
    unpenalized.step.assign(1)
    for a, b in zip(train_one_step(lazy), train_one_step(unpenalized)):  # update 1 is not
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


def test_a_lazy_penalty_is_reported_when_no_train_step_ends_on_a_penalized_update(mlp_gan):
    # With 2 discriminator updates a step and the penalty every 2nd, only the first update of each step computes it.
    gan = mlp_gan(loss="wasserstein", gradient_penalty=1.0, penalty_interval=2, d_steps=2)
    history = gan.fit(stream(points(), 64), steps_per_epoch=3, epochs=1, verbose=0).history
    assert history["gradient_penalty"][-1] > 0


def test_a_penalty_interval_without_a_penalty_is_refused(mlp_gan):
    with pytest.raises(
        ValueError, match="penalty_interval 4 spaces out the gradient penalty and R1, and neither is on"
    ):
        mlp_gan(penalty_interval=4)


def test_k_discriminator_steps_per_generator_step_each_on_a_fresh_slice():
    seen = []

    class Recording(GAN):
        def _discriminator_step(self, real, labels, conditions, d_step):
            seen.append(real.numpy().copy())
            return super()._discriminator_step(real, labels, conditions, d_step)

    keras.utils.set_random_seed(0)
    gan = Recording(mlp.generator(LATENT, (2,), (8,)), mlp.discriminator((2,), (8,)), LATENT)
    gan.compile(keras.optimizers.Adam(), keras.optimizers.Adam(), d_steps=3, run_eagerly=True)
    x = np.arange(2 * 3 * 4 * 2, dtype="float32").reshape(-1, 2)  # 2 train steps x 3 slices x 4 examples
    gan.fit(stream(x, 12), steps_per_epoch=2, epochs=1, verbose=0)
    assert int(gan.d_optimizer.iterations.numpy()) == 6
    assert int(gan.g_optimizer.iterations.numpy()) == 2
    rows = np.concatenate(seen)
    assert len(seen) == 6 and all(s.shape == (4, 2) for s in seen)
    assert len(np.unique(rows, axis=0)) == len(x)  # every real example used exactly once
    np.testing.assert_array_equal(seen[1], x[[1, 4, 7, 10]])  # slice i holds examples i, i + k, ...


def test_one_sided_label_smoothing_sets_the_real_target(mlp_gan):
    gan = mlp_gan(label_smoothing=0.1)
    real, fake = gan.discriminator_targets(8)
    np.testing.assert_allclose(real.numpy(), 0.9)
    np.testing.assert_allclose(fake.numpy(), 0.0)


def make_constant_discriminator(gan, c):
    """Zeroes D's weights but the logit's bias `c`: every logit is `c`, and only that bias has a gradient."""
    kernel, bias = gan.discriminator.layers[-2].weights
    gan.discriminator.layers[-2].set_weights([np.zeros(kernel.shape), np.full(bias.shape, c)])
    for layer in gan.discriminator.layers[:-2]:
        for w in layer.weights:
            w.assign(tf.zeros_like(w))


def test_smoothed_targets_change_the_discriminator_loss_as_computed_by_hand(mlp_gan):
    # A constant discriminator (frozen by a zero learning rate) has known logits.
    c = 0.7
    gan = mlp_gan(label_smoothing=0.2, d_optimizer=keras.optimizers.SGD(0.0))
    make_constant_discriminator(gan, c)
    history = gan.fit(stream(points(), 16), steps_per_epoch=1, epochs=1, verbose=0).history
    softplus = lambda v: math.log1p(math.exp(v))  # noqa: E731
    expected = 0.8 * softplus(-c) + 0.2 * softplus(c) + softplus(c)
    assert history["d_loss"][0] == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize(
    "loss, c, real_accuracy",
    [
        ("non_saturating", 0.3, 1.0),
        ("non_saturating", -0.3, 0.0),
        ("least_squares", 0.7, 1.0),
        ("least_squares", 0.3, 0.0),
    ],
)
def test_discriminator_accuracy_splits_the_logits_at_the_loss_boundary(loss, c, real_accuracy, mlp_gan):
    # Logits are log-odds (real above 0); least squares' targets are 1 and 0 (real above 0.5).
    gan = mlp_gan(loss=loss, d_optimizer=keras.optimizers.SGD(0.0))
    make_constant_discriminator(gan, c)
    history = gan.fit(stream(points(), 16), steps_per_epoch=1, epochs=1, verbose=0).history
    assert history["d_real_accuracy"][0] == real_accuracy and history["d_fake_accuracy"][0] == 1 - real_accuracy


def test_gradient_norms_under_loss_scaling_are_unscaled_by_the_scale_of_their_step(mlp_gan):
    # d/dc [softplus(-c) + softplus(c)] = 2 sigmoid(c) - 1 = tanh(c / 2): the norm of a constant D's gradient.
    # With growth after every update, each step doubles the scale: dividing by the scale after the update
    # reported half of it (0.168).
    c = 0.7
    optimizer = keras.optimizers.LossScaleOptimizer(keras.optimizers.SGD(0.0), dynamic_growth_steps=1)
    gan = mlp_gan(d_optimizer=optimizer)
    make_constant_discriminator(gan, c)
    history = gan.fit(stream(points(), 16), steps_per_epoch=3, epochs=1, verbose=0).history
    assert float(optimizer.dynamic_scale.numpy()) == 2.0**15 * 2**3
    assert history["d_grad_norm"][0] == pytest.approx(math.tanh(c / 2), rel=1e-5)
    assert history["loss_scale_skips"][0] == 0
    assert "loss_scale_skips" not in mlp_gan().fit(stream(points(), 16), steps_per_epoch=1, verbose=0).history


def test_gradient_norms_add_up_the_embedding_rows_of_repeated_labels():
    embedding = keras.layers.Embedding(3, 2)
    embedding.build(())
    labels = tf.constant([0, 0, 0, 2])
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(embedding(labels) * [[1.0, 2.0], [2.0, 0.0], [0.0, 2.0], [3.0, 4.0]])
    (gradient,) = tape.gradient(loss, embedding.trainable_variables)
    assert isinstance(gradient, tf.IndexedSlices)
    # Row 0 gets (1, 2) + (2, 0) + (0, 2) = (3, 4), row 2 (3, 4): norm sqrt(50), the rows apart sqrt(38).
    assert float(gan_lib._global_norm([gradient, None, tf.ones([2])])) == pytest.approx(math.sqrt(52), rel=1e-6)


def test_noisy_labels_are_random_within_their_ranges(mlp_gan):
    gan = mlp_gan(label_smoothing=0.1, label_noise=0.2)
    real, fake = (t.numpy() for t in gan.discriminator_targets(1000))
    assert real.min() >= 0.7 - 1e-6 and real.max() <= 0.9 + 1e-6 and real.std() > 0.05
    assert fake.min() >= 0.0 and fake.max() <= 0.2 + 1e-6 and fake.std() > 0.05


def test_label_flipping_swaps_targets_with_the_given_probability(mlp_gan):
    gan = mlp_gan(label_flip=0.25)
    real, fake = (t.numpy() for t in gan.discriminator_targets(4000))
    flipped = real == 0.0
    assert abs(flipped.mean() - 0.25) < 0.03
    np.testing.assert_array_equal(fake[flipped], 1.0)
    np.testing.assert_array_equal(fake[~flipped], 0.0)


def test_targets_need_a_loss_with_targets(mlp_gan):
    with pytest.raises(ValueError, match="need a loss with targets"):
        mlp_gan(loss="hinge", label_smoothing=0.1)


def test_instance_noise_decays_linearly_to_zero(mlp_gan):
    gan = mlp_gan(instance_noise=0.5, instance_noise_decay_steps=100)
    stddevs = [float(gan.instance_noise_stddev(step)) for step in (0, 50, 100, 200)]
    assert stddevs == pytest.approx([0.5, 0.25, 0.0, 0.0])
    gan.fit(stream(points(), 16), steps_per_epoch=10, epochs=1, verbose=0)
    assert float(gan.instance_noise_stddev()) == pytest.approx(0.45)


def test_instance_noise_reaches_the_discriminator(mlp_gan):
    # Two identical GANs on the same data: only the one with instance noise sees different D inputs.
    histories = [
        mlp_gan(instance_noise=noise).fit(stream(points(), 16), steps_per_epoch=1, epochs=1, verbose=0).history
        for noise in (0.0, 1.0)
    ]
    assert histories[0]["d_real"][0] != pytest.approx(histories[1]["d_real"][0])


def test_real_transform_is_what_the_discriminator_sees_of_real_batches(mlp_gan):
    gan = mlp_gan(real_transform=keras.layers.Rescaling(0.0), d_optimizer=keras.optimizers.SGD(0.0))
    expected = float(np.mean(gan.discriminator(np.zeros((16, 2), "float32"))))
    history = gan.fit(stream(points(), 16), steps_per_epoch=1, epochs=1, verbose=0).history
    assert history["d_real"][0] == pytest.approx(expected, rel=1e-5)


def test_generator_ema_averages_weights_with_warmup(mlp_gan):
    gan = mlp_gan(ema_decay=0.999)
    before = [w.numpy() for w in gan.generator.trainable_variables]
    gan.fit(stream(points(), 16), steps_per_epoch=1, epochs=1, verbose=0)
    after = [w.numpy() for w in gan.generator.trainable_variables]
    decay = min(0.999, 1.0 / 10.0)  # warm-up at step 0
    averages = gan.ema_generator.weights
    assert len(averages) == len(before) > 0
    for average, w0, w1 in zip(averages, before, after):
        np.testing.assert_allclose(average.numpy(), decay * w0 + (1 - decay) * w1, rtol=1e-5, atol=1e-7)
    assert not np.allclose(gan.sample(8, use_ema=True), gan.sample(8, use_ema=False))


def test_spectral_normalization_bounds_the_discriminator_layers():
    keras.utils.set_random_seed(0)
    disc = mlp.discriminator((2,), (64, 64), spectral_norm=True)
    for layer in disc.layers:
        if isinstance(layer, keras.layers.SpectralNormalization):
            layer.layer.kernel.assign(layer.layer.kernel * 10.0)
    for _ in range(30):  # one power iteration per training call
        disc(points(64), training=True)
    norms = [
        np.linalg.svd(layer.layer.kernel.numpy(), compute_uv=False)[0]
        for layer in disc.layers
        if isinstance(layer, keras.layers.SpectralNormalization)
    ]
    assert len(norms) == 3
    np.testing.assert_allclose(norms, 1.0, rtol=0.05)


def test_minibatch_stddev_exposes_a_collapsed_batch():
    layer = layers.MinibatchStdDev(group_size=4)
    collapsed = layer(np.ones((8, 5), "float32")).numpy()
    diverse = layer(points(8)).numpy()
    assert collapsed.shape == (8, 6)
    np.testing.assert_allclose(collapsed[:, -1], 1e-4, atol=1e-4)
    assert diverse[:, -1].min() > 0.3
    images = layer(np.random.default_rng(0).normal(size=(8, 4, 4, 3)).astype("float32"))
    assert images.shape == (8, 4, 4, 4)


def test_minibatch_discrimination_exposes_a_collapsed_batch():
    layer = layers.MinibatchDiscrimination(num_kernels=6, kernel_dim=3)
    collapsed = layer(np.ones((8, 5), "float32")).numpy()
    diverse = layer(10 * np.random.default_rng(0).normal(size=(8, 5)).astype("float32")).numpy()
    np.testing.assert_allclose(collapsed[:, 5:], 7.0, rtol=1e-5)  # each sample matches the 7 others
    assert diverse[:, 5:].mean() < 3.0


def test_packed_discriminator_judges_consecutive_samples_together():
    keras.utils.set_random_seed(0)
    disc = mlp.discriminator((2,), (16,), pack=2)
    x = np.random.default_rng(0).normal(size=(6, 2)).astype("float32")
    logits = disc(x).numpy()
    assert logits.shape == (6,)
    np.testing.assert_array_equal(logits[0::2], logits[1::2])  # both samples of a pack share its logit
    changed = x.copy()
    changed[1] += 1.0  # the second sample of the first pack
    after = disc(changed).numpy()
    assert after[0] != logits[0] and np.array_equal(after[2:], logits[2:])
    restored = keras.models.model_from_json(disc.to_json())
    restored.set_weights(disc.get_weights())
    np.testing.assert_allclose(restored(x), logits, rtol=1e-6)


def test_diversity_layers_train_inside_the_discriminator():
    keras.utils.set_random_seed(0)
    disc = mlp.discriminator((2,), (16, 16), minibatch_stddev=True, minibatch_discrimination=4)
    gan = GAN(mlp.generator(LATENT, (2,), (16,)), disc, LATENT)
    gan.compile(keras.optimizers.Adam(), keras.optimizers.Adam())
    history = gan.fit(stream(points(), 32), steps_per_epoch=3, epochs=1, verbose=0).history
    assert math.isfinite(history["d_loss"][-1])


def test_same_seed_same_training_different_seed_different_training(mlp_gan):
    def weights(seed, gan_seed):
        gan = mlp_gan(seed=seed, instance_noise=0.1, label_noise=0.1)
        gan.seed = gan_seed
        gan.fit(stream(points(), 16), steps_per_epoch=4, epochs=1, verbose=0)
        return gan.generator.get_weights()

    first, again, other = weights(0, 1), weights(0, 1), weights(0, 2)
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    assert any(not np.array_equal(a, b) for a, b in zip(first, other))


def test_keras_file_round_trip_samples_identically(tmp_path, mlp_gan):
    gan = mlp_gan(ema_decay=0.99, loss="hinge", d_steps=2)
    gan.fit(stream(points(), 32), steps_per_epoch=3, epochs=1, verbose=0)
    gan.save(tmp_path / "gan.keras")
    loaded = keras.models.load_model(tmp_path / "gan.keras")
    assert isinstance(loaded, GAN) and loaded.get_compile_config()["loss"] == "hinge" and loaded.d_steps == 2
    np.testing.assert_array_equal(loaded.sample(16, seed=5), gan.sample(16, seed=5))
    np.testing.assert_array_equal(loaded.sample(16, seed=5, use_ema=False), gan.sample(16, seed=5, use_ema=False))
    assert int(loaded.step.numpy()) == 3


def test_conditional_gan_takes_labels_and_rejects_bad_ones(mlp_gan):
    gan = mlp_gan(num_classes=3)
    x, y = points(), np.arange(512) % 3
    gan.fit(
        tf.data.Dataset.from_tensor_slices((x, y)).repeat().batch(16, drop_remainder=True),
        steps_per_epoch=2,
        epochs=1,
        verbose=0,
    )
    assert gan.sample(6, labels=[0, 1, 2, 0, 1, 2]).shape == (6, 2)
    with pytest.raises(ValueError, match="Label 3 is out of range.*\\[0, 2\\]"):
        gan.sample(2, labels=[0, 3])
    with pytest.raises(ValueError, match="pass `labels`"):
        gan.sample(2)
    with pytest.raises(ValueError, match="trains on \\(samples, labels\\)"):
        gan.fit(stream(x, 16), steps_per_epoch=1, epochs=1, verbose=0)


def test_predict_gives_what_sample_gives_from_the_ema_generator(mlp_gan):
    gan = mlp_gan(ema_decay=0.9)
    gan.fit(stream(points(), 16), steps_per_epoch=3, epochs=1, verbose=0)
    z = gan.latent(8, tf.constant([3, 0], tf.int64))
    np.testing.assert_allclose(gan.predict(z, verbose=0), gan.sample(8, seed=3), rtol=1e-6)
    assert not np.allclose(gan.predict(z, verbose=0), gan.sample(8, seed=3, use_ema=False))


@keras.saving.register_keras_serializable(package="tests")
class ScaledHinge:
    """A user's loss object: hinge with D's margin scaled by `margin`."""

    uses_targets = False

    def __init__(self, margin=1.0):
        self.margin = margin

    def discriminator(self, real_logits, fake_logits):
        return tf.nn.relu(self.margin - real_logits) + tf.nn.relu(self.margin + fake_logits)

    def generator(self, fake_logits):
        return -fake_logits

    def get_config(self):
        return {"margin": self.margin}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def test_a_loss_object_trains_like_the_registered_loss_of_the_same_math(tmp_path, mlp_gan):
    by_name, by_object = mlp_gan(loss="hinge"), mlp_gan(loss=ScaledHinge(1.0))
    for gan in (by_name, by_object):
        gan.fit(stream(points(), 32), steps_per_epoch=3, epochs=1, verbose=0)
    for a, b in zip(by_name.generator.get_weights(), by_object.generator.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    by_object.save(tmp_path / "gan.keras")
    loaded = keras.models.load_model(tmp_path / "gan.keras")
    assert isinstance(loaded.get_compile_config()["loss"], dict) and loaded.gan_loss.uses_targets is False
    with pytest.raises(TypeError, match="A GAN loss is a name in .* or an object with discriminator"):
        mlp_gan(loss=42)

"""Tests for tfgan_zoo.losses: hand-computed values, then agreement with TF-GAN's losses_impl.

Expected values are computed here from the papers' formulas with Python's `math`, never by calling the
function under test; TF-GAN 2.1.0's `losses_impl` (loaded through `tfgan_compat`) is the second reference.
"""

import math

import numpy as np
import pytest
import tensorflow as tf

from tfgan_zoo import losses, tfgan_compat

NONE = tf.compat.v1.losses.Reduction.NONE

REAL = [1.5, -0.5, 0.0, 2.0]
FAKE = [-1.0, 0.5, -2.0, 0.0]
NOISY_REAL_TARGETS = [0.9, 1.0, 0.8, 0.95]
NOISY_FAKE_TARGETS = [0.0, 0.1, 0.05, 0.2]


def softplus(x):
    return math.log1p(math.exp(x))


def sigmoid_ce(target, logit):
    """-t log sigmoid(x) - (1 - t) log(1 - sigmoid(x)), with -log sigmoid(x) = softplus(-x)."""
    return target * softplus(-logit) + (1.0 - target) * softplus(logit)


def tensor(values):
    return tf.constant(values, tf.float32)


def assert_close(actual, expected, rtol=1e-5, atol=1e-6):
    actual = np.asarray(actual)
    assert actual.shape == np.shape(expected), (actual.shape, np.shape(expected))
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol)


@pytest.fixture(scope="module")
def tfgan_losses():
    return tfgan_compat.load("python.losses.losses_impl")


# ---------------------------------------------------------------------------------------------------------------
# Hand-computed values.


def test_sigmoid_ce_reference_values():
    # Sanity of the reference itself: at logit 0 both terms are log 2; -log sigmoid(2) = log(1 + e^-2).
    assert sigmoid_ce(1.0, 0.0) == pytest.approx(0.6931471805599453)
    assert sigmoid_ce(1.0, 2.0) == pytest.approx(0.1269280110429725)
    assert sigmoid_ce(0.0, -1.0) == pytest.approx(0.31326168751822286)


def test_minimax_discriminator_loss_values():
    expected = [softplus(-r) + softplus(f) for r, f in zip(REAL, FAKE)]
    assert_close(losses.minimax_discriminator_loss(tensor(REAL), tensor(FAKE)), expected)
    # Literal check on the first example: -log sigmoid(1.5) - log(1 - sigmoid(-1)) = 0.2014 + 0.3133.
    assert expected[0] == pytest.approx(0.20141327798275246 + 0.31326168751822286)


def test_minimax_discriminator_loss_with_one_sided_label_smoothing():
    expected = [sigmoid_ce(0.9, r) + sigmoid_ce(0.0, f) for r, f in zip(REAL, FAKE)]
    assert_close(losses.minimax_discriminator_loss(tensor(REAL), tensor(FAKE), real_targets=0.9), expected)


def test_minimax_discriminator_loss_with_noisy_per_example_targets():
    expected = [
        sigmoid_ce(tr, r) + sigmoid_ce(tf_, f)
        for r, f, tr, tf_ in zip(REAL, FAKE, NOISY_REAL_TARGETS, NOISY_FAKE_TARGETS)
    ]
    actual = losses.minimax_discriminator_loss(
        tensor(REAL), tensor(FAKE), real_targets=tensor(NOISY_REAL_TARGETS), fake_targets=tensor(NOISY_FAKE_TARGETS)
    )
    assert_close(actual, expected)


def test_minimax_discriminator_loss_with_flipped_labels():
    # Flipping swaps the roles: real judged against 0, fake against 1.
    expected = [softplus(r) + softplus(-f) for r, f in zip(REAL, FAKE)]
    actual = losses.minimax_discriminator_loss(tensor(REAL), tensor(FAKE), real_targets=0.0, fake_targets=1.0)
    assert_close(actual, expected)


def test_minimax_generator_loss_values():
    # log(1 - sigmoid(f)) = -softplus(f).
    expected = [math.log(1.0 - 1.0 / (1.0 + math.exp(-f))) for f in FAKE]
    assert_close(losses.minimax_generator_loss(tensor(FAKE)), expected)
    assert expected[3] == pytest.approx(-math.log(2.0))


def test_non_saturating_generator_loss_values():
    # -log sigmoid(f).
    expected = [-math.log(1.0 / (1.0 + math.exp(-f))) for f in FAKE]
    assert_close(losses.non_saturating_generator_loss(tensor(FAKE)), expected)


def test_non_saturating_generator_gradient_does_not_vanish_where_minimax_does():
    fake = tf.Variable([-8.0])  # D confidently rejects the sample.
    with tf.GradientTape(persistent=True) as tape:
        minimax = losses.minimax_generator_loss(fake)
        non_saturating = losses.non_saturating_generator_loss(fake)
    # d/df -softplus(f) = -sigmoid(f) ~ -3.4e-4;  d/df softplus(-f) = -sigmoid(-f) ~ -1.
    assert abs(tape.gradient(minimax, fake).numpy()[0]) < 1e-3
    assert tape.gradient(non_saturating, fake).numpy()[0] == pytest.approx(-1.0 / (1.0 + math.exp(-8.0)), rel=1e-5)


def test_wasserstein_losses_values():
    assert_close(losses.wasserstein_discriminator_loss(tensor(REAL), tensor(FAKE)), [-2.5, 1.0, -2.0, -2.0])
    assert_close(losses.wasserstein_generator_loss(tensor(FAKE)), [1.0, -0.5, 2.0, -0.0])


def test_hinge_discriminator_loss_values():
    # max(0, 1 - r) + max(0, 1 + f): r = [1.5, -0.5, 0, 2] -> [0, 1.5, 1, 0]; f = [-1, .5, -2, 0] -> [0, 1.5, 0, 1].
    assert_close(losses.hinge_discriminator_loss(tensor(REAL), tensor(FAKE)), [0.0, 3.0, 1.0, 1.0])


def test_hinge_generator_is_wasserstein_generator():
    assert losses.get("hinge").generator is losses.wasserstein_generator_loss


def test_least_squares_losses_values():
    # 0.5 (r - 1)^2 + 0.5 f^2.
    assert_close(losses.least_squares_discriminator_loss(tensor(REAL), tensor(FAKE)), [0.625, 1.25, 2.5, 0.5])
    # 0.5 (f - 1)^2.
    assert_close(losses.least_squares_generator_loss(tensor(FAKE)), [2.0, 0.125, 4.5, 0.5])


def test_least_squares_discriminator_loss_with_smoothing_and_noisy_targets():
    smoothed = [0.5 * (r - 0.9) ** 2 + 0.5 * f**2 for r, f in zip(REAL, FAKE)]
    assert_close(losses.least_squares_discriminator_loss(tensor(REAL), tensor(FAKE), real_targets=0.9), smoothed)
    noisy = [
        0.5 * (r - tr) ** 2 + 0.5 * (f - tf_) ** 2
        for r, f, tr, tf_ in zip(REAL, FAKE, NOISY_REAL_TARGETS, NOISY_FAKE_TARGETS)
    ]
    actual = losses.least_squares_discriminator_loss(
        tensor(REAL), tensor(FAKE), real_targets=tensor(NOISY_REAL_TARGETS), fake_targets=tensor(NOISY_FAKE_TARGETS)
    )
    assert_close(actual, noisy)


@pytest.mark.parametrize("name", losses.NAMES)
def test_multi_output_discriminators_sum_per_example(name):
    # A PatchGAN-like [N, 2, 2] output: each example's loss is the sum of its four terms.
    rng = np.random.default_rng(1)
    real = rng.normal(size=(3, 2, 2)).astype(np.float32)
    fake = rng.normal(size=(3, 2, 2)).astype(np.float32)
    pair = losses.get(name)
    d_loss = pair.discriminator(tf.constant(real), tf.constant(fake))
    g_loss = pair.generator(tf.constant(fake))
    d_terms = [
        pair.discriminator(tf.constant(real[:, i, j]), tf.constant(fake[:, i, j])) for i in range(2) for j in range(2)
    ]
    g_terms = [pair.generator(tf.constant(fake[:, i, j])) for i in range(2) for j in range(2)]
    assert_close(d_loss, np.sum(d_terms, axis=0), rtol=1e-5)
    assert_close(g_loss, np.sum(g_terms, axis=0), rtol=1e-5)


@pytest.mark.parametrize("name", losses.NAMES)
def test_keras_shaped_logits_give_per_example_values(name):
    # A Dense(1) head gives [N, 1]; the losses still return [N], equal to the [N] case.
    pair = losses.get(name)
    column_real, column_fake = tensor(REAL)[:, None], tensor(FAKE)[:, None]
    assert_close(pair.discriminator(column_real, column_fake), pair.discriminator(tensor(REAL), tensor(FAKE)).numpy())
    assert_close(pair.generator(column_fake), pair.generator(tensor(FAKE)).numpy())


@pytest.mark.parametrize("name", ["minimax", "least_squares"])
def test_per_example_targets_with_keras_shaped_logits(name):
    # Targets shaped like the logits ([N, 1]) broadcast correctly.
    pair = losses.get(name)
    targets = tensor(NOISY_REAL_TARGETS)
    expected = pair.discriminator(tensor(REAL), tensor(FAKE), real_targets=targets).numpy()
    actual = pair.discriminator(tensor(REAL)[:, None], tensor(FAKE)[:, None], real_targets=targets[:, None])
    assert_close(actual, expected)


@pytest.mark.parametrize("name", ["minimax", "least_squares"])
def test_per_example_targets_of_shape_n_with_keras_shaped_logits(name):
    # Noisy labels drawn per example have shape [N] while a Dense(1) head gives [N, 1]: the targets must
    # broadcast per example, not to [N, N].
    pair = losses.get(name)
    targets = tensor(NOISY_REAL_TARGETS)
    expected = pair.discriminator(tensor(REAL), tensor(FAKE), real_targets=targets).numpy()
    actual = pair.discriminator(tensor(REAL)[:, None], tensor(FAKE)[:, None], real_targets=targets)
    assert_close(actual, expected)


# ---------------------------------------------------------------------------------------------------------------
# Penalties.


def linear_critic(w):
    w = tf.constant(w, tf.float32)
    return lambda x: tf.reduce_sum(x * w, axis=list(range(1, len(x.shape))))


W = [[0.3, -1.2, 0.5], [2.0, 0.1, -0.4]]
W_NORM = math.sqrt(sum(v * v for row in W for v in row))


def _data(seed=0, shape=(4, 2, 3)):
    rng = np.random.default_rng(seed)
    return tf.constant(rng.normal(size=shape), tf.float32), tf.constant(rng.normal(size=shape), tf.float32)


def test_gradient_penalty_linear_critic_is_independent_of_alpha():
    real, fake = _data()
    expected = [(math.sqrt(W_NORM**2 + 1e-10) - 1.0) ** 2] * 4
    for alpha in ([0.0, 0.3, 0.7, 1.0], [0.5, 0.5, 0.5, 0.5]):
        assert_close(losses.gradient_penalty(linear_critic(W), real, fake, tensor(alpha)), expected)


def test_gradient_penalty_is_zero_for_a_unit_norm_linear_critic():
    real, fake = _data()
    unit = (np.array(W) / W_NORM).tolist()
    assert_close(
        losses.gradient_penalty(linear_critic(unit), real, fake, tensor([0.2, 0.4, 0.6, 0.8])), [0.0] * 4, atol=1e-6
    )


def test_gradient_penalty_interpolates_alpha_real_plus_one_minus_alpha_fake():
    # D(x) = sum(x^2): grad = 2 x_hat, so the penalty reveals where x_hat was taken.
    real, fake = _data(seed=2, shape=(3, 4))
    alpha = [1.0, 0.0, 0.25]
    real_np, fake_np = real.numpy().astype(np.float64), fake.numpy().astype(np.float64)
    expected = []
    for i, a in enumerate(alpha):
        x_hat = a * real_np[i] + (1.0 - a) * fake_np[i]
        expected.append((math.sqrt(float(np.sum((2.0 * x_hat) ** 2)) + 1e-10) - 1.0) ** 2)
    critic = lambda x: tf.reduce_sum(tf.square(x), axis=1)
    assert_close(losses.gradient_penalty(critic, real, fake, tensor(alpha)), expected, rtol=1e-5)


def test_gradient_penalty_nonlinear_critic_at_known_alpha():
    # D(x) = sum(w * sin(x)): grad = w * cos(x_hat), computed directly with numpy.
    real, fake = _data(seed=3)
    alpha = np.array([0.1, 0.5, 0.9, 0.33])
    w = np.array(W)
    critic = lambda x: tf.reduce_sum(tf.constant(W, tf.float32) * tf.sin(x), axis=[1, 2])
    x_hat = alpha[:, None, None] * real.numpy() + (1.0 - alpha[:, None, None]) * fake.numpy()
    norms = np.sqrt(np.sum((w * np.cos(x_hat)) ** 2, axis=(1, 2)) + 1e-10)
    assert_close(losses.gradient_penalty(critic, real, fake, tensor(alpha)), (norms - 1.0) ** 2, rtol=1e-5)


def test_gradient_penalty_is_differentiable_in_the_critic_weights():
    # d/dw (||w|| - 1)^2 = 2 (||w|| - 1) w / ||w||: the train step needs this second-order gradient.
    real, fake = _data()
    w = tf.Variable(W)
    with tf.GradientTape() as tape:
        penalty = losses.gradient_penalty(
            lambda x: tf.reduce_sum(x * w, axis=[1, 2]), real, fake, tensor([0.1, 0.2, 0.3, 0.4])
        )
        total = tf.reduce_mean(penalty)
    expected = 2.0 * (W_NORM - 1.0) * np.array(W) / W_NORM
    assert_close(tape.gradient(total, w), expected, rtol=1e-4)


def test_r1_penalty_linear_critic():
    real, _ = _data()
    assert_close(losses.r1_penalty(linear_critic(W), real), [0.5 * W_NORM**2] * 4)


def test_r1_penalty_quadratic_critic():
    # D(x) = sum(x^2): grad = 2x, R1 = 0.5 * ||2x||^2 = 2 ||x||^2.
    real = tensor([[1.0, 2.0], [0.0, -0.5], [3.0, 0.0]])
    critic = lambda x: tf.reduce_sum(tf.square(x), axis=1)
    assert_close(losses.r1_penalty(critic, real), [10.0, 0.5, 18.0])


def test_drift_penalty():
    assert_close(losses.drift_penalty(tensor(REAL)), [2.25, 0.25, 0.0, 4.0])
    assert_close(losses.drift_penalty(tensor(REAL)[:, None]), [2.25, 0.25, 0.0, 4.0])


# ---------------------------------------------------------------------------------------------------------------
# Agreement with TF-GAN's losses_impl (label smoothing off, no reduction).


def test_minimax_discriminator_matches_tfgan(tfgan_losses):
    ours = losses.minimax_discriminator_loss(tensor(REAL), tensor(FAKE))
    theirs = tfgan_losses.minimax_discriminator_loss(tensor(REAL), tensor(FAKE), label_smoothing=0.0, reduction=NONE)
    assert_close(ours, theirs.numpy())
    # modified_discriminator_loss is the same loss.
    theirs = tfgan_losses.modified_discriminator_loss(tensor(REAL), tensor(FAKE), label_smoothing=0.0, reduction=NONE)
    assert_close(ours, theirs.numpy())


def test_label_smoothing_matches_tfgan(tfgan_losses):
    # TF-GAN smooths labels to 1 - s/2 (tf.compat.v1.losses.sigmoid_cross_entropy): s = 0.2 -> targets 0.9.
    ours = losses.minimax_discriminator_loss(tensor(REAL), tensor(FAKE), real_targets=0.9)
    theirs = tfgan_losses.minimax_discriminator_loss(tensor(REAL), tensor(FAKE), label_smoothing=0.2, reduction=NONE)
    assert_close(ours, theirs.numpy())
    # TF-GAN's default (0.25 smoothing, mean) is 1 - 0.125 targets averaged over the batch.
    ours = losses.minimax_discriminator_loss(tensor(REAL), tensor(FAKE), real_targets=0.875)
    theirs = tfgan_losses.minimax_discriminator_loss(tensor(REAL), tensor(FAKE))
    assert float(tf.reduce_mean(ours)) == pytest.approx(float(theirs), rel=1e-6)


def test_minimax_generator_matches_tfgan_up_to_its_constant(tfgan_losses):
    # TF-GAN writes it as -minimax_discriminator_loss(ones, fake), which adds the constant
    # -(-log sigmoid(1)) = -softplus(-1) to every example; gradients are identical.
    ours = losses.minimax_generator_loss(tensor(FAKE))
    theirs = tfgan_losses.minimax_generator_loss(tensor(FAKE), reduction=NONE)
    assert_close(ours, theirs.numpy() + softplus(-1.0))


def test_non_saturating_generator_matches_tfgan_modified(tfgan_losses):
    ours = losses.non_saturating_generator_loss(tensor(FAKE))
    theirs = tfgan_losses.modified_generator_loss(tensor(FAKE), label_smoothing=0.0, reduction=NONE)
    assert_close(ours, theirs.numpy())


def test_wasserstein_matches_tfgan(tfgan_losses):
    ours_d = losses.wasserstein_discriminator_loss(tensor(REAL), tensor(FAKE))
    theirs_d = tfgan_losses.wasserstein_discriminator_loss(tensor(REAL), tensor(FAKE), reduction=NONE)
    assert_close(ours_d, theirs_d.numpy())
    ours_g = losses.wasserstein_generator_loss(tensor(FAKE))
    theirs_g = tfgan_losses.wasserstein_generator_loss(tensor(FAKE), reduction=NONE)
    assert_close(ours_g, theirs_g.numpy())
    # TF-GAN's default reduction is the batch mean.
    assert float(tf.reduce_mean(ours_d)) == pytest.approx(
        float(tfgan_losses.wasserstein_discriminator_loss(tensor(REAL), tensor(FAKE))), rel=1e-6
    )


def test_hinge_matches_tfgan_wasserstein_hinge(tfgan_losses):
    ours_d = losses.hinge_discriminator_loss(tensor(REAL), tensor(FAKE))
    theirs_d = tfgan_losses.wasserstein_hinge_discriminator_loss(tensor(REAL), tensor(FAKE), reduction=NONE)
    assert_close(ours_d, theirs_d.numpy())
    ours_g = losses.get("hinge").generator(tensor(FAKE))
    theirs_g = tfgan_losses.wasserstein_hinge_generator_loss(tensor(FAKE), reduction=NONE)
    assert_close(ours_g, theirs_g.numpy())


def test_least_squares_matches_tfgan(tfgan_losses):
    ours_d = losses.least_squares_discriminator_loss(tensor(REAL), tensor(FAKE))
    theirs_d = tfgan_losses.least_squares_discriminator_loss(tensor(REAL), tensor(FAKE), reduction=NONE)
    assert_close(ours_d, theirs_d.numpy())
    ours_g = losses.least_squares_generator_loss(tensor(FAKE))
    theirs_g = tfgan_losses.least_squares_generator_loss(tensor(FAKE), reduction=NONE)
    assert_close(ours_g, theirs_g.numpy())


def test_least_squares_targets_match_tfgan_labels(tfgan_losses):
    ours = losses.least_squares_discriminator_loss(
        tensor(REAL), tensor(FAKE), real_targets=tensor(NOISY_REAL_TARGETS), fake_targets=tensor(NOISY_FAKE_TARGETS)
    )
    theirs = tfgan_losses.least_squares_discriminator_loss(
        tensor(REAL),
        tensor(FAKE),
        real_label=tensor(NOISY_REAL_TARGETS),
        fake_label=tensor(NOISY_FAKE_TARGETS),
        reduction=NONE,
    )
    assert_close(ours, theirs.numpy())


def test_gradient_penalty_matches_tfgan_with_a_linear_critic(tfgan_losses):
    # TF-GAN draws its own alpha and uses tf.gradients (graph mode only); a linear critic makes the
    # penalty independent of alpha, so ours (explicit alpha), TF-GAN's and (||w|| - 1)^2 must agree.
    # discriminator_scope must be a name: TF2 variable scopes reject AUTO_REUSE with only a default name.
    real, fake = _data()
    critic = linear_critic(W)

    @tf.function
    def tfgan_penalty():
        return tfgan_losses.wasserstein_gradient_penalty(
            real,
            fake,
            generator_inputs=None,
            discriminator_fn=lambda x, _: critic(x),
            discriminator_scope="critic",
            reduction=NONE,
        )

    theirs = tfgan_penalty().numpy()
    ours = losses.gradient_penalty(critic, real, fake, tensor([0.9, 0.05, 0.5, 0.61]))
    analytic = [(W_NORM - 1.0) ** 2] * 4
    assert_close(theirs, analytic, rtol=1e-5)
    assert_close(ours, theirs, rtol=1e-5)


# ---------------------------------------------------------------------------------------------------------------
# Registry.


@pytest.mark.parametrize(
    "name, discriminator, generator, uses_targets",
    [
        ("minimax", losses.minimax_discriminator_loss, losses.minimax_generator_loss, True),
        ("non_saturating", losses.minimax_discriminator_loss, losses.non_saturating_generator_loss, True),
        ("wasserstein", losses.wasserstein_discriminator_loss, losses.wasserstein_generator_loss, False),
        ("hinge", losses.hinge_discriminator_loss, losses.wasserstein_generator_loss, False),
        ("least_squares", losses.least_squares_discriminator_loss, losses.least_squares_generator_loss, True),
    ],
)
def test_get_returns_the_pair(name, discriminator, generator, uses_targets):
    pair = losses.get(name)
    assert isinstance(pair, losses.GANLoss)
    assert pair.discriminator is discriminator
    assert pair.generator is generator
    assert pair.uses_targets is uses_targets
    assert (pair[0], pair[1]) == (discriminator, generator)


def test_names_lists_every_registered_loss():
    assert set(losses.NAMES) == {"minimax", "non_saturating", "wasserstein", "hinge", "least_squares"}


def test_uses_targets_matches_the_signatures():
    import inspect  # pylint: disable=import-outside-toplevel

    for name in losses.NAMES:
        pair = losses.get(name)
        parameters = inspect.signature(pair.discriminator).parameters
        assert pair.uses_targets == ("real_targets" in parameters and "fake_targets" in parameters), name


def test_unknown_name_is_a_value_error_naming_the_choices():
    with pytest.raises(ValueError) as error:
        losses.get("wgan-gp")
    message = str(error.value)
    assert "wgan-gp" in message
    for name in losses.NAMES:
        assert name in message

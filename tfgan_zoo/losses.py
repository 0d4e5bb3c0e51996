"""GAN losses and penalties as pure per-example functions of discriminator logits.

Every function returns a vector with one value per example (shape `[N]`), never a batch mean:
the caller averages over the *global* batch (`tf.nn.compute_average_loss`), which keeps the
losses correct under `tf.distribute` replication. Targets for the discriminator's real and fake
terms are arguments so that label smoothing, noisy and flipped labels are options of the caller.

Losses are registered by name; `get(name)` returns a `GANLoss`: its discriminator and generator functions,
whether the discriminator side takes targets, and the output value between D's verdicts "real" (above) and
"fake" (below). A loss of your own is any object with such `discriminator` and `generator` functions (and
`uses_targets`, default false, and `boundary`, default 0): `GAN.compile(loss=...)` takes it as it is.
"""

import collections

import tensorflow as tf

GANLoss = collections.namedtuple("GANLoss", ["discriminator", "generator", "uses_targets", "boundary"], defaults=[0.0])


def _per_example(values):
    """Sums all but the batch axis so multi-output discriminators (e.g. PatchGAN) reduce per example."""
    values = tf.convert_to_tensor(values)
    return tf.reduce_sum(tf.reshape(values, [tf.shape(values)[0], -1]), axis=1)


def _like(targets, logits):
    """Targets cast to the logits' dtype; per-example targets `[N]` broadcast over an `[N, ...]` output."""
    targets = tf.cast(targets, logits.dtype)
    if targets.shape.rank == 1 and logits.shape.rank > 1:
        targets = tf.reshape(targets, [-1] + [1] * (logits.shape.rank - 1))
    return tf.broadcast_to(targets, tf.shape(logits))


def _sigmoid_ce(targets, logits):
    logits = tf.convert_to_tensor(logits)
    targets = _like(targets, logits)
    return _per_example(tf.nn.sigmoid_cross_entropy_with_logits(labels=targets, logits=logits))


def minimax_discriminator_loss(real_logits, fake_logits, real_targets=1.0, fake_targets=0.0):
    """-log D(x) - log(1 - D(G(z))): the discriminator side of the original GAN game.

    Goodfellow et al. 2014, "Generative Adversarial Networks", eq. 1. `real_targets` below 1 gives
    one-sided label smoothing (Salimans et al. 2016).
    """
    return _sigmoid_ce(real_targets, real_logits) + _sigmoid_ce(fake_targets, fake_logits)


def minimax_generator_loss(fake_logits):
    """log(1 - D(G(z))): the generator minimises the discriminator's objective (Goodfellow et al. 2014).

    Its gradient vanishes when D confidently rejects samples; see `non_saturating_generator_loss`.
    """
    return -_sigmoid_ce(0.0, fake_logits)


def non_saturating_generator_loss(fake_logits):
    """-log D(G(z)): the generator maximises the log-probability of being judged real.

    Goodfellow et al. 2014, section 3: same fixed point as minimax, strong gradients early in training.
    """
    return _sigmoid_ce(1.0, fake_logits)


def wasserstein_discriminator_loss(real_logits, fake_logits):
    """D(G(z)) - D(x): the critic's side of the Kantorovich-Rubinstein dual (Arjovsky et al. 2017)."""
    return _per_example(fake_logits) - _per_example(real_logits)


def wasserstein_generator_loss(fake_logits):
    """-D(G(z)) (Arjovsky et al. 2017, "Wasserstein GAN"). Also the generator side of hinge loss."""
    return -_per_example(fake_logits)


def hinge_discriminator_loss(real_logits, fake_logits):
    """max(0, 1 - D(x)) + max(0, 1 + D(G(z))) (Lim & Ye 2017; Miyato et al. 2018)."""
    real_logits, fake_logits = tf.convert_to_tensor(real_logits), tf.convert_to_tensor(fake_logits)
    return _per_example(tf.nn.relu(1.0 - real_logits)) + _per_example(tf.nn.relu(1.0 + fake_logits))


def least_squares_discriminator_loss(real_logits, fake_logits, real_targets=1.0, fake_targets=0.0):
    """0.5 (D(x) - b)^2 + 0.5 (D(G(z)) - a)^2 with a = 0, b = 1 (Mao et al. 2017, LSGAN eq. 2)."""
    real_logits = tf.convert_to_tensor(real_logits)
    fake_logits = tf.convert_to_tensor(fake_logits)
    return 0.5 * (
        _per_example(tf.square(real_logits - _like(real_targets, real_logits)))
        + _per_example(tf.square(fake_logits - _like(fake_targets, fake_logits)))
    )


def least_squares_generator_loss(fake_logits):
    """0.5 (D(G(z)) - 1)^2 (Mao et al. 2017, LSGAN eq. 2 with c = 1)."""
    return 0.5 * _per_example(tf.square(tf.convert_to_tensor(fake_logits) - 1.0))


def _input_gradients(discriminator_fn, inputs):
    with tf.GradientTape() as tape:
        tape.watch(inputs)
        logits = discriminator_fn(inputs)
        total = tf.reduce_sum(logits)
    gradients = tape.gradient(total, inputs)
    return tf.reshape(gradients, [tf.shape(inputs)[0], -1]), logits


def gradient_penalty(discriminator_fn, real, fake, alpha):
    """(||grad D(x_hat)||_2 - 1)^2 at x_hat = alpha x + (1 - alpha) G(z) (Gulrajani et al. 2017, WGAN-GP).

    `alpha` has shape `[N]` and must be drawn from U[0, 1]: the penalty is defined on straight
    lines between pairs of real and fake samples. The 1e-10 keeps the norm's gradient finite at 0.
    """
    alpha = tf.reshape(tf.cast(alpha, real.dtype), [-1] + [1] * (len(real.shape) - 1))
    interpolated = alpha * real + (1.0 - alpha) * fake
    gradients, _ = _input_gradients(discriminator_fn, interpolated)
    norms = tf.sqrt(tf.reduce_sum(tf.square(gradients), axis=1) + 1e-10)
    return tf.square(norms - 1.0)


def r1_penalty(discriminator_fn, real):
    """0.5 ||grad D(x)||^2 on real data (Mescheder et al. 2018, "Which training methods for GANs
    actually converge?", eq. 9 without gamma: the caller's weight is gamma)."""
    gradients, _ = _input_gradients(discriminator_fn, real)
    return 0.5 * tf.reduce_sum(tf.square(gradients), axis=1)


def drift_penalty(real_logits):
    """D(x)^2, keeping the critic's output near 0 (Karras et al. 2018, PGGAN, appendix A.1; weight 1e-3)."""
    return _per_example(tf.square(real_logits))


def classification_loss(class_logits, labels):
    """Cross-entropy of the discriminator's class prediction: AC-GAN's L_C (Odena et al. 2017, eq. 2-3)."""
    return tf.nn.sparse_softmax_cross_entropy_with_logits(labels=tf.cast(labels, tf.int32), logits=class_logits)


_LOSSES = {
    "minimax": GANLoss(minimax_discriminator_loss, minimax_generator_loss, True),
    "non_saturating": GANLoss(minimax_discriminator_loss, non_saturating_generator_loss, True),
    "wasserstein": GANLoss(wasserstein_discriminator_loss, wasserstein_generator_loss, False),
    "hinge": GANLoss(hinge_discriminator_loss, wasserstein_generator_loss, False),
    "least_squares": GANLoss(least_squares_discriminator_loss, least_squares_generator_loss, True, 0.5),
}

NAMES = tuple(_LOSSES)


def get(loss):
    """The `GANLoss` registered as `loss`, or, for a loss object, a `GANLoss` of its `discriminator` and
    `generator` functions (on logits, per example) and its `uses_targets` (default false)."""
    if isinstance(loss, str):
        if loss not in _LOSSES:
            raise ValueError(f"Unknown GAN loss {loss!r}; choose one of {', '.join(NAMES)}.")
        return _LOSSES[loss]
    if not (callable(getattr(loss, "discriminator", None)) and callable(getattr(loss, "generator", None))):
        raise TypeError(
            f"A GAN loss is a name in {', '.join(NAMES)} or an object with discriminator(real_logits, "
            f"fake_logits) and generator(fake_logits) functions; got {loss!r}."
        )
    return GANLoss(
        loss.discriminator,
        loss.generator,
        bool(getattr(loss, "uses_targets", False)),
        float(getattr(loss, "boundary", 0.0)),
    )

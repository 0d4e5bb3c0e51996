"""Differentiable augmentations of what the discriminator sees, for training on small data, and ADA's probability.

With a few thousand training examples D memorises them and G collapses. Augmenting every batch D sees, real and
generated alike, in D's step, in G's step and in the penalties, keeps D from memorising; since the augmentations
are differentiable, G's gradient passes through them to its samples.

- DiffAugment (Zhao et al. 2020, "Differentiable Augmentation for Data-Efficient GAN Training"): every augmentation
  of the policy on every example (`probability=1`).
- ADA (Karras et al. 2020, "Training Generative Adversarial Networks with Limited Data"): each augmentation on each
  example with probability p, which `ada_probability` adapts from the overfitting heuristic r_t = E[sign(D(real))].
  Below p = 1 an augmentation leaves some examples untouched, so G still sees the un-augmented data: with p around
  0.8 or less augmentations do not leak into its samples (their section 2).

Each augmentation is a pure function of `(x, seed, probability)`: images `[N, H, W, C]` of any size and channel
count in [-1, 1], or series `[N, T, C]`; `seed` a stateless `[2]` key. Its randomness is drawn for the global batch
and sliced to this replica's examples (`distribute.replica_rows`), so replicas augment as one device does.
"""

import tensorflow as tf

from tfgan_zoo import distribute
from tfgan_zoo.data import LIGHTCURVE_NOISE, sample_kind

MODES = ("none", "diffaugment", "ada")
# The augmentations that apply to each kind of sample, as `augment_policy` names them.
POLICIES = {"images": ("translation", "cutout", "color", "flip"), "series": ("translation", "noise")}
SERIES_NOISE = LIGHTCURVE_NOISE  # stddev of `noise`: the observation noise of the zoo's light curves


def _uniforms(x, seed, count):
    """`count` uniforms in [0, 1) per example of `x`, drawn for the global batch."""
    return distribute.replica_rows(lambda n, s: tf.random.stateless_uniform([n, count], s), x.shape[0], seed)


def _applied(x, augmented, gate, probability):
    """`augmented` for the examples whose uniform `gate` lies below `probability`, `x` for the others: p = 0 keeps
    every example, p = 1 augments every one (the gate is below 1)."""
    return tf.where(_per_example(gate < probability, len(x.shape)), augmented, x)


def _per_example(values, rank):
    """`[N]` values shaped to broadcast over examples of `rank` (the batch axis included)."""
    return tf.reshape(values, [-1] + [1] * (rank - 1))


def translation(x, seed, probability=1.0, ratio=0.125):
    """Shifts each image by whole pixels, up to `ratio` of its height and of its width either way, filling with
    zeros (the middle of [-1, 1]) as DiffAugment does; shifts each series around the circle, by up to `ratio` of
    its length either way, so that no value is lost. Each shift is uniform over the whole pixels in range."""
    gate, *fractions = tf.unstack(_uniforms(x, seed, len(x.shape) - 1), axis=1)
    shifted = x
    for axis, fraction in enumerate(fractions, start=1):
        size = x.shape[axis]
        limit = int(size * ratio + 0.5)
        shift = tf.cast(tf.floor(fraction * (2 * limit + 1)), tf.int32) - limit
        source = tf.range(size)[None, :] - shift[:, None]  # position i shows what stood at i - shift
        if len(x.shape) == 3:
            shifted = tf.gather(shifted, source % size, axis=axis, batch_dims=1)
            continue
        inside = tf.cast((source >= 0) & (source < size), x.dtype)
        shifted = tf.gather(shifted, tf.clip_by_value(source, 0, size - 1), axis=axis, batch_dims=1)
        shifted *= tf.reshape(inside, [-1] + [size if a == axis else 1 for a in range(1, len(x.shape))])
    return _applied(x, shifted, gate, probability)


def cutout(images, seed, probability=1.0, ratio=0.5):
    """Zeroes a rectangle of `ratio` of each image's height and width whose centre lies anywhere in the image,
    clipped at its borders (DeVries & Taylor 2017, as DiffAugment cuts out)."""
    gate, *fractions = tf.unstack(_uniforms(images, seed, 3), axis=1)
    inside = []
    for fraction, size in zip(fractions, images.shape[1:3]):
        cut = int(size * ratio + 0.5)
        start = tf.cast(tf.floor(fraction * (size + 1 - cut % 2)), tf.int32)[:, None] - cut // 2
        position = tf.range(size)[None, :]
        inside.append((position >= start) & (position < start + cut))
    rows, columns = inside
    covered = rows[:, :, None, None] & columns[:, None, :, None]
    return _applied(images, images * (1.0 - tf.cast(covered, images.dtype)), gate, probability)


def color(images, seed, probability=1.0):
    """DiffAugment's color: brightness plus U[-0.5, 0.5), saturation (each value's distance to the mean of its pixel's channels)
    times U[0, 2), contrast (each value's distance to the image mean) times U[0.5, 1.5). Images of one channel have
    no saturation to change. Not clipped: values may leave [-1, 1], as D sees them in DiffAugment."""
    gate, brightness, saturation, contrast = tf.unstack(_uniforms(images, seed, 4), axis=1)
    x = images + _per_example(brightness - 0.5, 4)
    mean = tf.reduce_mean(x, axis=-1, keepdims=True)
    x = (x - mean) * _per_example(2.0 * saturation, 4) + mean
    mean = tf.reduce_mean(x, axis=[1, 2, 3], keepdims=True)
    x = (x - mean) * _per_example(contrast + 0.5, 4) + mean
    return _applied(images, x, gate, probability)


def flip(images, seed, probability=1.0):
    """Mirrors each image left-right with probability `probability / 2`, ADA's xflip: at p = 1 a mirror image is as
    likely as the original. Only for data whose mirror images are as real (not text, not shoes that all face left)."""
    (gate,) = tf.unstack(_uniforms(images, seed, 1), axis=1)
    return _applied(images, tf.reverse(images, axis=[2]), gate, probability / 2)


def noise(series, seed, probability=1.0, stddev=SERIES_NOISE):
    """Adds zero-mean Gaussian noise of `stddev` to each value of a series: the curve's shape, amplitude and period
    stay where they were (a least-squares fit of them is unbiased under zero-mean noise), its exact values do not."""
    (gate,) = tf.unstack(_uniforms(series, seed, 1), axis=1)
    normal = distribute.replica_rows(
        lambda n, s: tf.random.stateless_normal([n, *series.shape[1:]], s, dtype=series.dtype),
        series.shape[0],
        tf.random.experimental.stateless_fold_in(seed, 1),
    )
    return _applied(series, series + stddev * normal, gate, probability)


# Every augmentation, in the order they apply (geometry before colour, as DiffAugment and ADA do; cutout last).
AUGMENTATIONS = {"flip": flip, "color": color, "translation": translation, "cutout": cutout, "noise": noise}


def check_policy(policy, sample_shape):
    """The augmentations named by `policy` (a comma list or a sequence of names) for samples of `sample_shape`, as
    a tuple in the order they apply; a ValueError names what does not fit and what does."""
    names = [name.strip() for name in policy.split(",")] if isinstance(policy, str) else list(policy)
    names = [name for name in names if name]
    kind = sample_kind(sample_shape)
    listing = "; ".join(f"{taker} take {', '.join(valid)}" for taker, valid in POLICIES.items())
    if kind not in POLICIES:
        raise ValueError(f"augmentation applies to images and series; these samples are {kind}.")
    unknown = [name for name in names if name not in AUGMENTATIONS]
    if unknown:
        raise ValueError(f"{', '.join(unknown)}: no such augmentation; {listing}.")
    inapplicable = [name for name in names if name not in POLICIES[kind]]
    if inapplicable:
        raise ValueError(f"{', '.join(inapplicable)} do not apply to {kind}; {kind} take {', '.join(POLICIES[kind])}.")
    if not names:
        raise ValueError(f"no augmentation named; {listing}.")
    return tuple(name for name in AUGMENTATIONS if name in names)


def augment(x, policy, seed, probability=1.0):
    """`x` through each augmentation named in `policy` (`check_policy`'s tuple), each on each example with
    `probability`, each from its own stream of `seed`: the same one whichever others the policy names."""
    for index, (name, function) in enumerate(AUGMENTATIONS.items()):
        if name in policy:
            x = function(x, tf.random.experimental.stateless_fold_in(seed, index), probability)
    return x


def ada_probability(p, r_t, target, images, kimg):
    """ADA's augmentation probability after a step that showed D `images` real examples with the overfitting
    heuristic `r_t` = E[sign(D(real))] (D's verdicts on augmented real examples, 1 when it is sure of every one).

    p rises when r_t exceeds `target` (0.6 in the paper) and falls when below, by `images / (kimg * 1000)`: from 0 to
    1 in `kimg` thousand images at the most (500 in the paper); clipped to [0, 1]. Karras et al. 2020 (section 3)
    adjust every 4 minibatches from r_t over those; this adjusts every step from its own r_t at the same speed,
    which needs no state but p, so a run resumes exactly from a checkpoint taken at any step.
    """
    return tf.clip_by_value(p + tf.sign(r_t - target) * (images / (kimg * 1000.0)), 0.0, 1.0)

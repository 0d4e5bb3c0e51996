"""1-D convolutional generator and discriminator for time series: the DCGAN rules (Radford et al. 2016) in 1-D.

Strided convolutions instead of pooling in D; learned upsampling in G; batch norm in both (not on G's output
nor D's input); ReLU in G, LeakyReLU(0.2) in D; tanh output, for series in [-1, 1]. G projects z to a series
of 16..31 steps and doubles it up to the full length; D halves it back. Labels and continuous conditions
(e.g. a light curve's amplitude and period) reach both networks through the DCGAN family's conditioning hooks.
"""

import functools

import keras

from tfgan_zoo.networks import dcgan, layers
from tfgan_zoo.networks.family import Family

UPSAMPLINGS = ("transposed", "nearest")
# G's first series is at least this long, so the dense projection of z lays out the series' coarse
# structure (a few cycles of a periodic signal) and the convolutions only refine it.
MIN_START_LENGTH = 16


def start_length(length):
    """(length of G's first series, number of 2x upsamplings) for series of `length` steps."""
    size, steps = length, 0
    while size % 2 == 0 and size // 2 >= MIN_START_LENGTH:
        size, steps = size // 2, steps + 1
    if steps == 0:
        raise ValueError(
            f"The 1-D DCGAN needs a series length that halves at least once to {MIN_START_LENGTH} or "
            f"more steps, e.g. 64 or 128; got {length}."
        )
    return size, steps


def _upsample(h, channels, kind):
    if kind == "transposed":
        return keras.layers.Conv1DTranspose(channels, 4, strides=2, padding="same", use_bias=False)(h)
    h = keras.layers.UpSampling1D(2)(h)
    return keras.layers.Conv1D(channels, 3, padding="same", use_bias=False)(h)


def generator(
    latent_dim,
    series_shape,
    channels=32,
    num_classes=0,
    num_conditions=0,
    upsampling="transposed",
    sync_batch_norm=False,
    name="generator",
):
    """z (+ label, + conditions `[N, num_conditions]`) -> series of `series_shape` `(T, C)` in [-1, 1].
    `channels` is the width of the last hidden layer; each halving of the length doubles it."""
    if upsampling not in UPSAMPLINGS:
        raise ValueError(f"Unknown upsampling {upsampling!r} for series; choose one of {', '.join(UPSAMPLINGS)}.")
    size, steps = start_length(series_shape[0])
    inputs, h = dcgan.conditioned_latent(keras.Input((latent_dim,), name="z"), num_classes, num_conditions)
    width = channels * 2**steps
    h = keras.layers.Dense(size * width, use_bias=False)(h)
    h = dcgan.upsample(
        keras.layers.Reshape((size, width))(h), steps, functools.partial(_upsample, kind=upsampling), sync_batch_norm
    )
    series = keras.layers.Conv1D(series_shape[-1], 5, padding="same", activation="tanh", name="series")(h)
    return keras.Model(inputs, series, name=name)


def discriminator(
    series_shape,
    channels=32,
    num_classes=0,
    num_conditions=0,
    conditioning="concat",
    batch_norm=True,
    spectral_norm=False,
    minibatch_stddev=False,
    dropout=0.0,
    sync_batch_norm=False,
    name="discriminator",
):
    """series (+ label, + conditions) -> one logit per series (and class logits with `acgan`)."""
    dcgan.check_options(conditioning)
    _, steps = start_length(series_shape[0])
    inputs, label, conditions, h = dcgan.conditioned_images(
        keras.Input(tuple(series_shape), name="samples"), num_classes, conditioning, num_conditions
    )
    h = dcgan.downsample(
        h,
        steps,
        channels,
        functools.partial(layers.conv1d, spectral_norm=spectral_norm),
        batch_norm,
        dropout,
        sync_batch_norm,
    )
    if minibatch_stddev:
        h = layers.MinibatchStdDev()(h)
    outputs = dcgan.conditioned_outputs(
        keras.layers.Flatten()(h),
        label,
        num_classes,
        conditioning,
        functools.partial(layers.dense, spectral_norm=spectral_norm),
        conditions,
        spectral_norm,
    )
    return keras.Model(inputs, outputs, name=name)


def build(model_config, sample_shape, num_classes, num_conditions=0, sync_batch_norm=False):
    """The timeseries family's networks for `model_config`, on `num_conditions` continuous conditions too."""
    m = model_config
    return (
        generator(m.latent_dim, sample_shape, m.channels, num_classes, num_conditions, m.upsampling, sync_batch_norm),
        discriminator(
            sample_shape,
            m.channels,
            num_classes,
            num_conditions,
            m.conditioning,
            **dcgan.discriminator_options(m, sync_batch_norm),
        ),
    )


FAMILY = Family(
    "timeseries",
    ("series",),
    build,
    options=(
        "conditions",
        "channels",
        "conditioning",
        "upsampling",
        "batch_norm",
        "spectral_norm",
        "minibatch_stddev",
        "dropout",
    ),
)

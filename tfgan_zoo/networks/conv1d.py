"""1-D convolutional generator and discriminator for time series: the DCGAN rules (Radford et al. 2016) in 1-D.

Strided convolutions instead of pooling in D; learned upsampling in G; batch norm in both (not on G's output
nor D's input); ReLU in G, LeakyReLU(0.2) in D; tanh output, for series in [-1, 1]. G projects z to a series
of 16..31 steps and doubles it up to the full length; D halves it back. Labels and continuous conditions
(e.g. a light curve's amplitude and period) reach both networks through the DCGAN family's conditioning hooks.

A condition that is the series' period (`model.period_condition`) can also reach both networks as its phase
(`PhaseChannels`) at every step, G at every length it builds, and D as the series half a period away
(`HalfPeriodView`), `model.period_inputs` says which. D halves the series down to G's first length, or to
`model.discriminator_length`: halving 128 steps to 16, its last features read 22 steps, so D judged an eclipsing
binary eclipse by eclipse, and binaries of long period came out with eclipses of equal depth, at half the period
asked. Halved to 4 steps, its last features read 94 steps: two cycles of any period up to 47. The half-period
view brings the other eclipse to every step instead, where D's first layer compares the two depths.
"""

import functools
import math

import keras
from keras import ops

from tfgan_zoo import sampling
from tfgan_zoo.config import ConfigError
from tfgan_zoo.networks import dcgan, layers
from tfgan_zoo.networks.family import Family

PHASE_HARMONICS = 2  # sin and cos of 2*pi*k*t/P for k = 1, 2: the phase, and the half cycle an eclipse pair spans

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


def _period(conditions, index, period_range):
    """The period in steps: condition `index` of `conditions` (scaled to [-1, 1]) back in `period_range`."""
    return sampling.unscaled_condition(conditions[:, index], period_range)


@keras.saving.register_keras_serializable(package="tfgan_zoo")
class PhaseChannels(keras.layers.Layer):
    """Conditions `[N, C]` (scaled to [-1, 1], as `GAN` gives them) -> `[N, length, 2 * PHASE_HARMONICS]`: sin and
    cos of 2*pi*k*t/P at `length` points spread over `span` time steps, P being condition `index` brought back
    to its trained range `period_range` (steps). Given latents `z` too, the phase starts at the angle of
    (z_0, z_1), uniform over the circle for a normal or spherical z: sin and cos of k * (2*pi*t/P + angle).
    Computed in float32 whatever the policy: in bfloat16 a phase of 2*pi*k*t/P would be off by most of a radian
    at the end of the series."""

    def __init__(self, length, span, index, period_range, **kwargs):
        super().__init__(**{**kwargs, "dtype": "float32"})
        self.length, self.span, self.index, self.period_range = length, span, index, tuple(period_range)

    def call(self, conditions, z=None):
        period = _period(conditions, self.index, self.period_range)
        steps = ops.arange(self.length, dtype="float32") * (self.span / self.length)
        cycles = (2 * math.pi) * steps[None, :, None] / period[:, None, None]
        if z is not None:
            cycles += ops.arctan2(z[:, 1], z[:, 0])[:, None, None]
        angles = cycles * ops.arange(1, PHASE_HARMONICS + 1, dtype="float32")
        return ops.concatenate([ops.sin(angles), ops.cos(angles)], axis=-1)

    def compute_output_shape(self, conditions_shape, z_shape=None):
        return (conditions_shape[0], self.length, 2 * PHASE_HARMONICS)

    def get_config(self):
        return {
            **super().get_config(),
            "length": self.length,
            "span": self.span,
            "index": self.index,
            "period_range": list(self.period_range),
        }


@keras.saving.register_keras_serializable(package="tfgan_zoo")
class HalfPeriodView(keras.layers.Layer):
    """Series `[N, L, C]` and conditions `[N, C']` (scaled, as `PhaseChannels` reads them) -> the series half the
    period P away from every step, `[N, L, C]`: x(t + P/2), or x(t - P/2) where t + P/2 passes the end (the same
    value for a periodic series), interpolated linearly between steps. In float32, as `PhaseChannels`."""

    def __init__(self, index, period_range, **kwargs):
        super().__init__(**{**kwargs, "dtype": "float32"})
        self.index, self.period_range = index, tuple(period_range)

    def call(self, series, conditions):
        length = series.shape[1]
        half = _period(conditions, self.index, self.period_range)[:, None] / 2
        steps = ops.arange(length, dtype="float32")[None, :]
        position = ops.clip(ops.where(steps + half <= length - 1, steps + half, steps - half), 0, length - 1)
        below = ops.floor(position)
        weight = (position - below)[:, :, None]
        below = ops.cast(below, "int32")
        above = ops.minimum(below + 1, length - 1)

        def at(indices):
            return ops.take_along_axis(series, ops.repeat(indices[:, :, None], series.shape[-1], axis=-1), axis=1)

        return (1 - weight) * at(below) + weight * at(above)

    def compute_output_shape(self, series_shape, conditions_shape):
        return series_shape

    def get_config(self):
        return {**super().get_config(), "index": self.index, "period_range": list(self.period_range)}


def _with_phase(h, conditions, span, phase, z=None):
    """`h` `[N, L, C]` with the period's `PhaseChannels` (starting at the angle of `z` when given) appended when
    `phase` = (index, period_range) is given."""
    if phase is None:
        return h
    return keras.layers.Concatenate()([h, PhaseChannels(h.shape[1], span, *phase)(conditions, z)])


def discriminator_halvings(length, final_length=0):
    """How many stride-2 convolutions D makes on series of `length` steps to reach `final_length` steps; 0 means G's
    first length (`start_length`). Each doubles the receptive field: halving 128 steps to 16 sees 22 steps, to 4
    sees 94, whose last features then compare two cycles of any period up to 47 steps."""
    if not final_length:
        return start_length(length)[1]
    ratio = length // final_length
    if length % final_length or ratio < 2 or ratio & (ratio - 1):
        raise ConfigError(
            f"model.discriminator_length must halve the series length {length} one or more times, e.g. "
            f"{length // 2}, {length // 4} or {length // 8}; got {final_length}."
        )
    return ratio.bit_length() - 1


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
    phase=None,
    latent_phase=False,
    name="generator",
):
    """z (+ label, + conditions `[N, num_conditions]`) -> series of `series_shape` `(T, C)` in [-1, 1].
    `channels` is the width of the last hidden layer; each halving of the length doubles it. With `phase` =
    (index of the period among the conditions, its trained range), every upsampling and the output layer also
    read the period's `PhaseChannels` at their length, starting at the angle of (z_0, z_1) with `latent_phase`."""
    if upsampling not in UPSAMPLINGS:
        raise ValueError(f"Unknown upsampling {upsampling!r} for series; choose one of {', '.join(UPSAMPLINGS)}.")
    size, steps = start_length(series_shape[0])
    z = keras.Input((latent_dim,), name="z")
    inputs, h = dcgan.conditioned_latent(z, num_classes, num_conditions)
    with_phase = functools.partial(
        _with_phase,
        conditions=inputs[-1] if phase else None,
        span=series_shape[0],
        phase=phase,
        z=z if latent_phase else None,
    )
    width = channels * 2**steps
    h = keras.layers.Dense(size * width, use_bias=False)(h)
    h = dcgan.upsample(
        keras.layers.Reshape((size, width))(h),
        steps,
        lambda h, width: _upsample(with_phase(h), width, upsampling),
        sync_batch_norm,
    )
    series = keras.layers.Conv1D(series_shape[-1], 5, padding="same", activation="tanh", name="series")(with_phase(h))
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
    phase=None,
    half_period=None,
    final_length=0,
    name="discriminator",
):
    """series (+ label, + conditions) -> one logit per series (and class logits with `acgan`); with `phase` (as
    the generator's), the first layer also reads the period's `PhaseChannels`, and with `half_period` (the same
    pair) the series' `HalfPeriodView`. D halves the series down to `final_length` steps
    (`discriminator_halvings`)."""
    dcgan.check_options(conditioning)
    steps = discriminator_halvings(series_shape[0], final_length)
    inputs, label, conditions, h = dcgan.conditioned_images(
        keras.Input(tuple(series_shape), name="samples"), num_classes, conditioning, num_conditions
    )
    h = _with_phase(h, conditions, series_shape[0], phase)
    if half_period is not None:
        h = keras.layers.Concatenate()([h, HalfPeriodView(*half_period)(inputs[0], conditions)])
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


def build(model_config, sample_shape, num_classes, conditions=None, sync_batch_norm=False):
    """The timeseries family's networks for `model_config`, on the continuous `conditions` (name -> trained range)
    too, `model.period_condition` among them, read as `model.period_inputs` say."""
    m, conditions = model_config, dict(conditions or {})
    if m.period_condition and m.period_condition not in conditions:
        raise ConfigError(
            f"model.period_condition names {m.period_condition}, which is not one of model.conditions "
            f"({', '.join(conditions) or 'none'}): add it to model.conditions or leave model.period_condition empty."
        )
    if not m.period_condition and list(m.period_inputs) != ["phase"]:
        raise ConfigError(
            f"model.period_inputs ({', '.join(m.period_inputs)}) needs model.period_condition, the condition that is "
            "the period: set it, e.g. --set model.period_condition=period, or leave model.period_inputs out."
        )
    if {"phase", "latent_phase"} <= set(m.period_inputs):
        raise ConfigError(
            "model.period_inputs has both phase and latent_phase, two phases for G to read: keep one of them."
        )
    latent_phase = "latent_phase" in m.period_inputs
    if latent_phase and m.latent_dim < 2:
        raise ConfigError(
            f"model.period_inputs: latent_phase takes its angle from z's first two components; model.latent_dim is "
            f"{m.latent_dim}: set it to 2 or more."
        )
    period = (
        (list(conditions).index(m.period_condition), conditions[m.period_condition]) if m.period_condition else None
    )
    reads = set(m.period_inputs)
    phase = period if "phase" in reads else None
    return (
        generator(
            m.latent_dim,
            sample_shape,
            m.channels,
            num_classes,
            len(conditions),
            m.upsampling,
            sync_batch_norm,
            period if reads & {"phase", "latent_phase"} else None,
            latent_phase,
        ),
        discriminator(
            sample_shape,
            m.channels,
            num_classes,
            len(conditions),
            m.conditioning,
            **dcgan.discriminator_options(m, sync_batch_norm),
            phase=phase,
            half_period=period if "half_period" in reads else None,
            final_length=m.discriminator_length,
        ),
    )


FAMILY = Family(
    "timeseries",
    ("series",),
    build,
    options=(
        "conditions",
        "period_condition",
        "period_inputs",
        "discriminator_length",
        "channels",
        "conditioning",
        "upsampling",
        "batch_norm",
        "spectral_norm",
        "minibatch_stddev",
        "dropout",
    ),
)

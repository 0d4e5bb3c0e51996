"""The synthetic light-curve source: periodic variable stars of three classes, with their amplitude and period
as continuous conditions."""

import numpy as np

from tfgan_zoo.data.source import VALUE_RANGE, Source, split_rng

# Regularly sampled windows of LIGHTCURVE_LENGTH steps. Periods (in steps) stay below half the window, so every
# window holds at least two full periods, and above 16 steps, so an eclipse spans several samples. Amplitude is
# half the peak-to-peak flux of the noiseless curve; with at most 0.7 the flux lies in [-1, 1], the range of
# the generator's tanh output, until the noise passes 6 stddevs (clipped there).
LIGHTCURVE_LENGTH = 128
LIGHTCURVE_RANGES = {"amplitude": (0.2, 0.7), "period": (16.0, 48.0)}
LIGHTCURVE_NOISE = 0.05
CLASS_NAMES = ("sinusoidal pulsator", "RR Lyrae (sawtooth)", "eclipsing binary")
DEFAULT_SIZE = {"train": 20_000, "test": 2_000}


def lightcurve_shapes(labels, phase):
    """Noiseless light curves of unit amplitude (peak-to-peak from -1 to 1) at `phase` (in cycles, any shape),
    for each class: 0 a sinusoid; 1 an RR Lyrae-like sawtooth, a fast rise over 15% of the cycle and a slow
    decline; 2 an eclipsing binary, flat at maximum with a primary eclipse (full depth) and, half a cycle
    later, a secondary one of half that depth, each Gaussian with a width of 5% of the cycle."""
    labels = np.reshape(labels, np.shape(labels) + (1,) * (np.ndim(phase) - np.ndim(labels)))
    cycle = np.mod(phase, 1.0)
    rise = 0.15
    sawtooth = np.where(cycle < rise, -1 + 2 * cycle / rise, 1 - 2 * (cycle - rise) / (1 - rise))

    def dip(center):
        distance = np.mod(cycle - center + 0.5, 1.0) - 0.5
        return np.exp(-0.5 * (distance / 0.05) ** 2)

    eclipses = 1 - 2 * (dip(0.0) + 0.5 * dip(0.5))
    return np.select([labels == 0, labels == 1], [np.sin(2 * np.pi * cycle), sawtooth], eclipses)


def lightcurves(split, seed, num_examples):
    """Periodic light curves of three classes with uniform random amplitude, period and phase, plus Gaussian
    observation noise of stddev `LIGHTCURVE_NOISE`, sampled at `LIGHTCURVE_LENGTH` regular time steps."""
    n = num_examples or DEFAULT_SIZE[split]
    rng = split_rng(seed, split)
    labels = rng.integers(len(CLASS_NAMES), size=n)
    conditions = {name: rng.uniform(low, high, n) for name, (low, high) in LIGHTCURVE_RANGES.items()}
    phase = rng.uniform(0, 1, n)
    cycles = np.arange(LIGHTCURVE_LENGTH) / conditions["period"][:, None] + phase[:, None]
    noise = LIGHTCURVE_NOISE * rng.standard_normal((n, LIGHTCURVE_LENGTH))
    x = conditions["amplitude"][:, None] * lightcurve_shapes(labels, cycles) + noise
    return Source(
        name="lightcurves",
        x=np.clip(x, *VALUE_RANGE)[..., None].astype(np.float32),
        y=labels.astype(np.int32),
        num_classes=len(CLASS_NAMES),
        origin="synthetic",
        metadata={
            "value_range": VALUE_RANGE,
            "class_names": CLASS_NAMES,
            "condition_ranges": LIGHTCURVE_RANGES,
            "noise": LIGHTCURVE_NOISE,
            "phase": phase.astype(np.float32),
        },
        conditions={name: values.astype(np.float32) for name, values in conditions.items()},
    )

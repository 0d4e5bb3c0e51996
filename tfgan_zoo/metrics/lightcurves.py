"""Amplitude and period of periodic time series, measured by a multi-harmonic periodogram.

For each trial period P the curve is fitted by least squares with a constant and `HARMONICS` sine/cosine
pairs of frequencies k / P (Schwarzenberg-Czerny 1996); the periodogram is the fraction of the curve's
variance that fit explains. Unlike a plain (one-harmonic) periodogram it is not fooled by non-sinusoidal
shapes: an eclipsing binary's two eclipses put most power at P / 2, but only the fit at P tells the
primary from the secondary eclipse. A fit at a multiple of P explains as much as the fit at P, so the
period is the shortest local maximum within `TOLERANCE` of the best. The amplitude is half the
peak-to-peak of the fitted curve, which averages the observation noise out.
"""

import numpy as np

HARMONICS = 6
TOLERANCE = 0.9
TRIALS = 400


def _fit_bases(length, periods):
    """Orthonormal bases `[P, length, 2 * HARMONICS + 1]` of the fits at `periods`."""
    t = np.arange(length)[None, :, None] / np.asarray(periods, np.float64)[:, None, None]
    k = np.arange(1, HARMONICS + 1)
    angles = 2 * np.pi * k * t
    design = np.concatenate([np.ones_like(t), np.cos(angles), np.sin(angles)], axis=-1)
    return np.linalg.qr(design)[0]


def periodogram(curves, periods):
    """`[N, len(periods)]`: the fraction of each curve's variance (about its mean) that the fit at each period
    explains. `curves` is `[N, T]` or `[N, T, 1]`."""
    x = np.asarray(curves, np.float64).reshape(len(curves), -1)
    x = x - x.mean(axis=1, keepdims=True)
    bases = _fit_bases(x.shape[1], periods)
    explained = np.einsum("nt,ptb->npb", x, bases)
    return (explained**2).sum(axis=-1) / np.maximum((x**2).sum(axis=1, keepdims=True), 1e-12)


def measure(curves, period_range):
    """`(amplitude, period)` of each of `curves` (`[N, T]` or `[N, T, 1]`) whose periods should lie in
    `period_range`; the search reaches 25% beyond it (up to half the window), so that periods a generator
    misses are measured, not clamped to the range."""
    x = np.asarray(curves, np.float64).reshape(len(curves), -1)
    periods = np.geomspace(0.75 * period_range[0], min(1.25 * period_range[1], x.shape[1] / 2), TRIALS)
    power = periodogram(x, periods)
    padded = np.pad(power, ((0, 0), (1, 1)), constant_values=-np.inf)
    peaks = (power >= padded[:, :-2]) & (power >= padded[:, 2:])
    strong = peaks & (power >= TOLERANCE * power.max(axis=1, keepdims=True))
    best = np.argmax(strong, axis=1)  # the first, i.e. shortest, strong peak
    bases = _fit_bases(x.shape[1], periods[best])
    fitted = np.einsum("ntb,nb->nt", bases, np.einsum("nt,ntb->nb", x, bases))
    return (fitted.max(axis=1) - fitted.min(axis=1)) / 2, periods[best]


def relative_errors(curves, amplitude, period, period_range):
    """`{"amplitude_error": [N], "period_error": [N]}`: each curve's relative errors of its measured amplitude and
    period against the requested values."""
    measured_amplitude, measured_period = measure(curves, period_range)
    return {
        "amplitude_error": np.abs(measured_amplitude - amplitude) / amplitude,
        "period_error": np.abs(measured_period - period) / period,
    }

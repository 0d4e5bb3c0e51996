"""The metrics the zoo reports, by name: which way is better, and whether `tfgan-zoo list` shows them.

A metric of your own joins with one `register` call: `MetricsCallback(monitor=name)` then knows its direction
and, with `headline=True`, `tfgan-zoo list` shows it for the entries whose card has it.
"""

import dataclasses


@dataclasses.dataclass(frozen=True)
class Metric:
    """A reported value: `better` is `"higher"`, `"lower"`, or None when neither is (e.g. `spread`, best at 1)."""

    name: str
    better: str | None
    headline: bool = False


_METRICS = {}


def register(name, better, headline=False) -> Metric:
    """Registers (or replaces) the metric `name`; `headline` puts it in `tfgan-zoo list`."""
    if better not in ("higher", "lower", None):
        raise ValueError(f"better must be 'higher', 'lower' or None, got {better!r}.")
    _METRICS[name] = Metric(name, better, headline)
    return _METRICS[name]


def get(name) -> Metric | None:
    """The registered metric `name`, or None."""
    return _METRICS.get(name)


def names():
    """Every registered metric's name, in the order they were registered."""
    return tuple(_METRICS)


def headline_names():
    """The names `tfgan-zoo list` shows, in the order they were registered."""
    return tuple(name for name, metric in _METRICS.items() if metric.headline)


# Headlines: mode coverage for 2-D mixtures, quality and diversity for images, how well the samples of a
# conditional generator teach a classifier, and how well a time series generator honours its amplitude and period.
for _name, _better, _headline in [
    ("modes_covered", "higher", True),
    ("high_quality", "higher", True),
    ("spread", None, True),
    ("reverse_kl", "lower", False),
    ("mean_error", "lower", False),
    ("cov_error", "lower", False),
    ("fd", "lower", True),
    ("kid", "lower", False),
    ("classifier_score", "higher", False),
    ("precision", "higher", True),
    ("recall", "higher", True),
    ("swd", "lower", False),
    ("tstr_accuracy", "higher", False),
    ("tstr_ratio", "higher", True),
    ("trts_accuracy", "higher", False),
    ("label_accuracy", "higher", False),
    ("amplitude_error", "lower", True),
    ("period_error", "lower", True),
    ("diversity", "higher", False),  # the health monitor's recall of the samples relative to real data's
]:
    register(_name, _better, _headline)

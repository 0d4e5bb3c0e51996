"""`Source`, the in-memory dataset that every data source returns, and the splits it comes in."""

import dataclasses

import numpy as np

SPLITS = ("train", "test")
# Images and light curves lie in this range: that of the generator's tanh output.
VALUE_RANGE = (-1.0, 1.0)
_KINDS = {1: "points", 2: "series", 3: "images"}  # by the rank of one sample


@dataclasses.dataclass(frozen=True)
class Source:
    """A dataset held in memory.

    Attributes:
        name: the source name, one of `SOURCES`.
        x: float32 examples: images `[N, H, W, C]` in `[-1, 1]`, 2-D points `[N, 2]` as coordinates, or time
            series `[N, T, 1]`.
        y: int32 labels `[N]`, or None when unlabelled.
        conditions: continuous condition name -> float32 `[N]`, the value of each example (e.g. a light
            curve's amplitude and period); their ranges are in `metadata["condition_ranges"]`. Empty when none.
        num_classes: number of classes, 0 when unlabelled.
        origin: where the data came from, e.g. `"tfds:mnist"` or `"debian:/usr/share/datasets/fashion-mnist"`.
        metadata: source facts consumers need: `value_range` (None for points), `class_names`, and for
            synthetic sources their parameters (`centers` and `std` of a mixture, `mean` and `cov`,
            `condition_ranges` name -> (min, max) and the `noise` of light curves, and their `phase`).
    """

    name: str
    x: np.ndarray
    y: np.ndarray | None
    num_classes: int
    origin: str
    metadata: dict
    conditions: dict = dataclasses.field(default_factory=dict)

    @property
    def kind(self):
        """What the examples are: `sample_kind` of their shape."""
        return sample_kind(self.x.shape[1:], self.name)


def sample_kind(sample_shape, name="The data"):
    """`"points"` (`[D]`), `"series"` (`[T, C]`) or `"images"` (`[H, W, C]`) for samples of `sample_shape`: the
    one place that reads what samples are from their rank."""
    if len(sample_shape) not in _KINDS:
        raise ValueError(
            f"{name} has examples of shape {list(sample_shape)}; a Source holds points [N, D], "
            "series [N, T, C] or images [N, H, W, C]."
        )
    return _KINDS[len(sample_shape)]


def split_rng(seed, split):
    """One generator per (seed, split): each split of a synthetic source is reproducible and train never
    repeats test."""
    return np.random.default_rng([seed, SPLITS.index(split)])

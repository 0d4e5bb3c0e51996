"""Named data sources as in-memory arrays, and a deterministic, resumable `tf.data` stream of batches.

`load(name)` returns a `Source`: images as float32 NHWC in `[-1, 1]`, 2-D points as plain coordinates, or
light curves `[N, 128, 1]` in `[-1, 1]`, with int32 labels where the data has them, per-example continuous
conditions where it has them (the light curves' amplitude and period), and a record of where the data came
from. `make_dataset(source, batch_size, seed=..., start_step=...)` streams its batches, batch `k` a pure
function of `(seed, k)`.
"""

from tfgan_zoo.data.images import crop_padding, pad
from tfgan_zoo.data.lightcurves import LIGHTCURVE_LENGTH, LIGHTCURVE_NOISE, LIGHTCURVE_RANGES, lightcurve_shapes
from tfgan_zoo.data.registry import SOURCES, load
from tfgan_zoo.data.source import SPLITS, Source, sample_kind
from tfgan_zoo.data.stream import make_dataset

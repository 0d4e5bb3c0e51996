"""`make_dataset`: a deterministic, resumable `tf.data` stream of batches of a `Source` or of arrays.

It maps a step number to its batch with stateless ops only: batch `k` depends on nothing but `(seed, k)`, so
a run resumed at step `k` sees exactly the batches an uninterrupted run would have seen, and every replica
can compute the same stream.
"""

import numpy as np
import tensorflow as tf

from tfgan_zoo.data.source import Source

# Third word of the index-shuffle key; fixed so that (seed, epoch) alone picks the permutation.
_SHUFFLE_KEY = 0x5EED


def make_dataset(
    source_or_x: Source | np.ndarray,
    batch_size: int,
    *,
    seed: int = 0,
    start_step: int = 0,
    labels: bool | None = None,
    conditions: tuple[str, ...] = (),
) -> tf.data.Dataset:
    """An infinite stream of batches where batch `k` is a pure function of `(seed, k)`.

    Example `j` of step `k` is the flat index `i = k * batch_size + j`; it lies in epoch `i // N`,
    where a stateless index shuffle keyed by `(seed, epoch)` permutes the N examples. So each epoch
    visits every example exactly once, and starting at `start_step=k` reproduces an uninterrupted
    run from its step `k` on: exact resume with nothing to checkpoint but the step.

    Args:
        source_or_x: a `Source`, an array `x`, or a tuple `(x, y)`.
        batch_size: examples per batch; batches have the static shape `[batch_size, ...]`.
        seed: picks the sequence of permutations.
        start_step: the first step the stream yields.
        labels: yield `(x, y)` instead of `x`. Defaults to True for a labelled `Source` and for an
            `(x, y)` tuple, False for a bare array.
        conditions: names of continuous conditions of a `Source` to yield with each example: batches are
            then `(x, {"label": y, name: values, ...})` (`"label"` only with `labels`), what `GAN` takes.

    Returns:
        A `tf.data.Dataset` of `x`, `(x, y)` or `(x, {"label": y, name: values, ...})` batches.
    """
    if isinstance(source_or_x, Source):
        x, y = source_or_x.x, source_or_x.y
        has_labels = y is not None and source_or_x.num_classes > 0
        missing = [name for name in conditions if name not in source_or_x.conditions]
        if missing:
            raise ValueError(
                f"The data {source_or_x.name} has no condition {', '.join(missing)}; its conditions: "
                f"{', '.join(source_or_x.conditions) or 'none'}."
            )
        condition_values = {name: tf.constant(source_or_x.conditions[name], tf.float32) for name in conditions}
    elif isinstance(source_or_x, tuple):
        x, y = source_or_x
        has_labels = True
    else:
        x, y, has_labels = source_or_x, None, False
    if conditions and not isinstance(source_or_x, Source):
        raise ValueError("conditions are read from a Source; pass data.load(...)'s Source instead of arrays.")
    labels = has_labels if labels is None else labels
    if labels and y is None:
        raise ValueError("labels=True but the data has no labels; pass a labelled Source or a tuple (x, y).")
    x = np.asarray(x, np.float32)
    num = len(x)
    if not 0 < batch_size <= num:
        raise ValueError(f"batch_size must be in [1, {num}] (the number of examples), got {batch_size}.")
    if labels and len(y) != num:
        raise ValueError(f"x has {num} examples but y has {len(y)} labels.")

    x_all = tf.constant(x)
    y_all = tf.constant(np.asarray(y, np.int32)) if labels else None
    offsets = tf.range(batch_size, dtype=tf.int64)

    def batch_at(step):
        flat = step * batch_size + offsets
        epoch = flat // num
        # The raw op takes the full [batch, 3] key; TF 2.21's index_shuffle wrapper mis-pads a
        # batched [batch, 2] seed, and one batch can straddle two epochs.
        key = tf.stack(
            [
                tf.fill([batch_size], tf.constant(seed, tf.int64)),
                epoch,
                tf.fill([batch_size], tf.constant(_SHUFFLE_KEY, tf.int64)),
            ],
            axis=1,
        )
        index = tf.raw_ops.RandomIndexShuffle(
            index=flat % num, seed=key, max_index=tf.constant(num - 1, tf.int64), rounds=4
        )
        if conditions:
            given = {name: tf.gather(values, index) for name, values in condition_values.items()}
            return tf.gather(x_all, index), {**({"label": tf.gather(y_all, index)} if labels else {}), **given}
        if labels:
            return tf.gather(x_all, index), tf.gather(y_all, index)
        return tf.gather(x_all, index)

    steps = tf.data.Dataset.range(start_step, np.iinfo(np.int64).max)
    return steps.map(batch_at, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True).prefetch(tf.data.AUTOTUNE)

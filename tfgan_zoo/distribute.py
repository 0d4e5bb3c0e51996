"""The `tf.distribute` strategy a run trains under, chosen by `runtime.strategy`.

`config.data.batch_size` is always the global batch: `fit` splits each batch across the replicas and
`GAN.train_step` averages its per-example losses over the global batch, so the same config trains
the same model on one device or many.
"""

import tensorflow as tf

STRATEGIES = ("default", "mirrored", "multi_worker", "tpu", "auto")


def strategy(name="default", tpu_address=""):
    """A strategy by name: `default` (one device), `mirrored` (all local GPUs, or all logical CPUs), `multi_worker`
    (MultiWorkerMirroredStrategy from `TF_CONFIG`), `tpu` (TPUStrategy at `tpu_address`), or `auto`
    (TPU if an address is given, else all GPUs when there are several, else one device)."""
    if name not in STRATEGIES:
        raise ValueError(f"Unknown runtime.strategy {name!r}; choose one of {', '.join(STRATEGIES)}.")
    if name == "auto":
        name = "tpu" if tpu_address else "mirrored" if len(tf.config.list_logical_devices("GPU")) > 1 else "default"
    if name == "mirrored":
        # All GPUs; on a machine without, all logical CPU devices (how the tests split one CPU in two).
        devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
        return tf.distribute.MirroredStrategy([device.name for device in devices])
    if name == "multi_worker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    if name == "tpu":
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu_address)
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
        return tf.distribute.TPUStrategy(resolver)
    return tf.distribute.get_strategy()

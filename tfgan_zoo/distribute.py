"""The `tf.distribute` strategy a run trains under, chosen by `runtime.strategy`.

`config.data.batch_size` is always the global batch: `fit` splits each batch across the replicas and
`GAN.train_step` averages its per-example losses over the global batch, so the same config trains
the same model on one device or many, and a run may resume on another strategy (`topology` says which).
Randomness is drawn for the global batch and sliced per replica (`replica_rows`), so replicas draw what one device
draws.
"""

import functools

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
    if name == "default":
        return tf.distribute.get_strategy()
    return _distributed(name, tpu_address)


@functools.cache
def _distributed(name, tpu_address):
    """One strategy of each kind per process: each new one numbers its collectives from the same key, so a second
    run of other shapes in the process would meet the first run's collectives and fail on their shapes."""
    if name == "mirrored":
        # All GPUs; on a machine without, all logical CPU devices (how the tests split one CPU in two).
        devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
        return tf.distribute.MirroredStrategy([device.name for device in devices])
    if name == "multi_worker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu_address)
    tf.config.experimental_connect_to_cluster(resolver)
    tf.tpu.experimental.initialize_tpu_system(resolver)
    return tf.distribute.TPUStrategy(resolver)


def replica_position():
    """`(replicas in sync, index of this replica)` where the code runs: `(1, 0)` outside a replica context."""
    context = tf.distribute.get_replica_context()
    return (context.num_replicas_in_sync, context.replica_id_in_sync_group) if context else (1, 0)


def replica_rows(draw, per_replica_batch, seed):
    """Draws `draw(global_batch, seed)` and returns this replica's rows of it: the rows one device would give the
    examples this replica holds, since `fit` splits each batch into contiguous per-replica parts."""
    replicas, replica = replica_position()
    values = draw(per_replica_batch * replicas, seed)
    return values[replica * per_replica_batch : (replica + 1) * per_replica_batch]


def topology(strategy):
    """Where `strategy` trains, as a workdir's record keeps it: `{"strategy": name, "replicas": n, "workers": n}`,
    `auto` named by what it picked; workers are the processes of a `multi_worker` cluster, one for the others."""
    kinds = {
        tf.distribute.MultiWorkerMirroredStrategy: "multi_worker",
        tf.distribute.MirroredStrategy: "mirrored",
        tf.distribute.TPUStrategy: "tpu",
    }
    name = next((name for kind, name in kinds.items() if isinstance(strategy, kind)), "default")
    workers = 1
    if name == "multi_worker":
        cluster = strategy.cluster_resolver.cluster_spec()
        workers = max(1, sum(cluster.num_tasks(job) for job in ("chief", "worker") if job in cluster.jobs))
    return {"strategy": name, "replicas": strategy.num_replicas_in_sync, "workers": workers}

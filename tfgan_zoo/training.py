"""From a config to a trained GAN in a workdir: one resumable `fit` with the zoo's callbacks."""

import functools
import os

import keras
import tensorflow as tf
from absl import logging

from tfgan_zoo import build, callbacks, data, distribute, health, metrics, networks, workdirs
from tfgan_zoo import config as config_lib


def check_data(source, gan):
    """A clear ValueError when `source` cannot train `gan`: samples of another shape, images outside [-1, 1], or
    labels missing or out of range for a conditional model."""
    shape = tuple(gan.generator.output_shape[1:])
    if source.x.shape[1:] != shape:
        raise ValueError(
            f"The data {source.name} has samples of shape {list(source.x.shape[1:])}, but the model "
            f"generates {list(shape)}: give it data of that shape (size and channels), or train a new "
            "model on this data in a new --workdir."
        )
    value_range = source.metadata.get("value_range")
    if value_range is not None and (source.x.min() < value_range[0] or source.x.max() > value_range[1]):
        raise ValueError(
            f"The images of {source.name} lie in [{source.x.min():g}, {source.x.max():g}]; the model "
            f"expects [{value_range[0]:g}, {value_range[1]:g}]. Scale 8-bit pixels by x / 127.5 - 1."
        )
    if gan.num_classes:
        if source.y is None:
            raise ValueError(
                f"The model is conditional but the data {source.name} has no labels: use labelled data "
                "or set model.conditional=false."
            )
        gan.check_labels(source.y, len(source.y))
    missing = [name for name in gan.conditions if name not in source.conditions]
    if missing:
        raise ValueError(
            f"The model is conditioned on {', '.join(missing)}, which the data {source.name} lacks: "
            "use data with those conditions or train a new model without them in a new --workdir."
        )


def _check_workers_agree(strategy, step):
    """Every worker of a multi-worker run must resume at the same step: they restore from one shared workdir."""

    def sums():
        values = tf.constant([step, step * step, 1], tf.float64)
        return tf.distribute.get_replica_context().all_reduce(tf.distribute.ReduceOp.SUM, values)

    total, total_squares, workers = strategy.experimental_local_results(strategy.run(sums))[0].numpy()
    if total != workers * step or total_squares != workers * step * step:  # equal iff every step is equal
        raise RuntimeError(
            f"The workers restored different steps (this one {step}): all of them must see the same "
            "--workdir, on a filesystem they share."
        )


def train(
    config: config_lib.Config, workdir: str | os.PathLike, verbose: str | int = "auto"
) -> tuple[keras.Model, keras.callbacks.History]:
    """Trains (or resumes) the run of `config` in `workdir`; returns the GAN and the Keras history.

    The workdir receives `config.yaml` (the resolved config), `checkpoints/`, TensorBoard `logs/`,
    `history.csv`, `samples.png` and `samples/`, `losses.png`, and `gan.keras` at the end. In a multi-worker
    run every worker restores from the chief's `checkpoints/`, and the others write what they write under
    `worker_<index>/`. A run killed at any point resumes from its last checkpoint (mid-epoch included) to the
    weights of an uninterrupted run. Raises `health.TrainingDiverged` when the health monitor stops a run.
    """
    config = build.resolve(config, workdirs.saved_config(workdir))
    t = config.train
    if t.steps % t.steps_per_epoch:
        raise config_lib.ConfigError(
            f"train.steps ({t.steps}) must be a multiple of train.steps_per_epoch ({t.steps_per_epoch})."
        )
    if config.data.batch_size % config.model.pack:
        raise config_lib.ConfigError(
            f"data.batch_size ({config.data.batch_size}) must be a multiple of model.pack "
            f"({config.model.pack}): the discriminator judges packs of that many samples."
        )
    checkpoint_every = t.checkpoint_every or t.steps_per_epoch
    if checkpoint_every % config.runtime.steps_per_execution:
        raise config_lib.ConfigError(
            f"train.checkpoint_every ({checkpoint_every}) must be a multiple of runtime.steps_per_execution "
            f"({config.runtime.steps_per_execution})."
        )
    source = build.load_source(config)
    batch = t.d_steps * config.data.batch_size
    if len(source.x) < batch:
        raise config_lib.ConfigError(
            f"The data {source.name} has {len(source.x)} examples, fewer than one batch of data.batch_size "
            f"({config.data.batch_size}) x train.d_steps ({t.d_steps}) = {batch}: lower data.batch_size to at "
            f"most {len(source.x) // t.d_steps}, or add data."
        )
    logging.info("Training %s on %s (%d examples, from %s).", config.name, source.name, len(source.x), source.origin)
    strategy = distribute.strategy(config.runtime.strategy, config.runtime.tpu_address)
    with strategy.scope():
        gan = build.compile_gan(
            build.build_gan(config, source.x.shape[1:], source.num_classes, source.metadata.get("condition_ranges")),
            config,
        )
    check_data(source, gan)
    chief = strategy.extended.should_checkpoint
    # Every worker saves (a save may need all of them), but only the chief into the run's folder.
    own = workdir if chief else os.path.join(workdir, f"worker_{strategy.cluster_resolver.task_id}")
    # Only a config that builds, compiles and fits its data reaches the workdir, and only one process at a time.
    with workdirs.locked(own):
        changes = workdirs.prepare(workdir, config, write=chief)
        checkpoint = tf.train.Checkpoint(gan=gan, d_optimizer=gan.d_optimizer, g_optimizer=gan.g_optimizer)
        run_checkpoints = os.path.join(workdir, "checkpoints")
        restored = workdirs.restore_latest(checkpoint, run_checkpoints)
        if restored:
            logging.info("Resumed from %s at step %d.", restored, int(gan.step.numpy()))
        start = int(gan.step.numpy())
        if chief:
            workdirs.record(workdir, start, distribute.topology(strategy), changes)
        build.set_learning_rates(gan, config)  # a constant learning rate is a variable, which the restore reverted
        if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
            _check_workers_agree(strategy, start)
        return _fit(config, own, gan, source, checkpoint, run_checkpoints, start, restored, verbose)


def _fit(config, workdir, gan, source, checkpoint, run_checkpoints, start, restored, verbose):
    """The `fit` calls of `train` from step `start`, with the zoo's callbacks writing into `workdir`."""
    t = config.train
    checkpoint_every = t.checkpoint_every or t.steps_per_epoch
    manager = tf.train.CheckpointManager(checkpoint, os.path.join(workdir, "checkpoints"), t.keep_checkpoints)
    if not restored:
        manager.save(checkpoint_number=start)  # a good state to roll back to from the first step on

    csv_path = os.path.join(workdir, "history.csv")
    monitor = None
    if config.health.enabled:  # before the checkpoint saver, so that nothing non-finite is saved
        h = config.health
        monitor = health.TrainingHealth(
            os.path.join(workdir, "logs", "health"),
            functools.partial(workdirs.restore_latest, checkpoint, run_checkpoints),
            source.x,
            t.loss,
            h.d_loss_floor,
            h.window,
            h.min_diversity,
            config.eval.num_samples,
            t.label_smoothing,
            t.label_noise,
            t.label_flip,
            check_weights_every=t.checkpoint_every or t.steps_per_epoch,
        )
    run_callbacks = [monitor] if monitor else []
    if "centers" in source.metadata:
        run_callbacks.append(
            metrics.MetricsCallback(
                functools.partial(
                    metrics.mode_coverage, centers=source.metadata["centers"], std=source.metadata["std"]
                ),
                config.eval.num_samples,
            )
        )
    if "cov" in source.metadata:
        run_callbacks.append(
            metrics.MetricsCallback(
                functools.partial(metrics.moment_errors, mean=source.metadata["mean"], cov=source.metadata["cov"]),
                config.eval.num_samples,
            )
        )
    history = keras.callbacks.History()  # one history across the `fit` calls below
    pictures = callbacks.SamplePictures(workdir, source)
    family = networks.FAMILIES[config.model.family]
    if family.callbacks:
        run_callbacks += family.callbacks(config, pictures.picture, os.path.join(workdir, "samples"))
    run_callbacks += [
        pictures,
        callbacks.HistoryCSV(csv_path, start // t.steps_per_epoch),
        callbacks.TensorBoard(os.path.join(workdir, "logs")),
        callbacks.HistoryPlot(csv_path, os.path.join(workdir, "losses.png")),
        callbacks.Checkpoint(manager, checkpoint_every, t.steps_per_epoch),  # after the epoch's record
        history,
    ]
    # `fit` runs whole epochs: a run resumed mid-epoch first finishes that epoch in a `fit` of its own.
    epoch, done = divmod(start, t.steps_per_epoch)
    fits = [(start, epoch, epoch + 1, t.steps_per_epoch - done)] if done and start < t.steps else []
    epoch += bool(done)
    fits.append((epoch * t.steps_per_epoch, epoch, t.steps // t.steps_per_epoch, t.steps_per_epoch))
    for first_step, initial_epoch, epochs, steps_per_epoch in fits:
        if epochs <= initial_epoch or (monitor and monitor.failure):
            continue
        stream = data.make_dataset(
            source,
            t.d_steps * config.data.batch_size,
            seed=t.seed,
            start_step=first_step,
            labels=bool(gan.num_classes),
            conditions=tuple(gan.conditions),
        )
        gan.fit(
            stream,
            epochs=epochs,
            initial_epoch=initial_epoch,
            steps_per_epoch=steps_per_epoch,
            callbacks=run_callbacks,
            verbose=verbose,
            shuffle=False,
        )
    if monitor and monitor.failure:
        raise health.TrainingDiverged(monitor.failure)
    keras_path = os.path.join(workdir, "gan.keras")
    gan.save(keras_path + ".partial.keras")  # then renamed: a crash never leaves a truncated gan.keras
    os.replace(keras_path + ".partial.keras", keras_path)
    return gan, history

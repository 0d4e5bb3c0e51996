"""From a config to a trained GAN: build the networks, compile the update, and run a resumable `fit`."""

import contextlib
import functools
import os
import re

import keras
import tensorflow as tf
from absl import logging

from tfgan_zoo import callbacks, config as config_lib, data, distribute, health, metrics
from tfgan_zoo.gan import GAN
from tfgan_zoo.networks import conv1d, dcgan, mlp, progressive

FAMILIES = ("vanilla", "dcgan", "progressive", "timeseries")
PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")
# The rank of the samples each family's networks take: images [H, W, C], series [T, C]; vanilla takes any.
_SAMPLE_RANKS = {"dcgan": 3, "progressive": 3, "timeseries": 2}


def build_networks(model_config, sample_shape, num_classes, sync_batch_norm=False, num_conditions=0):
    """The generator and discriminator of `model_config.family` for samples of `sample_shape`, conditioned on
    `num_classes` labels and `num_conditions` continuous conditions."""
    if model_config.family not in FAMILIES:
        raise config_lib.ConfigError(
            f"Unknown model.family {model_config.family!r}; choose one of {', '.join(FAMILIES)}.")
    m = model_config
    rank = _SAMPLE_RANKS.get(m.family, len(sample_shape))
    if len(sample_shape) != rank:
        kind = "images [H, W, C]" if rank == 3 else "series [T, C]"
        raise config_lib.ConfigError(f"model.family {m.family} needs {kind}; the data has samples of shape "
                                     f"{list(sample_shape)}. Use model.family vanilla for it.")
    if m.pack > 1 and m.family != "vanilla":
        raise config_lib.ConfigError(f"model.pack ({m.pack}) is an option of the vanilla family, not {m.family}.")
    if num_conditions and m.family != "timeseries":
        raise config_lib.ConfigError(f"model.conditions {m.conditions} need model.family timeseries; "
                                     f"{m.family} networks take labels only.")
    if m.family == "timeseries":
        return (conv1d.generator(m.latent_dim, sample_shape, m.channels, num_classes, num_conditions, m.upsampling,
                                 sync_batch_norm),
                conv1d.discriminator(sample_shape, m.channels, num_classes, num_conditions, m.conditioning,
                                     batch_norm=m.batch_norm, spectral_norm=m.spectral_norm,
                                     minibatch_stddev=m.minibatch_stddev, dropout=m.dropout,
                                     sync_batch_norm=sync_batch_norm))
    if m.family == "progressive":
        return (progressive.generator(m.latent_dim, sample_shape, m.channels, num_classes),
                progressive.discriminator(sample_shape, m.channels, num_classes, m.conditioning))
    if m.family == "dcgan":
        generator = dcgan.generator(m.latent_dim, sample_shape, m.channels, num_classes, m.upsampling, sync_batch_norm)
        discriminator = dcgan.discriminator(
            sample_shape, m.channels, num_classes, m.conditioning, batch_norm=m.batch_norm,
            spectral_norm=m.spectral_norm, minibatch_stddev=m.minibatch_stddev, dropout=m.dropout,
            sync_batch_norm=sync_batch_norm)
        return generator, discriminator
    # Coordinates are unbounded; images live in [-1, 1].
    output_activation = None if len(sample_shape) == 1 else "tanh"
    generator = mlp.generator(model_config.latent_dim, sample_shape, model_config.generator_units, num_classes,
                              output_activation=output_activation)
    discriminator = mlp.discriminator(
        sample_shape, model_config.discriminator_units, num_classes, spectral_norm=model_config.spectral_norm,
        minibatch_stddev=model_config.minibatch_stddev,
        minibatch_discrimination=model_config.minibatch_discrimination, dropout=model_config.dropout,
        pack=model_config.pack)
    return generator, discriminator


def build_gan(config, sample_shape, num_classes=0, condition_ranges=None):
    """An uncompiled `GAN` for `config`; conditional when `config.model.conditional`, and on the continuous
    conditions `config.model.conditions`, whose trained ranges `condition_ranges` (name -> (min, max), the
    data's `metadata["condition_ranges"]`) gives."""
    if config.model.conditional and not num_classes:
        raise config_lib.ConfigError(f"model.conditional is true but the data ({config.data.source}) has no labels: "
                                     "use a labelled source or set model.conditional=false.")
    condition_ranges = condition_ranges or {}
    missing = [name for name in config.model.conditions if name not in condition_ranges]
    if missing:
        raise config_lib.ConfigError(
            f"model.conditions names {', '.join(missing)}, which the data ({config.data.source}) lacks; its "
            f"conditions: {', '.join(condition_ranges) or 'none'}. Name those, or set model.conditions=[].")
    num_classes = num_classes if config.model.conditional else 0
    keras.utils.set_random_seed(config.train.seed)  # weight initialisation: the same seed, the same run
    with _dtype_policy(config.runtime.precision):
        generator, discriminator = build_networks(config.model, sample_shape, num_classes,
                                                  config.runtime.sync_batch_norm, len(config.model.conditions))
    generator, discriminator = _float32_outputs(generator), _float32_outputs(discriminator)
    real_transform = progressive.real_images(sample_shape) if config.model.family == "progressive" else None
    return GAN(generator, discriminator, config.model.latent_dim, num_classes, ema_decay=config.model.ema_decay,
               seed=config.train.seed, latent_distribution=config.model.latent_distribution,
               real_transform=real_transform,
               conditions={name: condition_ranges[name] for name in config.model.conditions})


@contextlib.contextmanager
def _dtype_policy(precision):
    """Layers built inside compute in `precision` (their weights stay float32, Keras' mixed precision)."""
    if precision not in PRECISIONS:
        raise config_lib.ConfigError(f"Unknown runtime.precision {precision!r}; choose one of {', '.join(PRECISIONS)}.")
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(precision)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def _float32_outputs(network):
    """`network` with float32 outputs, so losses, penalties and samples stay in full precision."""
    if all(output.dtype == "float32" for output in network.outputs):
        return network
    outputs = [keras.layers.Activation("linear", dtype="float32", name=f"{output.name.split('/')[0]}_float32")(output)
               for output in network.outputs]
    return keras.Model(network.inputs, outputs if len(outputs) > 1 else outputs[0], name=network.name)


def compile_gan(gan, config):
    """Compiles `gan` with the optimizers, loss and tricks of `config.train`."""
    t = config.train
    schedules = ("constant", "linear_decay")
    if t.lr_schedule not in schedules:
        raise config_lib.ConfigError(f"Unknown train.lr_schedule {t.lr_schedule!r}; choose one of {', '.join(schedules)}.")
    if not 0.0 <= t.final_lr_fraction <= 1.0:
        raise config_lib.ConfigError(f"train.final_lr_fraction must lie in [0, 1] (e.g. 0.2), got {t.final_lr_fraction}.")

    def adam(learning_rate, updates):
        if t.lr_schedule == "linear_decay":
            learning_rate = keras.optimizers.schedules.PolynomialDecay(
                learning_rate, updates, end_learning_rate=learning_rate * t.final_lr_fraction)
        optimizer = keras.optimizers.Adam(learning_rate, beta_1=t.beta_1, beta_2=t.beta_2)
        # float16's narrow range underflows small gradients unless the loss is scaled (bfloat16 needs no scaling).
        return keras.optimizers.LossScaleOptimizer(optimizer) if config.runtime.precision == "mixed_float16" else optimizer

    gan.compile(adam(t.d_learning_rate, t.steps * t.d_steps), adam(t.g_learning_rate, t.steps), loss=t.loss, gradient_penalty=t.gradient_penalty,
                r1=t.r1, drift=t.drift, d_steps=t.d_steps, label_smoothing=t.label_smoothing,
                label_noise=t.label_noise, label_flip=t.label_flip, instance_noise=t.instance_noise,
                instance_noise_decay_steps=t.instance_noise_decay_steps, class_loss_weight=t.class_loss_weight,
                jit_compile=config.runtime.jit_compile,
                steps_per_execution=config.runtime.steps_per_execution)
    return gan


def load_source(config, split="train"):
    d = config.data
    return data.load(d.source, split, seed=config.train.seed, num_examples=d.num_examples, data_dir=d.data_dir,
                     **d.params)


def _check_workdir(workdir, config):
    """Creates `workdir`, or checks that the run it holds was made by the same config (steps may grow)."""
    try:
        os.makedirs(workdir, exist_ok=True)
    except OSError as error:
        raise OSError(f"Cannot create the workdir {workdir}: {error.strerror}. Choose a writable --workdir.") from None
    if not os.access(workdir, os.W_OK):
        raise PermissionError(f"The workdir {workdir} is not writable. Choose a writable --workdir.")
    saved_path = os.path.join(workdir, "config.yaml")
    if os.path.exists(saved_path):
        saved = config_lib.load(saved_path)
        saved.train.steps, saved.health = config.train.steps, config.health
        if saved != config:
            new, old = config_lib.to_dict(config), config_lib.to_dict(saved)
            changed = [f"{section}.{key}" for section in new if isinstance(new[section], dict)
                       for key in new[section] if new[section][key] != old[section][key]]
            changed += [key for key in new if not isinstance(new[key], dict) and new[key] != old[key]]
            raise config_lib.ConfigError(
                f"The workdir {workdir} holds a run of a different config (changed: {', '.join(changed)}). "
                "Resume with the same config (only train.steps and health.* may change) or choose a new --workdir.")
    config_lib.save(config, saved_path)


def check_data(source, gan):
    """A clear ValueError when `source` cannot train `gan`: samples of another shape, images outside [-1, 1], or
    labels missing or out of range for a conditional model."""
    shape = tuple(gan.generator.output_shape[1:])
    if source.x.shape[1:] != shape:
        raise ValueError(f"The data {source.name} has samples of shape {list(source.x.shape[1:])}, but the model "
                         f"generates {list(shape)}: give it data of that shape (size and channels), or train a new "
                         "model on this data in a new --workdir.")
    value_range = source.metadata.get("value_range")
    if value_range is not None and (source.x.min() < value_range[0] or source.x.max() > value_range[1]):
        raise ValueError(f"The images of {source.name} lie in [{source.x.min():g}, {source.x.max():g}]; the model "
                         f"expects [{value_range[0]:g}, {value_range[1]:g}]. Scale 8-bit pixels by x / 127.5 - 1.")
    if gan.num_classes:
        if source.y is None:
            raise ValueError(f"The model is conditional but the data {source.name} has no labels: use labelled data "
                             "or set model.conditional=false.")
        gan.check_labels(source.y, len(source.y))
    missing = [name for name in gan.conditions if name not in source.conditions]
    if missing:
        raise ValueError(f"The model is conditioned on {', '.join(missing)}, which the data {source.name} lacks: "
                         "use data with those conditions or train a new model without them in a new --workdir.")


def _checkpoint_step(path):
    return int(re.search(r"-(\d+)$", path).group(1))


def restore_latest(checkpoint, directory):
    """Restores the newest readable checkpoint in `directory` and returns its path, or None when there is none.

    A checkpoint that cannot be read (partial, truncated, corrupt) is skipped with a warning naming it. Checkpoints
    are found by their index files, so a damaged `checkpoint` state file loses nothing either. One that reads but
    does not fit the model is an error: falling back would silently train something else.
    """
    paths = sorted((index[:-len(".index")] for index in tf.io.gfile.glob(os.path.join(directory, "ckpt-*.index"))),
                   key=_checkpoint_step, reverse=True)
    for path in paths:
        try:
            checkpoint.restore(path).assert_existing_objects_matched()
            return path
        except (tf.errors.OpError, IndexError) as error:  # what TF raises for unreadable files
            logging.warning("Checkpoint %s cannot be read (%s); falling back to the one before.", path,
                            str(error).strip().splitlines()[0])
        except (ValueError, AssertionError) as error:  # shapes or variables that differ
            raise ValueError(f"The checkpoint {path} does not fit the model built from the config and data: "
                             f"{str(error).splitlines()[0]} The data behind the config changed since the run began; "
                             "restore it, or train in a new --workdir.") from None
    if paths:
        raise OSError(f"None of the checkpoints in {directory} can be read; move them away to start over.")
    return None


def _check_workers_agree(strategy, step):
    """Every worker of a multi-worker run must resume at the same step: they restore from one shared workdir."""
    def sums():
        values = tf.constant([step, step * step, 1], tf.float64)
        return tf.distribute.get_replica_context().all_reduce(tf.distribute.ReduceOp.SUM, values)

    total, total_squares, workers = strategy.experimental_local_results(strategy.run(sums))[0].numpy()
    if total != workers * step or total_squares != workers * step * step:  # equal iff every step is equal
        raise RuntimeError(f"The workers restored different steps (this one {step}): all of them must see the same "
                           "--workdir, on a filesystem they share.")


def train(config, workdir, verbose="auto"):
    """Trains (or resumes) the run of `config` in `workdir`; returns the GAN and the Keras history.

    The workdir receives `config.yaml` (the resolved config), `checkpoints/`, TensorBoard `logs/`,
    `history.csv`, `samples.png` and `samples/`, `losses.png`, and `gan.keras` at the end. In a multi-worker
    run every worker restores from the chief's `checkpoints/`, and the others write what they write under
    `worker_<index>/`. A run killed at any point resumes from its last checkpoint (mid-epoch included) to the
    weights of an uninterrupted run. Raises `health.TrainingDiverged` when the health monitor stops a run.
    """
    t = config.train
    if t.steps % t.steps_per_epoch:
        raise config_lib.ConfigError(
            f"train.steps ({t.steps}) must be a multiple of train.steps_per_epoch ({t.steps_per_epoch}).")
    if config.data.batch_size % config.model.pack:
        raise config_lib.ConfigError(f"data.batch_size ({config.data.batch_size}) must be a multiple of model.pack "
                                     f"({config.model.pack}): the discriminator judges packs of that many samples.")
    checkpoint_every = t.checkpoint_every or t.steps_per_epoch
    if checkpoint_every % config.runtime.steps_per_execution:
        raise config_lib.ConfigError(
            f"train.checkpoint_every ({checkpoint_every}) must be a multiple of runtime.steps_per_execution "
            f"({config.runtime.steps_per_execution}).")
    source = load_source(config)
    logging.info("Training %s on %s (%d examples, from %s).", config.name, source.name, len(source.x), source.origin)
    strategy = distribute.strategy(config.runtime.strategy, config.runtime.tpu_address)
    with strategy.scope():
        gan = compile_gan(build_gan(config, source.x.shape[1:], source.num_classes,
                                    source.metadata.get("condition_ranges")), config)
    # Only a config that builds and compiles reaches the workdir, so a rejected one leaves no config.yaml behind.
    _check_workdir(workdir, config)

    checkpoint = tf.train.Checkpoint(gan=gan, d_optimizer=gan.d_optimizer, g_optimizer=gan.g_optimizer)
    run_checkpoints = os.path.join(workdir, "checkpoints")
    restored = restore_latest(checkpoint, run_checkpoints)
    if restored:
        logging.info("Resumed from %s at step %d.", restored, int(gan.step.numpy()))
    start = int(gan.step.numpy())
    if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        _check_workers_agree(strategy, start)
    check_data(source, gan)
    if not strategy.extended.should_checkpoint:
        # Every worker saves (a save may need all of them), but only the chief into the run's checkpoints.
        workdir = os.path.join(workdir, f"worker_{strategy.cluster_resolver.task_id}")
        os.makedirs(workdir, exist_ok=True)
    manager = tf.train.CheckpointManager(checkpoint, os.path.join(workdir, "checkpoints"), t.keep_checkpoints)
    if not restored:
        manager.save(checkpoint_number=start)  # a good state to roll back to from the first step on

    csv_path = os.path.join(workdir, "history.csv")
    monitor = None
    if config.health.enabled:  # before the checkpoint saver, so that nothing non-finite is saved
        h = config.health
        monitor = health.TrainingHealth(
            os.path.join(workdir, "logs", "health"), functools.partial(restore_latest, checkpoint, run_checkpoints),
            source.x, t.loss, h.d_loss_floor, h.window, h.min_diversity, config.eval.num_samples)
    run_callbacks = [monitor] if monitor else []
    if "centers" in source.metadata:
        run_callbacks.append(metrics.MetricsCallback(functools.partial(
            metrics.mode_coverage, centers=source.metadata["centers"], std=source.metadata["std"]),
            config.eval.num_samples))
    if "cov" in source.metadata:
        run_callbacks.append(metrics.MetricsCallback(functools.partial(
            metrics.moment_errors, mean=source.metadata["mean"], cov=source.metadata["cov"]),
            config.eval.num_samples))
    history = keras.callbacks.History()  # one history across the `fit` calls below
    pictures = callbacks.SamplePictures(workdir, source)
    if config.model.family == "progressive":
        run_callbacks.append(callbacks.ProgressiveGrowth(
            t.stable_images, t.transition_images, t.d_steps * config.data.batch_size, pictures.picture,
            os.path.join(workdir, "samples")))
    run_callbacks += [
        callbacks.Checkpoint(manager, checkpoint_every),
        pictures,
        keras.callbacks.CSVLogger(csv_path, append=True),
        keras.callbacks.TensorBoard(os.path.join(workdir, "logs")),
        callbacks.HistoryPlot(csv_path, os.path.join(workdir, "losses.png")),
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
        stream = data.make_dataset(source, t.d_steps * config.data.batch_size, seed=t.seed, start_step=first_step,
                                   labels=bool(gan.num_classes), conditions=tuple(gan.conditions))
        gan.fit(stream, epochs=epochs, initial_epoch=initial_epoch, steps_per_epoch=steps_per_epoch,
                callbacks=run_callbacks, verbose=verbose, shuffle=False)
    if monitor and monitor.failure:
        raise health.TrainingDiverged(monitor.failure)
    keras_path = os.path.join(workdir, "gan.keras")
    gan.save(keras_path + ".partial.keras")  # then renamed: a crash never leaves a truncated gan.keras
    os.replace(keras_path + ".partial.keras", keras_path)
    return gan, history

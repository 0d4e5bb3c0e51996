"""From a config to a trained GAN: build the networks, compile the update, and run a resumable `fit`."""

import functools
import os

import keras
import tensorflow as tf
from absl import logging

from tfgan_zoo import callbacks, config as config_lib, data, distribute, metrics
from tfgan_zoo.gan import GAN
from tfgan_zoo.networks import dcgan, mlp, progressive

FAMILIES = ("vanilla", "dcgan", "progressive")


def build_networks(model_config, sample_shape, num_classes, sync_batch_norm=False):
    """The generator and discriminator of `model_config.family` for samples of `sample_shape`."""
    if model_config.family not in FAMILIES:
        raise config_lib.ConfigError(
            f"Unknown model.family {model_config.family!r}; choose one of {', '.join(FAMILIES)}.")
    m = model_config
    if m.family != "vanilla" and len(sample_shape) != 3:
        raise config_lib.ConfigError(f"model.family {m.family} needs images [H, W, C]; the data has samples of "
                                     f"shape {list(sample_shape)}. Use model.family vanilla for it.")
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
        minibatch_discrimination=model_config.minibatch_discrimination, dropout=model_config.dropout)
    return generator, discriminator


def build_gan(config, sample_shape, num_classes=0):
    """An uncompiled `GAN` for `config`; conditional when `config.model.conditional`."""
    num_classes = num_classes if config.model.conditional else 0
    keras.utils.set_random_seed(config.train.seed)  # weight initialisation: the same seed, the same run
    generator, discriminator = build_networks(config.model, sample_shape, num_classes, config.runtime.sync_batch_norm)
    real_transform = progressive.real_images(sample_shape) if config.model.family == "progressive" else None
    return GAN(generator, discriminator, config.model.latent_dim, num_classes, ema_decay=config.model.ema_decay,
               seed=config.train.seed, latent_distribution=config.model.latent_distribution,
               real_transform=real_transform)


def compile_gan(gan, config):
    """Compiles `gan` with the optimizers, loss and tricks of `config.train`."""
    t = config.train
    schedules = ("constant", "linear_decay")
    if t.lr_schedule not in schedules:
        raise config_lib.ConfigError(f"Unknown train.lr_schedule {t.lr_schedule!r}; choose one of {', '.join(schedules)}.")

    def adam(learning_rate, updates):
        if t.lr_schedule == "linear_decay":
            learning_rate = keras.optimizers.schedules.PolynomialDecay(learning_rate, updates, end_learning_rate=0.0)
        return keras.optimizers.Adam(learning_rate, beta_1=t.beta_1, beta_2=t.beta_2)

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
        saved.train.steps = config.train.steps
        if saved != config:
            new, old = config_lib.to_dict(config), config_lib.to_dict(saved)
            changed = [f"{section}.{key}" for section in new if isinstance(new[section], dict)
                       for key in new[section] if new[section][key] != old[section][key]]
            changed += [key for key in new if not isinstance(new[key], dict) and new[key] != old[key]]
            raise config_lib.ConfigError(
                f"The workdir {workdir} holds a run of a different config (changed: {', '.join(changed)}). "
                "Resume with the same config (only train.steps may change) or choose a new --workdir.")
    config_lib.save(config, saved_path)


def train(config, workdir, verbose="auto"):
    """Trains (or resumes) the run of `config` in `workdir`; returns the GAN and the Keras history.

    The workdir receives `config.yaml` (the resolved config), `checkpoints/`, TensorBoard `logs/`,
    `history.csv`, `samples.png` and `samples/`, `losses.png`, and `gan.keras` at the end.
    """
    t = config.train
    if t.steps % t.steps_per_epoch:
        raise config_lib.ConfigError(
            f"train.steps ({t.steps}) must be a multiple of train.steps_per_epoch ({t.steps_per_epoch}).")
    _check_workdir(workdir, config)
    source = load_source(config)
    logging.info("Training %s on %s (%d examples, from %s).", config.name, source.name, len(source.x), source.origin)
    with distribute.strategy(config.runtime.strategy, config.runtime.tpu_address).scope():
        gan = compile_gan(build_gan(config, source.x.shape[1:], source.num_classes), config)
    if gan.num_classes:
        gan.check_labels(source.y, len(source.y))

    checkpoint = tf.train.Checkpoint(gan=gan, d_optimizer=gan.d_optimizer, g_optimizer=gan.g_optimizer)
    manager = tf.train.CheckpointManager(checkpoint, os.path.join(workdir, "checkpoints"), t.keep_checkpoints)
    if manager.latest_checkpoint:
        checkpoint.restore(manager.latest_checkpoint).assert_existing_objects_matched()
        logging.info("Resumed from %s at step %d.", manager.latest_checkpoint, int(gan.step.numpy()))
    start = int(gan.step.numpy())

    stream = data.make_dataset(source, t.d_steps * config.data.batch_size, seed=t.seed, start_step=start,
                               labels=bool(gan.num_classes))
    csv_path = os.path.join(workdir, "history.csv")
    run_callbacks = []
    if "centers" in source.metadata:
        run_callbacks.append(metrics.MetricsCallback(functools.partial(
            metrics.mode_coverage, centers=source.metadata["centers"], std=source.metadata["std"]),
            config.eval.num_samples))
    if "cov" in source.metadata:
        run_callbacks.append(metrics.MetricsCallback(functools.partial(
            metrics.moment_errors, mean=source.metadata["mean"], cov=source.metadata["cov"]),
            config.eval.num_samples))
    pictures = callbacks.SamplePictures(workdir, source)
    if config.model.family == "progressive":
        run_callbacks.append(callbacks.ProgressiveGrowth(
            t.stable_images, t.transition_images, t.d_steps * config.data.batch_size, pictures.picture,
            os.path.join(workdir, "samples")))
    run_callbacks += [
        callbacks.Checkpoint(manager),
        pictures,
        keras.callbacks.CSVLogger(csv_path, append=True),
        keras.callbacks.TensorBoard(os.path.join(workdir, "logs")),
        callbacks.HistoryPlot(csv_path, os.path.join(workdir, "losses.png")),
    ]
    history = gan.fit(stream, epochs=t.steps // t.steps_per_epoch, initial_epoch=start // t.steps_per_epoch,
                      steps_per_epoch=t.steps_per_epoch, callbacks=run_callbacks, verbose=verbose,
                      shuffle=False)
    gan.save(os.path.join(workdir, "gan.keras"))
    return gan, history


"""From a config to the GAN it describes: its family's networks in the configured precision, compiled with the
configured optimizers, loss and tricks; and the config's data."""

import contextlib
import copy

import keras
from absl import logging

from tfgan_zoo import augment, data, networks, runtime
from tfgan_zoo import config as config_lib
from tfgan_zoo.gan import GAN


def resolve(config, saved=None):
    """A copy of `config` with the settings that follow from others, which `training.train` runs and records in the
    workdir's `config.yaml`; a `ConfigError` for combinations that cannot train as asked.

    `runtime.jit_compile` and `runtime.precision` set to `auto` become the fastest setting for this machine
    (`runtime.resolve`), or, resuming a run whose resolved config is `saved`, the setting the run began with, so
    that it continues exactly on any machine.

    Batch norm in D is turned off under a gradient penalty or R1: it makes each example's logit depend on the rest
    of its batch, while both penalize per-example gradients of D (Gulrajani et al. 2017, section 4). PacGAN's packs
    and the penalties do not mix yet: each sample gets its pack's logit, so the penalties would see per-sample
    gradients (R1 `pack` times too large).
    """
    config = copy.deepcopy(config)
    _resolve_runtime(config.runtime, saved and saved.runtime)
    m, t = config.model, config.train
    penalties = [key for key, weight in [("train.gradient_penalty", t.gradient_penalty), ("train.r1", t.r1)] if weight]
    if m.pack > 1 and penalties:
        raise config_lib.ConfigError(
            f"model.pack ({m.pack}) does not work with {' or '.join(penalties)}: the penalties would be computed per "
            f"sample, not per pack. Set model.pack=1 or {' and '.join(f'{key}=0' for key in penalties)}."
        )
    family = networks.FAMILIES.get(m.family)  # an unknown one is refused when the GAN is built
    if penalties and m.batch_norm and family and "batch_norm" in family.options:
        logging.warning("model.batch_norm is turned off: under %s the discriminator has no batch norm.", penalties[0])
        m.batch_norm = False
    return config


def _resolve_runtime(config, saved):
    """Replaces the `auto` settings of the runtime config `config`, in place (see `resolve`)."""
    kind = runtime.device_kind(config.strategy)
    for key, picked in zip(("jit_compile", "precision"), runtime.resolve(config, kind)):
        if getattr(config, key) != "auto":
            continue
        kept = picked if saved is None else getattr(saved, key)
        setattr(config, key, kept)
        if kept == picked:
            logging.info("runtime.%s: %s, the fastest measured for %s.", key, picked, kind)
        else:
            logging.info("runtime.%s: %s, as the run began; on this %s it would be %s.", key, kept, kind, picked)


def build_gan(config, sample_shape, num_classes=0, condition_ranges=None):
    """An uncompiled `GAN` for `config`; conditional when `config.model.conditional`, and on the continuous
    conditions `config.model.conditions`, whose trained ranges `condition_ranges` (name -> (min, max), the
    data's `metadata["condition_ranges"]`) gives."""
    if config.model.conditional and not num_classes:
        raise config_lib.ConfigError(
            f"model.conditional is true but the data ({config.data.source}) has no labels: "
            "use a labelled source or set model.conditional=false."
        )
    condition_ranges = condition_ranges or {}
    missing = [name for name in config.model.conditions if name not in condition_ranges]
    if missing:
        raise config_lib.ConfigError(
            f"model.conditions names {', '.join(missing)}, which the data ({config.data.source}) lacks; its "
            f"conditions: {', '.join(condition_ranges) or 'none'}. Name those, or set model.conditions=[]."
        )
    t = config.train
    if t.augment != "none":
        try:
            augment.check_policy(t.augment_policy, sample_shape)
        except ValueError as error:
            raise config_lib.ConfigError(
                f"train.augment={t.augment} with train.augment_policy={t.augment_policy!r}: {error}"
            ) from None
    num_classes = num_classes if config.model.conditional else 0
    family = networks.family(config.model, data.sample_kind(sample_shape))
    conditions = {name: condition_ranges[name] for name in config.model.conditions}
    keras.utils.set_random_seed(config.train.seed)  # weight initialisation: the same seed, the same run
    _, precision = runtime.resolve(config.runtime)  # `resolve`d configs keep theirs
    with _dtype_policy(precision):
        generator, discriminator = family.build(
            config.model, sample_shape, num_classes, conditions, config.runtime.sync_batch_norm
        )
    generator, discriminator = _float32_outputs(generator), _float32_outputs(discriminator)
    real_transform = family.real_transform(sample_shape) if family.real_transform else None
    return GAN(
        generator,
        discriminator,
        config.model.latent_dim,
        num_classes,
        ema_decay=config.model.ema_decay,
        seed=config.train.seed,
        latent_distribution=config.model.latent_distribution,
        real_transform=real_transform,
        conditions=conditions,
        augment=t.augment,
        augment_policy=t.augment_policy,
        ada_target=t.ada_target,
        ada_kimg=t.ada_kimg,
    )


@contextlib.contextmanager
def _dtype_policy(precision):
    """Layers built inside compute in `precision` (their weights stay float32, Keras' mixed precision)."""
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
    outputs = [
        keras.layers.Activation("linear", dtype="float32", name=f"{output.name.split('/')[0]}_float32")(output)
        for output in network.outputs
    ]
    return keras.Model(network.inputs, outputs if len(outputs) > 1 else outputs[0], name=network.name)


def compile_gan(gan, config):
    """Compiles `gan` with the optimizers, loss and tricks of `config.train`."""
    t = config.train
    schedules = ("constant", "linear_decay")
    if t.lr_schedule not in schedules:
        raise config_lib.ConfigError(
            f"Unknown train.lr_schedule {t.lr_schedule!r}; choose one of {', '.join(schedules)}."
        )

    jit_compile, precision = runtime.resolve(config.runtime)

    def adam(learning_rate, updates):
        if t.lr_schedule == "linear_decay":
            learning_rate = keras.optimizers.schedules.PolynomialDecay(
                learning_rate, updates, end_learning_rate=learning_rate * t.final_lr_fraction
            )
        optimizer = keras.optimizers.Adam(learning_rate, beta_1=t.beta_1, beta_2=t.beta_2)
        # float16's narrow range underflows small gradients unless the loss is scaled (bfloat16 needs no scaling).
        return keras.optimizers.LossScaleOptimizer(optimizer) if precision == "mixed_float16" else optimizer

    gan.compile(
        adam(t.d_learning_rate, t.steps * t.d_steps),
        adam(t.g_learning_rate, t.steps),
        loss=t.loss,
        gradient_penalty=t.gradient_penalty,
        r1=t.r1,
        drift=t.drift,
        penalty_interval=t.penalty_interval,
        d_steps=t.d_steps,
        label_smoothing=t.label_smoothing,
        label_noise=t.label_noise,
        label_flip=t.label_flip,
        instance_noise=t.instance_noise,
        instance_noise_decay_steps=t.instance_noise_decay_steps,
        class_loss_weight=t.class_loss_weight,
        jit_compile=jit_compile,
        steps_per_execution=config.runtime.steps_per_execution,
    )
    return gan


def set_learning_rates(gan, config):
    """Sets the optimizers' constant learning rates to `config`'s. Keras keeps a constant rate in a variable, which
    restoring a checkpoint overwrites; a resume that lowers the rates (after a divergence) must train with the new
    ones. A `linear_decay` schedule is rebuilt from the config and holds no variable."""
    if config.train.lr_schedule == "constant":
        for optimizer, rate in [
            (gan.d_optimizer, config.train.d_learning_rate),
            (gan.g_optimizer, config.train.g_learning_rate),
        ]:
            optimizer.learning_rate = rate


def load_source(config, split="train", num_examples=None):
    """The data of `config`; `num_examples` overrides `data.num_examples` (1: the metadata and one example)."""
    d = config.data
    num_examples = d.num_examples if num_examples is None else num_examples
    return data.load(
        d.source, split, seed=config.train.seed, num_examples=num_examples, data_dir=d.data_dir, **d.params
    )

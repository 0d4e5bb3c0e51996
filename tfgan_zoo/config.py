"""Typed configs of a zoo entry, loaded from `zoo_configs/*.yaml` with `--set section.key=value` overrides.

Every key is a dataclass field: an unknown or mistyped key, a value of the wrong type or out of its range
(`RANGES`), or a YAML syntax error is an error that names the key (or line) and the file, never a silently
ignored setting or a run that trains on nonsense.
"""

import dataclasses
import difflib
import math
import os
import types
import typing
import uuid

import yaml


@dataclasses.dataclass
class DataConfig:
    source: str = "ring8"
    batch_size: int = 256  # real examples per discriminator step, across all replicas
    num_examples: int | None = None
    data_dir: str | None = None
    params: dict = dataclasses.field(default_factory=dict)  # source-specific, see `tfgan_zoo.data.load`


@dataclasses.dataclass
class ModelConfig:
    family: str = "vanilla"
    latent_dim: int = 8
    latent_distribution: str = "normal"  # or "spherical"
    conditional: bool = False
    conditions: list[str] = dataclasses.field(default_factory=list)  # continuous conditions of the data (timeseries)
    conditioning: str = "concat"  # how labels reach D: concat | projection | acgan (dcgan, progressive, timeseries)
    period_condition: str = ""  # timeseries: the condition that is the period in steps, read as `period_inputs` say
    # timeseries: phase (both networks read sin/cos of 2*pi*k*t/P), latent_phase (G alone, from the angle of
    # (z_0, z_1)), half_period (D reads x(t +- P/2) beside x(t)).
    period_inputs: list[typing.Literal["phase", "latent_phase", "half_period"]] = dataclasses.field(
        default_factory=lambda: ["phase"]
    )
    discriminator_length: int = 0  # timeseries: the length D halves the series down to (0: G's first length)
    generator_units: list[int] = dataclasses.field(default_factory=lambda: [128, 128, 128])
    discriminator_units: list[int] = dataclasses.field(default_factory=lambda: [128, 128, 128])
    channels: int = (
        64  # dcgan, progressive, timeseries: width of G's last and D's first hidden layer, doubled per halving
    )
    upsampling: str = "transposed"  # dcgan: transposed | nearest | pixel_shuffle; timeseries: transposed | nearest
    batch_norm: bool = True  # dcgan, timeseries: batch norm in D (G always has it)
    spectral_norm: bool = False
    minibatch_stddev: bool = False
    minibatch_discrimination: int = 0  # number of kernels, 0 = off
    pack: int = 1  # vanilla: D judges packs of this many samples (PacGAN); data.batch_size must divide by it
    dropout: float = 0.0
    ema_decay: float = 0.999


@dataclasses.dataclass
class TrainConfig:
    steps: int = 5000  # generator updates
    steps_per_epoch: int = 500  # logging, sampling and checkpoint interval
    seed: int = 0
    loss: str = "non_saturating"
    d_steps: int = 1
    g_learning_rate: float = 2e-4
    d_learning_rate: float = 2e-4
    beta_1: float = 0.5
    beta_2: float = 0.999
    lr_schedule: str = "constant"  # or "linear_decay": both learning rates fall linearly until `steps`
    final_lr_fraction: float = 0.0  # linear_decay: the learning rates at `steps`, as a fraction of their start
    gradient_penalty: float = 0.0
    r1: float = 0.0
    drift: float = 0.0
    # The gradient penalty and R1 on every N-th discriminator update, weighted N times (lazy regularization).
    penalty_interval: int = 1
    label_smoothing: float = 0.0
    label_noise: float = 0.0
    label_flip: float = 0.0
    instance_noise: float = 0.0
    instance_noise_decay_steps: int = 0
    class_loss_weight: float = 1.0
    # Augmentation of what D sees, for small data (`tfgan_zoo.augment`): none | diffaugment | ada.
    augment: typing.Literal["none", "diffaugment", "ada"] = "none"
    # A comma list; images take translation, cutout, color, flip, series translation, noise.
    augment_policy: str = "color,translation,cutout"
    ada_target: float = 0.6  # ada: the r_t = E[sign(D(real))] that the augmentation probability p steers to
    ada_kimg: int = 100  # ada: thousands of real images for p to go from 0 to 1 (500 in the paper)
    stable_images: int = 600_000  # progressive: real images per stable phase (the paper's 600k)
    transition_images: int = 600_000  # progressive: real images per fade-in of a new level
    checkpoint_every: int = 0  # steps between checkpoints; 0 = every epoch (steps_per_epoch)
    keep_checkpoints: int = 3


@dataclasses.dataclass
class RuntimeConfig:
    strategy: str = "default"  # default | mirrored | multi_worker | tpu | auto, see tfgan_zoo.distribute
    tpu_address: str = ""  # TPU name or grpc:// address for strategy tpu
    sync_batch_norm: bool = False  # synchronise batch-norm statistics across replicas
    # auto: the fastest setting measured for the device kind at hand (`tfgan_zoo.runtime`), resolved once when a
    # run starts and saved resolved in its config.yaml.
    jit_compile: bool | typing.Literal["auto"] = "auto"
    steps_per_execution: int = 1
    # float32, mixed_bfloat16 (CPUs with AMX, TPUs), mixed_float16 (GPUs, loss-scaled), or auto as above.
    precision: typing.Literal["auto", "float32", "mixed_bfloat16", "mixed_float16"] = "auto"


@dataclasses.dataclass
class EvalConfig:
    num_samples: int = 2500  # samples drawn for metrics during training


@dataclasses.dataclass
class HealthConfig:
    """The training-health monitor, `tfgan_zoo.health.TrainingHealth`; NaN/Inf always stops a monitored run."""

    enabled: bool = True
    # Margin above the best loss D can reach with its targets (H(1 - s) for label smoothing s): D's loss below
    # the best plus this for `window` steps: "D is winning" (not for wasserstein).
    d_loss_floor: float = 0.05
    window: int = 200
    min_diversity: float = 0.3  # recall of samples relative to real data's below this: "collapse"; 0 = off


@dataclasses.dataclass
class Config:
    name: str = "unnamed"
    data: DataConfig = dataclasses.field(default_factory=DataConfig)
    model: ModelConfig = dataclasses.field(default_factory=ModelConfig)
    train: TrainConfig = dataclasses.field(default_factory=TrainConfig)
    runtime: RuntimeConfig = dataclasses.field(default_factory=RuntimeConfig)
    eval: EvalConfig = dataclasses.field(default_factory=EvalConfig)
    health: HealthConfig = dataclasses.field(default_factory=HealthConfig)


class ConfigError(ValueError):
    """A config file or override that does not match the schema."""


def _at_least(low):
    return lambda v: v >= low and math.isfinite(v), f"a number >= {low}"


def _within(low, high, closed=True):
    inside = (lambda v: low <= v <= high) if closed else (lambda v: low <= v < high)
    return inside, f"in [{low}, {high}{']' if closed else ')'}"


# Allowed values of the numeric keys (None always passes where the schema allows it), checked by `from_dict`, so
# that a bad value stops the run before anything is written. Lists are checked item by item.
RANGES = {
    **dict.fromkeys(
        [
            "data.batch_size",
            "data.num_examples",
            "model.latent_dim",
            "model.generator_units",
            "model.discriminator_units",
            "model.channels",
            "model.pack",
            "train.steps",
            "train.steps_per_epoch",
            "train.d_steps",
            "train.penalty_interval",
            "train.stable_images",
            "train.transition_images",
            "train.ada_kimg",
            "train.keep_checkpoints",
            "runtime.steps_per_execution",
            "eval.num_samples",
            "health.window",
        ],
        _at_least(1),
    ),
    **dict.fromkeys(
        [
            "model.minibatch_discrimination",
            "model.discriminator_length",
            "train.g_learning_rate",
            "train.d_learning_rate",
            "train.gradient_penalty",
            "train.r1",
            "train.drift",
            "train.instance_noise",
            "train.instance_noise_decay_steps",
            "train.class_loss_weight",
            "train.checkpoint_every",
            "health.d_loss_floor",
        ],
        _at_least(0),
    ),
    **dict.fromkeys(
        ["train.final_lr_fraction", "train.label_flip", "train.ada_target", "health.min_diversity"], _within(0, 1)
    ),
    **dict.fromkeys(
        [
            "model.dropout",
            "model.ema_decay",
            "train.beta_1",
            "train.beta_2",
            "train.label_smoothing",
            "train.label_noise",
        ],
        _within(0, 1, closed=False),
    ),
}


def _check_ranges(config):
    values = to_dict(config)
    for key, (allowed, text) in RANGES.items():
        section, name = key.split(".")
        value = values[section][name]
        bad = [v for v in (value if isinstance(value, list) else [value]) if v is not None and not allowed(v)]
        if bad:
            raise ConfigError(f"config.{key} = {value!r} is out of range: it must be {text}.")


def _convert(value, kind, where):
    """`value` checked against the annotation `kind`; ints are accepted where floats are expected."""
    origin = typing.get_origin(kind)
    if origin in (typing.Union, types.UnionType):
        options = [k for k in typing.get_args(kind) if k is not type(None)]
        if value is None and len(options) < len(typing.get_args(kind)):
            return None
        errors = []
        for option in options:
            try:
                return _convert(value, option, where)
            except ConfigError as error:
                errors.append(str(error))
        raise ConfigError(" Or: ".join(errors))
    if origin is typing.Literal:
        choices = typing.get_args(kind)
        if value not in choices or isinstance(value, bool) != isinstance(choices[0], bool):
            raise ConfigError(f"{where} must be one of {', '.join(map(repr, choices))}, got {value!r}.")
        return value
    if dataclasses.is_dataclass(kind):
        if not isinstance(value, dict):
            raise ConfigError(f"{where} must be a mapping of {kind.__name__} keys, got {value!r}.")
        return _build(kind, value, where)
    if origin is list:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where} must be a list, got {value!r}.")
        (item,) = typing.get_args(kind)
        return [_convert(v, item, f"{where}[{i}]") for i, v in enumerate(value)]
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        # YAML 1.1 reads 1e-4 as a string: it wants a dot and a signed exponent.
        hint = " Write floats like 1.0e-4." if kind is float and _is_number(value) else ""
        raise ConfigError(f"{where} must be of type {kind.__name__}, got {value!r} ({type(value).__name__}).{hint}")
    return value


def _is_number(text):
    try:
        return isinstance(text, str) and float(text) is not None
    except ValueError:
        return False


def _build(cls, values, where):
    fields = {f.name: f for f in dataclasses.fields(cls)}
    hints = typing.get_type_hints(cls)
    for key in values:
        if key not in fields:
            guess = difflib.get_close_matches(key, fields, n=1)
            hint = f" Did you mean {guess[0]!r}?" if guess else ""
            raise ConfigError(f"Unknown key {where}.{key}.{hint} {cls.__name__} has {', '.join(fields)}.")
    return cls(**{key: _convert(value, hints[key], f"{where}.{key}") for key, value in values.items()})


def from_dict(values, source="<dict>"):
    """A `Config` from nested dicts; `source` names the origin in error messages."""
    try:
        config = _build(Config, values or {}, "config")
        _check_ranges(config)
        return config
    except ConfigError as error:
        raise ConfigError(f"{error} (in {source})") from None


def apply_overrides(values, overrides):
    """Applies `section.key=value` strings (values parsed as YAML) to nested dicts, in place."""
    for override in overrides:
        path, sep, text = override.partition("=")
        if not sep or not path:
            raise ConfigError(f"Override {override!r} must look like section.key=value, e.g. train.steps=100.")
        *parents, key = path.split(".")
        node = values
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"Override {override!r}: {part} is not a section.")
        node[key] = _parse_yaml(text, f"--set {override}")
    return values


def _parse_yaml(text, where):
    """`text` as YAML, or a ConfigError naming `where`, the line and the column instead of a parser traceback."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise ConfigError(
            f"{where} is not valid YAML{at}: {problem}. Fix the syntax there (quote strings holding : or #)."
        ) from None


def load(path, overrides=()):
    """Reads a YAML config, applies `overrides`, and validates it against the schema."""
    if not os.path.exists(path):
        raise ConfigError(f"Config file {path} does not exist; `tfgan-zoo list` shows the zoo's configs.")
    with open(path) as f:
        values = _parse_yaml(f.read(), path) or {}
    if not isinstance(values, dict):
        raise ConfigError(f"{path} must hold a mapping of sections (data, model, train, ...).")
    values.setdefault("name", os.path.splitext(os.path.basename(path))[0])
    apply_overrides(values, overrides)
    return from_dict(values, source=f"{path} with the --set overrides" if overrides else path)


def to_dict(config):
    return dataclasses.asdict(config)


def flat(config):
    """`{"section.key": value}` of `config` (and `name`); `data.params` stays one value, as `--set` takes it."""
    values = {}
    for section, keys in to_dict(config).items():
        if isinstance(keys, dict):
            values.update({f"{section}.{key}": value for key, value in keys.items()})
        else:
            values[section] = keys
    return values


def save(config, path):
    """Writes `config` as YAML, atomically."""
    write_atomically(path, yaml.safe_dump(to_dict(config), sort_keys=False))


def write_atomically(path, data):
    """Writes `data` (str or bytes) to `path` through a temporary file beside it and a rename, so that a crash or
    a full disk leaves the previous file, never a truncated one."""
    partial = f"{path}.partial.{uuid.uuid4().hex}"  # unique: the workers of a multi-worker run write one file at once
    with open(partial, "wb" if isinstance(data, bytes) else "w") as f:
        f.write(data)
    os.replace(partial, path)

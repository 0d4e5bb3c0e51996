"""How a run was made, as its model card tells it: the command that reproduces it, its wall time, the machine."""

import math
import os
import platform
import shlex

import tensorflow as tf
import yaml

from tfgan_zoo import config as config_lib
from tfgan_zoo import paths


def training_wall_time(workdir, checkpoint=None):
    """Seconds of `fit` up to `checkpoint` (default: to the end), over every `train` invocation of the workdir.

    Each invocation opens its own TensorBoard event file in `logs/train`, starting when `fit` starts and
    written at every epoch end, so the span of each file's events (up to the moment the checkpoint was
    written) is that invocation's training time; the time between invocations is not counted.
    """
    # An epoch's events follow its checkpoint, so an earlier checkpoint's time leaves its epoch out.
    written = os.path.getmtime(f"{checkpoint}.index") if checkpoint else math.inf
    total = 0.0
    for path in (workdir / "logs" / "train").glob("events.out.tfevents.*"):
        events = (tf.compat.v1.Event.FromString(record.numpy()) for record in tf.data.TFRecordDataset(str(path)))
        times = [event.wall_time for event in events if event.wall_time <= written]
        total += max(times) - min(times) if times else 0.0
    return total


def hardware():
    """The machine that exports, which in the zoo's workflow is the one that trained."""
    gpus = tf.config.list_physical_devices("GPU")
    return f"{os.cpu_count()} CPU cores ({platform.machine()})" + (f", {len(gpus)} GPU" if gpus else "")


def config_reference(config, workdir, path=None):
    """The zoo config's path as the repository names it, or the workdir's resolved config when none matches.
    `path`: the zoo config of `config.name`, when the caller has looked it up already."""
    path = path or paths.zoo_config(config.name)
    return f"zoo_configs/{path.name}" if path else str(workdir / "config.yaml")


def training_command(config, workdir):
    """The `tfgan-zoo train` command that reproduces the run: its zoo config plus one `--set` per difference."""
    path = paths.zoo_config(config.name)
    command = ["tfgan-zoo", "train", "--config", config_reference(config, workdir, path), "--workdir", str(workdir)]
    if path:
        base, run = config_lib.flat(config_lib.load(str(path))), config_lib.flat(config)
        for key, value in run.items():
            if value != base[key]:
                text = yaml.safe_dump(value, default_flow_style=True, width=math.inf).removesuffix("\n...\n")
                command += ["--set", f"{key}={text.strip()}"]
    return shlex.join(command)

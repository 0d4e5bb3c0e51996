"""A training workdir: its resolved `config.yaml` and `checkpoints/`, made, checked, restored and loaded.

`tfgan-zoo train` writes a workdir (`training.train`); `export`, `evaluate` and `load_pretrained` read one.
"""

import copy
import os
import pathlib
import re

import tensorflow as tf
from absl import logging

from tfgan_zoo import build
from tfgan_zoo import config as config_lib


def prepare(workdir, config):
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
            changed = [
                f"{section}.{key}"
                for section in new
                if isinstance(new[section], dict)
                for key in new[section]
                if new[section][key] != old[section][key]
            ]
            changed += [key for key in new if not isinstance(new[key], dict) and new[key] != old[key]]
            raise config_lib.ConfigError(
                f"The workdir {workdir} holds a run of a different config (changed: {', '.join(changed)}). "
                "Resume with the same config (only train.steps and health.* may change) or choose a new --workdir."
            )
    config_lib.save(config, saved_path)


def _checkpoint_step(path):
    return int(re.search(r"-(\d+)$", path).group(1))


def restore_latest(checkpoint, directory):
    """Restores the newest readable checkpoint in `directory` and returns its path, or None when there is none.

    A checkpoint that cannot be read (partial, truncated, corrupt) is skipped with a warning naming it. Checkpoints
    are found by their index files, so a damaged `checkpoint` state file loses nothing either. One that reads but
    does not fit the model is an error: falling back would silently train something else.
    """
    paths = sorted(
        (index[: -len(".index")] for index in tf.io.gfile.glob(os.path.join(directory, "ckpt-*.index"))),
        key=_checkpoint_step,
        reverse=True,
    )
    for path in paths:
        try:
            checkpoint.restore(path).assert_existing_objects_matched()
            return path
        except (tf.errors.OpError, IndexError) as error:  # what TF raises for unreadable files
            logging.warning(
                "Checkpoint %s cannot be read (%s); falling back to the one before.",
                path,
                str(error).strip().splitlines()[0],
            )
        except (ValueError, AssertionError) as error:  # shapes or variables that differ
            raise ValueError(
                f"The checkpoint {path} does not fit the model built from the config and data: "
                f"{str(error).splitlines()[0]} The data behind the config changed since the run began; "
                "restore it, or train in a new --workdir."
            ) from None
    if paths:
        raise OSError(f"None of the checkpoints in {directory} can be read; move them away to start over.")
    return None


def load(workdir, checkpoint=None):
    """`(gan, config, source, checkpoint)`: the compiled GAN of a training workdir at `checkpoint` (default:
    the latest), optimizer state included; `source` holds one example of the run's data and its metadata."""
    workdir = pathlib.Path(workdir)
    if not (workdir / "config.yaml").exists():
        raise FileNotFoundError(
            f"{workdir} is not a training workdir (no config.yaml). Pass the --workdir of a `tfgan-zoo train` run."
        )
    if checkpoint and not pathlib.Path(f"{checkpoint}.index").exists():
        raise FileNotFoundError(f"No checkpoint {checkpoint}: name one as <workdir>/checkpoints/ckpt-<step>.")
    config = config_lib.load(str(workdir / "config.yaml"))
    one = copy.deepcopy(config)
    one.data.num_examples = 1
    source = build.load_source(one)
    gan = build.compile_gan(
        build.build_gan(config, source.x.shape[1:], source.num_classes, source.metadata.get("condition_ranges")), config
    )
    state = tf.train.Checkpoint(gan=gan, d_optimizer=gan.d_optimizer, g_optimizer=gan.g_optimizer)
    if checkpoint:
        state.restore(str(checkpoint)).assert_existing_objects_matched()
    else:
        checkpoint = restore_latest(state, str(workdir / "checkpoints"))
    if checkpoint is None:
        raise FileNotFoundError(
            f"No checkpoint in {workdir / 'checkpoints'}: train first, tfgan-zoo train --workdir {workdir}."
        )
    return gan, config, source, checkpoint

"""A training workdir: its resolved `config.yaml` and `checkpoints/`, made, checked, restored and loaded.

`tfgan-zoo train` writes a workdir (`training.train`); `export`, `evaluate` and `load_pretrained` read one.
"""

import contextlib
import csv
import fcntl
import fnmatch
import math
import os
import pathlib
import re

import tensorflow as tf
import yaml
from absl import logging

from tfgan_zoo import build
from tfgan_zoo import config as config_lib
from tfgan_zoo.metrics import registry

# Keys that may change when a run resumes: its length, where it runs (randomness is drawn for the global batch and
# losses are averaged over it, so a checkpoint continues on any number of replicas), the health monitor, and what a
# diverged or stuck run needs to recover (`health.TrainingDiverged` names them), ADA's target and speed among them:
# they steer p, which continues from the checkpoint. `train.augment` and `train.augment_policy` may not: they are
# what D learned to see, and a run turned to ADA would lack the p its checkpoint must hold.
# `CONFIG_HISTORY` records each change.
RESUMABLE = (
    "train.steps",
    "train.d_learning_rate",
    "train.g_learning_rate",
    "train.gradient_penalty",
    "train.r1",
    "train.penalty_interval",
    "train.label_smoothing",
    "train.instance_noise",
    "train.ada_target",
    "train.ada_kimg",
    "runtime.strategy",
    "runtime.tpu_address",
    "runtime.sync_batch_norm",
    "health.*",
)
CONFIG_HISTORY = "config_history.yaml"
LOCK_FILE = "train.lock"


@contextlib.contextmanager
def locked(folder):
    """Creates `folder` and holds an exclusive OS lock on it (`fcntl.flock` of its `LOCK_FILE`, which names the
    holder's PID) while the block runs, so that two processes never write one run. The OS drops the lock when the
    process dies, SIGKILL included: there is no stale marker to remove."""
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as error:
        raise OSError(f"Cannot create the workdir {folder}: {error.strerror}. Choose a writable --workdir.") from None
    if not os.access(folder, os.W_OK):
        raise PermissionError(f"The workdir {folder} is not writable. Choose a writable --workdir.")
    with open(os.path.join(folder, LOCK_FILE), "a+") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            holder = f.read().strip() or "unknown"
            raise OSError(
                f"The workdir {folder} is in use: process {holder} is training in it. Wait for it to finish, "
                f"stop it (kill {holder}), or choose another --workdir."
            ) from None
        f.truncate(0)
        f.write(f"{os.getpid()}\n")
        f.flush()
        yield


def prepare(workdir, config, write=True):
    """Checks that the run in `workdir`, if any, was made by the same config up to the `RESUMABLE` keys, and
    writes `config` as its `config.yaml` (unless not `write`). Returns the changed keys as {key: (old, new)}."""
    saved = saved_config(workdir)  # read again under the lock: what `train` resolved against may be stale
    changes = {}
    if saved is not None:
        old, new = config_lib.flat(saved), config_lib.flat(config)
        changes = {key: (old[key], new[key]) for key in new if new[key] != old[key]}
        refused = [key for key in changes if not any(fnmatch.fnmatch(key, pattern) for pattern in RESUMABLE)]
        if refused:
            raise config_lib.ConfigError(
                f"The workdir {workdir} holds a run of a different config (changed: {', '.join(refused)}). "
                f"Resume with the same config (only {', '.join(RESUMABLE)} may change) or choose a new --workdir."
            )
    if write:
        config_lib.save(config, os.path.join(workdir, "config.yaml"))
    return changes


def record(workdir, step, topology, changes):
    """Appends `{step, topology, changed: {key: [old, new]}}` to the workdir's `CONFIG_HISTORY` when the run starts
    at `step` on a `topology` (`distribute.topology`) other than the last one recorded or with `changes` to its
    config ({key: (old, new)}, left out when empty), and logs what changed."""
    path = os.path.join(workdir, CONFIG_HISTORY)
    history = []
    if os.path.exists(path):
        with open(path) as f:
            history = yaml.safe_load(f) or []
    before = history[-1].get("topology") if history else None  # workdirs of older versions recorded none
    if topology == before and not changes:
        return
    entry = {"step": step, "topology": topology}
    if changes:
        entry["changed"] = {key: list(values) for key, values in changes.items()}
    config_lib.write_atomically(path, yaml.safe_dump(history + [entry], sort_keys=False, default_flow_style=None))
    if changes:
        logging.info(
            "Resumed with changes, recorded in %s: %s.",
            path,
            ", ".join(f"{k} {a} -> {b}" for k, (a, b) in changes.items()),
        )
    if before and topology != before:
        logging.info("Resumed at step %d on %s; until then it trained on %s.", step, _where(topology), _where(before))


def _where(topology):
    return f"{topology['strategy']} (replicas {topology['replicas']}, workers {topology['workers']})"


def _checkpoints(directory):
    """`{step: checkpoint prefix}` of the checkpoints in `directory`, found by their index files."""
    prefixes = (index[: -len(".index")] for index in tf.io.gfile.glob(os.path.join(directory, "ckpt-*.index")))
    return {int(re.search(r"-(\d+)$", prefix).group(1)): prefix for prefix in prefixes}


def restore_latest(checkpoint, directory):
    """Restores the newest readable checkpoint in `directory` and returns its path, or None when there is none.

    A checkpoint that cannot be read (partial, truncated, corrupt) is skipped with a warning naming it. Checkpoints
    are found by their index files, so a damaged `checkpoint` state file loses nothing either. One that reads but
    does not fit the model is an error: falling back would silently train something else.
    """
    paths = [path for _, path in sorted(_checkpoints(directory).items(), reverse=True)]
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


def saved_config(workdir):
    """The resolved config a run in `workdir` began with, or None when the workdir holds no run yet."""
    path = pathlib.Path(workdir) / "config.yaml"
    return config_lib.load(str(path)) if path.exists() else None


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
    source = build.load_source(config, num_examples=1)
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


def best_checkpoint(workdir, metric):
    """`(checkpoint, value)`: of the checkpoints kept in `workdir`, the one taken at the end of the epoch that scored
    best on `metric` in the run's `history.csv` (the later one on a tie), and that score.

    Only metrics the run logged each epoch can choose (mode coverage for 2-D mixtures, `diversity` of the health
    monitor), and only among the `train.keep_checkpoints` newest checkpoints.
    """
    workdir = pathlib.Path(workdir)
    known = registry.get(metric)
    if known is None or known.better is None:
        choices = ", ".join(name for name in registry.names() if registry.get(name).better)
        raise ValueError(f"--best needs a metric that is better higher or lower ({choices}); got {metric!r}.")
    config = saved_config(workdir)
    history = workdir / "history.csv"
    if config is None or not history.exists():
        raise FileNotFoundError(f"{workdir} has no config.yaml and history.csv: pass the --workdir of a training run.")
    with open(history, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows or metric not in rows[0]:
        logged = ", ".join(key for key in (rows[0] if rows else {}) if registry.get(key)) or "none"
        raise ValueError(f"{history} logs no {metric}; metrics it logs: {logged}.")
    # An epoch's row is written just before the checkpoint at its last step (`callbacks.Checkpoint`).
    scores = {(int(row["epoch"]) + 1) * config.train.steps_per_epoch: row[metric] for row in rows}
    kept = _checkpoints(str(workdir / "checkpoints"))
    candidates = [
        (float(scores[step]), step) for step in kept if scores.get(step) and math.isfinite(float(scores[step]))
    ]
    if not candidates:
        raise ValueError(
            f"None of the checkpoints kept in {workdir / 'checkpoints'} (steps {', '.join(map(str, sorted(kept)))}) "
            f"ends an epoch with a {metric} in {history}; train with a larger train.keep_checkpoints to keep more."
        )
    sign = 1 if known.better == "higher" else -1
    value, step = max(candidates, key=lambda candidate: (sign * candidate[0], candidate[1]))
    return kept[step], value

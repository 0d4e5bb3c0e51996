"""Safe by default, at the command line: bad input is refused before anything is written, one writer per workdir,
a record that survives kills and damage, advice after a divergence that works.

Each case asserts the exit status, that the message names the problem and the fix, and that nothing already
written changed.
"""

import csv
import re
import signal
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
import yaml
from PIL import Image
from test_training import TINY

from tfgan_zoo import workdirs

RUN = [*TINY, "train.steps=2", "train.steps_per_epoch=1"]


def train_args(workdir, *overrides, config="vanilla_ring8"):
    args = ["train", "--config", config, "--workdir", workdir, "--verbose", "0"]
    for override in [*RUN, *overrides]:
        args += ["--set", override]
    return args


def snapshot(folder):
    """Every file under `folder` with its bytes, but the lock's PID: what a refused command must leave alone."""
    files = [p for p in sorted(folder.rglob("*")) if p.is_file() and p.name != workdirs.LOCK_FILE]
    return {str(p.relative_to(folder)): p.read_bytes() for p in files}


@pytest.fixture
def trained(tmp_path, run_cli):
    """A tiny finished run (2 steps, 2 epochs) and a snapshot of its files."""
    workdir = tmp_path / "run"
    status, _, err = run_cli(*train_args(workdir))
    assert status == 0, err
    return workdir, snapshot(workdir)


@pytest.mark.parametrize(
    "override, message",
    [
        ("model.latent_dim=0", r"config.model.latent_dim = 0 is out of range: it must be a number >= 1"),
        ("train.d_learning_rate=-1", r"config.train.d_learning_rate = -1.0 is out of range: it must be a number >= 0"),
        ("train.steps=-500", r"config.train.steps = -500 is out of range: it must be a number >= 1"),
        ("train.steps_per_epoch=0", r"config.train.steps_per_epoch = 0 is out of range"),
        ("data.batch_size=-5", r"config.data.batch_size = -5 is out of range: it must be a number >= 1"),
        ("train.keep_checkpoints=0", r"config.train.keep_checkpoints = 0 is out of range"),
        ("model.generator_units=[16, 0]", r"config.model.generator_units = \[16, 0\] is out of range"),
        ("train.label_smoothing=1.5", r"config.train.label_smoothing = 1.5 is out of range: it must be in \[0, 1\)"),
        ("train.g_learning_rate=.nan", r"config.train.g_learning_rate = nan is out of range"),
    ],
)
def test_out_of_range_values_are_refused_before_anything_is_written(tmp_path, run_cli, override, message):
    status, _, err = run_cli(*train_args(tmp_path / "run", override))
    assert status == 1
    assert len(re.findall(message, err)) == 1, err
    assert "vanilla_ring8.yaml with the --set overrides" in err
    assert not (tmp_path / "run").exists()


def test_a_refused_command_leaves_an_existing_run_alone(trained, run_cli):
    workdir, before = trained
    for override in ["train.keep_checkpoints=0", "train.loss=hinge", "model.generator_units=[8, 8"]:
        status, _, err = run_cli(*train_args(workdir, "train.steps=4", override))
        assert status == 1 and "Traceback" not in err
    assert snapshot(workdir) == before


@pytest.mark.parametrize(
    "where, text, message",
    [
        ("file", "train:\n  steps: 4\n  loss: [hinge\n", r"broken\.yaml is not valid YAML at line 4, column 1"),
        ("set", "model.generator_units=[8, 8", r"--set model.generator_units=\[8, 8 is not valid YAML at line 1"),
    ],
)
def test_yaml_syntax_errors_name_the_file_and_line(tmp_path, run_cli, where, text, message):
    config = tmp_path / "broken.yaml"
    config.write_text(text if where == "file" else "")
    args = ["train", "--config", config, "--workdir", tmp_path / "run"]
    status, _, err = run_cli(*args, *(["--set", text] if where == "set" else []))
    assert status == 1 and "Traceback" not in err
    assert re.search(message + r".*Fix the syntax there", err), err
    assert not (tmp_path / "run").exists()


def test_too_few_images_for_a_batch_is_refused_before_the_workdir_is_made(tmp_path, run_cli):
    images = tmp_path / "images"
    images.mkdir()
    for i in range(20):
        Image.fromarray(np.full((8, 8), 10 * i, np.uint8)).save(images / f"{i}.png")
    data = [f"data.params={{path: {images}, channels: 1}}", "data.source=image_folder", "data.num_examples=null"]
    status, _, err = run_cli(*train_args(tmp_path / "run", *data, "data.batch_size=64", config="dcgan_digits"))
    assert status == 1
    assert "The data image_folder has 20 examples, fewer than one batch of data.batch_size (64)" in err
    assert "lower data.batch_size to at most 10, or add data" in err  # train.d_steps=2 in TINY
    assert not (tmp_path / "run").exists()  # so the corrected command is not "a run of a different config"


def test_a_second_process_is_refused_with_the_pid_that_holds_the_workdir(trained, run_cli):
    workdir, before = trained
    # Another process holds the workdir's lock as `train` does; the OS releases it when that process is killed.
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, os, sys, time; f = open(sys.argv[1], 'a+'); fcntl.flock(f, fcntl.LOCK_EX); "
            "f.truncate(0); f.write(str(os.getpid())); f.flush(); print('locked', flush=True); time.sleep(300)",
            str(workdir / workdirs.LOCK_FILE),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        status, _, err = run_cli(*train_args(workdir, "train.steps=4"))
        assert status == 1
        assert f"is in use: process {holder.pid} is training in it" in err and f"kill {holder.pid}" in err
        assert snapshot(workdir) == before
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    status, _, err = run_cli(*train_args(workdir, "train.steps=4"))
    assert status == 0, err


def history(workdir):
    with open(workdir / "history.csv", newline="") as f:
        return list(csv.DictReader(f))


def test_a_damaged_history_is_repaired_on_resume(trained, run_cli, caplog):
    workdir, _ = trained
    text = (workdir / "history.csv").read_text()
    header = text.splitlines()[0]
    # What two processes on one workdir left: a second header, a repeated epoch, a torn row.
    (workdir / "history.csv").write_text(text + header + "\n" + text.splitlines()[1] + "\n1,0.5,\n")
    status, _, err = run_cli(*train_args(workdir, "train.steps=3"))
    assert status == 0, err
    assert [row["epoch"] for row in history(workdir)] == ["0", "1", "2"]
    assert any("dropped 3 damaged or repeated rows" in r.getMessage() for r in caplog.records)
    assert (workdir / "losses.png").exists()


def test_each_epoch_is_recorded_before_its_checkpoint(tmp_path, run_cli, monkeypatch):
    """So that a SIGKILL just after a checkpoint loses none of the epoch's row, picture or TensorBoard point."""
    recorded = {}
    save = tf.train.CheckpointManager.save

    def checked_save(manager, checkpoint_number=None, **kwargs):
        workdir = tmp_path / "run"
        events = list((workdir / "logs" / "train").glob("events.*"))
        recorded[checkpoint_number] = (
            len(history(workdir)) if (workdir / "history.csv").exists() else 0,
            (workdir / "samples" / f"step_{checkpoint_number:07d}.png").exists(),
            sum(f.stat().st_size for f in events),
        )
        return save(manager, checkpoint_number=checkpoint_number, **kwargs)

    monkeypatch.setattr(tf.train.CheckpointManager, "save", checked_save)
    status, _, err = run_cli(*train_args(tmp_path / "run"))
    assert status == 0, err
    assert [recorded[step][:2] for step in (0, 1, 2)] == [(0, False), (1, True), (2, True)]
    assert 0 < recorded[1][2] < recorded[2][2]  # the epoch's TensorBoard points were flushed before its checkpoint


def test_the_advice_after_a_divergence_works(tmp_path, run_cli):
    workdir = tmp_path / "run"
    diverging = ["train.steps_per_epoch=2"]  # checkpoints at steps 0, 2 and 4: it diverges before step 2
    rates = ["train.d_learning_rate=1.0e+38", "train.g_learning_rate=1.0e+38"]
    status, _, err = run_cli(*train_args(workdir, "train.steps=4", *diverging, *rates))
    assert status == 1 and "Training diverged at step" in err
    assert "Lower the learning rates (train.d_learning_rate, train.g_learning_rate)" in err
    assert "run the same command with those --set changes" in err
    step = workdirs._checkpoint_step(tf.train.latest_checkpoint(str(workdir / "checkpoints")))
    lowered = ["train.d_learning_rate=1.0e-4", "train.g_learning_rate=1.0e-4", "train.r1=0.1"]
    status, _, err = run_cli(*train_args(workdir, "train.steps=4", *diverging, *lowered))
    assert status == 0, err
    (entry,) = yaml.safe_load((workdir / workdirs.CONFIG_HISTORY).read_text())
    assert entry == {
        "step": step,
        "changed": {
            "train.g_learning_rate": [1.0e38, 1.0e-4],
            "train.d_learning_rate": [1.0e38, 1.0e-4],
            "train.r1": [0.0, 0.1],
        },
    }
    # The lowered rates took effect, although restoring the checkpoint had set the diverged ones.
    reader = tf.train.load_checkpoint(tf.train.latest_checkpoint(str(workdir / "checkpoints")))
    rates = [reader.get_tensor(f"{o}_optimizer/_learning_rate/.ATTRIBUTES/VARIABLE_VALUE") for o in "dg"]
    np.testing.assert_allclose(rates, 1.0e-4)
    assert history(workdir)[-1]["r1"]  # a column that the resume added

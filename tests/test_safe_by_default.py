"""Safe by default, at the command line: bad input is refused before anything is written, one writer per workdir,
a record that survives kills and damage, advice after a divergence that works.

Each case asserts the exit status, that the message names the problem and the fix, and that nothing already
written changed.
"""

import csv
import errno
import json
import logging
import pathlib
import re
import shutil
import signal
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf
import yaml
from PIL import Image

from tfgan_zoo import data as data_lib
from tfgan_zoo import export, paths, training, workdirs

RUN = ["train.steps=2", "train.steps_per_epoch=1"]  # after the tiny vanilla overrides


@pytest.fixture(scope="session")
def train_args(tiny_overrides):
    """`train_args(workdir, *overrides, config=...)`: the CLI arguments of a 2-step tiny run."""

    def args(workdir, *overrides, config="vanilla_ring8"):
        words = ["train", "--config", config, "--workdir", workdir, "--verbose", "0"]
        for override in [*tiny_overrides["vanilla"], *RUN, *overrides]:
            words += ["--set", override]
        return words

    return args


def snapshot(folder):
    """Every file under `folder` with its bytes, but the lock's PID: what a refused command must leave alone."""
    files = [p for p in sorted(folder.rglob("*")) if p.is_file() and p.name != workdirs.LOCK_FILE]
    return {str(p.relative_to(folder)): p.read_bytes() for p in files}


@pytest.fixture(scope="module")
def runs(tmp_path_factory, tiny_config):
    """Two tiny finished runs (2 steps, 2 epochs), on ring8 and on gaussian2d, and an entry exported from the first:
    `(ring8 workdir, gaussian2d workdir, entry)`."""
    root = tmp_path_factory.mktemp("runs")
    training.train(tiny_config("vanilla_ring8", *RUN), root / "ring8", verbose=0)
    training.train(tiny_config("vanilla_ring8", *RUN, "data.source=gaussian2d"), root / "gaussian2d", verbose=0)
    export.export(root / "ring8", root / "models" / "ring_tiny")
    return root / "ring8", root / "gaussian2d", root / "models" / "ring_tiny"


@pytest.fixture
def trained(runs, tmp_path):
    """A copy of the ring8 run and a snapshot of its files."""
    workdir = shutil.copytree(runs[0], tmp_path / "run")
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
def test_out_of_range_values_are_refused_before_anything_is_written(tmp_path, run_cli, override, message, train_args):
    status, _, err = run_cli(*train_args(tmp_path / "run", override))
    assert status == 1
    assert len(re.findall(message, err)) == 1, err
    assert "vanilla_ring8.yaml with the --set overrides" in err
    assert not (tmp_path / "run").exists()


def test_a_refused_command_leaves_an_existing_run_alone(trained, run_cli, train_args):
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


def test_too_few_images_for_a_batch_is_refused_before_the_workdir_is_made(tmp_path, run_cli, train_args):
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


def test_a_second_process_is_refused_with_the_pid_that_holds_the_workdir(trained, run_cli, train_args):
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


def test_a_damaged_history_is_repaired_on_resume(trained, run_cli, caplog, train_args):
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


def test_each_epoch_is_recorded_before_its_checkpoint(tmp_path, run_cli, monkeypatch, train_args):
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


def test_the_advice_after_a_divergence_works(tmp_path, run_cli, train_args):
    workdir = tmp_path / "run"
    diverging = ["train.steps_per_epoch=2"]  # checkpoints at steps 0, 2 and 4: it diverges before step 2
    rates = ["train.d_learning_rate=1.0e+38", "train.g_learning_rate=1.0e+38"]
    status, _, err = run_cli(*train_args(workdir, "train.steps=4", *diverging, *rates))
    assert status == 1 and "Training diverged at step" in err
    assert "Lower the learning rates (train.d_learning_rate, train.g_learning_rate)" in err
    assert "run the same command with those --set changes" in err
    step = max(workdirs._checkpoints(str(workdir / "checkpoints")))
    lowered = ["train.d_learning_rate=1.0e-4", "train.g_learning_rate=1.0e-4", "train.r1=0.1"]
    status, _, err = run_cli(*train_args(workdir, "train.steps=4", *diverging, *lowered))
    assert status == 0, err
    started, resumed = yaml.safe_load((workdir / workdirs.CONFIG_HISTORY).read_text())
    one_device = {"strategy": "default", "replicas": 1, "workers": 1}
    assert started == {"step": 0, "topology": one_device}
    assert resumed == {
        "step": step,
        "topology": one_device,
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


# ----- exports that protect an entry -----


def test_an_export_of_another_model_is_refused_unless_forced(runs, tmp_path, run_cli, caplog):
    ring8, gaussian2d, entry = runs
    entry = shutil.copytree(entry, tmp_path / "ring_tiny")
    before = snapshot(entry)
    caplog.set_level(logging.INFO)
    status, _, err = run_cli("export", "--workdir", gaussian2d, "--output", entry)
    assert status == 1
    assert "holds a generator of dataset ring8; this run has dataset gaussian2d" in err
    assert f"Export it as an entry of its own (--output {tmp_path}/<new name>), or pass --force" in err
    assert snapshot(entry) == before and paths.versions(entry) == [1]
    status, out, err = run_cli("export", "--workdir", gaussian2d, "--output", entry, "--force")
    assert status == 0, err
    assert paths.versions(entry) == [1, 2] and json.loads((entry / "model_card.json").read_text())["dataset"] == (
        "gaussian2d"
    )
    assert (entry / "2").stat().st_mode & 0o777 == 0o755  # readable by a TF Serving of another user
    # The staging folder is no one's business.
    assert not [r for r in caplog.records if ".export-" in r.getMessage()] and ".export-" not in out + err
    assert sorted(p.name for p in entry.iterdir()) == [
        "1",
        "2",
        "README.md",
        "gan.keras",
        "golden.json",
        "model_card.json",
    ]


def test_a_full_disk_during_an_export_publishes_nothing(runs, tmp_path, run_cli, monkeypatch):
    ring8, _, entry = runs
    entry = shutil.copytree(entry, tmp_path / "ring_tiny")
    before, before_names = snapshot(entry), [p.name for p in entry.iterdir()]

    def full_disk(model, path, **kwargs):
        pathlib.Path(path).write_bytes(b"PK\x03\x04 truncated")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(keras.Model, "save", full_disk)
    status, _, err = run_cli("export", "--workdir", ring8, "--output", entry)
    assert status == 1 and "No space left on device" in err
    assert paths.versions(entry) == [1]
    assert snapshot(entry) == before and sorted(p.name for p in entry.iterdir()) == sorted(before_names)


# ----- loading and sampling -----


def test_a_half_written_newest_version_falls_back_to_the_newest_complete_one(runs, tmp_path, run_cli, caplog):
    entry = shutil.copytree(runs[2], tmp_path / "ring_tiny")
    (entry / "2").mkdir()  # an export or a copy cut short
    status, _, err = run_cli("sample", "--model", entry, "--num", "8", "--output", tmp_path / "grid.png")
    assert status == 0, err
    assert any(f"{entry / '2'} has no saved_model.pb" in r.getMessage() for r in caplog.records)
    assert (tmp_path / "grid.png").exists() and not any((entry / "2").iterdir())


def test_a_card_without_a_key_is_listed_as_broken_and_the_rest_are_listed(runs, tmp_path, run_cli, monkeypatch):
    models = tmp_path / "models"
    for name in ("bad", "good"):
        shutil.copytree(runs[2], models / name)
    card = json.loads((models / "bad" / "model_card.json").read_text())
    del card["dataset"]
    (models / "bad" / "model_card.json").write_text(json.dumps(card))
    monkeypatch.setenv("TFGAN_ZOO_MODELS", str(models))
    status, out, err = run_cli("list")
    assert status == 0, err
    assert re.search(r"bad .*broken: .*bad/model_card.json lacks 'dataset'.*Re-export the entry: tfgan-zoo export", out)
    assert re.search(r"good +vanilla +ring8 +1 +not evaluated", out)


@pytest.mark.parametrize(
    "args, message",
    [
        (["sample"], "sample needs --model: a zoo entry name (see `tfgan-zoo list`)"),
        (["interpolate"], "interpolate needs --model"),
        (["sample", "--model", "vanilla_ring8", "--num", "0"], "--num must be at least 1, got 0."),
        (["sample", "--model", "vanilla_ring8", "--num", "-3"], "--num must be at least 1, got -3."),
        (
            ["sample", "--model", "vanilla_ring8", "--num", "100000"],
            "--num 100000 asks for 100000 samples; one picture holds at most 10000. Ask for fewer, or draw more",
        ),
        (["interpolate", "--model", "vanilla_ring8", "--num", "2000"], "one picture holds at most 10000"),
        (
            ["sample", "--model", "cgan_lightcurves", "--condition", "period=1e9"],
            "--condition 'period=1e9' lies outside the range the model was trained on, [16, 48]: pass a value "
            "inside it, or --extrapolate",
        ),
        (
            ["sample", "--model", "cgan_lightcurves", "--condition", "period=nan", "--extrapolate"],
            "--condition 'period=nan': the value must be a finite number.",
        ),
    ],
)
def test_bad_sampling_requests(tmp_path, run_cli, args, message):
    status, _, err = run_cli(*args, "--output", tmp_path / "grid.png")
    assert status == 1 and message in err and "Traceback" not in err
    assert not (tmp_path / "grid.png").exists()


def test_extrapolation_is_asked_for(tmp_path, run_cli):
    args = ["sample", "--model", "cgan_lightcurves", "--num", "3", "--output", tmp_path / "curves.png"]
    status, _, err = run_cli(*args, "--condition", "period=60", "--extrapolate")
    assert status == 0, err


def test_an_unreadable_image_is_named_and_can_be_skipped(tmp_path, run_cli, caplog, train_args):
    images = tmp_path / "images"
    images.mkdir()
    for i in range(8):
        Image.fromarray(np.full((8, 8), 10 * i, np.uint8)).save(images / f"{i}.png")
    (images / "8.png").write_bytes((images / "7.png").read_bytes()[:40])  # truncated
    data = ["data.source=image_folder", "data.num_examples=null", "data.batch_size=2"]
    params = f"data.params={{path: {images}, channels: 1}}"
    status, _, err = run_cli(*train_args(tmp_path / "run", *data, params, config="dcgan_digits"))
    assert status == 1
    assert f"{images / '8.png'} is not a readable image" in err
    assert "Replace or remove it, or set data.params.skip_unreadable=true" in err
    assert not (tmp_path / "run").exists()
    source = data_lib.load("image_folder", path=str(images), channels=1, skip_unreadable=True)
    assert len(source.x) == 8
    assert any(f"Skipped {images / '8.png'}" in r.getMessage() for r in caplog.records)

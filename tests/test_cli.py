"""The `tfgan-zoo` command line, run as a user runs it: in a subprocess."""

import subprocess
import sys

import pytest

CLI = [sys.executable, "-m", "tfgan_zoo.cli"]


def run(*args, cwd=None):
    return subprocess.run(CLI + list(args), capture_output=True, text=True, timeout=300, cwd=cwd)


def test_list_shows_the_zoo_configs():
    result = run("list")
    assert result.returncode == 0, result.stderr
    assert "vanilla_ring8" in result.stdout and "ring8" in result.stdout


def test_train_runs_resumes_and_reports_where_things_are(tmp_path):
    args = ["train", "--config", "vanilla_ring8", "--workdir", str(tmp_path), "--verbose", "2",
            "--set", "train.steps=2", "--set", "train.steps_per_epoch=1", "--set", "data.num_examples=1000",
            "--set", "runtime.jit_compile=false"]
    result = run(*args)
    assert result.returncode == 0, result.stderr
    assert "samples.png" in result.stdout and (tmp_path / "samples.png").exists()
    result = run(*args[:-8], "--set", "train.steps=3", *args[-6:])
    assert result.returncode == 0, result.stderr
    assert "Resumed from" in result.stderr
    assert "Epoch 3/3" in result.stdout


@pytest.mark.parametrize("args, message", [
    (["train", "--set", "train.stpes=3"], "Unknown key config.train.stpes. Did you mean 'steps'?"),
    (["train", "--config", "no_such_entry"], "No zoo config named 'no_such_entry'"),
    (["train", "--set", "data.source=imagenet"], "Unknown data source 'imagenet'"),
    (["frobnicate"], "unknown command or extra arguments: frobnicate"),
])
def test_bad_input_is_a_clear_one_line_error(tmp_path, args, message):
    result = run(*args, "--workdir", str(tmp_path / "run"))
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr

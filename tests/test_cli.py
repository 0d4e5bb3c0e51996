"""The `tfgan-zoo` command line, run as a user runs it: in a subprocess."""

import os
import subprocess
import sys

import pytest

from tfgan_zoo import console

CLI = [sys.executable, "-m", "tfgan_zoo.cli"]


def run(*args, cwd=None, models=None):
    """Runs the CLI; `models` stands in for the repository's saved_models/."""
    env = {**os.environ, "TFGAN_ZOO_MODELS": str(models)} if models else None
    return subprocess.run(CLI + list(args), capture_output=True, text=True, timeout=300, cwd=cwd, env=env)


def test_the_command_line_drops_only_tensorflow_lines_a_user_cannot_act_on():
    dropped = [
        b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n",
        b"I0000 00:00:1796162834.552381   25351 port.cc:153] oneDNN custom operations are on.\n",
        b"E0000 00:00:1796162839.965977   25351 cuda_platform.cc:52] failed call to cuInit: INTERNAL: CUDA error\n",
        b"W0000 00:00:1796162841.836362   25445 assert_op.cc:39] Ignoring Assert operator assert_non_negative\n",
        b"To enable the following instructions: AVX2 AVX512F FMA, in other operations, rebuild TensorFlow\n",
        b"W0000 00:00:1796175666.021351   18981 type_inference.cc:340] Type inference failed. This indicates\n",
        b"goo.gle/debugproto    \n",
        b"type_id: TFT_OPTIONAL\n",
        b"\tfor Tuple type infernce function 0\n",
        b"\twhile inferring type of node 'switch_case/indexed_case/merge/_583'\n",
    ]
    kept = [
        b"I1201 22:07:19.975301 140012513303424 training.py:88] Training vanilla_ring8 on ring8.\n",
        b"E0000 00:00:1796162839.965977   25351 bfc_allocator.cc:10] Allocator ran out of memory\n",
        b"tfgan-zoo train: No zoo config named 'nope'\n",
    ]
    assert list(console.kept_lines(dropped + kept)) == kept


def test_list_shows_the_zoo_configs_and_the_evaluators_apart():
    result = run("list")
    assert result.returncode == 0, result.stderr
    assert "vanilla_ring8" in result.stdout and "ring8" in result.stdout
    before, evaluators = result.stdout.split("Evaluators")
    assert "fashion_mnist_classifier" in evaluators and "fashion_mnist_classifier" not in before


def test_train_runs_resumes_and_reports_where_things_are(tmp_path):
    args = [
        "train",
        "--config",
        "vanilla_ring8",
        "--workdir",
        str(tmp_path),
        "--verbose",
        "2",
        "--set",
        "train.steps=2",
        "--set",
        "train.steps_per_epoch=1",
        "--set",
        "data.num_examples=1000",
        "--set",
        "runtime.jit_compile=false",
    ]
    result = run(*args)
    assert result.returncode == 0, result.stderr
    assert "samples.png" in result.stdout and (tmp_path / "samples.png").exists()
    result = run(*args[:-8], "--set", "train.steps=3", *args[-6:])
    assert result.returncode == 0, result.stderr
    assert "Resumed from" in result.stderr
    assert "Epoch 3/3" in result.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (["train", "--set", "train.stpes=3"], "Unknown key config.train.stpes. Did you mean 'steps'?"),
        (["train", "--config", "no_such_entry"], "No zoo config named 'no_such_entry'"),
        (["train", "--set", "data.source=imagenet"], "Unknown data source 'imagenet'"),
        (["frobnicate"], "unknown command or extra arguments: frobnicate"),
    ],
)
def test_bad_input_is_a_clear_one_line_error(tmp_path, args, message):
    result = run(*args, "--workdir", str(tmp_path / "run"))
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr


@pytest.fixture(scope="module")
def conditional_workdir(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("cgan")
    result = run(
        "train",
        "--config",
        "cgan_digits",
        "--workdir",
        str(workdir),
        "--verbose",
        "0",
        "--set",
        "train.steps=2",
        "--set",
        "train.steps_per_epoch=1",
        "--set",
        "runtime.jit_compile=false",
    )
    assert result.returncode == 0, result.stderr
    return workdir


@pytest.mark.parametrize(
    "command", [["sample", "--num", "20"], ["sample", "--label", "3", "--num", "8"], ["interpolate", "--num", "3"]]
)
def test_pictures_of_a_conditional_model(conditional_workdir, tmp_path, command):
    output = tmp_path / "picture.png"
    result = run(*command, "--model", str(conditional_workdir), "--output", str(output))
    assert result.returncode == 0, result.stderr
    assert output.read_bytes().startswith(b"\x89PNG")
    # One row per class of 10: 20 samples are drawn as asked, 64 would be 60, and the CLI says so.
    assert "Drawing" not in result.stdout


def test_a_grid_of_classes_says_when_it_cannot_draw_num(run_cli, conditional_workdir, tmp_path):
    status, out, err = run_cli("sample", "--model", conditional_workdir, "--num", "64", "--output", tmp_path / "g.png")
    assert status == 0, err
    assert "Drawing 60 samples, not 64: one row of 6 per class of 10." in out


@pytest.mark.parametrize(
    "command, message",
    [
        (["sample", "--label", "10"], "Label 10 is out of range"),
        (["arithmetic", "--a", "1", "--b", "2", "--c", "3"], "arithmetic is for unconditional models"),
        (["sample", "--model", "/no/such/run"], "No trained model at '/no/such/run'"),
        (["sample", "--condition", "period=3"], "--condition is for models with continuous conditions"),
        (["export", "--workdir", "/no/such/run"], "/no/such/run is not a training workdir (no config.yaml)"),
    ],
)
def test_bad_requests_on_a_trained_model(conditional_workdir, tmp_path, command, message):
    args = command if "--model" in command else command + ["--model", str(conditional_workdir)]
    result = run(*args, "--output", str(tmp_path / "x.png"))
    assert result.returncode != 0 and message in result.stderr and "Traceback" not in result.stderr


def test_vector_arithmetic_writes_a_row(tmp_path):
    workdir = tmp_path / "dcgan"
    assert (
        run(
            "train",
            "--config",
            "dcgan_digits",
            "--workdir",
            str(workdir),
            "--verbose",
            "0",
            "--set",
            "train.steps=1",
            "--set",
            "train.steps_per_epoch=1",
            "--set",
            "runtime.jit_compile=false",
        ).returncode
        == 0
    )
    result = run(
        "arithmetic",
        "--model",
        str(workdir),
        "--seed",
        "2",
        "--a",
        "0,1",
        "--b",
        "2",
        "--c",
        "3,4,5",
        "--output",
        str(tmp_path / "row.png"),
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "row.png").exists()


def test_export_then_sample_and_list_the_entry_by_name(conditional_workdir, tmp_path):
    models = tmp_path / "models"
    result = run("export", "--workdir", str(conditional_workdir), "--output", str(models / "cgan_tiny"))
    assert result.returncode == 0, result.stderr
    assert f"Exported {models / 'cgan_tiny' / '1'}" in result.stdout
    result = run(
        "sample",
        "--model",
        "cgan_tiny",
        "--label",
        "3",
        "--num",
        "8",
        "--output",
        str(tmp_path / "grid.png"),
        models=models,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "grid.png").read_bytes().startswith(b"\x89PNG")
    result = run("list", models=models)
    shipped = result.stdout.split("Generators")[1].split("Evaluators")[0]
    (row,) = [line for line in shipped.splitlines() if "cgan_tiny" in line]
    assert "conditional" in row and "not evaluated" in row and row.endswith("$TFGAN_ZOO_MODELS")

"""Installed equals cloned: the wheel, installed in a fresh venv and run from a temporary directory, holds the zoo.

The venv sees this interpreter's site-packages (TensorFlow and the other dependencies, not downloaded again) and
gets the wheel with `--no-deps`; the zoo comes only from the wheel, run away from the clone.
"""

import json
import os
import pathlib
import subprocess
import sys

import pytest

from tfgan_zoo import paths

REPOSITORY = pathlib.Path(__file__).resolve().parent.parent
WHEEL_LIMIT = 60 * 10**6
ENTRIES = [folder.name for folder in paths.shipped_entries()]


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """`(run, wheel)`: `run(*args)` runs a command of the venv in a temporary directory, as a user would."""
    root = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", root / "dist", REPOSITORY],
        check=True,
        cwd=root,
    )
    (wheel,) = (root / "dist").glob("tfgan_zoo-*.whl")
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", venv], check=True)
    pip = [venv / "bin" / "python", "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--ignore-installed"]
    subprocess.run([*pip, wheel], check=True)
    home = root / "home"
    home.mkdir()
    # The clone's editable install, if any, is visible through the system site-packages: the wheel is installed
    # over it (`--ignore-installed`), and neither PYTHONPATH nor user site-packages may shadow it.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TFGAN_ZOO_", "PYTHONPATH"))}
    env["PYTHONNOUSERSITE"] = "1"

    def run(*args, check=True):
        result = subprocess.run(
            [str(arg) for arg in args], capture_output=True, text=True, cwd=home, env=env, timeout=1200
        )
        assert not check or result.returncode == 0, result.stdout + result.stderr
        return result

    run.bin, run.home = venv / "bin", home
    return run, wheel


@pytest.mark.slow  # about 5 minutes on 2 CPU cores: the build, a venv, a training run, every entry sampled and evaluated
def test_the_installed_wheel_holds_the_whole_zoo(installed):
    run, wheel = installed
    assert wheel.stat().st_size < WHEEL_LIMIT, f"{wheel.stat().st_size / 1e6:.1f} MB"
    where = run(run.bin / "python", "-c", "import tfgan_zoo; print(tfgan_zoo.paths.packaged_dir())").stdout
    assert str(run.bin.parent) in where, f"not the wheel's package: {where}"

    listing = run(run.bin / "tfgan-zoo", "list")
    assert "oneDNN" not in listing.stderr and "cuInit" not in listing.stderr
    rows = {line.split()[0]: line.split()[-1] for line in listing.stdout.splitlines() if line.startswith("  ")}
    for name in [*paths.config_names(), *ENTRIES, *paths.evaluators()]:
        assert rows.get(name) == "packaged", listing.stdout

    tiny = "--set train.steps=2 --set train.steps_per_epoch=1 --set runtime.jit_compile=false".split()
    trained = run(run.bin / "tfgan-zoo", "train", "--config", "vanilla_ring8", *tiny, "--verbose", "0")
    assert (run.home / "runs" / "vanilla_ring8" / "samples.png").exists(), trained.stdout
    assert "Sharding callback duration" not in trained.stderr

    # Offline without a TFDS copy of CIFAR-10, the clear no-data message (where it can be had, the step runs).
    no_data = run(run.bin / "tfgan-zoo", "train", "--config", "dcgan_cifar10", *tiny, check=False)
    if no_data.returncode:
        assert "Could not load data source 'cifar10'" in no_data.stderr and "Traceback" not in no_data.stderr

    check = f"""
import tfgan_zoo
for name in {ENTRIES!r}:
    model = tfgan_zoo.load_pretrained(name)
    assert model.version == model.card["version"], name
    labels = [0] * 2 if model.num_classes else None
    assert len(model.sample(2, seed=0, labels=labels)) == 2, name
    gan = tfgan_zoo.GAN.from_preset(name)
    assert gan.compiled and int(gan.step.numpy()) == model.card["training"]["steps"], name
print("presets ok")
"""
    assert "presets ok" in run(run.bin / "python", "-c", check).stdout
    packaged = pathlib.Path(where.strip())
    before = {path: path.stat().st_mtime_ns for path in packaged.rglob("*")}
    for name in ENTRIES:
        run(run.bin / "tfgan-zoo", "sample", "--model", name, "--num", "10", "--output", f"{name}.png")
        assert (run.home / f"{name}.png").exists()
        run(run.bin / "tfgan-zoo", "evaluate", "--model", name, "--num_samples", "200")
        assert json.loads((run.home / "evaluations" / name / "evaluation.json").read_text())["values"], name
    assert {path: path.stat().st_mtime_ns for path in packaged.rglob("*")} == before  # nothing written there

"""Shared fixtures of the test suite: tiny configs per network family and the GANs they build, a tiny MLP GAN,
weights and ports for the resume and cluster tests, the serving contract of an export, and the CLI in process.

They are fixtures, not importable helpers, so that no test module imports another; the one helper module,
`contract.py`, is also a script, because the contract is checked in a process that never imports tfgan_zoo.
"""

import json
import pathlib
import socket
import subprocess
import sys

import contract
import keras
import numpy as np
import pytest
from absl import flags

from tfgan_zoo import build, cli, config, paths
from tfgan_zoo.gan import GAN
from tfgan_zoo.networks import mlp

# Tests pin the runtime settings that `auto` would choose by machine, so that they run the same on every CPU.
PINNED = ["runtime.jit_compile=false", "runtime.precision=float32"]

# Per `model.family`: overrides that shrink its zoo configs to runs of seconds on a CPU (small networks and
# data, short epochs, no XLA). `test_families` fails for a registered family that has no entry here.
TINY = {
    "vanilla": [
        "data.num_examples=2000",
        "data.batch_size=64",
        "model.generator_units=[16, 16]",
        "model.discriminator_units=[16, 16]",
        "train.steps_per_epoch=2",
        "runtime.jit_compile=false",
        "eval.num_samples=200",
        "train.label_noise=0.1",
        "train.instance_noise=0.1",
        "train.instance_noise_decay_steps=10",
        "train.d_steps=2",
        "model.ema_decay=0.9",
        "train.lr_schedule=constant",
    ],  # a decay schedule spans train.steps, which the resume tests extend
    "dcgan": [
        "train.steps=2",
        "train.steps_per_epoch=1",
        "runtime.jit_compile=false",
        "data.num_examples=256",
        "model.channels=8",
    ],
    # 16 real images per step: 4 steps of 4x4, a fade-in over 4 steps, then 8x8.
    "progressive": [
        "data.batch_size=16",
        "model.channels=8",
        "model.latent_dim=8",
        "train.stable_images=64",
        "train.transition_images=64",
        "train.steps_per_epoch=2",
        "runtime.jit_compile=false",
        "eval.num_samples=200",
    ],
    "timeseries": [
        "train.steps=4",
        "train.steps_per_epoch=2",
        "runtime.jit_compile=false",
        "data.num_examples=256",
        "model.channels=4",
        "eval.num_samples=64",
    ],
}


@pytest.fixture(scope="session")
def tiny_overrides():
    """`model.family` -> the pinned runtime and its tiny overrides, for runs started through the CLI."""
    return {family: PINNED + overrides for family, overrides in TINY.items()}


@pytest.fixture(scope="session")
def zoo_config():
    """`zoo_config(name, overrides=())`: the zoo config `name` as it is, with `overrides` and the pinned runtime."""

    def load(name, overrides=()):
        return config.load(paths.config_path(name), PINNED + list(overrides))

    return load


@pytest.fixture(scope="session")
def tiny_config():
    """`tiny_config(name, *overrides)`: the zoo config `name` with its family's tiny overrides, then `overrides`."""

    def load(name, *overrides):
        family = config.load(paths.config_path(name)).model.family
        if family not in TINY:
            pytest.fail(f"model.family {family} has no tiny overrides: add them to TINY in tests/conftest.py.")
        return config.load(paths.config_path(name), PINNED + TINY[family] + list(overrides))

    return load


@pytest.fixture(scope="session")
def tiny_gan(tiny_config):
    """`tiny_gan(name, *overrides)`: `(gan, source)`, the compiled GAN of `tiny_config(name, *overrides)` and its
    data, built as `training.train` builds it."""

    def make(name, *overrides):
        cfg = tiny_config(name, *overrides)
        source = build.load_source(cfg)
        gan = build.build_gan(cfg, source.x.shape[1:], source.num_classes, source.metadata.get("condition_ranges"))
        return build.compile_gan(gan, cfg), source

    return make


@pytest.fixture(scope="session")
def mlp_gan():
    """`mlp_gan(sample_shape=(2,), num_classes=0, ..., **compile_kwargs)`: a GAN of one-layer MLPs (16 units,
    latent 4) seeded by `seed`, compiled with Adam(1e-3) unless the kwargs name the optimizers: the train step's
    options shown on a network that trains in milliseconds."""

    def make(
        sample_shape=(2,),
        num_classes=0,
        ema_decay=0.0,
        seed=0,
        real_transform=None,
        output_activation=None,
        **compile_kwargs,
    ):
        keras.utils.set_random_seed(seed)
        gan = GAN(
            mlp.generator(4, sample_shape, (16,), num_classes, output_activation=output_activation),
            mlp.discriminator(sample_shape, (16,), num_classes),
            4,
            num_classes,
            ema_decay=ema_decay,
            seed=seed,
            real_transform=real_transform,
        )
        compile_kwargs.setdefault("d_optimizer", keras.optimizers.Adam(1e-3))
        compile_kwargs.setdefault("g_optimizer", keras.optimizers.Adam(1e-3))
        gan.compile(**compile_kwargs)
        return gan

    return make


@pytest.fixture(scope="session")
def assert_same_weights():
    """`assert_same_weights(a, b, **tolerance)`: two GANs hold the same generator, discriminator and EMA weights,
    up to `np.testing.assert_allclose`'s tolerance."""

    def check(a, b, **tolerance):
        def weights(gan):
            return gan.generator.get_weights() + gan.discriminator.get_weights() + gan.ema_generator.get_weights()

        for x, y in zip(weights(a), weights(b), strict=True):
            np.testing.assert_allclose(x, y, **tolerance)

    return check


@pytest.fixture(scope="session")
def free_ports():
    """`free_ports(n)`: n TCP ports of 127.0.0.1 that were free a moment ago, for a cluster of local workers."""

    def find(n):
        sockets = [socket.socket() for _ in range(n)]
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        ports = [s.getsockname()[1] for s in sockets]
        for s in sockets:
            s.close()
        return ports

    return find


@pytest.fixture(scope="session")
def check_entry():
    """`check_entry(entry, fresh_process=True)`: asserts the serving contract of an exported entry (`contract.py`) in a
    Python process that imports only TensorFlow, as TF Serving's users load it (`fresh_process=False` checks the
    same in this process, a TensorFlow start faster), and that its fine-tuning copy, when it has one, is the card's
    version and gives the golden outputs."""

    def check(entry, fresh_process=True):
        entry = pathlib.Path(entry).resolve()
        if fresh_process:
            command = [sys.executable, contract.__file__, str(entry)]
            result = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=entry)
            assert result.returncode == 0, result.stderr[-3000:]
            assert "contract ok" in result.stdout
        else:
            contract.check(entry)
        card = json.loads((entry / paths.CARD_FILE).read_text())
        if card.get("keras_file"):
            check_fine_tuning_copy(entry, card)

    return check


def check_fine_tuning_copy(entry, card):
    """`GAN.from_preset` of the entry's lean gan.keras, of the card's version, gives the golden outputs (cropped and
    clipped as the export's signatures do for runs on padded images)."""
    assert card["keras_file_version"] == card["version"]
    golden = json.loads((entry / "golden.json").read_text())
    gan = GAN.from_preset(entry)
    inputs = {name: np.asarray(value) for name, value in golden["inputs"].items()}
    z, labels = inputs.pop("z").astype(np.float32), inputs.pop("label", None)
    x = np.asarray(gan.generate(z, labels, {name: v.astype(np.float32) for name, v in inputs.items()} or None))
    if x.shape[1:] != tuple(card["sample_shape"]):  # a run on padded images, centred (`data.pad`)
        height, width = card["sample_shape"][:2]
        top, left = (x.shape[1] - height) // 2, (x.shape[2] - width) // 2
        x = x[:, top : top + height, left : left + width]
    x = np.clip(x, *card["value_range"]) if card["value_range"] else x
    # A generator that computes in 16 bits matches its SavedModel to about a step of its outputs' precision: the
    # graph's fused kernels round otherwise than Keras's (bfloat16 keeps 8 significant bits, so a step is 2**-7
    # below 2), and the differences add up over the layers: 0.0083 at most in pggan_fashion_mnist's generator,
    # nine layers deep.
    precision = card["training"].get("runtime", {}).get("precision", "float32")
    atol = 1e-4 if precision == "float32" else 2**-6
    np.testing.assert_allclose(x.reshape(len(x), -1)[:, golden["positions"]], golden["values"], atol=atol)


@pytest.fixture
def run_cli(capsys):
    """Runs `tfgan-zoo <args>` in this process: returns `(exit status, stdout, stderr)`; an error's message, which
    the CLI exits with, counts as stderr."""

    def run(*args):
        flags.FLAGS.unparse_flags()
        argv = flags.FLAGS(["tfgan-zoo", *map(str, args)])
        status, message = 0, ""
        try:
            cli.main(argv)
        except SystemExit as exit_:
            status, message = (1, str(exit_.code)) if isinstance(exit_.code, str) else (exit_.code or 0, "")
        out, err = capsys.readouterr()
        return status, out, err + message

    return run

"""Faults a run must survive and bad inputs it must refuse clearly: SIGKILL and exact resume, corrupt checkpoints,
divergence, a discriminator that wins, collapse, a killed multi-worker process."""

import json
import math
import os
import re
import signal
import subprocess
import sys
import time

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from tfgan_zoo import build, config, data, health, training, workdirs

# The CLI, with op determinism on, so that a resumed run can be compared with an uninterrupted one.
CLI = "import tensorflow as tf; tf.config.experimental.enable_op_determinism(); from tfgan_zoo import cli; cli.run()"
TIMEOUT = 300
# The CLI, killing its own process with SIGKILL once it has saved the checkpoint of step $KILL_AFTER_STEP: a kill at
# a known step, however fast the machine.
SELF_KILLING_CLI = f"""
import os, signal
from tfgan_zoo import callbacks
save = callbacks.Checkpoint.save
def save_then_die(self):
    save(self)
    if self.saved_step == int(os.environ["KILL_AFTER_STEP"]):
        os.kill(os.getpid(), signal.SIGKILL)
callbacks.Checkpoint.save = save_then_die
{CLI}"""


@pytest.fixture
def start_training(tiny_overrides):
    """`start_training(workdir, overrides, log_path, env=None, program=CLI)`: `program` (the CLI) training the tiny
    vanilla_ring8 config with `overrides`, in a process of its own, its output in `log_path`."""

    def start(workdir, overrides, log_path, env=None, program=CLI):
        args = [
            sys.executable,
            "-c",
            program,
            "train",
            "--config",
            "vanilla_ring8",
            "--workdir",
            str(workdir),
            "--verbose",
            "0",
        ]
        for override in tiny_overrides["vanilla"] + overrides:
            args += ["--set", override]
        return subprocess.Popen(args, env=env, stdout=open(log_path, "w"), stderr=subprocess.STDOUT)

    return start


def latest_step(workdir):
    state = tf.train.get_checkpoint_state(str(workdir / "checkpoints"))
    return int(state.model_checkpoint_path.rsplit("-", 1)[1]) if state else -1


def wait_for_checkpoint(workdir, step, processes):
    deadline = time.time() + TIMEOUT
    while latest_step(workdir) < step:
        assert time.time() < deadline, f"no checkpoint of step {step} within {TIMEOUT} s"
        assert all(p.poll() is None for p in processes), "training ended before the kill"
        time.sleep(0.05)


def finish(process, log_path):
    assert process.wait(timeout=TIMEOUT) == 0, log_path.read_text()[-3000:]


def restored_gan(workdir, gan):
    """`gan` at the newest readable checkpoint of `workdir`."""
    checkpoint = tf.train.Checkpoint(gan=gan, d_optimizer=gan.d_optimizer, g_optimizer=gan.g_optimizer)
    workdirs.restore_latest(checkpoint, str(workdir / "checkpoints"))
    return gan


KILL_RUN = ["train.steps=60", "train.steps_per_epoch=20", "train.checkpoint_every=3"]


def test_a_run_killed_with_sigkill_resumes_to_the_weights_of_an_uninterrupted_one(
    tmp_path, tiny_gan, start_training, assert_same_weights
):
    straight = start_training(tmp_path / "straight", KILL_RUN, tmp_path / "straight.log")
    killed = start_training(tmp_path / "killed", KILL_RUN, tmp_path / "killed.log")
    try:
        wait_for_checkpoint(tmp_path / "killed", 9, [killed])
        killed.send_signal(signal.SIGKILL)
        killed.wait(timeout=TIMEOUT)
        assert 9 <= latest_step(tmp_path / "killed") < 60
        resumed = start_training(tmp_path / "killed", KILL_RUN, tmp_path / "resumed.log")
        finish(resumed, tmp_path / "resumed.log")
        finish(straight, tmp_path / "straight.log")
    finally:
        for process in (straight, killed):
            process.kill()
    assert re.search(r"Resumed from .*ckpt-\d+ at step \d+", (tmp_path / "resumed.log").read_text())
    # The record resumes too: one row per epoch, as in the uninterrupted run.
    epochs = [
        [line.split(",")[0] for line in (tmp_path / run / "history.csv").read_text().splitlines()]
        for run in ("straight", "killed")
    ]
    assert epochs[0] == epochs[1] == ["epoch", "0", "1", "2"]
    a, b = (restored_gan(tmp_path / run, tiny_gan("vanilla_ring8", *KILL_RUN)[0]) for run in ("straight", "killed"))
    assert int(a.step.numpy()) == int(b.step.numpy()) == 60
    assert_same_weights(a, b, rtol=1e-6, atol=1e-7)


def test_corrupt_checkpoints_fall_back_to_the_newest_readable_one(tmp_path, caplog, tiny_config, assert_same_weights):
    run = ["train.steps_per_epoch=4", "train.checkpoint_every=1"]
    straight, _ = training.train(tiny_config("vanilla_ring8", "train.steps=8", *run), tmp_path / "straight", verbose=0)
    training.train(tiny_config("vanilla_ring8", "train.steps=4", *run), tmp_path / "run", verbose=0)
    checkpoints = tmp_path / "run" / "checkpoints"
    with open(checkpoints / "ckpt-4.data-00000-of-00001", "r+b") as f:
        f.truncate(100)  # a partial write
    with open(checkpoints / "ckpt-3.data-00000-of-00001", "r+b") as f:
        f.seek(50)
        byte = f.read(1)
        f.seek(50)
        f.write(bytes([byte[0] ^ 0xFF]))  # a flipped bit: the checksum catches it
    (checkpoints / "checkpoint").write_text("garbage {")  # a damaged state file
    resumed, _ = training.train(tiny_config("vanilla_ring8", "train.steps=8", *run), tmp_path / "run", verbose=0)
    warnings = [r.getMessage() for r in caplog.records if "cannot be read" in r.getMessage()]
    assert len(warnings) == 2 and "ckpt-4" in warnings[0] and "ckpt-3" in warnings[1]
    # Resumed from step 2, in the middle of an epoch, it still ends where an uninterrupted run ends.
    assert_same_weights(straight, resumed, rtol=1e-5, atol=1e-6)


def test_unreadable_checkpoints_are_an_error_and_stay_on_disk(tmp_path, tiny_config):
    training.train(tiny_config("vanilla_ring8", "train.steps=2"), tmp_path, verbose=0)
    for data_file in (tmp_path / "checkpoints").glob("*.data-*"):
        data_file.write_bytes(b"")
    before = sorted(os.listdir(tmp_path / "checkpoints"))
    with pytest.raises(OSError, match="None of the checkpoints in .* can be read; move them away to start over"):
        training.train(tiny_config("vanilla_ring8", "train.steps=4"), tmp_path, verbose=0)
    assert sorted(os.listdir(tmp_path / "checkpoints")) == before


def test_a_diverging_learning_rate_is_stopped_with_the_checkpoints_intact(tmp_path, tiny_config):
    cfg = tiny_config(
        "vanilla_ring8",
        "train.steps=20",
        "train.steps_per_epoch=10",
        "train.checkpoint_every=1",
        "train.d_learning_rate=3.0e+4",
        "train.g_learning_rate=3.0e+4",
    )
    with pytest.raises(
        health.TrainingDiverged,
        match=r"Training diverged at step (\d+): .* became NaN or Inf\. "
        r"Restored the last good checkpoint .*ckpt-\d+ .*Lower the learning rates",
    ) as error:
        training.train(cfg, tmp_path, verbose=0)
    diverged = int(re.search(r"at step (\d+)", str(error.value)).group(1))
    assert 0 < latest_step(tmp_path) < diverged
    for prefix in tf.io.gfile.glob(str(tmp_path / "checkpoints" / "ckpt-*.index")):
        reader = tf.train.load_checkpoint(prefix[: -len(".index")])
        for name in reader.get_variable_to_shape_map():
            value = np.asarray(reader.get_tensor(name))
            assert value.dtype.kind != "f" or np.isfinite(value).all(), (prefix, name)
    assert not (tmp_path / "gan.keras").exists()


def test_updates_skipped_by_float16_loss_scaling_are_counted_not_taken_for_divergence(tmp_path, tiny_config):
    # Growing the scale after every update makes the float16 gradients overflow every few updates: each time the
    # optimizer skips the update and halves its scale. The gradient norms were inf then: "diverged at step 1".
    cfg = tiny_config("vanilla_ring8", "runtime.precision=mixed_float16")
    source = build.load_source(cfg)
    gan = build.build_gan(cfg, (2,), 0)

    def optimizer():
        return keras.optimizers.LossScaleOptimizer(keras.optimizers.Adam(2e-4), dynamic_growth_steps=1)

    gan.compile(optimizer(), optimizer(), d_steps=cfg.train.d_steps, jit_compile=False)
    monitor = health.TrainingHealth(str(tmp_path), lambda: None, source.x, cfg.train.loss, min_diversity=0)
    history = gan.fit(
        data.make_dataset(source, 2 * cfg.data.batch_size), steps_per_epoch=20, verbose=0, callbacks=[monitor]
    ).history
    assert monitor.failure is None and not monitor.findings
    assert 0 < history["loss_scale_skips"][0] < 3 * 20  # of 20 steps' 40 D and 20 G updates
    assert all(np.isfinite(values[0]) for values in history.values())


def test_a_winning_discriminator_is_reported(tmp_path, caplog, tiny_config):
    cfg = tiny_config(
        "vanilla_ring8",
        "train.steps=40",
        "train.steps_per_epoch=20",
        "train.g_learning_rate=0",
        "train.d_learning_rate=0.01",
        "train.label_noise=0",
        "train.instance_noise=0",
        "health.window=5",
        "health.d_loss_floor=0.1",
    )
    training.train(cfg, tmp_path, verbose=0)
    warnings = [r.getMessage() for r in caplog.records if "discriminator is winning" in r.getMessage()]
    assert len(warnings) == 1  # one per stretch of low loss
    for knob in ("train.label_smoothing", "train.instance_noise", "train.d_steps", "train.d_learning_rate"):
        assert knob in warnings[0]
    assert list((tmp_path / "logs" / "health").glob("events.out.tfevents.*"))


def test_a_winning_discriminator_is_reported_under_label_smoothing(tmp_path, caplog, tiny_config):
    # With real targets 0.9, D's loss cannot fall below H(0.9) = 0.325: a fixed floor of 0.1 never warned.
    cfg = tiny_config(
        "vanilla_ring8",
        "train.steps=40",
        "train.steps_per_epoch=20",
        "train.g_learning_rate=0",
        "train.d_learning_rate=0.001",
        "train.label_noise=0",
        "train.instance_noise=0",
        "train.label_smoothing=0.1",
        "health.window=5",
        "health.d_loss_floor=0.1",
    )
    _, history = training.train(cfg, tmp_path, verbose=0)
    warnings = [r.getMessage() for r in caplog.records if "discriminator is winning" in r.getMessage()]
    assert len(warnings) == 1 and "below 0.425 (within 0.1 of the 0.325 its targets allow)" in warnings[0]
    assert 0.325 < history.history["d_loss"][-1] < 0.425
    assert history.history["d_real_accuracy"][-1] > 0.95 and history.history["d_fake_accuracy"][-1] > 0.95


def test_the_best_discriminator_loss_of_each_loss_and_targets():
    h = lambda p: -p * math.log(p) - (1 - p) * math.log(1 - p)  # noqa: E731
    best = health.best_discriminator_loss
    assert best("non_saturating") == best("minimax") == best("least_squares") == best("hinge") == 0.0
    assert best("wasserstein") is None
    assert best("non_saturating", label_smoothing=0.1) == pytest.approx(0.3251, abs=1e-4)
    assert best("minimax", label_smoothing=0.2) == pytest.approx(0.5004, abs=1e-4)
    assert best("least_squares", label_smoothing=0.1) == 0.0  # D can output 0.9 exactly
    # Noise U[0.8, 0.9] and U[0, 0.1]: the best guesses are the means 0.85 and 0.05; least squares keeps the
    # variance 0.1^2 / 12 of each side, halved.
    assert best("non_saturating", 0.1, 0.1) == pytest.approx(h(0.85) + h(0.05))
    assert best("least_squares", 0.1, 0.1) == pytest.approx(0.01 / 12)
    # Half the targets flipped: D cannot tell real from fake targets, whatever it sees.
    assert best("non_saturating", label_flip=0.5) == pytest.approx(2 * math.log(2))
    assert best("least_squares", label_flip=0.5) == pytest.approx(0.25)


def test_collapsed_samples_are_reported(tmp_path, tiny_config):
    cfg = tiny_config("vanilla_ring8", "model.ema_decay=0")
    source = build.load_source(cfg)
    gan = build.build_gan(cfg, (2,), 8)
    output = gan.generator.layers[-2]  # the last Dense, before the Reshape
    output.kernel.assign(tf.zeros_like(output.kernel))
    output.bias.assign([1.0, 0.0])  # every sample on one of the 8 modes
    monitor = health.TrainingHealth(str(tmp_path), lambda: None, source.x, "non_saturating", num_samples=500)
    monitor.set_model(gan)
    logs = {}
    monitor.on_epoch_end(0, logs)
    assert logs["diversity"] < 0.3
    assert len(monitor.findings) == 1 and "mode collapse" in monitor.findings[0]
    assert "model.minibatch_stddev" in monitor.findings[0]
    # D already has minibatch discrimination (vanilla_ring8's config): not advised again.
    assert cfg.model.minibatch_discrimination and "model.minibatch_discrimination" not in monitor.findings[0]


@pytest.mark.slow  # about 100 s: five process starts and a collective timeout
def test_a_killed_worker_restarts_and_the_job_finishes_from_the_last_checkpoint(
    tmp_path, tiny_config, tiny_gan, start_training, assert_same_weights, free_ports
):
    # Minibatch discrimination sees each worker's part of the batch, so it is off for the comparison below.
    run = [
        "train.steps=24",
        "train.steps_per_epoch=12",
        "train.checkpoint_every=3",
        "model.minibatch_discrimination=0",
        "runtime.strategy=multi_worker",
    ]
    cluster = {"worker": [f"127.0.0.1:{port}" for port in free_ports(2)]}
    logs = []

    def start(index, **kill):
        # The cluster manager's part: start a worker, with the TF_CONFIG of its slot.
        env = dict(os.environ, TF_CONFIG=json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}}))
        logs.append(tmp_path / f"worker{index}.{len(logs)}.log")
        if kill:
            return start_training(tmp_path / "run", run, logs[-1], dict(env, **kill), SELF_KILLING_CLI)
        return start_training(tmp_path / "run", run, logs[-1], env)

    # Worker 1 dies at step 6, after its checkpoint; the chief has saved step 6 too, before its step 7 needs it.
    workers = [start(0), start(1, KILL_AFTER_STEP="6")]
    try:
        assert workers[1].wait(timeout=TIMEOUT) == -signal.SIGKILL, logs[1].read_text()[-3000:]
        workers[1] = start(1)
        # The survivor's collectives fail when its peer goes; a cluster manager restarts whatever exits.
        deadline = time.time() + TIMEOUT
        while not all(worker.poll() == 0 for worker in workers):
            assert time.time() < deadline, "the job did not finish in time"
            for index, worker in enumerate(workers):
                if worker.poll() not in (None, 0):
                    workers[index] = start(index)
            time.sleep(0.2)
    finally:
        for worker in workers:
            worker.kill()
    resumed = [re.search(r"Resumed from .*ckpt-(\d+) at step", log.read_text()) for log in logs[2:]]
    assert resumed and all(match and match.group(1) == "6" for match in resumed), [m and m.group(0) for m in resumed]
    single, _ = training.train(tiny_config("vanilla_ring8", *run[:-1]), tmp_path / "single", verbose=0)
    restored = restored_gan(tmp_path / "run", tiny_gan("vanilla_ring8", *run[:-1])[0])
    assert_same_weights(single, restored, rtol=1e-4, atol=1e-5)


# ----- bad inputs: a clear error, and nothing written or lost -----


def test_a_workdir_that_cannot_be_created(tmp_path, tiny_config):
    (tmp_path / "file").write_text("")
    with pytest.raises(OSError, match=r"Cannot create the workdir .*file/run: Not a directory\. Choose a writable"):
        training.train(tiny_config("vanilla_ring8", "train.steps=2"), tmp_path / "file" / "run", verbose=0)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes anywhere")
def test_a_read_only_workdir(tmp_path, tiny_config):
    tmp_path.chmod(0o500)
    try:
        with pytest.raises(PermissionError, match=r"The workdir .* is not writable\. Choose a writable --workdir"):
            training.train(tiny_config("vanilla_ring8", "train.steps=2"), tmp_path, verbose=0)
    finally:
        tmp_path.chmod(0o700)


def write_images(folder, size, n=16):
    folder.mkdir(exist_ok=True)
    for i in range(n):
        Image.fromarray(np.full((size, size), 16 * i, np.uint8)).save(folder / f"{i}.png")


def test_data_that_changed_shape_since_the_run_began(tmp_path, tiny_config):
    images = tmp_path / "images"
    write_images(images, 8)
    overrides = [
        "data.source=image_folder",
        f"data.params={{path: {images}, channels: 1}}",
        "data.batch_size=4",
        "train.steps=2",
    ]
    training.train(tiny_config("vanilla_ring8", *overrides), tmp_path / "run", verbose=0)
    write_images(images, 12)
    before = sorted(os.listdir(tmp_path / "run" / "checkpoints"))
    with pytest.raises(
        ValueError,
        match=r"checkpoint .*ckpt-2 does not fit the model .* The data behind the config "
        r"changed since the run began",
    ):
        training.train(tiny_config("vanilla_ring8", *overrides), tmp_path / "run", verbose=0)
    assert sorted(os.listdir(tmp_path / "run" / "checkpoints")) == before


def test_missing_data(tmp_path, tiny_config):
    with pytest.raises(FileNotFoundError, match=r"image_folder path .*nowhere is not a folder"):
        training.train(
            tiny_config("vanilla_ring8", "data.source=image_folder", f"data.params={{path: {tmp_path / 'nowhere'}}}"),
            tmp_path / "run",
            verbose=0,
        )


def test_a_conditional_config_on_unlabelled_data(tmp_path, tiny_config):
    with pytest.raises(
        config.ConfigError,
        match=r"model\.conditional is true but the data \(gaussian2d\) has no "
        r"labels: use a labelled source or set model\.conditional=false",
    ):
        training.train(
            tiny_config("vanilla_ring8", "data.source=gaussian2d", "model.conditional=true"), tmp_path, verbose=0
        )


@pytest.fixture(scope="module")
def conditional_gan(tiny_gan):
    return tiny_gan("vanilla_ring8", "model.conditional=true")[0]


def test_data_of_the_wrong_shape_range_or_labels(conditional_gan):
    source = data.load("ring8", num_examples=100)

    def check(**changes):
        fields = dict(vars(source), **changes)
        training.check_data(data.Source(**fields), conditional_gan)

    check()
    with pytest.raises(ValueError, match=r"has samples of shape \[3\], but the model generates \[2\]"):
        check(x=np.zeros((100, 3), np.float32))
    images = dict(metadata={"value_range": (-1.0, 1.0)}, x=np.full((100, 2), 255.0, np.float32))
    with pytest.raises(ValueError, match=r"lie in \[255, 255\]; the model expects \[-1, 1\]\. Scale 8-bit pixels"):
        check(**images)
    with pytest.raises(ValueError, match=r"The model is conditional but the data ring8 has no labels"):
        check(y=None)
    with pytest.raises(
        ValueError,
        match=r"Label 8 is out of range: this generator has 8 classes, so labels must be in "
        r"\[0, 7\]",
    ):
        check(y=np.full(100, 8, np.int32))


def test_a_conditional_gan_fed_samples_without_labels(conditional_gan):
    stream = data.make_dataset(data.load("ring8", num_examples=256).x, batch_size=128)
    with pytest.raises(
        ValueError,
        match=r"A conditional GAN \(num_classes > 0\) trains on \(samples, labels\) "
        r"batches; got samples only",
    ):
        conditional_gan.fit(stream, steps_per_epoch=1, epochs=1, verbose=0)


def test_a_non_finite_weight_is_caught_at_the_next_checkpoint_step(tmp_path, mlp_gan):
    # A NaN in the EMA generator leaves the losses finite: the weights' check, every 4 steps here (the checkpoint
    # interval in a run), stops training before the checkpoint of step 4 could save it.
    gan = mlp_gan(ema_decay=0.9)
    real = np.random.default_rng(0).normal(size=(512, 2)).astype("float32")

    class Poison(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if int(self.model.step.numpy()) == 2:
                self.model.ema_generator.weights[0].assign(np.full(self.model.ema_generator.weights[0].shape, np.nan))

    monitor = health.TrainingHealth(str(tmp_path), lambda: None, real, "non_saturating", check_weights_every=4)
    stream = data.make_dataset(real, 16)
    gan.fit(stream, steps_per_epoch=8, epochs=1, verbose=0, callbacks=[Poison(), monitor])
    assert monitor.failure and "Training diverged at step 4: a weight became NaN or Inf" in monitor.failure

"""Training under MirroredStrategy on 2 logical CPU devices equals training on one device."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from tfgan_zoo import distribute

SCRIPT = os.path.join(os.path.dirname(__file__), "distributed_run.py")
COMMON = [
    "train.steps=3",
    "train.steps_per_epoch=3",
    "runtime.jit_compile=false",
    "runtime.precision=float32",
    "data.num_examples=512",
]
CASES = {
    # Minibatch discrimination looks at the whole per-replica batch, so it is left out of the equality check.
    "vanilla": [
        "vanilla_ring8",
        "model.minibatch_discrimination=0",
        "train.d_steps=2",
        "train.label_noise=0.1",
        "train.instance_noise=0.1",
        "train.gradient_penalty=1.0",
        "model.ema_decay=0.9",
    ],
    "dcgan": ["dcgan_digits", "runtime.sync_batch_norm=true"],
}


def train(tmp_path, case, strategy):
    output = str(tmp_path / f"{case}_{strategy}.npz")
    name, *overrides = CASES[case]
    result = subprocess.run(
        [sys.executable, SCRIPT, output, name, strategy, *COMMON, *overrides],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return np.load(output)


@pytest.mark.parametrize("case", sorted(CASES))
def test_mirrored_training_equals_single_device_training(tmp_path, case):
    single, mirrored = train(tmp_path, case, "default"), train(tmp_path, case, "mirrored")
    weights = [key for key in single.files if not key.startswith("metric_")]
    assert len(weights) > 4
    for key in weights:
        np.testing.assert_allclose(mirrored[key], single[key], rtol=1e-4, atol=1e-5, err_msg=key)
    metrics = [key for key in single.files if key.startswith("metric_")]
    assert {"metric_d_loss", "metric_g_loss", "metric_d_grad_norm"} <= set(metrics)
    for key in metrics:
        np.testing.assert_allclose(mirrored[key], single[key], rtol=1e-4, atol=1e-6, err_msg=key)


def test_unknown_strategy_is_a_clear_error():
    with pytest.raises(ValueError, match="Unknown runtime.strategy 'mirored'; choose one of default, mirrored"):
        distribute.strategy("mirored")


def test_two_workers_end_with_identical_weights_equal_to_one_process(tmp_path, free_ports):
    name, *overrides = CASES["vanilla"]
    cluster = {"worker": [f"127.0.0.1:{port}" for port in free_ports(2)]}
    workers = []
    for index in range(2):
        env = dict(os.environ, TF_CONFIG=json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}}))
        output = str(tmp_path / f"worker{index}.npz")
        workers.append(
            (
                output,
                subprocess.Popen(
                    [sys.executable, SCRIPT, output, name, "multi_worker", *COMMON, *overrides],
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                    text=True,
                ),
            )
        )
    try:
        for _, process in workers:
            _, stderr = process.communicate(timeout=600)  # a stuck collective fails here instead of hanging CI
            assert process.returncode == 0, stderr[-3000:]
    finally:
        for _, process in workers:
            process.kill()
    results = [np.load(output) for output, _ in workers]
    single = train(tmp_path, "vanilla", "default")
    for key in single.files:
        np.testing.assert_array_equal(results[0][key], results[1][key], err_msg=key)
        np.testing.assert_allclose(results[0][key], single[key], rtol=1e-4, atol=1e-5, err_msg=key)

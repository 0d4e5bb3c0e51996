"""Training under MirroredStrategy on 2 logical CPU devices, or on 2 worker processes, equals training on one
device; so does a run resumed on another number of replicas or workers (elastic resume)."""

import functools
import json
import logging
import os
import subprocess
import sys

import numpy as np
import pytest
import yaml

from tfgan_zoo import config, distribute, training, workdirs

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


# The float tolerance of every comparison with a single-device run: replicas sum their gradients in another order.
TOLERANCE = {"rtol": 1e-4, "atol": 1e-5}


def run_script(*runs, overrides=()):
    """Trains `runs`, each `(config, phases, workdir, output)` as `distributed_run.py` takes them, in one process;
    returns their saved weights and metrics."""
    args = [sys.executable, SCRIPT]
    for run in runs:
        args += ["--run", *map(str, run)]
    for override in overrides:
        args += ["--set", override]
    result = subprocess.run(args, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return [np.load(output) for *_, output in runs]


def train(tmp_path, case, strategy):
    output = tmp_path / f"{case}_{strategy}.npz"
    name, *overrides = CASES[case]
    (result,) = run_script((name, strategy, f"{output}.workdir", output), overrides=COMMON + overrides)
    return result


def train_workers(free_ports, name, phases, folders, outputs, overrides=()):
    """Trains `name` on a cluster of one worker process per folder of `folders`, each its workdir (the workers may
    share one), each saving to its output; returns what they saved."""
    cluster = {"worker": [f"127.0.0.1:{port}" for port in free_ports(len(folders))]}
    workers = []
    for index, (workdir, output) in enumerate(zip(folders, outputs, strict=True)):
        env = dict(os.environ, TF_CONFIG=json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}}))
        args = [sys.executable, SCRIPT, "--run", str(name), phases, str(workdir), str(output)]
        for override in overrides:
            args += ["--set", override]
        workers.append(subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True))
    try:
        for process in workers:
            _, stderr = process.communicate(timeout=600)  # a stuck collective fails here instead of hanging CI
            assert process.returncode == 0, stderr[-3000:]
    finally:
        for process in workers:
            process.kill()
    return [np.load(output) for output in outputs]


@pytest.mark.parametrize("case", sorted(CASES))
def test_mirrored_training_equals_single_device_training(tmp_path, case):
    single, mirrored = train(tmp_path, case, "default"), train(tmp_path, case, "mirrored")
    weights = [key for key in single.files if not key.startswith("metric_")]
    assert len(weights) > 4
    for key in weights:
        np.testing.assert_allclose(mirrored[key], single[key], **TOLERANCE, err_msg=key)
    metrics = [key for key in single.files if key.startswith("metric_")]
    assert {"metric_d_loss", "metric_g_loss", "metric_d_grad_norm"} <= set(metrics)
    for key in metrics:
        np.testing.assert_allclose(mirrored[key], single[key], rtol=1e-4, atol=1e-6, err_msg=key)


def test_mirrored_training_with_augmentation_equals_single_device_training(tmp_path):
    # ADA with its target 0, so p rises from the first step and every augmentation draws per example; both runs in
    # one process (TensorFlow starts once).
    overrides = COMMON + [
        "runtime.sync_batch_norm=true",
        "train.augment=ada",
        "train.augment_policy=flip,color,translation,cutout",
        "train.ada_target=0.0",
        "train.ada_kimg=1",
    ]
    runs = [("dcgan_digits", s, tmp_path / s, tmp_path / f"{s}.npz") for s in ("default", "mirrored")]
    single, mirrored = run_script(*runs, overrides=overrides)
    assert float(single["metric_ada_p"][-1]) > 0
    for key in single.files:
        np.testing.assert_allclose(mirrored[key], single[key], **TOLERANCE, err_msg=key)


def test_unknown_strategy_is_a_clear_error():
    with pytest.raises(ValueError, match="Unknown runtime.strategy 'mirored'; choose one of default, mirrored"):
        distribute.strategy("mirored")


def test_two_workers_end_with_identical_weights_equal_to_one_process(tmp_path, free_ports):
    name, *overrides = CASES["vanilla"]
    outputs = [tmp_path / f"worker{index}.npz" for index in range(2)]
    results = train_workers(
        free_ports, name, "multi_worker", [f"{output}.workdir" for output in outputs], outputs, COMMON + overrides
    )
    single = train(tmp_path, "vanilla", "default")
    for key in single.files:
        np.testing.assert_array_equal(results[0][key], results[1][key], err_msg=key)
        np.testing.assert_allclose(results[0][key], single[key], **TOLERANCE, err_msg=key)


# ----- elastic resume: a run continues on another number of replicas or workers, to the same weights -----

# The test suite's tiny configs, trained for 2k steps, k = train.steps_per_epoch: one epoch per phase.
ELASTIC = {
    # Minibatch discrimination compares each sample with the rest of its replica's part of the batch: it cannot be
    # equal across replica counts, so it is off.
    "vanilla": ["vanilla_ring8", "model.minibatch_discrimination=0", "train.steps_per_epoch=4", "train.steps=8"],
    # Batch norm (in G and D) synchronised across replicas; minibatch stddev groups 4 consecutive samples, and each
    # replica's part of the batch (32) divides by 4.
    "dcgan": [
        "dcgan_digits",
        "runtime.sync_batch_norm=true",
        "model.minibatch_stddev=true",
        "train.steps_per_epoch=2",
        "train.steps=4",
    ],
}
# The phases of each run (distributed_run.py): uninterrupted, or k steps then resumed on 2 replicas or on one.
ELASTIC_RUNS = {
    "straight": "default",
    "to_more_replicas": "default:{k},mirrored",
    "to_fewer_replicas": "mirrored:{k},default",
}


@pytest.fixture(scope="module")
def elastic_config(tmp_path_factory, tiny_config):
    """`elastic_config(case)`: the path of the case's tiny config (pinned runtime), written for the processes that
    train it, and its k."""
    folder = tmp_path_factory.mktemp("elastic_configs")

    @functools.cache
    def write(case):
        name, *overrides = ELASTIC[case]
        cfg = tiny_config(name, *overrides)
        config.save(cfg, folder / f"{case}.yaml")
        return folder / f"{case}.yaml", cfg.train.steps_per_epoch

    return write


@pytest.fixture(scope="module")
def elastic_runs(tmp_path_factory, elastic_config):
    """`elastic_runs(case)`: run -> `(workdir, weights)` of each of the case's `ELASTIC_RUNS`, trained in one process
    once per module."""
    folder = tmp_path_factory.mktemp("elastic")

    @functools.cache
    def train_case(case):
        path, k = elastic_config(case)
        runs = {
            run: (path, phases.format(k=k), folder / f"{case}_{run}", folder / f"{case}_{run}.npz")
            for run, phases in ELASTIC_RUNS.items()
        }
        results = run_script(*runs.values())
        return {run: (args[2], result) for (run, args), result in zip(runs.items(), results, strict=True)}

    return train_case


def saved_weights(saved):
    return [saved[key] for key in saved.files if not key.startswith("metric_")]


def assert_same_weights_as(weights, reference):
    """The arrays `weights` equal those of the saved `reference` run, up to `TOLERANCE`."""
    expected = saved_weights(reference)
    assert len(expected) > 4
    for index, (actual, wanted) in enumerate(zip(weights, expected, strict=True)):
        np.testing.assert_allclose(actual, wanted, **TOLERANCE, err_msg=f"weight {index}")


def topology(strategy, replicas, workers=1):
    return {"strategy": strategy, "replicas": replicas, "workers": workers}


def test_the_record_keeps_each_topology_with_the_step_it_began_at(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="absl")
    one, four = topology("default", 1), topology("mirrored", 4)
    workdirs.record(tmp_path, 0, one, {})
    workdirs.record(tmp_path, 6, one, {})  # resumed where it ran: nothing to add
    workdirs.record(tmp_path, 8, four, {})  # on 4 GPUs, the config unchanged
    assert yaml.safe_load((tmp_path / workdirs.CONFIG_HISTORY).read_text()) == [
        {"step": 0, "topology": one},
        {"step": 8, "topology": four},
    ]
    assert [record.getMessage() for record in caplog.records] == [
        "Resumed at step 8 on mirrored (replicas 4, workers 1); until then it trained on default (replicas 1, workers 1)."
    ]


@pytest.mark.parametrize("case", ["vanilla", pytest.param("dcgan", marks=pytest.mark.slow)])  # dcgan: 40 s of CPU
@pytest.mark.parametrize("run", ["to_more_replicas", "to_fewer_replicas"])
def test_a_run_resumed_on_another_number_of_replicas_ends_with_the_weights_of_an_uninterrupted_one(
    elastic_config, elastic_runs, case, run
):
    workdir, resumed = elastic_runs(case)[run]
    assert_same_weights_as(saved_weights(resumed), elastic_runs(case)["straight"][1])
    one, two = topology("default", 1), topology("mirrored", 2)
    before, after = (one, two) if run == "to_more_replicas" else (two, one)
    k = elastic_config(case)[1]
    assert yaml.safe_load((workdir / workdirs.CONFIG_HISTORY).read_text()) == [
        {"step": 0, "topology": before},
        {
            "step": k,
            "topology": after,
            "changed": {"train.steps": [k, 2 * k], "runtime.strategy": [before["strategy"], after["strategy"]]},
        },
    ]


@pytest.mark.slow  # about 30 s of CPU: two worker processes, then the resume
def test_a_multi_worker_run_resumed_on_one_process_ends_with_the_weights_of_an_uninterrupted_one(
    tmp_path, free_ports, elastic_config, elastic_runs, caplog
):
    (path, k), workdir = elastic_config("vanilla"), tmp_path / "run"
    train_workers(free_ports, path, f"multi_worker:{k}", [workdir] * 2, [tmp_path / f"worker{i}.npz" for i in range(2)])
    caplog.set_level(logging.INFO, logger="absl")
    gan, _ = training.train(config.load(str(path), ["runtime.strategy=default"]), workdir, verbose=0)
    weights = gan.generator.get_weights() + gan.discriminator.get_weights() + gan.ema_generator.get_weights()
    assert_same_weights_as(weights, elastic_runs("vanilla")["straight"][1])
    messages = [record.getMessage() for record in caplog.records]
    assert any("runtime.strategy multi_worker -> default" in message for message in messages), messages
    assert (
        f"Resumed at step {k} on default (replicas 1, workers 1); until then it trained on multi_worker "
        "(replicas 2, workers 2)."
    ) in messages
    history = yaml.safe_load((workdir / workdirs.CONFIG_HISTORY).read_text())
    assert [(entry["step"], entry["topology"]) for entry in history] == [
        (0, topology("multi_worker", 2, 2)),
        (k, topology("default", 1)),
    ]

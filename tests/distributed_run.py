"""Trains configs for a few steps under strategies, resuming a workdir on another one, and saves the weights and
metrics.

Each run trains a config in its workdir in phases, `STRATEGY[:STEPS]` separated by commas: the first trains from
scratch (or resumes what the workdir holds), each next one resumes on its strategy to its number of steps (default:
the config's `train.steps`). `mirrored` splits the CPU into 2 logical devices; `multi_worker` is one worker of a
cluster that the test describes in TF_CONFIG.

Run by tests/test_distribute.py in a subprocess: logical devices must be configured before TensorFlow
initialises, once per process, and one process trains every run it is given (TensorFlow starts once).

    python tests/distributed_run.py --run CONFIG PHASES WORKDIR OUTPUT.npz [--run ...] [--set KEY=VALUE ...]
"""

import argparse

import tensorflow as tf

parser = argparse.ArgumentParser()
parser.add_argument("--run", nargs=4, action="append", required=True, metavar=("CONFIG", "PHASES", "WORKDIR", "OUTPUT"))
parser.add_argument("--set", action="append", default=[], dest="overrides")
args = parser.parse_args()
runs = [
    (name, [phase.split(":") for phase in phases.split(",")], workdir, output)
    for name, phases, workdir, output in args.run
]
# Two devices for mirrored; multi_worker runs one device per process, with TF_CONFIG set by the test.
if any(strategy == "mirrored" for _, phases, *_ in runs for strategy, *_ in phases):
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

import numpy as np  # noqa: E402

from tfgan_zoo import config, paths, training  # noqa: E402

tf.config.experimental.enable_op_determinism()
for name, phases, workdir, output in runs:
    for strategy, *steps in phases:
        overrides = [*args.overrides, f"runtime.strategy={strategy}", *(f"train.steps={n}" for n in steps)]
        gan, history = training.train(config.load(paths.config_path(name), overrides), workdir, verbose=0)
    weights = gan.generator.get_weights() + gan.discriminator.get_weights()
    if gan.ema_generator is not None:
        weights += gan.ema_generator.get_weights()
    np.savez(output, *weights, **{f"metric_{k}": np.asarray(v) for k, v in history.history.items()})

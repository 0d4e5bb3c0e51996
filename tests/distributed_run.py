"""Trains a zoo config for a few steps under a strategy and saves the weights and metrics.

`mirrored` splits the CPU into 2 logical devices; `multi_worker` is one worker of a cluster that the
test describes in TF_CONFIG.

Run by tests/test_distribute.py in a subprocess: logical devices must be configured before TensorFlow
initialises, once per process.

    python tests/distributed_run.py OUTPUT.npz CONFIG STRATEGY [override ...]
"""

import sys

import tensorflow as tf

if sys.argv[3] == "mirrored":  # multi_worker runs one device per process, with TF_CONFIG set by the test
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

import numpy as np  # noqa: E402

from tfgan_zoo import config, paths, training  # noqa: E402

output, name, strategy, *overrides = sys.argv[1:]
tf.config.experimental.enable_op_determinism()
cfg = config.load(paths.config_path(name), [f"runtime.strategy={strategy}", *overrides])
gan, history = training.train(cfg, output + ".workdir", verbose=0)
weights = gan.generator.get_weights() + gan.discriminator.get_weights()
if gan.ema_generator is not None:
    weights += gan.ema_generator.get_weights()
np.savez(output, *weights, **{f"metric_{k}": np.asarray(v) for k, v in history.history.items()})

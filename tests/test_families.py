"""Every registered network family, unconditional and conditional, through what the zoo does with a GAN: build
from a zoo config, a training step, finite metrics, the `.keras` round trip, `predict`, and an export that meets
the serving contract. A family is tested by being registered: one missing from `ZOO_CONFIGS`, or from the tiny
overrides of tests/conftest.py, fails here."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfgan_zoo import export, networks, training

# The zoo configs each family is tested on: (unconditional, conditional), made so by `model.conditional`.
ZOO_CONFIGS = {
    "vanilla": ("vanilla_ring8", "vanilla_ring8"),  # ring8's labels are the modes
    "dcgan": ("dcgan_digits", "cgan_digits"),
    "progressive": ("pggan_digits", "pggan_digits"),
    "timeseries": ("cgan_lightcurves", "cgan_lightcurves"),
}


@pytest.mark.parametrize("conditional", [False, True], ids=["unconditional", "conditional"])
@pytest.mark.parametrize("family", networks.FAMILIES)
def test_family(family, conditional, tiny_config, check_entry, tmp_path):
    if family not in ZOO_CONFIGS:
        pytest.fail(
            f"model.family {family} is registered but not tested: add its zoo configs to ZOO_CONFIGS in "
            "tests/test_families.py, and its tiny overrides to TINY in tests/conftest.py."
        )
    # Unconditional also drops the continuous conditions (the light curves' amplitude and period, and what the
    # networks read from the period with them).
    unconditioned = ["model.conditions=[]", "model.period_condition=''", "model.period_inputs=[phase]"]
    overrides = [f"model.conditional={str(conditional).lower()}"] + ([] if conditional else unconditioned)
    cfg = tiny_config(ZOO_CONFIGS[family][conditional], "train.steps=1", "train.steps_per_epoch=1", *overrides)
    assert cfg.model.family == family
    gan, history = training.train(cfg, tmp_path / "run", verbose=0)
    assert bool(gan.num_classes) == conditional and int(gan.step.numpy()) == 1
    assert {"d_loss", "g_loss"} <= history.history.keys()
    assert all(math.isfinite(value) for values in history.history.values() for value in values), history.history

    labels = np.arange(4) % gan.num_classes if conditional else None
    conditions = {name: sum(bounds) / 2 for name, bounds in gan.conditions.items()}
    samples = gan.sample(4, seed=3, labels=labels, conditions=conditions)
    loaded = keras.models.load_model(tmp_path / "run" / "gan.keras")
    np.testing.assert_array_equal(loaded.sample(4, seed=3, labels=labels, conditions=conditions), samples)
    # `predict` is Keras' way to sample: the inference (EMA) generator, on inputs as `generate` makes them.
    z, labels, conditions = gan.checked_inputs(gan.latent(4, tf.constant([3, 0], tf.int64)), labels, conditions)
    np.testing.assert_allclose(
        gan.predict(gan._generator_inputs(z, labels, **conditions), verbose=0), samples, atol=1e-5
    )

    export.export(tmp_path / "run", tmp_path / "entry")
    check_entry(tmp_path / "entry", fresh_process=False)

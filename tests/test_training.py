"""Training from a config: the workdir's outputs, exact resume, and the errors that protect a run."""

import keras
import numpy as np
import pytest

from tfgan_zoo import build, config, data, paths, training


def test_a_run_writes_its_outputs(tmp_path, tiny_config):
    gan, history = training.train(tiny_config("vanilla_ring8", "train.steps=4"), tmp_path, verbose=0)
    for name in ["config.yaml", "history.csv", "samples.png", "losses.png", "gan.keras", "checkpoints/checkpoint"]:
        assert (tmp_path / name).exists(), name
    assert len(list((tmp_path / "samples").glob("step_*.png"))) == 2
    assert list((tmp_path / "logs").rglob("events.out.tfevents.*"))
    assert {"modes_covered", "high_quality", "reverse_kl", "spread"} <= set(history.history)
    assert int(gan.step.numpy()) == 4


def test_resumed_run_ends_with_the_weights_of_an_uninterrupted_one(tmp_path, tiny_config, assert_same_weights):
    straight, _ = training.train(tiny_config("vanilla_ring8", "train.steps=6"), tmp_path / "straight", verbose=0)
    training.train(tiny_config("vanilla_ring8", "train.steps=2"), tmp_path / "resumed", verbose=0)
    resumed, _ = training.train(tiny_config("vanilla_ring8", "train.steps=6"), tmp_path / "resumed", verbose=0)
    assert int(resumed.step.numpy()) == 6
    assert int(resumed.d_optimizer.iterations.numpy()) == 12
    assert_same_weights(straight, resumed, rtol=1e-5, atol=1e-6)
    rows = (tmp_path / "resumed" / "history.csv").read_text().strip().splitlines()
    assert len(rows) == 1 + 3  # header + one row per epoch across both invocations


def test_a_workdir_refuses_a_different_config(tmp_path, tiny_config):
    training.train(tiny_config("vanilla_ring8", "train.steps=2"), tmp_path, verbose=0)
    with pytest.raises(config.ConfigError, match=r"different config \(changed: train\.loss\)"):
        training.train(tiny_config("vanilla_ring8", "train.steps=2", "train.loss=least_squares"), tmp_path, verbose=0)
    assert (tmp_path / "checkpoints" / "checkpoint").exists()


def test_steps_must_fill_whole_epochs(tmp_path, tiny_config):
    with pytest.raises(
        config.ConfigError, match=r"train\.steps \(3\) must be a multiple of train\.steps_per_epoch \(2\)"
    ):
        training.train(tiny_config("vanilla_ring8", "train.steps=3"), tmp_path, verbose=0)


def test_unknown_family_and_schedule(tmp_path, tiny_config):
    with pytest.raises(config.ConfigError, match="Unknown model.family 'vanila'"):
        training.train(tiny_config("vanilla_ring8", "train.steps=2", "model.family=vanila"), tmp_path / "a", verbose=0)
    with pytest.raises(config.ConfigError, match="Unknown train.lr_schedule 'cosine'"):
        training.train(
            tiny_config("vanilla_ring8", "train.steps=2", "train.lr_schedule=cosine"), tmp_path / "b", verbose=0
        )


def test_linear_decay_reaches_zero_at_the_last_step(tmp_path, tiny_config):
    cfg = tiny_config("vanilla_ring8", "train.steps=4", "train.lr_schedule=linear_decay")
    gan, _ = training.train(cfg, tmp_path, verbose=0)
    assert float(gan.g_optimizer.learning_rate) == pytest.approx(0.0)
    assert float(gan.d_optimizer.learning_rate) == pytest.approx(0.0)


def test_linear_decay_ends_at_the_final_fraction(tmp_path, tiny_config):
    cfg = tiny_config(
        "vanilla_ring8",
        "train.steps=4",
        "train.lr_schedule=linear_decay",
        "train.final_lr_fraction=0.25",
        "train.g_learning_rate=0.001",
        "train.d_learning_rate=0.002",
    )
    gan, _ = training.train(cfg, tmp_path, verbose=0)
    assert float(gan.g_optimizer.learning_rate) == pytest.approx(0.00025)
    assert float(gan.d_optimizer.learning_rate) == pytest.approx(0.0005)
    with pytest.raises(config.ConfigError, match=r"final_lr_fraction = 1.5 is out of range: it must be in \[0, 1\]"):
        training.train(tiny_config("vanilla_ring8", "train.final_lr_fraction=1.5"), tmp_path / "b", verbose=0)


def _first_step(precision):
    """A DCGAN on digits after one update in `precision`, and that update's logs."""
    cfg = config.load(
        paths.config_path("dcgan_digits"),
        ["runtime.jit_compile=false", f"runtime.precision={precision}", "model.channels=8", "data.batch_size=32"],
    )
    source = build.load_source(cfg)
    gan = build.compile_gan(build.build_gan(cfg, source.x.shape[1:]), cfg)
    history = gan.fit(data.make_dataset(source.x, 32), steps_per_epoch=1, epochs=1, verbose=0)
    return gan, {name: values[0] for name, values in history.history.items()}


def test_mixed_precision_computes_in_half_precision_with_float32_weights_and_outputs():
    full, full_logs = _first_step("float32")
    for precision, half in [("mixed_bfloat16", "bfloat16"), ("mixed_float16", "float16")]:
        gan, logs = _first_step(precision)
        convs = [layer for layer in gan.generator.layers if isinstance(layer, keras.layers.Conv2DTranspose)]
        assert convs and all(layer.compute_dtype == half for layer in convs)
        assert all(weight.dtype == "float32" for weight in gan.generator.weights + gan.ema_generator.weights)
        samples = gan.sample(16, seed=1)
        assert samples.dtype == np.float32
        # Same initial weights: the half-precision samples are the float32 ones up to rounding, not equal.
        difference = np.abs(samples - full.sample(16, seed=1)).max()
        assert 0 < difference < 0.1, precision
        # float16's loss scaling is undone: the reported gradient norms are the float32 ones up to rounding.
        for name in ["d_grad_norm", "g_grad_norm", "d_loss"]:
            assert logs[name] == pytest.approx(full_logs[name], rel=0.05), (precision, name)
    assert isinstance(gan.g_optimizer, keras.optimizers.LossScaleOptimizer)


def test_unknown_precision(tmp_path, tiny_config):
    with pytest.raises(
        config.ConfigError, match="runtime.precision must be one of 'auto', .*'mixed_bfloat16'.*got 'bfloat16'"
    ):
        training.train(tiny_config("vanilla_ring8", "train.steps=2", "runtime.precision=bfloat16"), tmp_path, verbose=0)


def test_pack_must_divide_the_batch_and_suits_the_vanilla_family(tmp_path, tiny_config, zoo_config):
    with pytest.raises(config.ConfigError, match=r"data.batch_size \(64\) must be a multiple of model.pack \(3\)"):
        training.train(tiny_config("vanilla_ring8", "train.steps=2", "model.pack=3"), tmp_path / "a", verbose=0)
    with pytest.raises(config.ConfigError, match=r"model.pack \(2\) is an option of the vanilla family, not dcgan"):
        build.build_gan(zoo_config("dcgan_digits", ["model.pack=2"]), (8, 8, 1))
    assert not (tmp_path / "a" / "checkpoints").exists()


def test_batch_norm_in_d_is_turned_off_under_a_gradient_penalty_or_r1(tmp_path, caplog, zoo_config):
    # 16x16 digits: D has two stride-2 convolutions, the second followed by batch norm.
    overrides = [
        "runtime.jit_compile=false",
        "model.channels=8",
        "data.batch_size=32",
        "data.num_examples=256",
        "data.params={pad_to: 16}",
        "train.steps=2",
        "train.steps_per_epoch=2",
        "health.enabled=false",
    ]
    cfg = zoo_config("dcgan_digits", overrides + ["train.r1=0.1"])

    def batch_norms(gan):
        return [layer for layer in gan.discriminator.layers if isinstance(layer, keras.layers.BatchNormalization)]

    gan, _ = training.train(cfg, tmp_path, verbose=0)
    assert not batch_norms(gan)
    assert config.load(str(tmp_path / "config.yaml")).model.batch_norm is False
    assert any("model.batch_norm is turned off" in r.getMessage() for r in caplog.records)
    cfg.train.steps = 4
    assert int(training.train(cfg, tmp_path, verbose=0)[0].step.numpy()) == 4  # resumes with the resolved config
    gp = zoo_config("dcgan_digits", ["train.gradient_penalty=10.0"])
    assert not build.resolve(gp).model.batch_norm and gp.model.batch_norm  # a copy
    plain = zoo_config("dcgan_digits")
    assert build.resolve(plain) == plain
    assert len(batch_norms(build.build_gan(plain, (16, 16, 1)))) == 1


def test_packing_is_refused_with_a_gradient_penalty_or_r1(tmp_path, tiny_config):
    for penalty in ["train.r1=0.1", "train.gradient_penalty=10.0"]:
        key = penalty.split("=")[0]
        with pytest.raises(
            config.ConfigError,
            match=rf"model\.pack \(2\) does not work with {key}: .* per "
            rf"sample, not per pack\. Set model\.pack=1 or {key}=0\.",
        ):
            training.train(
                tiny_config("vanilla_ring8", "train.steps=2", "model.pack=2", penalty), tmp_path / "run", verbose=0
            )
    assert not (tmp_path / "run").exists()

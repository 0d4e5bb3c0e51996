"""`runtime.jit_compile` and `runtime.precision`: `auto` is the fastest setting for the device at hand, resolved once."""

import logging

import keras
import pytest
import yaml

from tfgan_zoo import build, config, evaluation, runtime, training


@pytest.mark.parametrize(
    "flags, strategy, kind",
    [
        ({"avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile"}, "default", "cpu_amx"),
        ({"avx2", "avx512f", "avx512_bf16"}, "default", "cpu_avx512_bf16"),
        ({"avx2", "fma"}, "default", "cpu"),
        (set(), "default", "cpu"),
        ({"avx2"}, "tpu", "tpu"),
    ],
)
def test_the_device_kind_follows_the_cpu_flags_and_the_strategy(flags, strategy, kind):
    assert runtime.device_kind(strategy, flags) == kind


def test_the_cpu_flags_are_read_from_cpuinfo(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu avx2 avx512_bf16\nbugs\t\t: none\n")
    assert runtime.cpu_flags(cpuinfo) == {"fpu", "avx2", "avx512_bf16"}
    assert runtime.cpu_flags(tmp_path / "missing") == set()


def test_auto_takes_the_fastest_setting_and_explicit_values_win():
    auto = config.RuntimeConfig()
    assert (auto.jit_compile, auto.precision) == ("auto", "auto")
    for kind, fastest in runtime.FASTEST.items():
        assert runtime.resolve(auto, kind) == fastest
    explicit = config.RuntimeConfig(jit_compile=True, precision="float32")
    assert runtime.resolve(explicit, "cpu_amx") == (True, "float32")


def test_a_resumed_run_keeps_the_settings_it_began_with_on_another_machine(tmp_path, tiny_config, monkeypatch, caplog):
    caplog.set_level(logging.INFO, logger="absl")
    cfg = tiny_config("vanilla_ring8", "train.steps=2")
    cfg.runtime.jit_compile = cfg.runtime.precision = "auto"  # what a user's config says
    monkeypatch.setattr(runtime, "device_kind", lambda strategy="default", flags=None: "cpu_avx512_bf16")
    training.train(cfg, tmp_path, verbose=0)
    saved = yaml.safe_load((tmp_path / "config.yaml").read_text())["runtime"]
    assert (saved["jit_compile"], saved["precision"]) == (False, "mixed_bfloat16")
    # The run moves to a GPU machine, whose setting is float16: it continues in bfloat16.
    monkeypatch.setattr(runtime, "device_kind", lambda strategy="default", flags=None: "gpu")
    cfg.train.steps = 4
    gan, _ = training.train(cfg, tmp_path, verbose=0)
    dense = [layer for layer in gan.generator.layers if isinstance(layer, keras.layers.Dense)]
    assert int(gan.step.numpy()) == 4 and dense and all(layer.compute_dtype == "bfloat16" for layer in dense)
    assert "runtime.precision: mixed_bfloat16, as the run began; on this gpu it would be mixed_float16" in caplog.text
    # A new run on that machine takes float16.
    assert build.resolve(cfg).runtime.precision == "mixed_float16"


@pytest.mark.parametrize(
    "override, message",
    [
        ("runtime.precision=bf16", r"runtime.precision must be one of 'auto', 'float32', .* got 'bf16'"),
        ("runtime.jit_compile=sometimes", r"runtime.jit_compile must be of type bool.* Or: .*one of 'auto'"),
    ],
)
def test_unknown_runtime_settings_are_refused(override, message):
    with pytest.raises(config.ConfigError, match=message):
        config.from_dict({"runtime": dict([override.removeprefix("runtime.").split("=")])})


@pytest.mark.slow
def test_bfloat16_training_reaches_the_quality_of_float32(tmp_path, zoo_config):
    """The evidence that lets `auto` pick bfloat16 on CPUs with native bf16: a small ring8 run in each precision,
    same seed and data, covers every mode with as many high-quality samples."""
    small = ["model.generator_units=[256, 256, 256]", "train.steps=3000", "data.num_examples=20000"]
    reports = {}
    for precision in ("float32", "mixed_bfloat16"):
        cfg = zoo_config("vanilla_ring8", small + [f"runtime.precision={precision}"])
        gan, _ = training.train(cfg, tmp_path / precision, verbose=0)
        reports[precision] = evaluation.evaluate(gan, build.load_source(cfg), build.load_source(cfg, "test"))["values"]
    fp32, bf16 = reports["float32"], reports["mixed_bfloat16"]
    assert fp32["modes_covered"] == bf16["modes_covered"] == 8
    assert bf16["high_quality"] == pytest.approx(fp32["high_quality"], abs=0.05)

"""The fastest way to run on the machine at hand: what `runtime.jit_compile: auto` and `runtime.precision: auto` mean.

`auto` is resolved once, when a run starts, from the kind of device (`device_kind`) by the rule in `FASTEST`, and the
resolved values are what the workdir's `config.yaml` and the model card keep: a resumed run reuses them on any
machine, so it continues exactly. The CPU rows were measured with `tools/benchmark.py` on the dcgan_fashion_mnist
networks (docs/performance.md); the GPU and TPU rows follow TensorFlow's and Keras's guidance and were not measured
on the zoo's machines.
"""

import pathlib

import tensorflow as tf

# device kind -> (jit_compile, precision)
FASTEST = {
    # bfloat16 ran 1.7x float32 with oneDNN's AMX kernels (Intel Xeon) and 1.2-1.3x with AVX512-BF16 (AMD EPYC
    # Zen 4), both without XLA, and costs no quality: dcgan_fashion_mnist at 8,000 steps reached FD 34.3 in bf16
    # against 33.4-36.5 over the float32 seeds (docs/performance.md; tests/test_runtime.py checks a small run).
    # XLA cost 20% (Xeon) and 20-36% (Zen 4).
    "cpu_amx": (False, "mixed_bfloat16"),
    "cpu_avx512_bf16": (False, "mixed_bfloat16"),
    # AVX2 only (AMD EPYC before Zen 4): XLA paid 7-12%, bf16 ran at fp32 speed.
    "cpu": (True, "float32"),
    # Not measured here: XLA and float16 tensor cores (loss-scaled), as TensorFlow's mixed-precision guide advises.
    "gpu": (True, "mixed_float16"),
    # Not measured here: TPUs compute in bfloat16 and always compile with XLA.
    "tpu": (True, "mixed_bfloat16"),
}


def cpu_flags(cpuinfo="/proc/cpuinfo"):
    """The CPU's feature flags (empty where `/proc/cpuinfo` cannot be read)."""
    path = pathlib.Path(cpuinfo)
    if not path.exists():
        return set()
    for line in path.read_text().splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return set()


def device_kind(strategy="default", flags=None):
    """A key of `FASTEST` for the devices that `runtime.strategy` would train on here."""
    if strategy == "tpu":
        return "tpu"
    if tf.config.list_physical_devices("GPU"):
        return "gpu"
    flags = cpu_flags() if flags is None else flags
    if "amx_bf16" in flags:
        return "cpu_amx"
    return "cpu_avx512_bf16" if "avx512_bf16" in flags else "cpu"


def resolve(runtime_config, kind=None):
    """`(jit_compile, precision)` of `runtime_config` with each `auto` replaced by the fastest setting for `kind`
    (default: this machine's `device_kind`, looked up only when a setting is `auto`). Explicit values stay."""
    settings = (runtime_config.jit_compile, runtime_config.precision)
    if "auto" not in settings:
        return settings
    fastest = FASTEST[kind or device_kind(runtime_config.strategy)]
    return tuple(best if setting == "auto" else setting for setting, best in zip(settings, fastest))

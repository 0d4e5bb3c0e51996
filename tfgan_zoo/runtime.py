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
    # bfloat16 is not a default on any CPU until bf16 and fp32 runs are shown to reach the same quality: it ran
    # 1.7x fp32 with oneDNN's AMX kernels (Intel Xeon) and 1.31x with AVX512-BF16 (AMD EPYC Zen 4), both without
    # XLA; `runtime.precision: mixed_bfloat16` asks for it.
    # Intel Xeon with AMX: XLA cost 20% in fp32.
    "cpu_amx": (False, "float32"),
    # AVX512-BF16 without AMX (AMD EPYC Zen 4): XLA cost 36% in fp32 (498 vs 776 images/s).
    "cpu_avx512_bf16": (False, "float32"),
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

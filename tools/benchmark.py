"""Training and serving speed of tfgan-zoo against the keras.io loop and PyTorch, side by side in one run.

    python tools/benchmark.py                               # ~25 minutes on 2 cores
    python tools/benchmark.py --repeats 1 --families= --entry=

Every variant trains the networks of one zoo config (default `dcgan_fashion_mnist`: same shapes, batch size,
losses and Adam settings) on the same images held in memory, each in its own subprocess so that its peak
memory is its own. Variants run interleaved, `--repeats` times each, and the medians are compared, because
a ratio is only trusted when both sides saw the same machine at the same time:

- `keras`: the keras.io DCGAN recipe as keras.io writes it: a `keras.Model` whose `train_step` makes one D step
  on a real and a fake batch and one G step with `tf.GradientTape`, no EMA, no extra metrics, compiled with
  Keras's default `jit_compile` (XLA off on a CPU), fed by `from_tensor_slices().shuffle().batch().prefetch()`;
- `train`: `tfgan-zoo train` itself, on the config with every default callback (health, pictures, metrics,
  history, TensorBoard, checkpoints), for `--train_epochs` epochs; its images/s count from the end of the first
  epoch to the end of the run, so start-up, tracing and data loading are out and every epoch-end job is in;
- `zoo`: the bare `fit` step of `tfgan_zoo.GAN` at the defaults (`runtime.*: auto`), and `zoo_*` at each pinned
  setting (SETTINGS); the fastest of them is "best";
- `torch`, `torch_bf16`: the same networks and steps in PyTorch (the `bench` extra), in float32 and under
  `torch.autocast(bfloat16)`; skipped when torch is missing;
- `family_*`: the bare step of other families at the defaults (FAMILIES): WGAN-GP's double backprop, a
  projection cGAN, progressive growing at each level from 4x4 to 32x32 (only the level in use runs), light
  curves; each with its counted FLOP/s as a fraction of the peak.

Then, once each: the machine's matmul peak in float32 and bfloat16 (2048x2048, the same TensorFlow), the input
pipelines alone, the serving latency of a shipped entry's SavedModel at batch 1 and 64 against its Keras generator
in a `tf.function`, and the wall time of its evaluation. The best setting's counted FLOP/s (2 per multiply-add of
its convolutions and dense layers, a backward pass counted as twice its forward) over the peak at its precision
is `peak_fraction`. Ends with

    RESULT train_vs_keras=<x> default_vs_best=<x> best_vs_torch=<x> loop_overhead=<x> peak_fraction=<x>
    serving64_vs_keras=<x>

(train = `tfgan-zoo train`'s images/s; keras = the keras.io loop as written; best = the fastest zoo setting;
torch at that setting's precision; loop_overhead = 1 - train / the bare step at the same settings). A `--variants`
subset gives the ratios whose both sides it ran.
"""

import dataclasses
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time

from absl import app, flags

flags.DEFINE_string("config", "dcgan_fashion_mnist", "Zoo config whose networks and batch size are timed.")
flags.DEFINE_integer("steps", 60, "Timed training steps per repeat (after warm-up).")
flags.DEFINE_integer("warmup", 20, "Untimed steps first (tracing, XLA compilation, allocator warm-up).")
flags.DEFINE_integer("repeats", 3, "Interleaved repeats of every variant; medians are reported.")
flags.DEFINE_list(
    "variants", None, "Variants to run (default: keras, train, SETTINGS, torch when installed, FAMILIES)."
)
flags.DEFINE_string("worker", None, "Internal: run one variant in this process and print its figures as JSON.")
flags.DEFINE_string("output", None, "Also write the figures as JSON here.")
flags.DEFINE_string(
    "entry", "dcgan_fashion_mnist", "Shipped entry whose serving latency and evaluation are timed ('' skips both)."
)
flags.DEFINE_integer("eval_samples", 1000, "Samples of the timed evaluation.")
flags.DEFINE_integer("train_epochs", 3, "Epochs of the `train` variant (of the config's steps_per_epoch).")
flags.DEFINE_list("families", None, "Other families' variants to time (default: all of FAMILIES).")
FLAGS = flags.FLAGS

# The zoo's settings, each a list of config overrides: the default (`auto`) and every pinned combination.
SETTINGS = {
    "zoo": [],
    "zoo_fp32_xla": ["runtime.jit_compile=true", "runtime.precision=float32"],
    "zoo_fp32": ["runtime.jit_compile=false", "runtime.precision=float32"],
    "zoo_bf16_xla": ["runtime.jit_compile=true", "runtime.precision=mixed_bfloat16"],
    "zoo_bf16": ["runtime.jit_compile=false", "runtime.precision=mixed_bfloat16"],
}
# Other families, at the default settings: (zoo config, overrides).
FAMILIES = {
    "family_wgan_gp": ("dcgan_fashion_mnist", ["train.loss=wasserstein", "train.gradient_penalty=10.0"]),
    "family_cgan_projection": ("cgan_fashion_mnist", []),
    **{f"family_progressive_{4 * 2**level}": ("pggan_fashion_mnist", []) for level in range(4)},
    "family_timeseries": ("cgan_lightcurves", []),
}
# The progressive variants' level (stable), set before the bare step: no growth callback runs there.
GROWTH_LEVELS = {f"family_progressive_{4 * 2**level}": level for level in range(4)}


def _images(cfg):
    from tfgan_zoo import build

    source = build.load_source(cfg)
    return source.x[:10_000]  # the same first 10,000 images for every variant: the timed loop never needs more


class _StepClock:
    """Times the steps after warm-up; with `steps_per_execution` Keras reports every k steps, hence the counts."""

    def __init__(self):
        self.marks = []

    def callback(self, keras):
        marks = self.marks

        class Clock(keras.callbacks.Callback):
            def on_train_batch_end(self, batch, logs=None):
                marks.append((batch + 1, time.perf_counter()))

        return Clock()

    def images_per_second(self, warmup, batch_size):
        start = next(mark for mark in self.marks if mark[0] >= warmup)
        steps, seconds = self.marks[-1][0] - start[0], self.marks[-1][1] - start[1]
        return steps * batch_size / seconds


def _pipelines(x, batch_size, seed):
    """The zoo's stateless input pipeline and the keras.io one, over the same images."""
    import tensorflow as tf

    from tfgan_zoo import data

    keras_io = tf.data.Dataset.from_tensor_slices(x).shuffle(len(x)).repeat().batch(batch_size, drop_remainder=True)
    return {"zoo": data.make_dataset(x, batch_size, seed=seed), "keras": keras_io.prefetch(tf.data.AUTOTUNE)}


def _keras_baseline(cfg, generator, discriminator):
    import keras
    import tensorflow as tf

    bce = keras.losses.BinaryCrossentropy(from_logits=True)

    class KerasIoGAN(keras.Model):
        def __init__(self):
            super().__init__()
            self.generator, self.discriminator = generator, discriminator

        def compile(self, d_optimizer, g_optimizer):
            super().compile()  # as keras.io writes it: Keras's default jit_compile ("auto": no XLA on a CPU)
            self.d_optimizer, self.g_optimizer = d_optimizer, g_optimizer

        def train_step(self, real):
            z = tf.random.normal((tf.shape(real)[0], cfg.model.latent_dim))
            with tf.GradientTape() as tape:
                real_logits = self.discriminator(real, training=True)
                fake_logits = self.discriminator(self.generator(z, training=True), training=True)
                d_loss = bce(tf.ones_like(real_logits), real_logits) + bce(tf.zeros_like(fake_logits), fake_logits)
            grads = tape.gradient(d_loss, self.discriminator.trainable_weights)
            self.d_optimizer.apply_gradients(zip(grads, self.discriminator.trainable_weights))
            z = tf.random.normal((tf.shape(real)[0], cfg.model.latent_dim))
            with tf.GradientTape() as tape:
                fake_logits = self.discriminator(self.generator(z, training=True), training=True)
                g_loss = bce(tf.ones_like(fake_logits), fake_logits)
            grads = tape.gradient(g_loss, self.generator.trainable_weights)
            self.g_optimizer.apply_gradients(zip(grads, self.generator.trainable_weights))
            return {"d_loss": d_loss, "g_loss": g_loss}

    return KerasIoGAN()


def _run_tensorflow(variant, cfg_name, overrides):
    """Images/s of the bare `fit` step: the keras.io loop, or the zoo's GAN with `overrides` of the config."""
    import keras

    from tfgan_zoo import build, data, networks, paths
    from tfgan_zoo import config as config_lib
    from tfgan_zoo.networks import progressive

    cfg = build.resolve(config_lib.load(paths.config_path(cfg_name), overrides or []))
    source = build.load_source(cfg)
    x = source.x[:10_000]  # the same first 10,000 examples for every variant: the timed loop never needs more
    batch_size, steps = cfg.data.batch_size * cfg.train.d_steps, FLAGS.warmup + FLAGS.steps
    if variant == "keras":
        keras.utils.set_random_seed(cfg.train.seed)
        generator, discriminator = networks.family(cfg.model, "images").build(cfg.model, x.shape[1:], 0)
        model = _keras_baseline(cfg, generator, discriminator)
        t = cfg.train
        model.compile(
            keras.optimizers.Adam(t.d_learning_rate, beta_1=t.beta_1, beta_2=t.beta_2),
            keras.optimizers.Adam(t.g_learning_rate, beta_1=t.beta_1, beta_2=t.beta_2),
        )
        dataset = _pipelines(x, batch_size, cfg.train.seed)["keras"]
    else:
        model = build.compile_gan(
            build.build_gan(cfg, x.shape[1:], source.num_classes, source.metadata.get("condition_ranges")), cfg
        )
        if variant in GROWTH_LEVELS:
            progressive.set_growth(model, GROWTH_LEVELS[variant], 1.0)
        subset = dataclasses.replace(
            source,
            x=x,
            y=None if source.y is None else source.y[: len(x)],
            conditions={name: values[: len(x)] for name, values in source.conditions.items()},
        )
        dataset = data.make_dataset(
            subset, batch_size, seed=cfg.train.seed, labels=bool(model.num_classes), conditions=tuple(model.conditions)
        )
    clock = _StepClock()
    model.fit(dataset, epochs=1, steps_per_epoch=steps, verbose=0, callbacks=[clock.callback(keras)])
    figures = {"images_per_s": clock.images_per_second(FLAGS.warmup, batch_size)}
    if variant != "keras":
        figures["runtime"] = [cfg.runtime.jit_compile, cfg.runtime.precision]
        figures["flops_per_image"] = _flops_per_image(model)
    return figures


def _forward_flops(network):
    """FLOPs of one example's forward pass through `network`: 2 per multiply-add of its dense and conv layers;
    of a progressive network's growing part, the convolutions of the levels in use."""
    import keras

    from tfgan_zoo.networks import progressive

    total = 0
    for layer in network._flatten_layers(include_self=False):
        if isinstance(layer, progressive.GrowingLayer):
            total += _growing_flops(layer)
            continue
        layer = getattr(layer, "layer", layer)  # a wrapper's (SpectralNormalization) inner layer
        kernel = getattr(layer, "kernel", None)
        if kernel is None or not hasattr(layer, "output"):
            continue
        out = layer.output.shape[1:-1]
        if isinstance(layer, keras.layers.Conv2DTranspose):
            out = layer.input.shape[1:-1]  # each input pixel meets the whole kernel
        positions = 1
        for size in out:
            positions *= size
        total += 2 * positions * int(kernel.numpy().size)
    return total


def _growing_flops(layer):
    """FLOPs of a progressive `GrowingLayer`'s convolutions at its level and below (their names end in the side)."""
    level = int(layer.level.numpy())
    total = 0
    for sublayer in layer._flatten_layers(include_self=False):
        side = int(sublayer.name.rsplit("_", 1)[1].split("x")[0])
        if side <= 4 * 2**level:
            total += 2 * side * side * int(sublayer.kernel.numpy().size)
    return total


def _flops_per_image(gan):
    """Counted FLOPs of a train step per real image: each D step runs G forward and D forward and backward on the
    real and the fake batch; the G step runs G forward and backward and D forward and back to its input only. A
    full backward pass counts twice its forward, one to the input only once."""
    g, d, k = _forward_flops(gan.generator), _forward_flops(gan.discriminator), gan.d_steps
    return (k * (g + 6 * d) + 3 * g + 2 * d) / k


def _run_train(cfg_name):
    """Images/s of `tfgan-zoo train` on the config with every default callback, from the end of its first epoch to
    the end of the run, read from the TensorBoard events it writes at each epoch end."""
    import tempfile

    import tensorflow as tf

    from tfgan_zoo import config as config_lib
    from tfgan_zoo import paths, training, workdirs

    cfg = config_lib.load(paths.config_path(cfg_name))
    cfg.train.steps = FLAGS.train_epochs * cfg.train.steps_per_epoch
    with tempfile.TemporaryDirectory() as workdir:
        training.train(cfg, workdir, verbose=0)
        resolved = workdirs.saved_config(workdir).runtime
        times = []
        for path in tf.io.gfile.glob(f"{workdir}/logs/train/events.out.tfevents.*"):
            for record in tf.data.TFRecordDataset(path):
                event = tf.compat.v1.Event.FromString(record.numpy())
                if any(value.tag == "epoch_d_loss" for value in event.summary.value):
                    times.append(event.wall_time)
    images = (FLAGS.train_epochs - 1) * cfg.train.steps_per_epoch * cfg.train.d_steps * cfg.data.batch_size
    return {"images_per_s": images / (max(times) - min(times)), "runtime": [resolved.jit_compile, resolved.precision]}


def _run_peak():
    """GFLOP/s of a 2048x2048 matmul in float32 and bfloat16, the machine's peak for dense math at each."""
    import tensorflow as tf

    figures = {}
    for dtype in ("float32", "bfloat16"):
        a = tf.random.normal([2048, 2048], dtype=tf.float32)
        a = tf.cast(a, dtype)
        matmul = tf.function(lambda x: tf.matmul(x, x))
        matmul(a).numpy()
        start, reps = time.perf_counter(), 20
        for _ in range(reps):
            result = matmul(a)
        result.numpy()
        figures[dtype] = 2 * 2048**3 * reps / (time.perf_counter() - start) / 1e9
    return figures


def _run_torch(cfg_name, precision="float32"):
    import numpy as np
    import torch
    from torch import nn

    from tfgan_zoo import config as config_lib
    from tfgan_zoo import paths
    from tfgan_zoo.networks import dcgan

    cfg = config_lib.load(paths.config_path(cfg_name))
    m, t = cfg.model, cfg.train
    if m.family != "dcgan" or m.conditional or m.upsampling != "transposed" or not m.batch_norm or m.spectral_norm:
        raise SystemExit(f"The PyTorch twin mirrors the unconditional transposed-conv DCGAN only, not {cfg_name}.")
    torch.manual_seed(t.seed)
    x = torch.from_numpy(np.ascontiguousarray(_images(cfg).transpose(0, 3, 1, 2)))
    size, ups = dcgan.start_size(x.shape[2])
    width = m.channels * 2**ups

    class Generator(nn.Module):  # mirrors networks.dcgan.generator
        def __init__(self):
            super().__init__()
            self.project = nn.Linear(m.latent_dim, size * size * width, bias=False)
            blocks, w = [nn.BatchNorm2d(width), nn.ReLU()], width
            for _ in range(ups):
                blocks += [nn.ConvTranspose2d(w, w // 2, 4, 2, 1, bias=False), nn.BatchNorm2d(w // 2), nn.ReLU()]
                w //= 2
            blocks += [nn.Conv2d(w, x.shape[1], 3, padding=1), nn.Tanh()]
            self.blocks = nn.Sequential(*blocks)

        def forward(self, z):
            return self.blocks(self.project(z).view(-1, size, size, width).permute(0, 3, 1, 2))

    layers, w, c = [], m.channels, x.shape[1]
    for i in range(ups):  # mirrors networks.dcgan.discriminator
        layers += [nn.Conv2d(c, w, 4, 2, 1)] + ([nn.BatchNorm2d(w)] if i > 0 else []) + [nn.LeakyReLU(0.2)]
        c, w = w, w * 2
    discriminator = nn.Sequential(*layers, nn.Flatten(), nn.Linear(c * size * size, 1))
    generator = Generator()
    d_opt = torch.optim.Adam(discriminator.parameters(), t.d_learning_rate, betas=(t.beta_1, t.beta_2))
    g_opt = torch.optim.Adam(generator.parameters(), t.g_learning_rate, betas=(t.beta_1, t.beta_2))
    bce = nn.BCEWithLogitsLoss()
    batch_size = cfg.data.batch_size

    # bfloat16 as the zoo's mixed precision: the forward passes under autocast, the weights and the losses float32.
    autocast = torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "mixed_bfloat16")

    def step(real):
        z = torch.randn(batch_size, m.latent_dim)
        with autocast:
            real_logits, fake_logits = discriminator(real), discriminator(generator(z).detach())
        real_logits, fake_logits = real_logits.float(), fake_logits.float()
        d_loss = bce(real_logits, torch.ones_like(real_logits)) + bce(fake_logits, torch.zeros_like(fake_logits))
        d_opt.zero_grad(set_to_none=True)
        d_loss.backward()
        d_opt.step()
        with autocast:
            fake_logits = discriminator(generator(torch.randn(batch_size, m.latent_dim))).float()
        g_loss = bce(fake_logits, torch.ones_like(fake_logits))
        g_opt.zero_grad(set_to_none=True)
        g_loss.backward()
        g_opt.step()

    order = torch.randperm(len(x))
    for i in range(FLAGS.warmup + FLAGS.steps):
        if i == FLAGS.warmup:
            start = time.perf_counter()
        start_index = (i * batch_size) % (len(x) - batch_size)
        step(x[order[start_index : start_index + batch_size]])
    return FLAGS.steps * batch_size / (time.perf_counter() - start)


def _latencies_ms(call, z, calls, warmup=10):
    for _ in range(warmup):
        call(z)
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        call(z)
        times.append((time.perf_counter() - start) * 1000)
    return times


def _percentiles(times):
    import numpy as np

    return {"p50_ms": float(np.percentile(times, 50)), "p99_ms": float(np.percentile(times, 99))}


def _run_data(cfg_name):
    """Images/s of the input pipelines alone: the zoo's stateless one and the keras.io shuffle-batch one."""
    from tfgan_zoo import config as config_lib
    from tfgan_zoo import paths

    cfg = config_lib.load(paths.config_path(cfg_name))
    batch_size, batches = cfg.data.batch_size, 2000
    figures = {}
    for name, dataset in _pipelines(_images(cfg), batch_size, cfg.train.seed).items():
        iterator = iter(dataset)
        next(iterator)
        start = time.perf_counter()
        for _ in range(batches):
            next(iterator)
        figures[name] = {"images_per_s": batches * batch_size / (time.perf_counter() - start)}
    return figures


def _run_serving(entry):
    """Latency of the entry's SavedModel signature, against its Keras generator called in a `tf.function`."""
    import keras
    import tensorflow as tf

    from tfgan_zoo import paths, zoo

    pretrained = zoo.load_pretrained(entry)
    serve = pretrained.saved_model.signatures["serving_default"]
    gan = keras.models.load_model(paths.resolve(entry) / "gan.keras")
    generator = gan.inference_generator
    keras_call = tf.function(lambda z: generator(z, training=False))
    figures = {}
    for batch, calls in [(1, 300), (64, 100)]:
        z = pretrained.latent(batch, tf.constant([0, 0], tf.int64))
        figures[f"batch_{batch}"] = {
            "saved_model": _percentiles(_latencies_ms(lambda z: serve(z=z)["samples"].numpy(), z, calls)),
            "keras": _percentiles(_latencies_ms(lambda z: keras_call(z).numpy(), z, calls)),
        }
    return figures


def _run_evaluation(entry):
    """Wall time of `tfgan-zoo evaluate`'s measurement (sampling, features, every metric and reference row)."""
    from tfgan_zoo import build, evaluation, paths, zoo

    _, cfg = evaluation.model_config(paths.resolve(entry))
    train, test = build.load_source(cfg, "train"), build.load_source(cfg, "test")
    start = time.perf_counter()
    report = evaluation.evaluate(zoo.load_pretrained(entry), train, test, num_samples=FLAGS.eval_samples)
    seconds = time.perf_counter() - start
    return {
        "num_samples": FLAGS.eval_samples,
        "rows": 1 + len(report["references"]),
        "seconds": seconds,
        "samples_per_s": FLAGS.eval_samples * (1 + len(report["references"])) / seconds,
    }


# Measured once per benchmark, after the training variants.
_ONCE = {
    "peak": _run_peak,
    "data": lambda: _run_data(FLAGS.config),
    "serving": lambda: _run_serving(FLAGS.entry),
    "evaluation": lambda: _run_evaluation(FLAGS.entry),
}


def _worker(variant):
    if variant in _ONCE:
        print(json.dumps({"variant": variant, **_ONCE[variant]()}))
        return
    if variant.startswith("torch"):
        figures = {"images_per_s": _run_torch(FLAGS.config, "mixed_bfloat16" if variant == "torch_bf16" else "float32")}
    elif variant == "train":
        figures = _run_train(FLAGS.config)
    elif variant in FAMILIES:
        figures = _run_tensorflow(variant, *FAMILIES[variant])
    else:
        figures = _run_tensorflow(variant, FLAGS.config, SETTINGS.get(variant))
    figures["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"variant": variant, **figures}))


def _spawn(variant):
    command = [
        sys.executable,
        __file__,
        f"--worker={variant}",
        f"--config={FLAGS.config}",
        f"--steps={FLAGS.steps}",
        f"--warmup={FLAGS.warmup}",
        f"--entry={FLAGS.entry}",
        f"--eval_samples={FLAGS.eval_samples}",
        f"--train_epochs={FLAGS.train_epochs}",
    ]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    if result.returncode:
        raise RuntimeError(f"variant {variant} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def _hardware():
    import multiprocessing

    model = next(
        (line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")),
        platform.processor(),
    )
    return f"{model}, {multiprocessing.cpu_count()} cores, {platform.system()} {platform.machine()}"


def _has_torch():
    import importlib.util

    return importlib.util.find_spec("torch") is not None


def _peak_at(peak, precision):
    """The matmul peak (GFLOP/s) at a variant's precision."""
    return peak["bfloat16" if precision == "mixed_bfloat16" else "float32"]


def _ratio_cell(value, baseline):
    """`value / baseline` as a report cell, `-` when the baseline was not run."""
    return f"{value / baseline:9.2f}" if baseline else f"{'-':>9}"


def main(argv):
    del argv
    if FLAGS.worker:
        return _worker(FLAGS.worker)
    torch = ["torch", "torch_bf16"] if _has_torch() else []
    families = list(FAMILIES) if FLAGS.families is None else FLAGS.families
    variants = FLAGS.variants or ["keras", "train", *SETTINGS, *torch, *families]
    runs = {variant: [] for variant in variants}
    for repeat in range(FLAGS.repeats):
        for variant in variants:
            runs[variant].append(_spawn(variant))
            print(
                f"repeat {repeat + 1}/{FLAGS.repeats} {variant}: {runs[variant][-1]['images_per_s']:.0f} images/s",
                flush=True,
            )
    medians = {
        v: {key: statistics.median(r[key] for r in rs) for key in ("images_per_s", "peak_rss_mb")}
        | {key: rs[0][key] for key in ("runtime", "flops_per_image") if key in rs[0]}
        for v, rs in runs.items()
    }
    speed = {v: m["images_per_s"] for v, m in medians.items()}
    print(
        f"\n{FLAGS.config}, batch from its config, {FLAGS.steps} timed steps after {FLAGS.warmup} (train: "
        f"{FLAGS.train_epochs} epochs), median of {FLAGS.repeats}; {_hardware()}"
    )
    print(f"{'variant':<24} {'jit, precision':<22} {'images/s':>9} {'vs keras':>9} {'peak MB':>8}")
    for variant, m in medians.items():
        runtime = ", ".join(map(str, m.get("runtime", ())))
        vs_keras = _ratio_cell(m["images_per_s"], speed.get("keras"))
        print(f"{variant:<24} {runtime:<22} {m['images_per_s']:9.0f} {vs_keras} {m['peak_rss_mb']:8.0f}")
    # A `--variants` subset reports the ratios whose both sides it ran.
    peak = _spawn("peak")
    result = {}
    if "keras" in speed and "train" in speed:
        result["train_vs_keras"] = speed["train"] / speed["keras"]
    best = max((v for v in SETTINGS if v in speed), key=speed.get, default=None)
    if best:
        precision = medians[best]["runtime"][1]
        result["peak_fraction"] = speed[best] * medians[best]["flops_per_image"] / 1e9 / _peak_at(peak, precision)
        if "zoo" in speed:
            result["default_vs_best"] = speed["zoo"] / speed[best]
        torch_variant = "torch_bf16" if precision == "mixed_bfloat16" else "torch"
        if torch_variant in speed:
            result["best_vs_torch"] = speed[best] / speed[torch_variant]
        print(
            f"best zoo setting: {best} ({precision}); {medians[best]['flops_per_image'] / 1e6:.1f} MFLOP per image, "
            f"matmul peak {peak['float32']:.0f} GFLOP/s float32, {peak['bfloat16']:.0f} bfloat16"
        )
    if "train" in speed:
        # The bare step at the settings `train` resolved to, for the loop's overhead.
        same = next(
            (v for v in SETTINGS if v in speed and medians[v]["runtime"] == medians["train"]["runtime"]),
            "zoo" if "zoo" in speed else None,
        )
        if same:
            result["loop_overhead"] = 1 - speed["train"] / speed[same]
    extra = {"families": {}}
    for variant in (v for v in families if v in medians):
        m = medians[variant]
        flops = m["images_per_s"] * m["flops_per_image"] / 1e9
        extra["families"][variant] = {
            "vs_dcgan": m["images_per_s"] / speed["zoo"] if "zoo" in speed else None,
            "peak_fraction": flops / _peak_at(peak, m["runtime"][1]),
        }
    if extra["families"]:
        print("\nOther families, bare step at the defaults (counted FLOPs leave out gradient penalties):")
        print(f"{'variant':<24} {'images/s':>9} {'vs dcgan':>9} {'MFLOP/image':>12} {'peak fraction':>14}")
        for variant, figures in extra["families"].items():
            m = medians[variant]
            print(
                f"{variant:<24} {m['images_per_s']:9.0f} {_ratio_cell(m['images_per_s'], speed.get('zoo'))} "
                f"{m['flops_per_image'] / 1e6:12.1f} {figures['peak_fraction']:14.3f}"
            )
    extra["data"] = _spawn("data")
    print(
        "\nInput pipelines alone, images/s: "
        + ", ".join(f"{name} {m['images_per_s']:.0f}" for name, m in extra["data"].items() if name != "variant")
    )
    if FLAGS.entry:
        extra.update(serving=_spawn("serving"), evaluation=_spawn("evaluation"))
        print(
            f"\nServing latency of saved_models/{FLAGS.entry} (serving_default) vs its Keras generator in a "
            "tf.function, ms:"
        )
        print(f"{'batch':<6} {'SavedModel p50':>15} {'p99':>7} {'Keras p50':>10} {'p99':>7} {'p50 ratio':>10}")
        for batch, m in ((k, v) for k, v in extra["serving"].items() if k.startswith("batch_")):
            s, k = m["saved_model"], m["keras"]
            print(
                f"{batch[6:]:<6} {s['p50_ms']:15.2f} {s['p99_ms']:7.2f} {k['p50_ms']:10.2f} {k['p99_ms']:7.2f} "
                f"{k['p50_ms'] / s['p50_ms']:10.2f}"
            )
        batch64 = extra["serving"]["batch_64"]
        result["serving64_vs_keras"] = batch64["keras"]["p50_ms"] / batch64["saved_model"]["p50_ms"]
        e = extra["evaluation"]
        print(
            f"\nEvaluation ({e['rows']} rows of {e['num_samples']} samples: the generator and the references): "
            f"{e['seconds']:.1f} s, {e['samples_per_s']:.0f} samples/s"
        )
    if FLAGS.output:
        with open(FLAGS.output, "w") as f:
            json.dump(
                {
                    "config": FLAGS.config,
                    "hardware": _hardware(),
                    "runs": runs,
                    "medians": medians,
                    "best": best,
                    "peak_gflops": peak,
                    **result,
                    **extra,
                },
                f,
                indent=1,
            )
    order = [
        "train_vs_keras",
        "default_vs_best",
        "best_vs_torch",
        "loop_overhead",
        "peak_fraction",
        "serving64_vs_keras",
    ]
    print("RESULT " + " ".join(f"{k}={result[k]:.2f}" for k in order if k in result))


if __name__ == "__main__":
    app.run(main)

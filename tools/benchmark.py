"""Training throughput of tfgan-zoo against a plain keras.io loop and PyTorch, side by side in one run.

    python tools/benchmark.py                      # default: ~10 minutes on 2 cores
    python tools/benchmark.py --repeats 5 --steps 100 --entry ''

Every variant trains the networks of one zoo config (default `dcgan_fashion_mnist`: same shapes, batch size,
losses and Adam settings) on the same images held in memory, each in its own subprocess so that its peak
memory is its own. Variants run interleaved, `--repeats` times each, and the medians are compared, because
a ratio is only trusted when both sides saw the same machine at the same time:

- `keras`: the keras.io DCGAN recipe written here as the baseline: a `keras.Model` whose `train_step` makes
  one D step on a real and a fake batch and one G step with `tf.GradientTape`, no EMA, no extra metrics,
  fed by `from_tensor_slices(...).shuffle().batch().prefetch()`;
- `zoo`: `tfgan_zoo.GAN` with the config as it is (the default a user gets);
- `zoo_*`: the same with one lever changed (`--set`-style overrides, see VARIANTS);
- `torch`: the same networks and steps in PyTorch (the `bench` extra; skipped when torch is missing).

Then, once each: the input pipelines alone (the zoo's stateless batches and keras.io's shuffle-batch), the
serving latency of a shipped entry's SavedModel at batch 1 and 64 (p50/p99, against its Keras generator in a
`tf.function`), and the wall time of its evaluation. Ends with
`RESULT default_vs_keras=<x> best_vs_keras=<x> best_vs_torch=<x>` (training images/s ratios).
"""

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
flags.DEFINE_list("variants", None, "Variants to run (default: all of VARIANTS, and torch when installed).")
flags.DEFINE_string("worker", None, "Internal: run one variant in this process and print its figures as JSON.")
flags.DEFINE_string("output", None, "Also write the figures as JSON here.")
flags.DEFINE_string(
    "entry", "dcgan_fashion_mnist", "Shipped entry whose serving latency and evaluation are timed ('' skips both)."
)
flags.DEFINE_integer("eval_samples", 1000, "Samples of the timed evaluation.")
FLAGS = flags.FLAGS

# Levers of the zoo, each a config override of the default.
VARIANTS = {
    "keras": None,
    "zoo": [],
    "zoo_no_xla": ["runtime.jit_compile=false"],
    "zoo_spe10": ["runtime.steps_per_execution=10"],
    "zoo_bf16": ["runtime.precision=mixed_bfloat16"],
    "torch": None,
}


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
            super().compile(jit_compile=cfg.runtime.jit_compile)
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
    import keras

    from tfgan_zoo import build, networks, paths
    from tfgan_zoo import config as config_lib

    cfg = config_lib.load(paths.config_path(cfg_name), overrides or [])
    x = _images(cfg)
    batch_size, steps = cfg.data.batch_size, FLAGS.warmup + FLAGS.steps
    if variant == "keras":
        keras.utils.set_random_seed(cfg.train.seed)
        generator, discriminator = networks.family(cfg.model, "images").build(cfg.model, x.shape[1:], 0)
        model = _keras_baseline(cfg, generator, discriminator)
        t = cfg.train
        model.compile(
            keras.optimizers.Adam(t.d_learning_rate, beta_1=t.beta_1, beta_2=t.beta_2),
            keras.optimizers.Adam(t.g_learning_rate, beta_1=t.beta_1, beta_2=t.beta_2),
        )
    else:
        model = build.compile_gan(build.build_gan(cfg, x.shape[1:]), cfg)
    dataset = _pipelines(x, batch_size, cfg.train.seed)["keras" if variant == "keras" else "zoo"]
    clock = _StepClock()
    model.fit(dataset, epochs=1, steps_per_epoch=steps, verbose=0, callbacks=[clock.callback(keras)])
    return clock.images_per_second(FLAGS.warmup, batch_size)


def _run_torch(cfg_name):
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

    def step(real):
        z = torch.randn(batch_size, m.latent_dim)
        real_logits, fake_logits = discriminator(real), discriminator(generator(z).detach())
        d_loss = bce(real_logits, torch.ones_like(real_logits)) + bce(fake_logits, torch.zeros_like(fake_logits))
        d_opt.zero_grad(set_to_none=True)
        d_loss.backward()
        d_opt.step()
        fake_logits = discriminator(generator(torch.randn(batch_size, m.latent_dim)))
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
    "data": lambda: _run_data(FLAGS.config),
    "serving": lambda: _run_serving(FLAGS.entry),
    "evaluation": lambda: _run_evaluation(FLAGS.entry),
}


def _worker(variant):
    if variant in _ONCE:
        print(json.dumps({"variant": variant, **_ONCE[variant]()}))
        return
    images_per_second = (
        _run_torch(FLAGS.config) if variant == "torch" else _run_tensorflow(variant, FLAGS.config, VARIANTS[variant])
    )
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"variant": variant, "images_per_s": images_per_second, "peak_rss_mb": peak_mb}))


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


def main(argv):
    del argv
    if FLAGS.worker:
        return _worker(FLAGS.worker)
    variants = FLAGS.variants or [v for v in VARIANTS if v != "torch" or _has_torch()]
    runs = {variant: [] for variant in variants}
    for repeat in range(FLAGS.repeats):
        for variant in variants:
            runs[variant].append(_spawn(variant))
            print(
                f"repeat {repeat + 1}/{FLAGS.repeats} {variant}: {runs[variant][-1]['images_per_s']:.0f} images/s",
                flush=True,
            )
    medians = {
        v: {
            "images_per_s": statistics.median(r["images_per_s"] for r in rs),
            "peak_rss_mb": statistics.median(r["peak_rss_mb"] for r in rs),
        }
        for v, rs in runs.items()
    }
    keras_speed = medians["keras"]["images_per_s"]
    print(
        f"\n{FLAGS.config}, batch from its config, {FLAGS.steps} timed steps after {FLAGS.warmup}, "
        f"median of {FLAGS.repeats}; {_hardware()}"
    )
    print(f"{'variant':<12} {'images/s':>9} {'vs keras':>9} {'peak MB':>8} {'vs keras':>9}")
    for variant, m in medians.items():
        print(
            f"{variant:<12} {m['images_per_s']:9.0f} {m['images_per_s'] / keras_speed:9.2f} "
            f"{m['peak_rss_mb']:8.0f} {m['peak_rss_mb'] / medians['keras']['peak_rss_mb']:9.2f}"
        )
    zoo_variants = [v for v in medians if v.startswith("zoo")]
    best = max(zoo_variants, key=lambda v: medians[v]["images_per_s"])
    result = {
        "default_vs_keras": medians["zoo"]["images_per_s"] / keras_speed,
        "best_vs_keras": medians[best]["images_per_s"] / keras_speed,
    }
    if "torch" in medians:
        result["best_vs_torch"] = medians[best]["images_per_s"] / medians["torch"]["images_per_s"]
    print(f"best zoo variant: {best}")
    extra = {"data": _spawn("data")}
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
                    **result,
                    **extra,
                },
                f,
                indent=1,
            )
    print("RESULT " + " ".join(f"{k}={v:.2f}" for k, v in result.items()))


if __name__ == "__main__":
    app.run(main)

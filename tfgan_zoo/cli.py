"""The `tfgan-zoo` command line: `train`, `evaluate`, `export`, `list`, `sample`, `interpolate`, `arithmetic`."""

import logging
import os
import pathlib
import sys

import numpy as np
import tensorflow as tf
from absl import app, flags

from tfgan_zoo import cards, config, evaluation, export, health, latent, metrics, paths, plots, training, zoo

flags.DEFINE_string("config", "vanilla_ring8", "Zoo config: an entry name (see `list`) or a YAML path.")
flags.DEFINE_string("workdir", None, "Directory of the run (default: runs/<config name>). Re-running resumes it.")
flags.DEFINE_string(
    "checkpoint", None, "export: the checkpoint to export, <workdir>/checkpoints/ckpt-<step> (default: the latest)."
)
flags.DEFINE_multi_string("set", [], "Config override section.key=value, e.g. --set train.steps=1000. Repeatable.")
flags.DEFINE_string("model", None, "A trained model: a zoo entry name or folder, a training workdir or a .keras file.")
flags.DEFINE_string("output", None, "Where to write the picture; export: the entry folder, saved_models/<entry>.")
flags.DEFINE_integer("num", 64, "Number of samples (sample) or of interpolation rows (interpolate).")
flags.DEFINE_integer("seed", 0, "Seed of the latent vectors.")
flags.DEFINE_integer("label", None, "Class of the samples of a conditional model (default: one row per class).")
flags.DEFINE_multi_string("condition", [], "sample: a continuous condition NAME=VALUE of the model. Repeatable.")
flags.DEFINE_string("a", None, "arithmetic: indices (in `sample --seed S`) of the samples whose mean z is added.")
flags.DEFINE_string("b", None, "arithmetic: indices of the samples whose mean z is subtracted.")
flags.DEFINE_string("c", None, "arithmetic: indices of the samples whose mean z is added.")
flags.DEFINE_string(
    "evaluator", None, "evaluate: fashion_mnist_classifier, inception_v3 or an evaluator folder (default: by dataset)."
)
flags.DEFINE_integer("num_samples", None, "evaluate: samples per row (default 10000 for images, 2500 for 2-D points).")
flags.DEFINE_enum("verbose", "auto", ["auto", "0", "1", "2"], "Keras progress output of `fit`.")
flags.DEFINE_boolean(
    "force", False, "export: add the version even when its data, family or sample shape differ from the entry's."
)
flags.DEFINE_string(
    "from_entry", None, "export: rebuild the newest version of this entry as its next one, from its own gan.keras."
)
flags.DEFINE_string("best", None, "export: the kept checkpoint that scored best on this metric in history.csv.")
flags.DEFINE_list(
    "truncation", None, "sample: psi in (0, 1] scaling z (1.0 = none); evaluate: psi values to measure, e.g. 1,0.7,0.5."
)
flags.DEFINE_boolean("extrapolate", False, "sample: allow --condition values outside the model's trained range.")
FLAGS = flags.FLAGS

MAX_SAMPLES = 10_000  # in one picture: more is unreadable, and a grid of them fills the memory
USAGE = f"""usage: tfgan-zoo <command> [flags]

commands:
  train   --config <entry or yaml> --workdir DIR [--set key=value ...]   train or resume a run
  list                                                                   the zoo's configs and shipped models
  export  --workdir DIR --output saved_models/<entry> [--checkpoint P | --best METRIC] [--force]
              the generator as the next version of a TF Serving entry; --best takes the kept checkpoint that
              scored best on METRIC; --force adds it even when its data, family or sample shape differ
  export  --from_entry saved_models/<entry>
              the entry's newest version rebuilt as its next one from its gan.keras, checked against golden.json
  evaluate    --model M [--evaluator E] [--num_samples N] [--seed S] [--truncation 1,0.7,0.5]
              metrics next to real-data reference rows; writes evaluation.json; --truncation adds the
              generator's figures at each psi
  sample      --model M --output grid.png [--num 64] [--seed S] [--label L] [--condition NAME=VALUE] [--extrapolate]
              [--truncation PSI]
              a picture of at most {MAX_SAMPLES} samples; --extrapolate allows conditions outside the trained range
  interpolate --model M --output path.png [--num 8] [--seed S] [--label L]   great-circle walks in z
  arithmetic  --model M --output row.png --seed S --a 1,2,3 --b 4,5 --c 6,7
              mean z of samples a - b + c (indices into `sample --seed S`): shows means of a, b, c, the result
              and 4 variations of it (Radford et al. 2016)
"""


def _train():
    cfg = config.load(paths.config_path(FLAGS.config), FLAGS.set)
    workdir = FLAGS.workdir or os.path.join("runs", cfg.name)
    verbose = FLAGS.verbose if FLAGS.verbose == "auto" else int(FLAGS.verbose)
    training.train(cfg, workdir, verbose=verbose)
    print(
        f"Done: samples in {os.path.join(workdir, 'samples.png')}, losses in {os.path.join(workdir, 'losses.png')}, "
        f"TensorBoard: tensorboard --logdir {os.path.join(workdir, 'logs')}"
    )


def _list():
    _table(
        f"Configs (searched in order: {paths.searched('configs')})",
        ("config", "family", "data", "conditional", "steps", "origin"),
        zoo.describe_configs(),
    )
    _table(
        f"Generators (searched in order: {paths.searched('models')})",
        ("entry", "family", "data", "version", "metrics", "origin"),
        zoo.describe_entries(),
    )
    _table(
        "Evaluators (networks that measure generators, in the evaluators/ of those folders)",
        ("evaluator", "data", "test accuracy", "origin"),
        zoo.describe_evaluators(),
    )


def _table(title, header, rows):
    print(title + ("" if rows else ": none"))
    if rows:
        rows = [header] + rows
        widths = [max(len(str(row[i])) for row in rows) for i in range(len(header))]
        for row in rows:
            print("  " + "  ".join(str(value).ljust(width) for value, width in zip(row, widths)).rstrip())
    print()


def _export():
    if FLAGS.from_entry:
        if FLAGS.workdir or FLAGS.checkpoint or FLAGS.best or FLAGS.force:
            raise ValueError(
                "--from_entry rebuilds the entry from its own files: it takes no --workdir, "
                "--checkpoint, --best or --force."
            )
        if FLAGS.output and pathlib.Path(FLAGS.output).resolve() != pathlib.Path(FLAGS.from_entry).resolve():
            raise ValueError("--from_entry adds the version to that entry itself: drop --output.")
        path = export.export_from_entry(FLAGS.from_entry)
        print(f"Exported {path}: the golden outputs of {FLAGS.from_entry} are unchanged; card and metrics kept.")
        return
    if not FLAGS.workdir or not FLAGS.output:
        raise ValueError(
            "export needs --workdir (a training run) and --output (saved_models/<entry>), or --from_entry <entry>."
        )
    path = export.export(FLAGS.workdir, FLAGS.output, FLAGS.checkpoint, force=FLAGS.force, best=FLAGS.best)
    print(
        f"Exported {path}; model card in {os.path.join(FLAGS.output, 'README.md')}. Measure it with "
        f"`tfgan-zoo evaluate --model {FLAGS.output}`."
    )


def _truncations():
    """`--truncation` as floats (default: [1.0], no truncation)."""
    try:
        return [float(text) for text in FLAGS.truncation or ["1.0"]]
    except ValueError:
        raise ValueError(
            f"--truncation takes numbers, e.g. 0.7 or 1,0.7,0.5; got {','.join(FLAGS.truncation)}."
        ) from None


def _labels_for(model, n):
    if not model.num_classes:
        if FLAGS.label is not None:
            raise ValueError("--label is for conditional models; this one is unconditional.")
        return None, None
    if FLAGS.label is not None:
        return np.full(n, FLAGS.label), None
    return plots.class_rows(model.num_classes, n), model.num_classes


def _write(path, png):
    if not path:
        raise ValueError("--output is required: the path of the PNG to write.")
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "wb") as f:
        f.write(png)
    print(f"Wrote {path}")


def _conditions(model):
    """`--condition NAME=VALUE` flags as `{name: value}`: finite, and inside the trained range unless
    `--extrapolate`, where the generator has never been trained and its samples are garbage more often than not."""
    ranges = getattr(model, "conditions", None)
    if FLAGS.condition and not ranges:
        raise ValueError("--condition is for models with continuous conditions; this one has none.")
    conditions = {}
    for text in FLAGS.condition:
        name, _, value = text.partition("=")
        try:
            conditions[name] = float(value)
        except ValueError:
            raise ValueError(
                f"--condition {text!r} must look like NAME=VALUE with a number, e.g. period=3.5."
            ) from None
        if not np.isfinite(conditions[name]):
            raise ValueError(f"--condition {text!r}: the value must be a finite number.")
        low, high = ranges.get(name, (-np.inf, np.inf))  # an unknown name is the sampler's error
        if not (FLAGS.extrapolate or low <= conditions[name] <= high):
            raise ValueError(
                f"--condition {text!r} lies outside the range the model was trained on, [{low:g}, {high:g}]: "
                "pass a value inside it, or --extrapolate to sample there anyway."
            )
    return conditions


def _model(command):
    """The `--model` that `command` needs, loaded."""
    if not FLAGS.model:
        raise ValueError(
            f"{command} needs --model: a zoo entry name (see `tfgan-zoo list`) or folder, a training workdir or a "
            ".keras file."
        )
    return zoo.load_pretrained(FLAGS.model)


def _check_num(samples):
    """`--num` positive, and at most `MAX_SAMPLES` samples drawn for one picture."""
    if FLAGS.num < 1:
        raise ValueError(f"--num must be at least 1, got {FLAGS.num}.")
    if samples > MAX_SAMPLES:
        raise ValueError(
            f"--num {FLAGS.num} asks for {samples} samples; one picture holds at most {MAX_SAMPLES}. Ask for "
            "fewer, or draw more in batches in Python: tfgan_zoo.load_pretrained(...).sample(n, seed=...)."
        )


def _sample():
    _check_num(FLAGS.num)
    model = _model("sample")
    labels, rows = _labels_for(model, FLAGS.num)
    n = FLAGS.num if labels is None else len(labels)
    if n != FLAGS.num:
        print(
            f"Drawing {n} samples, not {FLAGS.num}: one row of {n // rows} per class of {rows}. A --num that "
            f"{rows} divides, or --label L, draws exactly --num."
        )
    conditions = _conditions(model)
    truncation = _truncations()
    if len(truncation) != 1:
        raise ValueError("sample takes one --truncation value (several are for evaluate).")
    # Only models with continuous conditions take the argument.
    given = {"conditions": conditions} if conditions else {}
    samples = model.sample(n, seed=FLAGS.seed, labels=labels, truncation=truncation[0], **given)
    _write(FLAGS.output, plots.samples_png(samples, rows))


def _interpolate():
    steps = 10
    _check_num(FLAGS.num * steps)
    model = _model("interpolate")
    ends = np.random.default_rng(FLAGS.seed).standard_normal((FLAGS.num, 2, model.latent_dim))
    z = np.concatenate([latent.interpolation_latents(a, b, steps) for a, b in ends])
    labels = None
    if model.num_classes:
        row_labels = (
            np.full(FLAGS.num, FLAGS.label) if FLAGS.label is not None else np.arange(FLAGS.num) % model.num_classes
        )
        labels = np.repeat(row_labels, steps)
    _write(FLAGS.output, plots.samples_png(np.asarray(model.generate(z, labels)), FLAGS.num))


def _arithmetic():
    model = _model("arithmetic")
    if model.num_classes:
        raise ValueError("arithmetic is for unconditional models: a conditional model's z does not carry the class.")
    if None in (FLAGS.a, FLAGS.b, FLAGS.c):
        raise ValueError("arithmetic needs --a, --b and --c: comma-separated sample indices, e.g. --a 1,2,3.")
    sets = [[int(i) for i in text.split(",")] for text in (FLAGS.a, FLAGS.b, FLAGS.c)]
    z = model.latent(max(max(s) for s in sets) + 1, tf.constant([FLAGS.seed, 0], tf.int64)).numpy()
    means = [z[s].mean(axis=0) for s in sets]
    result = latent.vector_arithmetic(z[sets[0]], z[sets[1]], z[sets[2]])
    jitter = 0.25 * np.random.default_rng(FLAGS.seed).standard_normal((4, model.latent_dim))
    row = np.concatenate([np.stack(means), result[None], result + jitter]).astype("float32")
    _write(FLAGS.output, plots.samples_png(np.asarray(model.generate(row)), 1))


def _evaluate():
    if not FLAGS.model:
        raise ValueError("evaluate needs --model: a training workdir or a saved_models/<entry> folder.")
    report = evaluation.evaluate_model(
        FLAGS.model,
        evaluator=FLAGS.evaluator,
        num_samples=FLAGS.num_samples,
        seed=FLAGS.seed,
        truncation=_truncations() if FLAGS.truncation else None,
    )
    print(cards.format_table(report))
    if "per_class" in report:
        print(cards.per_class_table(report["per_class"]))
    if "truncation" in report:
        print(cards.truncation_table(report["truncation"]))
    written = evaluation.report_path(report["model"])
    card = pathlib.Path(report["model"]) / paths.CARD_FILE
    print(
        f"Wrote {written}"
        + (f" and the metrics of {card}" if card.parent == written.parent and card.exists() else "")
        + f" ({report['timings_s']['total']:.0f} s)."
    )


COMMANDS = {
    "train": _train,
    "evaluate": _evaluate,
    "export": _export,
    "list": _list,
    "sample": _sample,
    "interpolate": _interpolate,
    "arithmetic": _arithmetic,
}


def main(argv):
    if len(argv) != 2 or argv[1] not in COMMANDS:
        raise app.UsageError(
            USAGE + (f"\nunknown command or extra arguments: {' '.join(argv[1:])}" if argv[1:] else "")
        )
    try:
        COMMANDS[argv[1]]()
    except (
        config.ConfigError,
        OSError,
        ValueError,
        health.TrainingDiverged,
        metrics.EvaluatorUnavailableError,
    ) as error:
        sys.exit(f"tfgan-zoo {argv[1]}: {error}")


def run():
    # TensorFlow's info lines on its own workings (per checkpoint, per SavedModel), on its logger and through absl;
    # the zoo's own info lines stay.
    tf.get_logger().setLevel("WARNING")
    tensorflow = os.path.dirname(tf.__file__)
    logging.getLogger("absl").addFilter(lambda r: r.levelno > logging.INFO or not r.pathname.startswith(tensorflow))
    app.run(main)


if __name__ == "__main__":
    run()

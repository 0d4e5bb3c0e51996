"""`tfgan-zoo evaluate`: a generator's metrics, next to reference rows from the same evaluator.

A metric value means little on its own: a Fréchet distance depends on the feature extractor and the
number of samples. So every report also scores real data in known states with the same evaluator,
the same sample count and the same seed:

- `real_floor`: a random subset of the training split, the real-vs-real floor a perfect generator reaches;
- `noise_0.1`, `noise_0.3`: that subset plus N(0, 0.1) and N(0, 0.3) pixel noise (images in [-1, 1],
  clipped back to it; 2-D points: noise in coordinate units);
- `blur_3x3`: that subset under a 3x3 box blur (images only);
- `single_class`: training examples of class 0 only, a generator collapsed onto one class (labelled data).

Images are compared with the real test split in the features of an evaluator network
(`metrics.features`): Fréchet distance, KID, classifier score, precision/recall, sliced Wasserstein
distance; for conditional generators TSTR and, when the evaluator is a classifier of the same dataset,
`label_accuracy`, the share of samples it classifies as the label they were generated for. 2-D mixtures
get mode coverage (PacGAN's protocol) and `gaussian2d` the error of its moments. Time series (light curves) get TSTR and TRTS (train on real, test
on synthetic) with a fixed 1-D classifier, and the errors of the amplitude and period measured on each
curve (`metrics.lightcurves`) against the values it was generated for (or, for real rows, drawn with).

A generator is anything with `sample(n, seed=..., labels=...)` (and `num_classes` when conditional):
`evaluate(generator, train, test)` takes it with the real data; `evaluate_model(path)` opens a training
workdir (its latest checkpoint) or an entry and writes `evaluation.json` beside it, filling the `metrics` of its
`model_card.json` when there is one; for an entry of the installed package, which is not the user's to change, it
writes the report to `./evaluations/<entry>/` instead.
"""

import copy
import functools
import pathlib
import time

import numpy as np
from scipy import ndimage

from tfgan_zoo import build, cards, metrics, paths, zoo
from tfgan_zoo import config as config_lib
from tfgan_zoo.metrics import features, lightcurves, suite, tstr
from tfgan_zoo.sampling import condition_values

NUM_SAMPLES = {"images": 10_000, "points": 2_500, "series": 2_000}
NOISE_STDDEVS = (0.1, 0.3)
REPORT_FILE = "evaluation.json"
USER_REPORTS = "evaluations"  # where reports on the installed package's entries go, in the working directory


def add_noise(x, stddev, seed=0, value_range=None):
    """`x` plus N(0, stddev) noise, clipped to `value_range` when given."""
    noisy = x + stddev * np.random.default_rng(seed).standard_normal(x.shape).astype(np.float32)
    return noisy if value_range is None else np.clip(noisy, *value_range)


def box_blur(images):
    """Each pixel replaced by the mean of its 3x3 neighbourhood (edges repeated), per image and channel."""
    return ndimage.uniform_filter(images, size=(1, 3, 3, 1), mode="nearest")


def reference_rows(source, n, seed=0):
    """The reference sets of `source` (a training split): name -> `(x, labels or None, conditions, description)`,
    `conditions` being the examples' continuous conditions (name -> values; empty when the data has none)."""
    rng = np.random.default_rng(seed)
    subset = np.sort(rng.choice(len(source.x), min(n, len(source.x)), replace=False))
    x, y = source.x[subset], None if source.y is None else source.y[subset]
    conditions = {name: values[subset] for name, values in source.conditions.items()}
    value_range = source.metadata.get("value_range")
    rows = {"real_floor": (x, y, conditions, f"{len(x)} random training examples: the real-vs-real floor")}
    for i, stddev in enumerate(NOISE_STDDEVS):
        rows[f"noise_{stddev}"] = (
            add_noise(x, stddev, seed + 1 + i, value_range),
            y,
            conditions,
            f"those examples plus N(0, {stddev}) noise" + (", clipped" if value_range else ""),
        )
    if source.kind == "images":
        rows["blur_3x3"] = (box_blur(x), y, conditions, "those examples under a 3x3 box blur")
    if source.y is not None:
        one = np.flatnonzero(source.y == 0)[:n]
        name = (source.metadata.get("class_names") or ["0"])[0]
        rows["single_class"] = (
            source.x[one],
            source.y[one],
            {name: values[one] for name, values in source.conditions.items()},
            f"{len(one)} training examples of class 0 ({name}) only",
        )
    return rows


def evaluate(
    generator,
    train,
    test,
    *,
    evaluator=None,
    num_samples=None,
    seed=0,
    image_metrics=metrics.IMAGE_METRICS,
    truncation=1.0,
    references=True,
):
    """The report of `generator` on the data of `train` and `test` (`data.Source`s): values and references.

    Args:
        generator: anything with `sample(n, seed=..., labels=...)`; `num_classes > 0` makes it conditional
            (balanced labels, and TSTR).
        train, test: the real splits; reference rows come from `train`, images are compared with `test`.
        evaluator: a `metrics.FeatureExtractor` or an evaluator name (images only); default by dataset.
        num_samples: samples per set (default 10,000 for images, capped by the test split; 2,500 points).
        seed: seed of the samples, the reference subsets and the metrics' randomness.
        image_metrics: names from `metrics.IMAGE_METRICS`.
        truncation: the truncation psi the generator samples with (`Sampler.sample`; 1.0: none).
        references: False leaves out the reference rows (`references` is then empty).

    Returns:
        A dict: `dataset`, `data_origin`, `evaluator` (what measured, on how many samples), `values` (the
        generator's), `references` (name -> values), `reference_rows` (name -> description), `per_class` (row
        name, `generator` included -> class name -> figures; labelled time series only), `timings_s`.
    """
    start = time.time()
    n = num_samples or NUM_SAMPLES[train.kind]
    if train.kind == "points":
        measure, about = _point_metrics(train)
    elif train.kind == "series":
        measure, about = _curve_metrics(generator, train, test, n, seed)
    else:
        n = min(n, len(test.x))
        measure, about = _image_metrics(generator, train, test, evaluator, n, seed, image_metrics)
    # The continuous conditions the generator is asked for, drawn as it draws them, so its errors can be measured.
    conditions = condition_values(getattr(generator, "conditions", {}), None, n, seed)
    drawn = suite.sample(generator, n, seed, conditions, truncation)
    rows = {"generator": (*drawn, conditions, "the generator's samples")}
    if references:
        rows.update(reference_rows(train, n, seed))
    results, per_class, timings = {}, {}, {}
    for name, (x, y, row_conditions, _) in rows.items():
        row_start = time.time()
        results[name] = measure(x, y, row_conditions)
        if "per_class" in results[name]:
            per_class[name] = results[name].pop("per_class")
        timings[name] = round(time.time() - row_start, 1)
    if "tstr_accuracy" in results.get("real_floor", {}):
        for values in results.values():
            values["tstr_ratio"] = values["tstr_accuracy"] / results["real_floor"]["tstr_accuracy"]
    timings["total"] = round(time.time() - start, 1)
    return {
        "dataset": train.name,
        "data_origin": train.origin,
        "evaluator": {**about, "num_samples": n, "seed": seed},
        "values": results.pop("generator"),
        "references": results,
        "reference_rows": {name: row[-1] for name, row in rows.items() if name != "generator"},
        **({"per_class": per_class} if per_class else {}),
        "timings_s": timings,
    }


def truncation_sweep(generator, train, test, psis, *, evaluator=None, num_samples=None, seed=0):
    """The generator's figures at each truncation psi in `psis`: `{"num_samples", "seed", "values": {psi: values}}`,
    psi as a string. Fidelity against diversity: psi < 1 draws z nearer its mode. No reference rows: they do not
    depend on psi (the report of `evaluate` has them)."""
    values = {}
    for psi in psis:
        report = evaluate(
            generator,
            train,
            test,
            evaluator=evaluator,
            num_samples=num_samples,
            seed=seed,
            truncation=psi,
            references=False,
        )
        values[str(psi)] = report["values"]
    return {"num_samples": report["evaluator"]["num_samples"], "seed": seed, "values": values}


def _point_metrics(train):
    """`(measure(x, y, conditions), about)` for 2-D data: mode coverage of mixtures, moment errors of a Gaussian."""
    meta = train.metadata
    if "centers" in meta:
        fn = functools.partial(metrics.mode_coverage, centers=meta["centers"], std=meta["std"])
        about = {"name": "mode_coverage", "protocol": "PacGAN: high quality within 3 std of the nearest mode"}
    elif "cov" in meta:
        fn = functools.partial(metrics.moment_errors, mean=meta["mean"], cov=meta["cov"])
        about = {"name": "moment_errors", "protocol": "max abs error of the mean and covariance"}
    else:
        raise ValueError(f"No metric for 2-D data source {train.name!r}: it has neither mixture centers nor moments.")
    return (lambda x, y, conditions: fn(x)), about


def _curve_metrics(generator, train, test, n, seed):
    """`(measure(x, y, conditions), about)` for time series: TSTR and TRTS when conditional, and the errors of
    the measured amplitude and period against `conditions` when the data has them; for labelled rows also each
    figure per class (`per_class`: class name -> figures; TSTR and TRTS as the recall of the class)."""
    conditional = bool(getattr(generator, "num_classes", 0))
    period_range = train.metadata.get("condition_ranges", {}).get("period")
    class_names = train.metadata.get("class_names") or [str(c) for c in range(train.num_classes)]

    def measure(x, y, conditions):
        values, per_example, recalls = {}, {}, {}
        if conditional and y is not None:
            on_test = tstr.classifier_predictions(x, y, test.x, train.num_classes, seed)
            on_row = tstr.classifier_predictions(train.x[:n], train.y[:n], x, train.num_classes, seed)
            values["tstr_accuracy"] = float(np.mean(on_test == test.y))
            values["trts_accuracy"] = float(np.mean(on_row == y))
            recalls["tstr_recall"] = tstr.class_recalls(on_test, test.y, train.num_classes)
            recalls["trts_recall"] = tstr.class_recalls(on_row, y, train.num_classes)
        if period_range and {"amplitude", "period"} <= conditions.keys():
            per_example = lightcurves.relative_errors(x, conditions["amplitude"], conditions["period"], period_range)
            values.update({name: float(np.mean(errors)) for name, errors in per_example.items()})
        if y is not None and (recalls or per_example):
            values["per_class"] = {
                name: {
                    **{key: float(recall[c]) for key, recall in recalls.items()},
                    **{key: float(np.mean(errors[y == c])) for key, errors in per_example.items()},
                }
                for c, name in enumerate(class_names)
                if np.any(y == c)
            }
        return values

    about = {
        "name": "lightcurves",
        "reference": f"{len(test.x)} curves of the test split",
        "tstr": f"fixed 1-D classifier (metrics.tstr) trained on {n} labelled curves and tested on the test "
        f"split (TSTR), or trained on {n} real training curves and tested on the row (TRTS); "
        "tstr_ratio is relative to real_floor",
        "errors": "mean relative error of the amplitude and period measured by a multi-harmonic "
        "periodogram (metrics.lightcurves) against the requested (real rows: true) values",
    }
    return measure, about


def _image_metrics(generator, train, test, evaluator, n, seed, names):
    """`(measure(x, y, conditions), about)` for images: `names` against the test split, plus TSTR when conditional,
    and the share of samples the evaluator classifies as their label when it is a classifier of this dataset."""
    if not isinstance(evaluator, features.FeatureExtractor):
        evaluator = features.get(evaluator or features.default_evaluator(train.name))
    real = suite.embed(evaluator, test.x[:n])
    conditional = bool(getattr(generator, "num_classes", 0))
    classifies_labels = evaluator.logits_layer and evaluator.info.get("dataset") == train.name

    def measure(x, y, conditions):
        fake = suite.embed(evaluator, x)
        values = suite.compare(real, fake, names, seed=seed)
        if conditional and y is not None:
            values["tstr_accuracy"] = tstr.classifier_accuracy(x, y, test.x, test.y, train.num_classes, seed)
            if classifies_labels:
                values["label_accuracy"] = float(np.mean(np.argmax(fake.logits, axis=1) == y))
        return values

    about = {**evaluator.info, "reference": f"first {n} examples of the test split"}
    about["tstr"] = (
        f"fixed classifier (metrics.tstr) trained on {n} labelled examples, tested on the "
        f"{len(test.x)} test examples; tstr_ratio is relative to real_floor"
        if conditional
        else "not computed: the generator is unconditional"
    )
    return measure, about


def model_config(path):
    """`(folder, config)` of a training workdir (`config.yaml`) or a shipped entry (the resolved config its newest
    version holds, `paths.version_config`).

    A bare name that is not a folder here is an entry on the search path (`paths`).
    """
    folder = paths.resolve(path)
    if (folder / "config.yaml").exists():
        return folder, config_lib.load(str(folder / "config.yaml"))
    if (folder / paths.CARD_FILE).exists():
        path = paths.version_config(folder, max(paths.versions(folder), default=0))
        if not path.exists():
            raise FileNotFoundError(
                f"{path} is missing: the newest version of {folder} does not say how it was "
                "trained. Re-export it: tfgan-zoo export --workdir <its training workdir> "
                f"--output {folder}"
            )
        return folder, config_lib.load(str(path))
    raise FileNotFoundError(
        f"{path} is neither a training workdir (no config.yaml) nor a shipped model (no model_card.json). "
        "Pass the --workdir of a `tfgan-zoo train` run or a saved_models/<entry> folder."
    )


def report_path(folder):
    """Where `evaluate_model` writes the report on `folder`: beside it, or `./evaluations/<entry>/` for an entry of
    the installed package."""
    folder = pathlib.Path(folder)
    return (pathlib.Path(USER_REPORTS) / folder.name if paths.is_packaged(folder) else folder) / REPORT_FILE


def evaluate_model(path, *, evaluator=None, num_samples=None, seed=0, truncation=None):
    """Evaluates the model at `path` on its config's data; writes `evaluation.json` (at `report_path`) and the card's
    `metrics` (`per_class` too, where the report has it). `truncation`: psi values at which the report (and the
    card's `metrics.truncation`) also gives the generator's figures (`truncation_sweep`).

    The real data are the config's source, whole: `data.num_examples`, which limits training, does not
    shrink the test split or the reference subsets.
    """
    folder, config = model_config(path)
    config = copy.deepcopy(config)
    config.data.num_examples = None
    # Metrics compare samples with the data at its own shape (the evaluators' input); an export crops padded runs.
    if config.data.params.pop("pad_to", None) and (folder / "config.yaml").exists():
        raise ValueError(
            f"{folder} trains on padded images; evaluate its export, which crops them back: "
            f"`tfgan-zoo export --workdir {folder} --output saved_models/<entry>`, then "
            "`tfgan-zoo evaluate --model saved_models/<entry>`."
        )
    train, test = build.load_source(config, "train"), build.load_source(config, "test")
    generator = zoo.load_pretrained(str(folder))  # a workdir's GAN at its latest checkpoint, or a shipped entry
    report = {"model": str(folder)}
    if hasattr(generator, "step"):
        report["step"] = int(generator.step.numpy())
    report.update(evaluate(generator, train, test, evaluator=evaluator, num_samples=num_samples, seed=seed))
    if truncation:
        report["truncation"] = truncation_sweep(
            generator, train, test, truncation, evaluator=evaluator, num_samples=num_samples, seed=seed
        )
    written = report_path(folder)
    written.parent.mkdir(parents=True, exist_ok=True)
    cards.write_json(written, report)
    card_path = folder / paths.CARD_FILE
    if card_path.exists() and not paths.is_packaged(folder):
        card = cards.read_card(folder)
        card["metrics"] = {
            key: report[key]
            for key in ("evaluator", "values", "references", "per_class", "truncation")
            if key in report
        }
        cards.write_card(folder, card)
    return report

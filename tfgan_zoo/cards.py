"""Model cards and reports as files (written atomically): strict JSON, the card's Markdown for people, and the
metrics table.

A card is `model_card.json` in an entry folder: what the generator is, how it was trained (and the command that
reproduces it), and its metrics next to reference rows (`tfgan-zoo evaluate` fills them).
"""

import json
import math
import pathlib

from tfgan_zoo import config, paths

# The fields every exported card has (the zoo's card contract); `export` adds a few more.
CARD_FIELDS = {
    "name",
    "family",
    "dataset",
    "latent_dim",
    "num_classes",
    "sample_shape",
    "value_range",
    "conditions",
    "config",
    "training",
    "metrics",
    "version",
}


def read_card(entry):
    """The card of the entry folder `entry`, or a ValueError that names the file and the fix."""
    path = entry / paths.CARD_FILE
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise ValueError(f"{path} is unreadable ({error}). {reexport_hint(entry)}") from None


def reexport_hint(entry):
    return f"Re-export the entry: tfgan-zoo export --workdir <its training workdir> --output {entry}"


def write_json(path, value):
    """Writes strict JSON: NaN (e.g. `kid_std` of a single block) becomes null."""

    def strict(v):
        if isinstance(v, dict):
            return {key: strict(item) for key, item in v.items()}
        return None if isinstance(v, float) and math.isnan(v) else v

    config.write_atomically(path, json.dumps(strict(value), indent=2, allow_nan=False) + "\n")


def write_card(entry, card):
    """Writes the entry's `model_card.json` and, for a card that `export` wrote, its readable `README.md`."""
    write_json(entry / paths.CARD_FILE, card)
    if CARD_FIELDS <= card.keys():
        config.write_atomically(entry / "README.md", card_markdown(card, _reference(entry)))


def _reference(entry):
    """How the card's usage lines name `entry` from the working directory: by name when the search path finds it
    by name, else by its path (an export to `runs/<config>/<config>`, say)."""
    found = paths.resolve(pathlib.Path(entry).name)
    return found.name if found.exists() and found.resolve() == pathlib.Path(entry).resolve() else str(entry)


def card_markdown(card, reference=None):
    """The model card for people: what the generator makes, how to use it (naming the entry as `reference`, by
    default its name), how it was trained, its metrics."""
    name, t = card["name"], card["training"]
    reference = reference or name
    conditional = f" conditional on {card['num_classes']} classes" if card["num_classes"] else ""
    hours = t["wall_time_s"] / 3600
    labels = f", labels=[{', '.join(map(str, range(min(card['num_classes'], 4))))}]" if card["num_classes"] else ""
    inputs = f"`z` float32 [N, {card['latent_dim']}]" + (", `label` int32 [N]" if card["num_classes"] else "")
    inputs += "".join(f", `{c}` float32 [N] (trained on [{lo}, {hi}])" for c, (lo, hi) in card["conditions"].items())
    lines = [
        f"# {name}",
        "",
        f"A generator of `{card['dataset']}` samples{conditional} (family `{card['family']}`): "
        f"{card['latent_dim']}-d {card['latent_distribution']} z -> samples of shape {card['sample_shape']}"
        + (f" in {card['value_range']}." if card["value_range"] else " (coordinates)."),
        f"Version {card['version']}, exported from `{t['checkpoint']}`"
        + (f" by `{card['export_command']}`." if card.get("export_command") else "."),
        "",
        "## Use",
        "",
        "```python",
        "import tfgan_zoo",
        f'model = tfgan_zoo.load_pretrained("{reference}")',
        f"samples = model.sample(4, seed=0{labels})  # numpy, in the data's scale",
        "```",
        "",
        f"`tfgan-zoo sample --model {reference} --num 64 --output grid.png`; behind TF Serving: `docs/serving.md`.",
        "Signatures: " + "; ".join(_signatures(card, inputs)) + ".",
    ]
    if card.get("keras_file"):
        lines.append(
            f"`{card['keras_file']}` holds the whole GAN (G, EMA G, D; no optimizer state) for fine-tuning: "
            f'`gan = tfgan_zoo.GAN.from_preset("{reference}")`, then `gan.fit(...)`.'
        )
    lines += [
        "",
        "## Training",
        "",
        *([card["notes"], ""] if card.get("notes") else []),
        f"{t['steps']} steps, {t['images_seen']:,} real examples seen, "
        + (f"{hours:.1f} h" if hours >= 1 else f"{hours * 60:.0f} min")
        + " on "
        f"{t['hardware']}, seed {t['seed']}, data from `{t['data_origin']}`"
        + (f" (its first {t['data_examples']:,} training examples)" if t.get("data_examples") else "")
        + f". Config `{card['config']}`; reproduce with",
        "",
        "```bash",
        t["command"],
        "```",
        "",
        "## Metrics",
        "",
    ]
    if card["metrics"]:
        lines += ["```text", format_table({**card["metrics"], "model": name, "dataset": card["dataset"]}), "```"]
        if "per_class" in card["metrics"]:
            lines += ["", "```text", per_class_table(card["metrics"]["per_class"]), "```"]
        if "truncation" in card["metrics"]:
            lines += ["", "```text", truncation_table(card["metrics"]["truncation"]), "```"]
    else:
        lines.append(f"Not evaluated yet: `tfgan-zoo evaluate --model {reference}`.")
    return "\n".join(lines) + "\n"


def _signatures(card, inputs):
    """What each signature of the card's version takes and gives, `inputs` being those of `serving_default`."""
    per_sample = "".join(f", `{c}` float32 [num]" for c in card["conditions"])
    described = {
        "serving_default": f"`serving_default` ({inputs} -> `samples` float32)",
        "seed": "`seed` (`seed` int64, `num` int32, `truncation` float32 scalars"
        + (", `label` int32 [num]" if card["num_classes"] else "")
        + f"{per_sample} -> `samples`: what `model.sample(num, seed=seed, truncation=psi)` gives)",
        "images": "`images` (the inputs of `serving_default` -> `images` uint8 [N, H, W, C])",
        "png": "`png` (the same -> `png_bytes` string [N], one PNG file per sample)",
    }
    # Cards written before the card listed its signatures: versions with serving_default and, for images, images.
    served = card.get("signatures") or ["serving_default"] + ["images"] * (len(card["sample_shape"]) == 3)
    return [described[name] for name in served]


def format_table(report):
    """The report as a text table: one row for the generator, one per reference."""
    about = report["evaluator"]
    title = report.get("model", "generator") + (f" at step {report['step']}" if "step" in report else "")
    title += f" on {report['dataset']}: {about['name']}"
    title += f", test accuracy {about['test_accuracy']:.2%}" if "test_accuracy" in about else ""
    title += f"; {about['num_samples']} samples per row"
    title += f", against the {about['reference']}" if "reference" in about else ""
    return _table(title, {"generator": report["values"], **report["references"]})


def per_class_table(per_class, rows=("generator", "real_floor")):
    """The figures of `metrics.per_class` as a text table: for each class, its figures in each of `rows`."""
    classes = dict.fromkeys(name for row in rows for name in per_class.get(row, {}))
    figures = {
        f"{name}: {row}": values
        for name in classes
        for row in rows
        if (values := per_class.get(row, {}).get(name)) is not None
    }
    return _table("Per class (TSTR and TRTS as the class's recall), next to the real floor", figures)


def truncation_table(truncation):
    """The figures of `metrics.truncation` as a text table: one row per truncation psi."""
    title = (
        f"Truncation: samples of psi * z (1.0 = none; {truncation['num_samples']} samples per row, seed "
        f"{truncation['seed']}); lower psi trades diversity (recall) for fidelity (precision)"
    )
    return _table(title, {f"psi {psi}": values for psi, values in truncation["values"].items()})


def _table(title, rows):
    """`title` above a table of `rows` (name -> {column: value}), one column per key any row has."""
    columns = list(dict.fromkeys(key for values in rows.values() for key in values))
    table = [["row", *columns]] + [
        [name, *(_number(values.get(key)) for key in columns)] for name, values in rows.items()
    ]
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    return "\n".join(
        [title]
        + [
            "  ".join(cell.rjust(width) if i else cell.ljust(width) for i, (cell, width) in enumerate(zip(row, widths)))
            for row in table
        ]
    )


def _number(value):
    return "-" if value is None else f"{value:.4g}"

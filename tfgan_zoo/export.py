"""`tfgan-zoo export`: a training run's generator as a TF Serving SavedModel, with its model card.

An entry `saved_models/<entry>/` is a TF Serving model base path:

    <version>/         saved_model.pb + variables/; each export adds the next integer version, older ones stay
    model_card.json    what the generator is, how it was trained, its metrics (filled by `tfgan-zoo evaluate`)
    README.md          the same card, for people
    golden.json        a fixed z and the newest version's outputs for it: the regression test's reference
    gan.keras          the whole GAN (discriminator and optimizer state included) for fine-tuning, when small

Every version has the signature `serving_default`, inputs `z` float32 [N, latent_dim] (+ `label` int32 [N]
when conditional, + one float32 [N] per continuous condition) -> `samples` float32 [N, *sample_shape] in the
data's scale; image entries add `images` (same inputs) -> `images` uint8 [N, H, W, C].
"""

import json
import math
import os
import pathlib
import platform
import shlex
import tempfile

import keras
import numpy as np
import tensorflow as tf
import yaml

from tfgan_zoo import config as config_lib, data, zoo

GOLDEN_FILE = "golden.json"
KERAS_FILE = "gan.keras"
# The fields of a card that DESIGN.md section 1 fixes.
CARD_FIELDS = {"name", "family", "dataset", "latent_dim", "num_classes", "sample_shape", "value_range", "conditions",
               "config", "training", "metrics", "version"}
# Above this the fine-tuning copy would bloat the repository; the checkpoints in the workdir remain.
KERAS_SIZE_LIMIT = 20 * 2**20
GOLDEN_SEED, GOLDEN_NUM, GOLDEN_VALUES = 1234, 4, 16


def export(workdir, output, checkpoint=None):
    """Exports the generator of the run in `workdir` as the next version of the entry `output`.

    Args:
        workdir: a `tfgan-zoo train` workdir.
        output: the entry folder, e.g. `saved_models/dcgan_fashion_mnist`.
        checkpoint: a checkpoint prefix (`<workdir>/checkpoints/ckpt-<step>`); default: the latest.

    Returns:
        The path of the new version.
    """
    workdir, output = pathlib.Path(workdir), pathlib.Path(output)
    gan, config, source, exported = zoo.load_workdir(workdir, checkpoint)
    value_range = source.metadata.get("value_range")
    conditions = dict(getattr(gan, "conditions", {}))  # continuous condition name -> [min, max] trained range
    version = 1 + max(zoo.versions(output), default=0)
    previous = json.loads((output / zoo.CARD_FILE).read_text()) if (output / zoo.CARD_FILE).exists() else {}
    output.mkdir(parents=True, exist_ok=True)
    # Written aside and renamed, so a TF Serving watching `output` never loads a half-written version.
    staging = pathlib.Path(tempfile.mkdtemp(prefix=f".export-{version}-", dir=output))
    # A run on padded images (`data.params.pad_to`, e.g. Fashion-MNIST on 32x32 for progressive growing)
    # exports samples cropped back to the data's own shape.
    archive, sample_shape = export_archive(gan, conditions, source.metadata.get("padding"), value_range)
    archive.write_out(str(staging), verbose=False)
    staging.rename(output / str(version))

    keras_path = output / KERAS_FILE
    gan.save(keras_path)
    if keras_path.stat().st_size > KERAS_SIZE_LIMIT:
        keras_path.unlink()
    card = {
        "name": output.name,
        # DESIGN.md's card families: conditional image and point models are "conditional"; series "timeseries".
        "family": "conditional" if config.model.conditional and config.model.family != "timeseries"
        else config.model.family,
        "dataset": source.name,
        "latent_dim": gan.latent_dim,
        "num_classes": gan.num_classes,
        "sample_shape": sample_shape,
        "value_range": list(value_range) if value_range else None,  # None: coordinates, unbounded
        "conditions": conditions,
        "config": _config_reference(config, workdir),
        "training": {
            "steps": int(gan.step.numpy()),
            "images_seen": int(gan.step.numpy()) * config.train.d_steps * config.data.batch_size,
            "wall_time_s": round(training_wall_time(workdir, checkpoint)),
            "hardware": hardware(),
            "seed": config.train.seed,
            "command": training_command(config, workdir),
            "data_origin": source.origin,
            "checkpoint": str(exported),
        },
        "metrics": {},  # `tfgan-zoo evaluate --model <entry>` fills it
        "version": version,
        "latent_distribution": gan.latent_distribution,
        "class_names": list(source.metadata.get("class_names", ())),
        "keras_file": KERAS_FILE if keras_path.exists() else None,
        "tensorflow": tf.__version__,
        "notes": previous.get("notes", ""),  # the maintainers' words (e.g. a scaled-down schedule), kept across exports
    }
    write_card(output, card)
    write_json(output / GOLDEN_FILE, golden_outputs(output, card))
    return output / str(version)


def input_specs(latent_dim, num_classes, conditions):
    """The signatures' inputs, name -> `tf.TensorSpec`: `z`, `label` when conditional, one per condition."""
    specs = {"z": tf.TensorSpec([None, latent_dim], tf.float32, name="z")}
    if num_classes:
        specs["label"] = tf.TensorSpec([None], tf.int32, name="label")
    specs.update({name: tf.TensorSpec([None], tf.float32, name=name) for name in conditions})
    return specs


def export_archive(gan, conditions=(), padding=None, value_range=None):
    """`(archive, sample_shape)`: a `keras.export.ExportArchive` of the EMA generator (else the generator)
    of `gan` with the zoo's signatures, its samples cropped by `padding` (`data.pad`'s margins) and clipped
    to `value_range` when given: a generator without a tanh output (progressive growing) may overshoot."""
    generator = gan.ema_generator if gan.ema_generator is not None else gan.generator
    specs = input_specs(gan.latent_dim, gan.num_classes, conditions)

    def samples(*tensors):
        inputs = dict(zip(specs, tensors))
        z, label = inputs.pop("z"), inputs.pop("label", None)
        checks = [] if label is None else _label_checks(z, label, gan.num_classes)
        with tf.control_dependencies(checks):
            # What is left of `inputs` are the continuous conditions: they reach G through the labels' hook.
            x = generator(gan._generator_inputs(z, label, **inputs), training=False)
        x = data.crop_padding(x, padding) if padding else x
        return tf.clip_by_value(x, *value_range) if value_range else x

    def images(*tensors):
        # The mapping of `plots.image_grid`: [-1, 1] -> {0, ..., 255}.
        x = tf.round((tf.clip_by_value(samples(*tensors), -1.0, 1.0) + 1.0) * 127.5)
        return {"images": tf.cast(x, tf.uint8)}

    # ExportArchive saves the variables the signatures capture, which TF Serving's session-based loader
    # needs: a plain tf.Module holding the Keras model reloads in TF2 but fails in `saved_model_cli run`.
    archive = keras.export.ExportArchive()
    archive.track(generator)
    serving = archive.add_endpoint("serving_default", lambda *tensors: {"samples": samples(*tensors)},
                                   list(specs.values()))
    sample_shape = serving.get_concrete_function().structured_outputs["samples"].shape[1:].as_list()
    if len(sample_shape) == 3:
        archive.add_endpoint("images", images, list(specs.values()))
    return archive, sample_shape


def _label_checks(z, label, num_classes):
    message = f"label must hold one integer in [0, {num_classes - 1}] per row of z"
    return [tf.debugging.assert_equal(tf.shape(label)[0], tf.shape(z)[0], message=message),
            tf.debugging.assert_non_negative(label, message=message),
            tf.debugging.assert_less(label, num_classes, message=message)]


def golden_outputs(entry, card):
    """A fixed z (and labels, and mid-range conditions) and the entry's newest outputs for them:
    `GOLDEN_VALUES` values at fixed positions of each sample, and each sample's mean and std."""
    model = zoo.PretrainedGenerator(entry)
    inputs = {"z": model.latent(GOLDEN_NUM, tf.constant([GOLDEN_SEED, 0], tf.int64)).numpy()}
    if card["num_classes"]:
        inputs["label"] = np.arange(GOLDEN_NUM, dtype=np.int32) % card["num_classes"]
    inputs.update({name: np.full(GOLDEN_NUM, sum(bounds) / 2, np.float32)
                   for name, bounds in card["conditions"].items()})
    samples = model.saved_model.signatures["serving_default"](**{k: tf.constant(v) for k, v in inputs.items()})
    flat = samples["samples"].numpy().reshape(GOLDEN_NUM, -1)
    positions = np.linspace(0, flat.shape[1] - 1, GOLDEN_VALUES).round().astype(int)
    return {
        "version": card["version"],
        "signature": "serving_default",
        "inputs": {name: value.tolist() for name, value in inputs.items()},
        "positions": positions.tolist(),
        "values": flat[:, positions].tolist(),
        "mean": flat.mean(axis=1).tolist(),
        "std": flat.std(axis=1).tolist(),
    }


def training_wall_time(workdir, checkpoint=None):
    """Seconds of `fit` up to `checkpoint` (default: to the end), over every `train` invocation of the workdir.

    Each invocation opens its own TensorBoard event file in `logs/train`, starting when `fit` starts and
    written at every epoch end, so the span of each file's events (up to the moment the checkpoint was
    written) is that invocation's training time; the time between invocations is not counted.
    """
    # An epoch's events follow its checkpoint, so an earlier checkpoint's time leaves its epoch out.
    written = os.path.getmtime(f"{checkpoint}.index") if checkpoint else math.inf
    total = 0.0
    for path in (workdir / "logs" / "train").glob("events.out.tfevents.*"):
        events = (tf.compat.v1.Event.FromString(record.numpy()) for record in tf.data.TFRecordDataset(str(path)))
        times = [event.wall_time for event in events if event.wall_time <= written]
        total += max(times) - min(times) if times else 0.0
    return total


def hardware():
    """The machine that exports, which in the zoo's workflow is the one that trained."""
    gpus = tf.config.list_physical_devices("GPU")
    return f"{os.cpu_count()} CPU cores ({platform.machine()})" + (f", {len(gpus)} GPU" if gpus else "")


def _config_reference(config, workdir):
    """The zoo config's path as the repository names it, or the workdir's resolved config when none matches."""
    path = zoo.configs_dir() / f"{config.name}.yaml"
    return f"zoo_configs/{path.name}" if path.exists() else str(workdir / "config.yaml")


def training_command(config, workdir):
    """The `tfgan-zoo train` command that reproduces the run: its zoo config plus one `--set` per difference."""
    path = zoo.configs_dir() / f"{config.name}.yaml"
    command = ["tfgan-zoo", "train", "--config", _config_reference(config, workdir), "--workdir", str(workdir)]
    if path.exists():
        base, run = _flat(config_lib.to_dict(config_lib.load(str(path)))), _flat(config_lib.to_dict(config))
        for key, value in run.items():
            if value != base[key]:
                text = yaml.safe_dump(value, default_flow_style=True, width=math.inf).removesuffix("\n...\n")
                command += ["--set", f"{key}={text.strip()}"]
    return shlex.join(command)


def _flat(values, prefix=""):
    """`{"train": {"steps": 5}}` -> `{"train.steps": 5}`; `data.params` stays one value, as `--set` takes it."""
    flat = {}
    for key, value in values.items():
        if isinstance(value, dict) and not prefix:
            flat.update(_flat(value, f"{key}."))
        else:
            flat[prefix + key] = value
    return flat


def write_json(path, value):
    """Writes strict JSON: NaN (e.g. `kid_std` of a single block) becomes null."""
    def strict(v):
        if isinstance(v, dict):
            return {key: strict(item) for key, item in v.items()}
        return None if isinstance(v, float) and math.isnan(v) else v

    path.write_text(json.dumps(strict(value), indent=2, allow_nan=False) + "\n")


def write_card(entry, card):
    """Writes the entry's `model_card.json` and, for a card that `export` wrote, its readable `README.md`."""
    write_json(entry / zoo.CARD_FILE, card)
    if CARD_FIELDS <= card.keys():
        (entry / "README.md").write_text(card_markdown(card))


def card_markdown(card):
    """The model card for people: what the generator makes, how to use it, how it was trained, its metrics."""
    name, t = card["name"], card["training"]
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
        f"Version {card['version']}, exported from `{t['checkpoint']}`.",
        "",
        "## Use",
        "",
        "```python",
        "import tfgan_zoo",
        f'model = tfgan_zoo.load_pretrained("{name}")',
        f"samples = model.sample(4, seed=0{labels})  # numpy, in the data's scale",
        "```",
        "",
        f"`tfgan-zoo sample --model {name} --num 64 --output grid.png`; behind TF Serving: `docs/serving.md`.",
        f"Signatures: `serving_default` ({inputs} -> `samples` float32)"
        + (" and `images` (same inputs -> `images` uint8 [N, H, W, C])." if len(card["sample_shape"]) == 3 else "."),
    ]
    if card.get("keras_file"):
        lines.append(f"`{card['keras_file']}` holds the whole GAN, discriminator and optimizer state included, for "
                     "fine-tuning: `keras.models.load_model` after `import tfgan_zoo`.")
    lines += [
        "",
        "## Training",
        "",
        *([card["notes"], ""] if card.get("notes") else []),
        f"{t['steps']} steps, {t['images_seen']:,} real examples seen, "
        + (f"{hours:.1f} h" if hours >= 1 else f"{hours * 60:.0f} min") + " on "
        f"{t['hardware']}, seed {t['seed']}, data from `{t['data_origin']}`. Config `{card['config']}`; reproduce with",
        "",
        "```bash",
        t["command"],
        "```",
        "",
        "## Metrics",
        "",
    ]
    if card["metrics"]:
        from tfgan_zoo import evaluation  # it imports this module

        lines += ["```text", evaluation.format_table({**card["metrics"], "model": name, "dataset": card["dataset"]}),
                  "```"]
    else:
        lines.append(f"Not evaluated yet: `tfgan-zoo evaluate --model saved_models/{name}`.")
    return "\n".join(lines) + "\n"

"""`tfgan-zoo export`: a training run's generator as the next version of a zoo entry, with its model card.

An entry `saved_models/<entry>/` is a TF Serving model base path:

    <version>/         saved_model.pb + variables/ (`signatures`), and assets.extra/config.yaml, the run's resolved
                       config; each export adds the next integer version, older ones stay
    model_card.json    what the generator is, how it was trained, its metrics (filled by `tfgan-zoo evaluate`)
    README.md          the same card, for people
    golden.json        a fixed z and the newest version's outputs for it: the regression test's reference
    gan.keras          the newest version's whole GAN for fine-tuning (`GAN.from_preset`), when small: G, EMA G and D
                       without optimizer state (half the size); the card's `keras_file_version` names its version
"""

import contextlib
import copy
import pathlib
import shutil
import tempfile

import numpy as np
import tensorflow as tf
from absl import logging

from tfgan_zoo import build, cards, paths, provenance, signatures, workdirs, zoo
from tfgan_zoo import config as config_lib

GOLDEN_FILE = "golden.json"
# Above this the fine-tuning copy would bloat the repository; the checkpoints in the workdir remain.
KERAS_SIZE_LIMIT = 20 * 2**20
GOLDEN_SEED, GOLDEN_NUM, GOLDEN_VALUES = 1234, 4, 16


def export(workdir, output, checkpoint=None, force=False):
    """Exports the generator of the run in `workdir` as the next version of the entry `output`.

    Args:
        workdir: a `tfgan-zoo train` workdir.
        output: the entry folder, e.g. `saved_models/dcgan_fashion_mnist`.
        checkpoint: a checkpoint prefix (`<workdir>/checkpoints/ckpt-<step>`); default: the latest.
        force: add the version even when its data, family or sample shape differ from the entry's card; without
            it such an export is refused before anything is written, since it would replace the entry's card,
            metrics, golden outputs and `gan.keras` with another model's.

    Returns:
        The path of the new version.
    """
    workdir, output = pathlib.Path(workdir), pathlib.Path(output)
    gan, config, source, exported = workdirs.load(workdir, checkpoint)
    value_range = source.metadata.get("value_range")
    conditions = dict(getattr(gan, "conditions", {}))  # continuous condition name -> [min, max] trained range
    version = 1 + max(paths.versions(output), default=0)
    previous = cards.read_card(output) if (output / paths.CARD_FILE).exists() else {}
    # A run on padded images (`data.params.pad_to`, e.g. Fashion-MNIST on 32x32 for progressive growing)
    # exports samples cropped back to the data's own shape.
    archive, sample_shape = signatures.export_archive(gan, conditions, source.metadata.get("padding"), value_range)
    # The card's families: conditional image and point models are "conditional"; series "timeseries".
    family = "conditional" if config.model.conditional and config.model.family != "timeseries" else config.model.family
    new = {"dataset": source.name, "family": family, "sample_shape": sample_shape}
    differ = [key for key in new if previous and previous.get(key) != new[key]]
    if differ and not force:
        raise ValueError(
            f"{output} holds a generator of {', '.join(f'{k} {previous.get(k)}' for k in differ)}; this run has "
            f"{', '.join(f'{k} {new[k]}' for k in differ)}. Export it as an entry of its own (--output "
            f"{output.parent}/<new name>), or pass --force to add it to {output.name} as version {version}."
        )
    output.mkdir(parents=True, exist_ok=True)
    # Written aside and renamed, so a TF Serving watching `output` never loads a half-written version.
    staging = pathlib.Path(tempfile.mkdtemp(prefix=f".export-{version}-", dir=output))
    staging.chmod(0o755)  # mkdtemp's 0700 would hide the version from a TF Serving of another user
    keras_path, keras_partial = output / paths.KERAS_FILE, output / f".{paths.KERAS_FILE}.partial.keras"
    try:
        with _quiet_tensorflow():  # its "Assets written to <staging folder>" says nothing useful
            archive.write_out(str(staging), verbose=False)
        # The version's own config: `evaluate` and reproduction read it, whatever the zoo's YAML has become since.
        config_path = paths.version_config(output, staging.name)
        config_path.parent.mkdir()
        config_lib.save(config, config_path)
        # Saved before the version is published, so a full disk fails the export instead of publishing half of it.
        gan.save(keras_partial, include_optimizer=False)  # fine-tuning starts fresh optimizers; the wheel stays small
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        keras_partial.unlink(missing_ok=True)
        raise
    small = keras_partial.stat().st_size <= KERAS_SIZE_LIMIT
    staging.rename(output / str(version))
    if small:
        keras_partial.replace(keras_path)
    else:
        keras_partial.unlink()
        keras_path.unlink(missing_ok=True)  # an older version's: the card names none
    card = {
        "name": output.name,
        "family": family,
        "dataset": source.name,
        "latent_dim": gan.latent_dim,
        "num_classes": gan.num_classes,
        "sample_shape": sample_shape,
        "value_range": list(value_range) if value_range else None,  # None: coordinates, unbounded
        "conditions": conditions,
        "config": provenance.config_reference(config, workdir),
        "training": {
            "steps": int(gan.step.numpy()),
            "images_seen": int(gan.step.numpy()) * config.train.d_steps * config.data.batch_size,
            "wall_time_s": round(provenance.training_wall_time(workdir, checkpoint)),
            "hardware": provenance.hardware(),
            "seed": config.train.seed,
            "command": provenance.training_command(config, workdir),
            "data_origin": source.origin,
            **_data_examples(config),
            "checkpoint": str(exported),
            "runtime": {key: getattr(config.runtime, key) for key in ("jit_compile", "precision", "strategy")},
        },
        "metrics": {},  # `tfgan-zoo evaluate --model <entry>` fills it
        "version": version,
        "latent_distribution": gan.latent_distribution,
        "class_names": list(source.metadata.get("class_names", ())),
        "keras_file": paths.KERAS_FILE if small else None,
        "keras_file_version": version if small else None,
        "tensorflow": tf.__version__,
        "notes": previous.get("notes", ""),  # the maintainers' words (e.g. a scaled-down schedule), kept across exports
    }
    cards.write_card(output, card)
    cards.write_json(output / GOLDEN_FILE, golden_outputs(output, card))
    return output / str(version)


def _data_examples(config):
    """`{"data_examples": n}` when the run trained on the first n examples of its data (`data.num_examples`), fewer
    than the source has; else nothing."""
    if config.data.num_examples is None:
        return {}
    whole = copy.deepcopy(config)
    whole.data.num_examples = None
    seen = len(build.load_source(config).x)
    return {"data_examples": seen} if seen < len(build.load_source(whole).x) else {}


@contextlib.contextmanager
def _quiet_tensorflow():
    """No INFO logs inside the block: TensorFlow's saving logs through its own logger and through absl's."""
    level, verbosity = tf.get_logger().level, logging.get_verbosity()
    tf.get_logger().setLevel("WARNING")
    logging.set_verbosity(logging.WARNING)
    try:
        yield
    finally:
        tf.get_logger().setLevel(level)
        logging.set_verbosity(verbosity)


def golden_outputs(entry, card):
    """A fixed z (and labels, and mid-range conditions) and the entry's newest outputs for them:
    `GOLDEN_VALUES` values at fixed positions of each sample, and each sample's mean and std."""
    model = zoo.PretrainedGenerator(entry)
    inputs = {"z": model.latent(GOLDEN_NUM, tf.constant([GOLDEN_SEED, 0], tf.int64)).numpy()}
    if card["num_classes"]:
        inputs["label"] = np.arange(GOLDEN_NUM, dtype=np.int32) % card["num_classes"]
    inputs.update(
        {name: np.full(GOLDEN_NUM, sum(bounds) / 2, np.float32) for name, bounds in card["conditions"].items()}
    )
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

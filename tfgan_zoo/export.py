"""`tfgan-zoo export`: a training run's generator as the next version of a zoo entry, with its model card; or an
entry's newest version rebuilt from the entry's own whole-GAN copy (`export_from_entry`), with today's signatures.

An entry `saved_models/<entry>/` is a TF Serving model base path:

    <version>/         saved_model.pb + variables/ (`signatures`), and in assets.extra/ config.yaml, the run's
                       resolved config, and tf_serving_warmup_requests, the requests TF Serving replays when it
                       loads the version; each export adds the next integer version, older ones stay
    model_card.json    what the generator is, how it was trained, its metrics (filled by `tfgan-zoo evaluate`)
    README.md          the same card, for people
    golden.json        a fixed z and the newest version's outputs for it: the regression test's reference
    gan.keras          the newest version's whole GAN for fine-tuning (`GAN.from_preset`), when small: G, EMA G and D
                       without optimizer state (half the size); the card's `keras_file_version` names its version
"""

import contextlib
import copy
import json
import pathlib
import shlex
import shutil
import tempfile

import numpy as np
import tensorflow as tf
from absl import logging

from tfgan_zoo import build, cards, paths, provenance, signatures, workdirs
from tfgan_zoo import config as config_lib
from tfgan_zoo import gan as gan_lib

GOLDEN_FILE = "golden.json"
# Above this the fine-tuning copy would bloat the repository; the checkpoints in the workdir remain.
KERAS_SIZE_LIMIT = 20 * 2**20
GOLDEN_SEED, GOLDEN_NUM, GOLDEN_VALUES = 1234, 4, 16
GOLDEN_TOLERANCE = 1e-4  # what the contract test allows (tests/contract.py)


def export(workdir, output, checkpoint=None, force=False, best=None):
    """Exports the generator of the run in `workdir` as the next version of the entry `output`.

    Args:
        workdir: a `tfgan-zoo train` workdir.
        output: the entry folder, e.g. `saved_models/dcgan_fashion_mnist`.
        checkpoint: a checkpoint prefix (`<workdir>/checkpoints/ckpt-<step>`); default: the latest.
        force: add the version even when its data, family or sample shape differ from the entry's card; without
            it such an export is refused before anything is written, since it would replace the entry's card,
            metrics, golden outputs and `gan.keras` with another model's.
        best: instead of `checkpoint`, the kept checkpoint whose epoch scored best on this metric in the run's
            `history.csv` (`workdirs.best_checkpoint`).

    Returns:
        The path of the new version.
    """
    workdir, output = pathlib.Path(workdir), pathlib.Path(output)
    if best and checkpoint:
        raise ValueError("Pass --checkpoint or --best, not both: --best chooses the checkpoint.")
    command = ["--workdir", str(workdir), "--output", str(output)]
    command += ["--checkpoint", str(checkpoint)] if checkpoint else ["--best", best] if best else []
    selected = {}
    if best:
        checkpoint, value = workdirs.best_checkpoint(workdir, best)
        selected = {"selected_by": {"metric": best, "value": value}}
        logging.info("Exporting %s: the best %s (%.4g) of the kept checkpoints.", checkpoint, best, value)
    gan, config, source, exported = workdirs.load(workdir, checkpoint)
    training = {
        "steps": int(gan.step.numpy()),
        "images_seen": int(gan.step.numpy()) * config.train.d_steps * config.data.batch_size,
        "wall_time_s": round(provenance.training_wall_time(workdir, checkpoint)),
        "hardware": provenance.hardware(),
        "seed": config.train.seed,
        "command": provenance.training_command(config, workdir),
        "data_origin": source.origin,
        **_data_examples(config),
        "checkpoint": str(exported),
        **selected,
        "runtime": {key: getattr(config.runtime, key) for key in ("jit_compile", "precision", "strategy")},
    }
    described = {"config": provenance.config_reference(config, workdir), "training": training, "metrics": {}}
    return _publish(gan, config, source, output, described, command + ["--force"] * force, force=force)


def export_from_entry(entry):
    """Rebuilds the newest version of `entry` as its next version from the entry's own files: the whole GAN of
    `gan.keras` (which must be of that version) and the version's resolved config. The new version has today's
    signatures and warmup file; it is published only if its `serving_default` gives the entry's golden outputs,
    and then the card keeps its training record and metrics, which are the same weights'.

    Returns:
        The path of the new version.
    """
    entry = pathlib.Path(entry)
    card = cards.read_card(entry)
    if card.get("keras_file_version") != card["version"]:
        raise ValueError(
            f"{entry} has no {paths.KERAS_FILE} of its newest version {card['version']} (the card names "
            f"{card.get('keras_file_version')}), so its weights cannot be rebuilt. {cards.reexport_hint(entry)}"
        )
    gan = gan_lib.GAN.from_preset(entry)
    config = config_lib.load(str(paths.version_config(entry, card["version"])))
    source = build.load_source(config, num_examples=1)
    golden = json.loads((entry / GOLDEN_FILE).read_text())
    described = {key: card[key] for key in ("config", "training", "metrics")}
    return _publish(gan, config, source, entry, described, ["--from_entry", str(entry)], golden=golden)


def _publish(gan, config, source, output, described, command, force=False, golden=None):
    """Writes the generator of `gan` as the next version of the entry `output`, with `gan.keras`, the card (its
    `config`, `training` and `metrics` from `described`; `export_command` from `command`, the export's flags) and
    the golden outputs. With `golden`, the version is published only when it reproduces those outputs."""
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
    card = {
        "name": output.name,
        "family": family,
        "dataset": source.name,
        "latent_dim": gan.latent_dim,
        "num_classes": gan.num_classes,
        "sample_shape": sample_shape,
        "value_range": list(value_range) if value_range else None,  # None: coordinates, unbounded
        "conditions": conditions,
        "config": described["config"],
        "training": described["training"],
        "metrics": described["metrics"],  # `tfgan-zoo evaluate --model <entry>` fills it
        "version": version,
        "latent_distribution": gan.latent_distribution,
        "class_names": list(source.metadata.get("class_names", ())),
        "keras_file": None,
        "keras_file_version": None,
        "signatures": signatures.signature_names(sample_shape),
        "export_command": shlex.join(["tfgan-zoo", "export", *command]),
        "tensorflow": tf.__version__,
        "notes": previous.get("notes", ""),  # the maintainers' words (e.g. a scaled-down schedule), kept across exports
    }
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
        signatures.write_warmup(
            config_path.parent / signatures.WARMUP_FILE, output.name, signatures.warmup_requests(card)
        )
        if golden:
            _check_golden(staging, golden, output)
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
        card.update(keras_file=paths.KERAS_FILE, keras_file_version=version)
    else:
        keras_partial.unlink()
        keras_path.unlink(missing_ok=True)  # an older version's: the card names none
    cards.write_card(output, card)
    cards.write_json(output / GOLDEN_FILE, golden_outputs(output / str(version), card))
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


def golden_outputs(version_dir, card):
    """A fixed z (and labels, and mid-range conditions: `signatures.example_inputs`) and the outputs of the
    version in `version_dir` for them: `GOLDEN_VALUES` values at fixed positions of each sample, and each
    sample's mean and std."""
    inputs = signatures.example_inputs(card, GOLDEN_NUM, GOLDEN_SEED)
    flat = _flat_samples(version_dir, inputs)
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


def _flat_samples(version_dir, inputs):
    """`serving_default`'s samples of the SavedModel in `version_dir` for `inputs` (name -> values), one row each."""
    signature = tf.saved_model.load(str(version_dir)).signatures["serving_default"]
    specs = signature.structured_input_signature[1]
    samples = signature(**{name: tf.constant(value, specs[name].dtype) for name, value in inputs.items()})["samples"]
    return samples.numpy().reshape(len(inputs["z"]), -1)


def _check_golden(version_dir, golden, entry):
    """Refuses a rebuilt version whose `serving_default` departs from the entry's golden outputs."""
    flat = _flat_samples(version_dir, golden["inputs"])
    got = {"values": flat[:, golden["positions"]], "mean": flat.mean(axis=1), "std": flat.std(axis=1)}
    error = max(float(np.max(np.abs(got[key] - np.asarray(golden[key])))) for key in got)
    if error > GOLDEN_TOLERANCE:
        raise ValueError(
            f"The rebuilt version of {entry} departs from its {GOLDEN_FILE} (version {golden['version']}) by up to "
            f"{error:.3g}, more than {GOLDEN_TOLERANCE}: {paths.KERAS_FILE} does not hold the weights of that "
            f"version. Nothing was published. {cards.reexport_hint(entry)}"
        )

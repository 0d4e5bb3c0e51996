"""The zoo's entries: named configs in `zoo_configs/`, trained generators, and `load_pretrained`."""

import copy
import json
import os
import pathlib

import keras
import numpy as np
import tensorflow as tf
from google.protobuf import message

from tfgan_zoo import config as config_lib
from tfgan_zoo.gan import GAN, condition_values

_REPOSITORY = pathlib.Path(__file__).resolve().parent.parent
CARD_FILE = "model_card.json"  # what makes a folder a zoo entry (`tfgan_zoo.export` writes it)


def configs_dir():
    """`$TFGAN_ZOO_CONFIGS`, else the repository's `zoo_configs/`."""
    return pathlib.Path(os.environ.get("TFGAN_ZOO_CONFIGS", _REPOSITORY / "zoo_configs"))


def config_names():
    return sorted(path.stem for path in configs_dir().glob("*.yaml"))


def config_path(name_or_path):
    """A config file from its path, or from an entry name such as `vanilla_ring8`."""
    if os.path.exists(name_or_path) or name_or_path.endswith((".yaml", ".yml")):
        return str(name_or_path)
    path = configs_dir() / f"{name_or_path}.yaml"
    if not path.exists():
        raise config_lib.ConfigError(
            f"No zoo config named {name_or_path!r}; the zoo has {', '.join(config_names())} (in {configs_dir()}).")
    return str(path)


def describe_configs():
    """One row per zoo config: (name, family, data source, conditional, steps)."""
    rows = []
    for name in config_names():
        c = config_lib.load(configs_dir() / f"{name}.yaml")
        rows.append((name, c.model.family, c.data.source, "yes" if c.model.conditional else "no", c.train.steps))
    return rows


def models_dir():
    """`$TFGAN_ZOO_MODELS`, else the repository's `saved_models/`."""
    return pathlib.Path(os.environ.get("TFGAN_ZOO_MODELS", _REPOSITORY / "saved_models"))


def resolve(name_or_path):
    """A path as given when it exists, else a bare name as an entry of `models_dir()`."""
    path = pathlib.Path(name_or_path)
    if not path.exists() and not path.is_absolute() and len(path.parts) == 1:
        return models_dir() / name_or_path
    return path


def shipped_entries():
    """The shipped generators: folders of `models_dir()` with a `model_card.json`, evaluators excluded."""
    return sorted(path.parent for path in models_dir().glob(f"*/{CARD_FILE}") if path.parent.name != "evaluators")


# Metrics that `list` shows, when the card has them: mode coverage for 2-D mixtures, quality and diversity
# for images, how well the samples of a conditional generator teach a classifier, and how well a time
# series generator honours its amplitude and period.
KEY_METRICS = ("modes_covered", "high_quality", "spread", "fd", "precision", "recall", "tstr_ratio",
               "amplitude_error", "period_error")


def describe_entries():
    """One row per shipped generator: (name, family, data, version, key metrics)."""
    rows = []
    for entry in shipped_entries():
        card = _read_card(entry)
        values = card["metrics"].get("values", {})
        shown = ", ".join(f"{key} {values[key]:.4g}" for key in KEY_METRICS if values.get(key) is not None)
        rows.append((entry.name, card["family"], card["dataset"], card["version"], shown or "not evaluated"))
    return rows


def describe_evaluators():
    """One row per shipped evaluator network (not a generator): (name, data, test accuracy)."""
    rows = []
    for path in sorted((models_dir() / "evaluators").glob(f"*/{CARD_FILE}")):
        card = json.loads(path.read_text())
        rows.append((path.parent.name, card.get("dataset", "?"), f"{card.get('test_accuracy', float('nan')):.2%}"))
    return rows


def versions(entry):
    """The integer versions exported in `entry`, as TF Serving sees them."""
    return sorted(int(path.name) for path in pathlib.Path(entry).glob("*") if path.name.isdigit() and path.is_dir())


def _read_card(entry):
    path = entry / CARD_FILE
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise ValueError(f"{path} is unreadable ({error}). Re-export the entry: "
                         f"tfgan-zoo export --workdir <its training workdir> --output {entry}") from None


class PretrainedGenerator:
    """A shipped generator: its SavedModel behind `GAN`'s sampling interface, and its card.

    Attributes:
        card: the entry's `model_card.json` (name, data, training, metrics, ...).
        latent_dim, latent_distribution, num_classes, conditions: from the card; `conditions` maps each
            continuous condition's name to its trained range.
        version: the loaded version of the entry.
    """

    def __init__(self, entry, version=None):
        self.entry = pathlib.Path(entry)
        self.card = _read_card(self.entry)
        self.version = version or max(versions(self.entry), default=None)
        fix = f"Re-export it: tfgan-zoo export --workdir <its training workdir> --output {self.entry}"
        if self.version is None:
            raise FileNotFoundError(f"{self.entry} has a model card but no exported version (no <integer>/ folder). "
                                    f"{fix}")
        path = self.entry / str(self.version)
        try:
            self.saved_model = tf.saved_model.load(str(path))
        except (OSError, ValueError, tf.errors.OpError, message.DecodeError) as error:
            raise ValueError(f"{path} is not a readable SavedModel ({type(error).__name__}: "
                             f"{str(error).splitlines()[0]}). {fix}") from None
        self.latent_dim = self.card["latent_dim"]
        self.latent_distribution = self.card["latent_distribution"]
        self.num_classes = self.card["num_classes"]
        self.conditions = self.card["conditions"]

    def latent(self, n, seed):
        """`n` latent vectors from a stateless seed of shape [2]: those the trained `GAN` draws."""
        return GAN.latent(self, n, seed)  # it reads only `latent_dim` and `latent_distribution`

    def generate(self, z, labels=None, conditions=None):
        """Samples (numpy, in the data's scale) for latent vectors `z`, `labels` when conditional, and
        `conditions` {name: value or values} when the generator has continuous conditions."""
        z = tf.convert_to_tensor(z, tf.float32)
        n = len(z)
        inputs = {"z": z}
        if self.num_classes:
            inputs["label"] = GAN.check_labels(self, labels, n)  # it needs only `num_classes`
        elif labels is not None:
            raise ValueError(f"{self.card['name']} is unconditional: it takes no labels.")
        conditions = dict(conditions or {})
        if set(conditions) != set(self.conditions):
            raise ValueError(f"{self.card['name']} takes the conditions {sorted(self.conditions) or 'none'}; "
                             f"got {sorted(conditions) or 'none'}.")
        inputs.update({name: tf.constant(np.broadcast_to(np.asarray(value, np.float32), (n,)))
                       for name, value in conditions.items()})
        return self.saved_model.signatures["serving_default"](**inputs)["samples"].numpy()

    def sample(self, n, seed=0, labels=None, conditions=None):
        """`n` samples as a numpy array; the same `seed` gives the samples `GAN.sample` gives (conditions left
        out are drawn as it draws them)."""
        conditions = condition_values(self.conditions, conditions, n, seed)
        return self.generate(self.latent(n, tf.constant([seed, 0], tf.int64)), labels, conditions)


def load_workdir(workdir, checkpoint=None):
    """`(gan, config, source, checkpoint)`: the compiled GAN of a training workdir at `checkpoint` (default:
    the latest), optimizer state included; `source` holds one example of the run's data and its metadata."""
    from tfgan_zoo import training  # training imports the metrics, which import this module

    workdir = pathlib.Path(workdir)
    if not (workdir / "config.yaml").exists():
        raise FileNotFoundError(f"{workdir} is not a training workdir (no config.yaml). "
                                "Pass the --workdir of a `tfgan-zoo train` run.")
    if checkpoint and not pathlib.Path(f"{checkpoint}.index").exists():
        raise FileNotFoundError(f"No checkpoint {checkpoint}: name one as <workdir>/checkpoints/ckpt-<step>.")
    config = config_lib.load(str(workdir / "config.yaml"))
    one = copy.deepcopy(config)
    one.data.num_examples = 1
    source = training.load_source(one)
    gan = training.compile_gan(training.build_gan(config, source.x.shape[1:], source.num_classes,
                                                  source.metadata.get("condition_ranges")), config)
    state = tf.train.Checkpoint(gan=gan, d_optimizer=gan.d_optimizer, g_optimizer=gan.g_optimizer)
    if checkpoint:
        state.restore(str(checkpoint)).assert_existing_objects_matched()
    else:
        checkpoint = training.restore_latest(state, str(workdir / "checkpoints"))
    if checkpoint is None:
        raise FileNotFoundError(f"No checkpoint in {workdir / 'checkpoints'}: train first, "
                                f"tfgan-zoo train --workdir {workdir}.")
    return gan, config, source, checkpoint


def load_pretrained(name_or_path):
    """A trained generator with `.sample(n, seed=..., labels=..., conditions=...)`, offline, from:

    - a shipped entry: a name in `models_dir()` or an entry folder (`PretrainedGenerator`, newest version;
      a version folder `<entry>/<version>` loads that version);
    - a training workdir: its GAN at the latest checkpoint (current while the run still trains);
    - a `.keras` file (or a folder holding `gan.keras`): the whole `GAN`.
    """
    path = resolve(name_or_path)
    if (path / "config.yaml").exists() and any((path / "checkpoints").glob("ckpt-*.index")):
        return load_workdir(path)[0]
    if (path / CARD_FILE).exists():
        return PretrainedGenerator(path)
    if path.name.isdigit() and (path.parent / CARD_FILE).exists():
        return PretrainedGenerator(path.parent, int(path.name))
    if path.is_dir() and (path / "gan.keras").exists():
        path = path / "gan.keras"
    if path.suffix != ".keras" or not path.is_file():
        shipped = ", ".join(entry.name for entry in shipped_entries()) or "none yet"
        raise FileNotFoundError(
            f"No trained model at {str(name_or_path)!r}: expected a shipped entry (a folder with model_card.json "
            f"and <version>/saved_model.pb; shipped in {models_dir()}: {shipped}), a training workdir or a .keras "
            "file. Train one with `tfgan-zoo train --workdir DIR`, export it with "
            "`tfgan-zoo export --workdir DIR --output saved_models/<entry>`.")
    try:
        return keras.models.load_model(path)
    except (ValueError, OSError, KeyError) as error:
        raise ValueError(f"{path} is not a readable tfgan-zoo model ({error}). Re-export or retrain it.") from None

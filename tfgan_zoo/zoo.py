"""The zoo's entries as users meet them: `load_pretrained`, the shipped `PretrainedGenerator`, and the rows of
`tfgan-zoo list`."""

import json
import os
import pathlib

import tensorflow as tf
from absl import logging
from google.protobuf import message

from tfgan_zoo import cards, paths, sampling, workdirs
from tfgan_zoo import config as config_lib
from tfgan_zoo import gan as gan_lib
from tfgan_zoo.metrics import registry


def describe_configs():
    """One row per zoo config: (name, family, data source, conditional, steps, origin on the search path)."""
    rows = []
    for name, (origin, path) in paths.configs().items():
        c = config_lib.load(path)
        rows.append(
            (name, c.model.family, c.data.source, "yes" if c.model.conditional else "no", c.train.steps, origin)
        )
    return rows


def describe_entries():
    """One row per entry: (name, family, data, version, its headline metrics, origin on the search path)."""
    rows = []
    for name, (origin, entry) in paths.entries().items():
        try:
            card = cards.read_card(entry)
            values = card["metrics"].get("values", {})
            shown = ", ".join(
                f"{key} {values[key]:.4g}" for key in registry.headline_names() if values.get(key) is not None
            )
            rows.append((name, card["family"], card["dataset"], card["version"], shown or "not evaluated", origin))
        except ValueError as error:  # one broken card hides no other entry
            rows.append((name, "?", "?", "?", f"broken: {error}", origin))
        except (KeyError, TypeError, AttributeError) as error:
            broken = f"broken: {entry / paths.CARD_FILE} lacks {error} or has it of the wrong type. "
            rows.append((name, "?", "?", "?", broken + cards.reexport_hint(entry), origin))
    return rows


def describe_evaluators():
    """One row per evaluator network (not a generator): (name, data, test accuracy, origin on the search path)."""
    rows = []
    for name, (origin, folder) in paths.evaluators().items():
        card = json.loads((folder / paths.CARD_FILE).read_text())
        accuracy = f"{card.get('test_accuracy', float('nan')):.2%}"
        rows.append((name, card.get("dataset", "?"), accuracy, origin))
    return rows


class PretrainedGenerator(sampling.Sampler):
    """A shipped generator: its SavedModel behind the sampling interface of `GAN` (`sampling.Sampler`), and its
    card.

    Attributes:
        card: the entry's `model_card.json` (name, data, training, metrics, ...).
        latent_dim, latent_distribution, num_classes, conditions: from the card; `conditions` maps each
            continuous condition's name to its trained range.
        version: the loaded version of the entry.
    """

    def __init__(self, entry, version=None):
        self.entry = pathlib.Path(entry)
        self.card = cards.read_card(self.entry)
        self.version = version or self._newest_complete_version()
        fix = f"Re-export it: tfgan-zoo export --workdir <its training workdir> --output {self.entry}"
        if self.version is None:
            raise FileNotFoundError(
                f"{self.entry} has a model card but no exported version (no <integer>/ folder with a "
                f"saved_model.pb). {fix}"
            )
        path = self.entry / str(self.version)
        try:
            self.saved_model = tf.saved_model.load(str(path))
        except (OSError, ValueError, tf.errors.OpError, message.DecodeError) as error:
            raise ValueError(
                f"{path} is not a readable SavedModel ({type(error).__name__}: {str(error).splitlines()[0]}). {fix}"
            ) from None
        self.latent_dim = self.card["latent_dim"]
        self.latent_distribution = self.card["latent_distribution"]
        self.num_classes = self.card["num_classes"]
        self.conditions = self.card["conditions"]

    def _newest_complete_version(self):
        """The newest version with a `saved_model.pb`; newer ones without (half-written: a copy or an export
        cut short) are skipped with a warning, as TF Serving would fail on them."""
        for version in reversed(paths.versions(self.entry)):
            if (self.entry / str(version) / "saved_model.pb").exists():
                return version
            logging.warning(
                "%s has no saved_model.pb (half-written?); loading an older version. Remove it or re-export.",
                self.entry / str(version),
            )
        return None

    @classmethod
    def from_preset(cls, name_or_path):
        """The sampler of a zoo entry (a name on the search path or an entry folder), at its newest version."""
        path = paths.resolve(name_or_path)
        if not (path / paths.CARD_FILE).exists():
            raise _not_found(name_or_path)
        return cls(path)

    def generate(self, z, labels=None, conditions=None):
        """Samples (numpy, in the data's scale) for latent vectors `z`, `labels` when conditional, and
        `conditions` {name: value or values} when the generator has continuous conditions."""
        z, labels, conditions = self.checked_inputs(z, labels, conditions)
        inputs = {"z": z, **({"label": labels} if self.num_classes else {}), **conditions}
        return self.saved_model.signatures["serving_default"](**inputs)["samples"].numpy()


def load_pretrained(name_or_path: str | os.PathLike) -> sampling.Sampler:
    """A trained generator with `.sample(n, seed=..., labels=..., conditions=...)`, offline, from:

    - a zoo entry: a name on the search path (`paths`) or an entry folder (`PretrainedGenerator`, newest version;
      a version folder `<entry>/<version>` loads that version);
    - a training workdir: its GAN at the latest checkpoint (current while the run still trains);
    - a `.keras` file (or a folder holding `gan.keras`): the whole `GAN`.
    """
    path = paths.resolve(name_or_path)
    if (path / "config.yaml").exists() and any((path / "checkpoints").glob("ckpt-*.index")):
        return workdirs.load(path)[0]
    if (path / paths.CARD_FILE).exists():
        return PretrainedGenerator(path)
    if path.name.isdigit() and (path.parent / paths.CARD_FILE).exists():
        return PretrainedGenerator(path.parent, int(path.name))
    if path.is_dir() and (path / paths.KERAS_FILE).exists():
        path = path / paths.KERAS_FILE
    if path.suffix != ".keras" or not path.is_file():
        raise _not_found(name_or_path)
    try:
        return gan_lib.GAN.from_preset(path)
    except (ValueError, OSError, KeyError) as error:
        raise ValueError(f"{path} is not a readable tfgan-zoo model ({error}). Re-export or retrain it.") from None


def _not_found(name_or_path):
    return FileNotFoundError(
        f"No trained model at {str(name_or_path)!r}: expected a zoo entry (a folder with model_card.json and "
        f"<version>/saved_model.pb; known: {', '.join(paths.entries()) or 'none'}, searched {paths.searched('models')}), "
        "a training workdir or a .keras file. Train one with `tfgan-zoo train --workdir DIR`, export it with "
        "`tfgan-zoo export --workdir DIR --output saved_models/<entry>`."
    )

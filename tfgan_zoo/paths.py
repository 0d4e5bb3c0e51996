"""Where the zoo's files live: its configs, its shipped entries and its evaluators, and how names find them.

A leaf module (it imports only the config schema's error), so every layer, the metrics' evaluators included, may
ask it.
"""

import os
import pathlib

from tfgan_zoo.config import ConfigError

_REPOSITORY = pathlib.Path(__file__).resolve().parent.parent
CARD_FILE = "model_card.json"  # what makes a folder a zoo entry (or an evaluator)


def configs_dir() -> pathlib.Path:
    """`$TFGAN_ZOO_CONFIGS`, else the repository's `zoo_configs/`."""
    return pathlib.Path(os.environ.get("TFGAN_ZOO_CONFIGS", _REPOSITORY / "zoo_configs"))


def models_dir() -> pathlib.Path:
    """`$TFGAN_ZOO_MODELS`, else the repository's `saved_models/`."""
    return pathlib.Path(os.environ.get("TFGAN_ZOO_MODELS", _REPOSITORY / "saved_models"))


def evaluators_dir() -> pathlib.Path:
    """The shipped evaluator networks, which measure generators and are not generators themselves."""
    return models_dir() / "evaluators"


def config_names():
    return sorted(path.stem for path in configs_dir().glob("*.yaml"))


def zoo_config(name):
    """The zoo's config file named `name` (e.g. `vanilla_ring8`), or None when the zoo has none of that name."""
    path = configs_dir() / f"{name}.yaml"
    return path if path.exists() else None


def config_path(name_or_path) -> str:
    """A config file from its path, or from an entry name such as `vanilla_ring8`.

    Raises `ConfigError` naming the zoo's configs when the name is unknown."""
    if os.path.exists(name_or_path) or str(name_or_path).endswith((".yaml", ".yml")):
        return str(name_or_path)
    path = zoo_config(name_or_path)
    if path is None:
        raise ConfigError(
            f"No zoo config named {name_or_path!r}; the zoo has {', '.join(config_names())} (in {configs_dir()})."
        )
    return str(path)


def resolve(name_or_path) -> pathlib.Path:
    """A path as given when it exists, else a bare name as an entry of `models_dir()`."""
    path = pathlib.Path(name_or_path)
    if not path.exists() and not path.is_absolute() and len(path.parts) == 1:
        return models_dir() / name_or_path
    return path


def shipped_entries():
    """The shipped generators: folders of `models_dir()` with a model card, evaluators excluded."""
    return sorted(path.parent for path in models_dir().glob(f"*/{CARD_FILE}") if path.parent.name != "evaluators")


def versions(entry):
    """The integer versions exported in `entry`, as TF Serving sees them."""
    return sorted(int(path.name) for path in pathlib.Path(entry).glob("*") if path.name.isdigit() and path.is_dir())

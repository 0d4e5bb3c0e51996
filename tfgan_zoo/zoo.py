"""The zoo's entries: named configs in `zoo_configs/`, trained generators, and `load_pretrained`."""

import os
import pathlib

import keras

from tfgan_zoo import config as config_lib

_REPOSITORY = pathlib.Path(__file__).resolve().parent.parent


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


def load_pretrained(name_or_path):
    """A trained generator with `.sample(n, seed=..., labels=...)`, from an entry name in `models_dir()`,
    a training workdir (its `gan.keras`), or a `.keras` file."""
    path = resolve(name_or_path)
    if path.is_dir() and (path / "gan.keras").exists():
        path = path / "gan.keras"
    if path.suffix != ".keras" or not path.is_file():
        raise FileNotFoundError(
            f"No trained model at {name_or_path!r}: expected a training workdir holding gan.keras, a .keras file, "
            f"or an entry of {models_dir()}. Train one with `tfgan-zoo train --workdir DIR`.")
    import tfgan_zoo  # noqa: F401  (registers the zoo's Keras serializables)

    try:
        return keras.models.load_model(path)
    except (ValueError, OSError, KeyError) as error:
        raise ValueError(f"{path} is not a readable tfgan-zoo model ({error}). Re-export or retrain it.") from None

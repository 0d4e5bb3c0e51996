"""The zoo's entries: named configs in `zoo_configs/` (shipped generators in `saved_models/` join them)."""

import os
import pathlib

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

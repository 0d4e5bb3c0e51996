"""Where the zoo's files live: its configs, its entries and its evaluators, and how names find them.

Names resolve through an ordered search path, first match wins:

1. the user's folder, `$TFGAN_ZOO_CONFIGS` (configs) or `$TFGAN_ZOO_MODELS` (entries, and evaluators in its
   `evaluators/`);
2. the working directory's `zoo_configs/` or `saved_models/`;
3. the packaged zoo: the package's data folder `tfgan_zoo/zoo/`, which a wheel holds (`setup.py` fills it) and
   `importlib.resources` finds; in a clone or an editable install, the repository's folders.

A leaf module (it imports only the config schema's error), so every layer, the metrics' evaluators included, may
ask it.
"""

import importlib.resources
import os
import pathlib

from tfgan_zoo.config import ConfigError

_REPOSITORY = pathlib.Path(__file__).resolve().parent.parent
PACKAGED = "zoo"  # the package's data folder in a wheel
CARD_FILE = "model_card.json"  # what makes a folder a zoo entry (or an evaluator)
KERAS_FILE = "gan.keras"  # an entry's whole GAN, for fine-tuning
EVALUATORS = "evaluators"  # the folder of evaluator networks inside a models folder
_KINDS = {"configs": ("TFGAN_ZOO_CONFIGS", "zoo_configs"), "models": ("TFGAN_ZOO_MODELS", "saved_models")}


def packaged_dir():
    """The packaged zoo's folder, or None in a clone or an editable install (the repository plays its part).

    A wheel installs it as plain files, which the SavedModels need (a zipped install is not supported)."""
    folder = importlib.resources.files("tfgan_zoo") / PACKAGED
    return pathlib.Path(str(folder)) if folder.is_dir() else None


def search_path(kind):
    """`[(origin, folder)]` where `kind` ("configs" or "models") is looked for, in order; a folder listed twice (a
    clone's root as the working directory) appears once, under its first origin."""
    variable, name = _KINDS[kind]
    packaged = packaged_dir()
    folders = [(f"${variable}", os.environ.get(variable)), (f"./{name}", pathlib.Path(name))]
    folders.append(("packaged", packaged / name) if packaged else ("repository", _REPOSITORY / name))
    found, seen = [], set()
    for origin, folder in folders:
        resolved = pathlib.Path(folder).resolve() if folder else None
        if resolved and resolved not in seen:
            seen.add(resolved)
            found.append((origin, pathlib.Path(folder)))
    return found


def _first(kind, pattern, exclude=()):
    """`{name: (origin, path)}` of the paths matching `pattern` in the folders of `kind`, first folder first."""
    found = {}
    for origin, folder in search_path(kind):
        for path in sorted(folder.glob(pattern)):
            name = path.parent.name if path.name == CARD_FILE else path.stem
            if name not in exclude:
                found.setdefault(name, (origin, path.parent if path.name == CARD_FILE else path))
    return dict(sorted(found.items()))


def configs():
    """`{name: (origin, path)}` of the zoo configs on the search path."""
    return _first("configs", "*.yaml")


def config_names():
    return list(configs())


def zoo_config(name):
    """The zoo's config file named `name` (e.g. `vanilla_ring8`), or None when the zoo has none of that name."""
    found = configs().get(name)
    return found[1] if found else None


def config_path(name_or_path) -> str:
    """A config file from its path, or from an entry name such as `vanilla_ring8`.

    Raises `ConfigError` naming the zoo's configs when the name is unknown."""
    if os.path.exists(name_or_path) or str(name_or_path).endswith((".yaml", ".yml")):
        return str(name_or_path)
    path = zoo_config(name_or_path)
    if path is None:
        raise ConfigError(
            f"No zoo config named {name_or_path!r}; the zoo has {', '.join(config_names())} "
            f"(searched {searched('configs')})."
        )
    return str(path)


def searched(kind):
    """The search path of `kind`, for messages: `$TFGAN_ZOO_MODELS=... (or unset), ./saved_models, packaged (...)`."""
    variable = _KINDS[kind][0]
    shown = [] if os.environ.get(variable) else [f"${variable} (unset)"]
    for origin, folder in search_path(kind):
        shown.append(
            f"{origin}={folder}" if origin == f"${variable}" else origin if origin[0] == "." else f"{origin} ({folder})"
        )
    return ", ".join(shown)


def entries():
    """`{name: (origin, folder)}` of the zoo's entries (folders with a model card), evaluators excluded."""
    return _first("models", f"*/{CARD_FILE}", exclude=(EVALUATORS,))


def shipped_entries():
    """The entries' folders, one per name (the first on the search path)."""
    return [folder for _, folder in entries().values()]


def evaluators():
    """`{name: (origin, folder)}` of the evaluator networks (not generators) in the models folders' `evaluators/`."""
    return _first("models", f"{EVALUATORS}/*/{CARD_FILE}")


def resolve(name_or_path) -> pathlib.Path:
    """A path as given when it exists or is not a bare name, else the entry of that name on the search path (as
    given when there is none)."""
    path = pathlib.Path(name_or_path)
    if path.exists() or path.is_absolute() or len(path.parts) != 1:
        return path
    return entries().get(str(name_or_path), (None, path))[1]


def is_packaged(path):
    """Whether `path` lies in the installed package's zoo, which users must not write into."""
    packaged = packaged_dir()
    return packaged is not None and pathlib.Path(path).resolve().is_relative_to(packaged.resolve())


def keras_file(name_or_path) -> pathlib.Path:
    """The fine-tuning `.keras` file of an entry (a name on the search path or a folder), or the file given."""
    path = resolve(name_or_path)
    if path.suffix != ".keras":
        path = path / KERAS_FILE
    if not path.is_file():
        with_file = [name for name, (_, folder) in entries().items() if (folder / KERAS_FILE).exists()]
        raise FileNotFoundError(
            f"No {KERAS_FILE} for {str(name_or_path)!r} at {path}. Entries with one: {', '.join(with_file) or 'none'} "
            f"(searched {searched('models')})."
        )
    return path


def versions(entry):
    """The integer versions exported in `entry`, as TF Serving sees them."""
    return sorted(int(path.name) for path in pathlib.Path(entry).glob("*") if path.name.isdigit() and path.is_dir())


def version_config(entry, version):
    """The resolved training config that each exported version holds: `<entry>/<version>/assets.extra/config.yaml`
    (TF Serving ignores `assets.extra`)."""
    return pathlib.Path(entry) / str(version) / "assets.extra" / "config.yaml"

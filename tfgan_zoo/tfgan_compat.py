"""Loads tensorflow-gan submodules on TensorFlow >= 2.16.

`import tensorflow_gan` fails on TF >= 2.16: the package `__init__` (and `tensorflow_gan.python`'s)
imports TF-GAN's Estimator code, which needs `tf.estimator`, removed from TensorFlow. The modules
this project uses -- `python.losses.losses_impl` (the reference the losses are tested against),
`python.eval.classifier_metrics` and `python.eval.sliced_wasserstein` (evaluation math) -- only need
`tensorflow`, `numpy` and `tensorflow_probability`, and work on TF 2.21 when imported without running
those `__init__` files. So `load` registers empty parent packages (`types.ModuleType` objects whose
`__path__` points at the installed package) in `sys.modules` and imports just the submodule asked for.

Where TF-GAN imports normally (an older TensorFlow that still has `tf.estimator`, or a real
`tensorflow_gan` already in `sys.modules`), `load` imports it the normal way and registers nothing.

    losses_impl = tfgan_compat.load("python.losses.losses_impl")

This is the only place in tfgan_zoo that touches `tensorflow_gan`; everything else goes through `load`.
"""

import importlib
import importlib.machinery
import os
import sys
import threading
import types

PACKAGE = "tensorflow_gan"
INSTALL_HINT = "pip install tensorflow-gan==2.1.0"

_CACHE = {}
_LOCK = threading.RLock()
# Marks the stand-in packages this module registers, so they are never mistaken for a real import.
_STUB_MARK = "__tfgan_zoo_stub__"


def load(submodule):
    """Returns the module `tensorflow_gan.<submodule>`, e.g. `load("python.eval.sliced_wasserstein")`.

    Results are cached. Raises ImportError naming `pip install tensorflow-gan==2.1.0` when the
    package is not installed.
    """
    name = _qualified_name(submodule)
    with _LOCK:
        module = _CACHE.get(name)
        if module is None:
            module = _import(name)
            _CACHE[name] = module
        return module


def _qualified_name(submodule):
    if not isinstance(submodule, str) or not submodule.strip(". "):
        raise ValueError(
            f"expected a tensorflow_gan submodule path such as 'python.losses.losses_impl', got {submodule!r}"
        )
    submodule = submodule.strip()
    if submodule == PACKAGE or submodule.startswith(PACKAGE + "."):
        submodule = submodule[len(PACKAGE) + 1 :]
    if not submodule or any(not part.isidentifier() for part in submodule.split(".")):
        raise ValueError(f"not a tensorflow_gan submodule path: {submodule!r}")
    return f"{PACKAGE}.{submodule}"


def _is_stub(module):
    return getattr(module, _STUB_MARK, False) is True


def _import(name):
    top = sys.modules.get(PACKAGE)
    if top is not None and not _is_stub(top):
        return importlib.import_module(name)  # A real tensorflow_gan is already imported.
    if top is None and _tf_has_estimator():
        return _import_normally(name)
    package_dirs = list(top.__path__) if top is not None else _locate_package()
    _register_parents(name, package_dirs)
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as error:
        missing = error.name or ""
        if missing == name or missing.startswith(PACKAGE + "."):
            raise ModuleNotFoundError(
                f"{name} does not exist in the installed tensorflow-gan ({package_dirs[0]}); "
                f"this project is written against tensorflow-gan 2.1.0 ({INSTALL_HINT}).",
                name=missing,
            ) from error
        raise ImportError(
            f"{name} needs the package {missing!r}, which is not installed. It is a dependency of "
            f"tensorflow-gan: reinstall it with `{INSTALL_HINT}` (TensorFlow Probability also needs "
            f"`tf-keras` on TF 2.x)."
        ) from error


def _tf_has_estimator():
    """True on TensorFlow < 2.16, where TF-GAN's own `__init__` still imports."""
    import tensorflow as tf  # pylint: disable=import-outside-toplevel

    try:
        return getattr(tf, "estimator", None) is not None
    except Exception:  # pylint: disable=broad-except  # TF's lazy loader may raise on access.
        return False


def _import_normally(name):
    try:
        importlib.import_module(PACKAGE)
    except ModuleNotFoundError as error:
        if error.name != PACKAGE:
            raise
        raise _missing_error() from error
    return importlib.import_module(name)


def _locate_package():
    """The installed package's directories, found on `sys.path` without importing anything."""
    spec = importlib.machinery.PathFinder.find_spec(PACKAGE, sys.path)
    if spec is None or not spec.submodule_search_locations:
        raise _missing_error()
    return list(spec.submodule_search_locations)


def _missing_error():
    return ModuleNotFoundError(
        f"tensorflow-gan is not installed; tfgan_zoo uses its losses and evaluation modules as "
        f"references. Install it with `{INSTALL_HINT}`.",
        name=PACKAGE,
    )


def _register_parents(name, package_dirs):
    """Puts an empty package in `sys.modules` for every missing parent of `name`."""
    parts = name.split(".")
    for depth in range(1, len(parts)):
        parent_name = ".".join(parts[:depth])
        if parent_name in sys.modules:
            continue
        sub_path = parts[1:depth]
        search_path = [os.path.join(directory, *sub_path) for directory in package_dirs]
        stub = types.ModuleType(parent_name, f"Empty stand-in for {parent_name} registered by tfgan_zoo.tfgan_compat.")
        stub.__path__ = search_path
        stub.__package__ = parent_name
        stub.__spec__ = importlib.machinery.ModuleSpec(parent_name, None, is_package=True)
        stub.__spec__.submodule_search_locations = search_path
        setattr(stub, _STUB_MARK, True)
        stub.__getattr__ = _stub_getattr(parent_name)
        if depth > 1:
            setattr(sys.modules[".".join(parts[: depth - 1])], parts[depth - 1], stub)
        sys.modules[parent_name] = stub


def _stub_getattr(package_name):
    def __getattr__(attribute):  # pylint: disable=invalid-name
        if attribute.startswith("__"):
            raise AttributeError(attribute)
        raise AttributeError(
            f"{package_name} is an empty stand-in registered by tfgan_zoo.tfgan_compat because TF-GAN's "
            f"package __init__ cannot run on TensorFlow >= 2.16; it has no attribute {attribute!r}. "
            f"Load the submodule you need with tfgan_zoo.tfgan_compat.load('<path below tensorflow_gan>')."
        )

    return __getattr__

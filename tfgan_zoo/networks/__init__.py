"""Generator and discriminator builders, one module per family, and the registry of the families.

Adding a family is one module that ends with a `Family` and one line in `FAMILIES`.
"""

import dataclasses

from tfgan_zoo.config import ConfigError
from tfgan_zoo.networks import conv1d, dcgan, layers, legacy, mlp, progressive  # noqa: F401 (the public modules)
from tfgan_zoo.networks.family import COMMON_OPTIONS, Family

FAMILIES = {family.name: family for family in (mlp.FAMILY, dcgan.FAMILY, progressive.FAMILY, conv1d.FAMILY)}


def family(model_config, sample_kind) -> Family:
    """The registered family of `model_config`, checked against it and against the kind of the data's samples
    (`data.Source.kind`). A `ConfigError` names the key and the fix: an unknown family, data of a kind the family
    does not take, or a `model.*` key set away from its default that the family does not read."""
    name = model_config.family
    if name not in FAMILIES:
        raise ConfigError(f"Unknown model.family {name!r}; choose one of {', '.join(FAMILIES)}.")
    chosen = FAMILIES[name]
    if sample_kind not in chosen.sample_kinds:
        takers = [f.name for f in FAMILIES.values() if sample_kind in f.sample_kinds]
        raise ConfigError(
            f"model.family {name} takes {' or '.join(chosen.sample_kinds)}; the data are {sample_kind}. "
            f"Use model.family {' or '.join(takers)} for them."
        )
    defaults = type(model_config)()
    for field in dataclasses.fields(model_config):
        key, value = field.name, getattr(model_config, field.name)
        if key not in COMMON_OPTIONS + chosen.options and value != getattr(defaults, key):
            takers = [f.name for f in FAMILIES.values() if key in f.options]
            raise ConfigError(
                f"model.{key} ({value}) is an option of the {' and '.join(takers)} "
                f"famil{'ies' if len(takers) > 1 else 'y'}, not {name}: remove it or change model.family."
            )
    return chosen

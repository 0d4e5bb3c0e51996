"""`Family`: what a network family is to the rest of the zoo.

A family module (`mlp`, `dcgan`, `progressive`, `conv1d`) builds its networks and ends with one `Family`;
`networks.FAMILIES` registers it under its `model.family` name. Nothing outside the family module asks which
family a config names: the rest of the zoo goes through these fields.
"""

import dataclasses
import typing

# `model.*` keys that every family reads; the others belong to the families that name them in `options`.
COMMON_OPTIONS = ("family", "latent_dim", "latent_distribution", "conditional", "ema_decay")


@dataclasses.dataclass(frozen=True)
class Family:
    """A registered network family.

    Attributes:
        name: its `model.family` value.
        sample_kinds: the kinds of samples its networks take (`data.Source.kind`: points, series, images).
        build: `build(model_config, sample_shape, num_classes, conditions, sync_batch_norm)` -> `(G, D)`
            Keras models, G taking `z` (+ `label`, + `conditions`) and D the samples (+ the same);
            `conditions` maps each continuous condition, in input order, to its trained range (min, max).
        options: the `model.*` keys it reads besides `COMMON_OPTIONS`; any other key set away from its default
            is refused rather than silently ignored.
        real_transform: `real_transform(sample_shape)` -> a Keras model applied to real batches before D sees
            them (the `GAN`'s `real_transform`), or None.
        callbacks: `callbacks(config, picture, directory)` -> the Keras callbacks a run of the family needs
            besides the zoo's own (`picture(step)` gives PNG bytes of samples, `directory` the workdir's
            `samples/`), or None.
    """

    name: str
    sample_kinds: tuple[str, ...]
    build: typing.Callable
    options: tuple[str, ...] = ()
    real_transform: typing.Callable | None = None
    callbacks: typing.Callable | None = None

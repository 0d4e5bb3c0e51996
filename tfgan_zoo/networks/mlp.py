"""Fully connected generator and discriminator: the vanilla GAN of Goodfellow et al. 2014."""

import math

import keras

from tfgan_zoo.data import sample_kind
from tfgan_zoo.networks import layers
from tfgan_zoo.networks.family import Family


def _inputs_with_label(inputs_shape, num_classes, name):
    """Input(s) of a network, and the flat tensor it works on (with a label embedding when conditional)."""
    inputs = keras.Input(inputs_shape, name=name)
    flat = keras.layers.Flatten()(inputs) if len(inputs_shape) > 1 else inputs
    if not num_classes:
        return inputs, flat
    label = keras.Input((), dtype="int32", name="label")
    embedding = keras.layers.Embedding(num_classes, min(50, 4 * num_classes))(label)
    return [inputs, label], keras.layers.Concatenate()([flat, embedding])


def generator(
    latent_dim,
    sample_shape,
    hidden_units=(128, 128),
    num_classes=0,
    activation="relu",
    output_activation=None,
    name="generator",
):
    """z (+ label) -> samples of `sample_shape`. A linear output suits coordinates; tanh suits images."""
    inputs, h = _inputs_with_label((latent_dim,), num_classes, "z")
    for units in hidden_units:
        h = keras.layers.Dense(units, activation=activation)(h)
    h = keras.layers.Dense(math.prod(sample_shape), activation=output_activation)(h)
    outputs = keras.layers.Reshape(tuple(sample_shape), name="samples")(h)
    return keras.Model(inputs, outputs, name=name)


def discriminator(
    sample_shape,
    hidden_units=(128, 128),
    num_classes=0,
    spectral_norm=False,
    minibatch_stddev=False,
    minibatch_discrimination=0,
    dropout=0.0,
    pack=1,
    name="discriminator",
):
    """samples (+ label) -> one logit per sample. LeakyReLU(0.2) as in DCGAN and most GAN discriminators.
    `pack` > 1 judges that many consecutive samples together (PacGAN); each gets its pack's logit."""
    inputs, h = _inputs_with_label(tuple(sample_shape), num_classes, "samples")
    if pack > 1:
        h = layers.Pack(pack)(h)
    for i, units in enumerate(hidden_units):
        if i == len(hidden_units) - 1:
            if minibatch_stddev:
                h = layers.MinibatchStdDev()(h)
            if minibatch_discrimination:
                h = layers.MinibatchDiscrimination(num_kernels=minibatch_discrimination)(h)
        h = layers.dense(units, spectral_norm)(h)
        h = keras.layers.LeakyReLU(0.2)(h)
        if dropout:
            h = keras.layers.Dropout(dropout)(h)
    logits = keras.layers.Reshape(())(layers.dense(1, spectral_norm)(h))
    if pack > 1:
        logits = layers.Unpack(pack)(logits)
    return keras.Model(inputs, logits, name=name)


def build(model_config, sample_shape, num_classes, conditions=None, sync_batch_norm=False):
    """The vanilla family's networks for `model_config`: coordinates are unbounded, images and series in [-1, 1]."""
    m = model_config
    output_activation = None if sample_kind(sample_shape) == "points" else "tanh"
    return (
        generator(m.latent_dim, sample_shape, m.generator_units, num_classes, output_activation=output_activation),
        discriminator(
            sample_shape,
            m.discriminator_units,
            num_classes,
            spectral_norm=m.spectral_norm,
            minibatch_stddev=m.minibatch_stddev,
            minibatch_discrimination=m.minibatch_discrimination,
            dropout=m.dropout,
            pack=m.pack,
        ),
    )


FAMILY = Family(
    "vanilla",
    ("points", "series", "images"),
    build,
    options=(
        "generator_units",
        "discriminator_units",
        "spectral_norm",
        "minibatch_stddev",
        "minibatch_discrimination",
        "pack",
        "dropout",
    ),
)

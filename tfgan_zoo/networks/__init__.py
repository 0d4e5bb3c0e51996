"""Builders of generator/discriminator Keras models, one module per family."""

from tfgan_zoo.networks import dcgan, layers, mlp

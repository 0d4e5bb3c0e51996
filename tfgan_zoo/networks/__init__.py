"""Builders of generator/discriminator Keras models, one module per family."""

from tfgan_zoo.networks import conv1d, dcgan, layers, mlp

"""tfgan-zoo: GANs for TensorFlow/Keras that train with `model.fit`.

Importing the package registers its Keras serializables, so `keras.models.load_model` reads the
zoo's `.keras` files.
"""

from tfgan_zoo import losses
from tfgan_zoo.gan import GAN
from tfgan_zoo.networks.layers import MinibatchDiscrimination, MinibatchStdDev

__version__ = "0.1.0"

"""tfgan-zoo: GANs for TensorFlow/Keras that train with `model.fit`.

Importing the package registers its Keras serializables, so `keras.models.load_model` reads the
zoo's `.keras` files. `load_pretrained("dcgan_fashion_mnist")` loads a shipped generator.
"""

from tfgan_zoo import losses
from tfgan_zoo.gan import GAN
from tfgan_zoo.networks.layers import MinibatchDiscrimination, MinibatchStdDev
from tfgan_zoo.zoo import PretrainedGenerator, load_pretrained

__version__ = "0.1.0"

"""tfgan-zoo: GANs for TensorFlow/Keras that train with `model.fit`.

Importing the package registers its Keras serializables, so `keras.models.load_model` reads the
zoo's `.keras` files. `load_pretrained("dcgan_fashion_mnist")` loads a shipped generator; the public modules
(`training`, `data`, `config`, `metrics`, ...) are attributes of the package.
"""

__version__ = "0.1.0"  # the one place of the package's version (setup.cfg reads it)

from tfgan_zoo import (  # noqa: E402
    build,
    cards,
    config,
    data,
    distribute,
    evaluation,
    export,
    latent,
    losses,
    metrics,
    networks,
    paths,
    sampling,
    signatures,
    training,
    workdirs,
    zoo,
)
from tfgan_zoo.gan import GAN  # noqa: E402
from tfgan_zoo.networks.layers import MinibatchDiscrimination, MinibatchStdDev  # noqa: E402
from tfgan_zoo.zoo import PretrainedGenerator, load_pretrained  # noqa: E402

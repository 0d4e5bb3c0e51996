"""tfgan-zoo: GANs for TensorFlow/Keras that train with `model.fit`.

Importing the package registers its Keras serializables, so `keras.models.load_model` reads the
zoo's `.keras` files. `load_pretrained("dcgan_fashion_mnist")` loads a shipped generator; the public modules
(`training`, `data`, `config`, `metrics`, ...) are attributes of the package.
"""

import os
import pathlib
import sys

__version__ = "0.1.0"  # the one place of the package's version (setup.cfg reads it)

# The command line starts quietly: TensorFlow's C++ log lines (oneDNN, CUDA drivers, cuInit, XLA) tell its user
# nothing to act on, and the filter must be in place before TensorFlow loads. TFGAN_ZOO_TF_LOGS=1 keeps them; the
# library imported from Python keeps TensorFlow's defaults.
if sys.argv and pathlib.Path(sys.argv[0]).stem == "tfgan-zoo" and not os.environ.get("TFGAN_ZOO_TF_LOGS"):
    from tfgan_zoo import console

    console.filter_stderr()

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

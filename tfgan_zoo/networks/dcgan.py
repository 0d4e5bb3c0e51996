"""Convolutional generator and discriminator following Radford et al. 2016 (DCGAN).

The rules of the paper: no fully connected hidden layers beyond the projection of z; strided
convolutions instead of pooling in D; learned upsampling in G; batch norm in both (but not on G's
output nor D's input); ReLU in G, LeakyReLU(0.2) in D; tanh output for images in [-1, 1].
One builder serves any resolution that halves down to 4..7 pixels (8, 28, 32, 64, ...).

Labels reach the networks in one of three ways (`conditioning`):
- `concat`: an embedding of the label is concatenated with z in G and, as extra constant channels, with
  the image in D (Mirza & Osindero 2014);
- `projection`: D adds the inner product of a label embedding with its pooled features to the logit
  (Miyato & Koyama 2018); G as in `concat`;
- `acgan`: D gets a second head that classifies the image (Odena et al. 2017); G as in `concat`.
Continuous conditions (a vector `[N, C]` in [-1, 1], see `GAN`) take the labels' route through the helpers
below: concatenated with z in G; constant channels of D's input, or (`projection`) a linear projection
whose inner product with D's features joins the logit.
"""

import functools

import keras

from tfgan_zoo.networks import layers
from tfgan_zoo.networks.family import Family

CONDITIONINGS = ("concat", "projection", "acgan")
UPSAMPLINGS = ("transposed", "nearest", "pixel_shuffle")


def start_size(resolution):
    """(side of the first feature map, number of 2x upsamplings) for an image side of `resolution`."""
    size, steps = resolution, 0
    while size % 2 == 0 and size // 2 >= 4:
        size, steps = size // 2, steps + 1
    if steps == 0:
        raise ValueError(f"DCGAN needs an image side that halves at least once to 4..7 pixels; got {resolution}.")
    return size, steps


def check_options(conditioning, upsampling=None):
    if conditioning not in CONDITIONINGS:
        raise ValueError(f"Unknown conditioning {conditioning!r}; choose one of {', '.join(CONDITIONINGS)}.")
    if upsampling is not None and upsampling not in UPSAMPLINGS:
        raise ValueError(f"Unknown upsampling {upsampling!r}; choose one of {', '.join(UPSAMPLINGS)}.")


def _upsample(h, channels, kind):
    if kind == "transposed":
        return keras.layers.Conv2DTranspose(channels, 4, strides=2, padding="same", use_bias=False)(h)
    if kind == "nearest":
        h = keras.layers.UpSampling2D(2, interpolation="nearest")(h)
        return keras.layers.Conv2D(channels, 3, padding="same", use_bias=False)(h)
    h = keras.layers.Conv2D(4 * channels, 3, padding="same", use_bias=False)(h)
    return layers.DepthToSpace(2)(h)


def generator(
    latent_dim,
    image_shape,
    channels=64,
    num_classes=0,
    upsampling="transposed",
    sync_batch_norm=False,
    name="generator",
):
    """z (+ label) -> images of `image_shape` in [-1, 1]. `channels` is the width of the last hidden layer;
    each lower resolution doubles it. `sync_batch_norm` shares batch statistics across replicas."""
    check_options("concat", upsampling)
    size, steps = start_size(image_shape[0])
    inputs, h = conditioned_latent(keras.Input((latent_dim,), name="z"), num_classes)
    width = channels * 2**steps
    h = keras.layers.Dense(size * size * width, use_bias=False)(h)
    h = upsample(
        keras.layers.Reshape((size, size, width))(h),
        steps,
        functools.partial(_upsample, kind=upsampling),
        sync_batch_norm,
    )
    images = keras.layers.Conv2D(image_shape[-1], 3, padding="same", activation="tanh", name="images")(h)
    return keras.Model(inputs, images, name=name)


def discriminator(
    image_shape,
    channels=64,
    num_classes=0,
    conditioning="concat",
    batch_norm=True,
    spectral_norm=False,
    minibatch_stddev=False,
    dropout=0.0,
    sync_batch_norm=False,
    name="discriminator",
):
    """images (+ label) -> one logit per image (and class logits with `acgan`).

    `build.resolve` turns batch norm off under a gradient penalty or R1: it makes each example's output
    depend on the batch, which the per-example penalties assume it does not.
    """
    check_options(conditioning)
    size, steps = start_size(image_shape[0])
    inputs, label, _, h = conditioned_images(keras.Input(tuple(image_shape), name="samples"), num_classes, conditioning)
    h = downsample(
        h,
        steps,
        channels,
        functools.partial(layers.conv2d, spectral_norm=spectral_norm),
        batch_norm,
        dropout,
        sync_batch_norm,
    )
    if minibatch_stddev:
        h = layers.MinibatchStdDev()(h)
    outputs = conditioned_outputs(
        keras.layers.Flatten()(h),
        label,
        num_classes,
        conditioning,
        functools.partial(layers.dense, spectral_norm=spectral_norm),
        spectral_norm=spectral_norm,
    )
    return keras.Model(inputs, outputs, name=name)


def _condition_inputs(num_classes, num_conditions):
    """The label input (None when unconditional) and the continuous conditions' input (None when none)."""
    label = keras.Input((), dtype="int32", name="label") if num_classes else None
    conditions = keras.Input((num_conditions,), name="conditions") if num_conditions else None
    return label, conditions


def _with_conditions(first, label, conditions):
    """A network's inputs: `first`, then the label and the conditions where present (`GAN`'s order)."""
    inputs = [first] + [tensor for tensor in (label, conditions) if tensor is not None]
    return inputs if len(inputs) > 1 else first


def upsample(h, steps, block, sync_batch_norm=False):
    """G's body from the projection of z: batch norm and ReLU, then `steps` times `block(h, width)` (a 2x
    upsampling to half the width), batch norm and ReLU."""
    width = h.shape[-1]
    h = keras.layers.ReLU()(keras.layers.BatchNormalization(synchronized=sync_batch_norm)(h))
    for _ in range(steps):
        width //= 2
        h = block(h, width)
        h = keras.layers.ReLU()(keras.layers.BatchNormalization(synchronized=sync_batch_norm)(h))
    return h


def downsample(h, steps, channels, conv, batch_norm=True, dropout=0.0, sync_batch_norm=False):
    """D's body: `steps` stride-2 convolutions `conv(filters, kernel_size, **kwargs)` of `channels` filters,
    doubled at each step, each followed by batch norm (not the first: D's input stays unnormalised),
    LeakyReLU(0.2) and dropout when asked."""
    width = channels
    for i in range(steps):
        h = conv(width, 4, strides=2, padding="same")(h)
        if batch_norm and i > 0:
            h = keras.layers.BatchNormalization(synchronized=sync_batch_norm)(h)
        h = keras.layers.LeakyReLU(0.2)(h)
        if dropout:
            h = keras.layers.Dropout(dropout)(h)
        width *= 2
    return h


def conditioned_latent(z, num_classes, num_conditions=0):
    """G's inputs and the tensor its first layer reads: `z`, or `[z, label, conditions]` (those present) and z
    concatenated with an embedding of the label and the conditions."""
    label, conditions = _condition_inputs(num_classes, num_conditions)
    parts = [z]
    if label is not None:
        parts.append(keras.layers.Embedding(num_classes, z.shape[-1])(label))
    if conditions is not None:
        parts.append(conditions)
    return _with_conditions(z, label, conditions), keras.layers.Concatenate()(parts) if len(parts) > 1 else z


def conditioned_images(images, num_classes, conditioning, num_conditions=0):
    """D's inputs, its label and conditions inputs (None where absent) and the tensor its first layer reads:
    the images (or series), with `concat` and `acgan` also constant maps of the conditions, and with `concat`
    of an embedding of the label."""
    label, conditions = _condition_inputs(num_classes, num_conditions)
    maps = []
    if label is not None and conditioning == "concat":
        maps.append(keras.layers.Embedding(num_classes, 4)(label))
    if conditions is not None and conditioning != "projection":
        maps.append(conditions)
    h = images
    if maps:
        vector = keras.layers.Concatenate()(maps) if len(maps) > 1 else maps[0]
        h = keras.layers.Concatenate()([images, layers.BroadcastToImage(tuple(images.shape[1:-1]))(vector)])
    return _with_conditions(images, label, conditions), label, conditions, h


def conditioned_outputs(features, label, num_classes, conditioning, dense, conditions=None, spectral_norm=False):
    """D's outputs from its final features: one logit, plus the inner product of the label's embedding (and of
    a projection of the `conditions`) with the features (`projection`) or a second head of class logits
    (`acgan`). `dense(units, name=None)` makes D's dense layers; `spectral_norm` normalises the label's
    embedding as well, as Miyato & Koyama's code does."""
    logits = keras.layers.Reshape(())(dense(1)(features))
    if num_classes and conditioning == "projection":
        embedded = layers.embedding(num_classes, features.shape[-1], spectral_norm)(label)
        logits = keras.layers.Add()([logits, keras.layers.Dot(axes=1)([embedded, features])[:, 0]])
    if conditions is not None and conditioning == "projection":
        projected = dense(features.shape[-1])(conditions)
        logits = keras.layers.Add()([logits, keras.layers.Dot(axes=1)([projected, features])[:, 0]])
    if num_classes and conditioning == "acgan":
        return [logits, dense(num_classes, name="class_logits")(features)]
    return logits


def build(model_config, sample_shape, num_classes, conditions=None, sync_batch_norm=False):
    """The DCGAN family's networks for `model_config`."""
    m = model_config
    return (
        generator(m.latent_dim, sample_shape, m.channels, num_classes, m.upsampling, sync_batch_norm),
        discriminator(
            sample_shape, m.channels, num_classes, m.conditioning, **discriminator_options(m, sync_batch_norm)
        ),
    )


def discriminator_options(model_config, sync_batch_norm=False):
    """The `model.*` options of a DCGAN-rule discriminator (this family's and the timeseries family's)."""
    m = model_config
    return dict(
        batch_norm=m.batch_norm,
        spectral_norm=m.spectral_norm,
        minibatch_stddev=m.minibatch_stddev,
        dropout=m.dropout,
        sync_batch_norm=sync_batch_norm,
    )


FAMILY = Family(
    "dcgan",
    ("images",),
    build,
    options=("channels", "conditioning", "upsampling", "batch_norm", "spectral_norm", "minibatch_stddev", "dropout"),
)

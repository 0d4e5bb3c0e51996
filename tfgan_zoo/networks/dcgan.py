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
"""

import functools

import keras

from tfgan_zoo.networks import layers

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


def _check(conditioning, upsampling=None):
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


def generator(latent_dim, image_shape, channels=64, num_classes=0, upsampling="transposed", sync_batch_norm=False,
              name="generator"):
    """z (+ label) -> images of `image_shape` in [-1, 1]. `channels` is the width of the last hidden layer;
    each lower resolution doubles it. `sync_batch_norm` shares batch statistics across replicas."""
    _check("concat", upsampling)
    size, steps = start_size(image_shape[0])
    inputs, h = conditioned_latent(keras.Input((latent_dim,), name="z"), num_classes)
    width = channels * 2 ** steps
    h = keras.layers.Dense(size * size * width, use_bias=False)(h)
    h = keras.layers.Reshape((size, size, width))(h)
    h = keras.layers.ReLU()(keras.layers.BatchNormalization(synchronized=sync_batch_norm)(h))
    for _ in range(steps):
        width //= 2
        h = _upsample(h, width, upsampling)
        h = keras.layers.ReLU()(keras.layers.BatchNormalization(synchronized=sync_batch_norm)(h))
    images = keras.layers.Conv2D(image_shape[-1], 3, padding="same", activation="tanh", name="images")(h)
    return keras.Model(inputs, images, name=name)


def discriminator(image_shape, channels=64, num_classes=0, conditioning="concat", batch_norm=True,
                  spectral_norm=False, minibatch_stddev=False, dropout=0.0, sync_batch_norm=False,
                  name="discriminator"):
    """images (+ label) -> one logit per image (and class logits with `acgan`).

    Batch norm is off by default where a gradient penalty is used: it makes each example's output
    depend on the batch, which the per-example penalty assumes it does not.
    """
    _check(conditioning)
    size, steps = start_size(image_shape[0])
    inputs, label, h = conditioned_images(keras.Input(tuple(image_shape), name="samples"), num_classes, conditioning)
    width = channels
    for i in range(steps):
        h = layers.conv2d(width, 4, spectral_norm, strides=2, padding="same")(h)
        if batch_norm and i > 0:
            h = keras.layers.BatchNormalization(synchronized=sync_batch_norm)(h)
        h = keras.layers.LeakyReLU(0.2)(h)
        if dropout:
            h = keras.layers.Dropout(dropout)(h)
        width *= 2
    if minibatch_stddev:
        h = layers.MinibatchStdDev()(h)
    outputs = conditioned_outputs(keras.layers.Flatten()(h), label, num_classes, conditioning,
                                  functools.partial(layers.dense, spectral_norm=spectral_norm))
    return keras.Model(inputs, outputs, name=name)


def conditioned_latent(z, num_classes):
    """G's inputs and the tensor its first layer reads: `z`, or `[z, label]` and z concatenated with an
    embedding of the label."""
    if not num_classes:
        return z, z
    label = keras.Input((), dtype="int32", name="label")
    return [z, label], keras.layers.Concatenate()([z, keras.layers.Embedding(num_classes, z.shape[-1])(label)])


def conditioned_images(images, num_classes, conditioning):
    """D's inputs, its label input (None when unconditional) and the tensor its first layer reads: the
    images, with `concat` also constant maps of an embedding of the label."""
    if not num_classes:
        return images, None, images
    label = keras.Input((), dtype="int32", name="label")
    h = images
    if conditioning == "concat":
        maps = layers.BroadcastToImage(tuple(images.shape[1:3]))(keras.layers.Embedding(num_classes, 4)(label))
        h = keras.layers.Concatenate()([images, maps])
    return [images, label], label, h


def conditioned_outputs(features, label, num_classes, conditioning, dense):
    """D's outputs from its final features: one logit, plus the inner product of the label's embedding with
    the features (`projection`) or a second head of class logits (`acgan`).
    `dense(units, name=None)` makes D's dense layers."""
    logits = keras.layers.Reshape(())(dense(1)(features))
    if num_classes and conditioning == "projection":
        embedded = keras.layers.Embedding(num_classes, features.shape[-1])(label)
        logits = keras.layers.Add()([logits, keras.layers.Dot(axes=1)([embedded, features])[:, 0]])
    if num_classes and conditioning == "acgan":
        return [logits, dense(num_classes, name="class_logits")(features)]
    return logits

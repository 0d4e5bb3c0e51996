"""Progressive growing of GANs (Karras et al. 2018, "Progressive Growing of GANs for Improved Quality,
Stability, and Variation"), with static shapes so that one `fit` runs the whole growth.

Level `l` is the resolution `4 * 2**l`. Each network of the family holds a `Growth` layer: the current
`level` and fade-in `alpha` as non-trainable weights, so they live in checkpoints and `.keras` files and an
exported generator needs no extra input (the original code likewise keeps a `lod` variable in G, D and the
averaged G). `set_growth` sets them all at once; `growth_at` is the schedule. As in the original, G always
emits the final resolution, lower levels nearest-upsampled, and D always reads it, average-pooling inside,
so every level runs the same graph: there is no rebuild, retrace or `clear_session` per phase.

Fade-in: the level growing in is blended with the upsampled output of the level below by `alpha`, going
0 -> 1 over its transition phase; D mirrors the blend on its side, and the real images D sees are
average-pooled to the current level and blended the same way (`real_images`, the GAN's `real_transform`).
Labels reach the networks through the DCGAN family's conditioning hooks.
"""

import functools
import math
import os

import keras
from keras import ops

from tfgan_zoo.networks import dcgan, layers
from tfgan_zoo.networks.family import Family


def num_levels(side):
    """Number of levels that grow from 4x4 to an image side of `side` (4 * 2**k)."""
    if side < 4 or side & (side - 1):
        raise ValueError(
            f"Progressive growing starts at 4x4 and doubles, so the image side must be 4 * 2**k "
            f"(4, 8, 16, 32, ...); got {side}. Pad the images to such a side (data.params.pad_to)."
        )
    return int(math.log2(side)) - 1


def growth_at(images, num_levels, stable_images, transition_images):
    """(level, alpha) after `images` real images: 4x4 stable for `stable_images`, then per new level a
    fade-in of `transition_images` (alpha 0 -> 1) and a stable phase of `stable_images`; the last level
    stays stable to the end of the run."""
    if images < stable_images:
        return 0, 1.0
    grown, into_phase = divmod(images - stable_images, stable_images + transition_images)
    if grown + 1 >= num_levels:
        return num_levels - 1, 1.0
    return grown + 1, min(1.0, into_phase / transition_images) if transition_images else 1.0


def growth_layers(gan):
    """Every `Growth` layer of `gan`: in G, the EMA generator, D and the transform of real images."""
    models = (gan.generator, gan.ema_generator, gan.discriminator, gan.real_transform)
    return [layer for model in models if model is not None for layer in model.layers if isinstance(layer, Growth)]


def growth(gan):
    """The current (level, alpha) of a progressive `gan`."""
    layer = growth_layers(gan)[0]
    return int(layer.level.numpy()), float(layer.alpha.numpy())


def set_growth(gan, level, alpha):
    for layer in growth_layers(gan):
        layer.level.assign(level)
        layer.alpha.assign(alpha)


@keras.saving.register_keras_serializable(package="tfgan_zoo")
class EqualizedDense(keras.layers.Layer):
    """Dense layer with an equalized learning rate (section 4.1): weights drawn from N(0, 1) and scaled at
    run time by He's constant `gain / sqrt(fan_in)`. Adam's step is invariant to the scale of a weight, so
    storing weights at unit scale makes every layer learn at the same relative speed."""

    def __init__(self, units, gain=math.sqrt(2.0), **kwargs):
        super().__init__(**kwargs)
        self.units, self.gain = units, gain

    def build(self, input_shape):
        self.scale = self.gain / math.sqrt(input_shape[-1])
        self.kernel = self.add_weight(
            shape=(input_shape[-1], self.units), initializer=keras.initializers.RandomNormal(stddev=1.0), name="kernel"
        )
        self.bias = self.add_weight(shape=(self.units,), initializer="zeros", name="bias")

    def call(self, inputs):
        return ops.matmul(inputs, self.kernel * self.scale) + self.bias

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "gain": self.gain}


@keras.saving.register_keras_serializable(package="tfgan_zoo")
class EqualizedConv2D(keras.layers.Layer):
    """Convolution ("same" padding, stride 1) with an equalized learning rate: `EqualizedDense` for each
    `kernel_size x kernel_size` patch, whose fan-in is `kernel_size**2 * input channels`."""

    def __init__(self, filters, kernel_size, gain=math.sqrt(2.0), **kwargs):
        super().__init__(**kwargs)
        self.filters, self.kernel_size, self.gain = filters, kernel_size, gain

    def build(self, input_shape):
        shape = (self.kernel_size, self.kernel_size, input_shape[-1], self.filters)
        self.scale = self.gain / math.sqrt(math.prod(shape[:3]))
        self.kernel = self.add_weight(
            shape=shape, initializer=keras.initializers.RandomNormal(stddev=1.0), name="kernel"
        )
        self.bias = self.add_weight(shape=(self.filters,), initializer="zeros", name="bias")

    def call(self, inputs):
        return ops.conv(inputs, self.kernel * self.scale, padding="same") + self.bias

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.filters,)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": self.kernel_size, "gain": self.gain}


@keras.saving.register_keras_serializable(package="tfgan_zoo")
class PixelNorm(keras.layers.Layer):
    """Scales each pixel's feature vector to unit mean square (section 4.2), which keeps G's signal
    magnitudes from escalating under the adversarial game; also applied to z."""

    def call(self, inputs):
        return inputs * ops.rsqrt(ops.mean(ops.square(inputs), axis=-1, keepdims=True) + 1e-8)


@keras.saving.register_keras_serializable(package="tfgan_zoo")
class Growth(keras.layers.Layer):
    """Holds a network's current `level` and fade-in `alpha` and outputs, per example, the fade weight of
    each level: `clip(level + alpha - l, 0, 1)`, i.e. 1 below the current level, `alpha` at it, 0 above.

    Its input only gives the batch size. The weights are non-trainable and set by `set_growth`.
    """

    def __init__(self, num_levels, **kwargs):
        super().__init__(**kwargs)
        self.num_levels = num_levels

    def build(self, input_shape):
        # Assigned from the callback outside replica context and copied into the EMA generator inside it.
        self.level = self.add_weight(
            shape=(),
            dtype="int32",
            initializer="zeros",
            trainable=False,
            name="level",
            aggregation="only_first_replica",
        )
        self.alpha = self.add_weight(
            shape=(), initializer="ones", trainable=False, name="alpha", aggregation="only_first_replica"
        )

    def call(self, inputs):
        levels = ops.arange(self.num_levels, dtype="float32")
        weights = ops.clip(ops.cast(self.level, "float32") + self.alpha - levels, 0.0, 1.0)
        return ops.broadcast_to(weights, (ops.shape(inputs)[0], self.num_levels))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.num_levels)

    def get_config(self):
        return {**super().get_config(), "num_levels": self.num_levels}


@keras.saving.register_keras_serializable(package="tfgan_zoo")
class Fade(keras.layers.Layer):
    """`[old, new, weights]` -> `old + w * (new - old)`, `w` being the fade weight of level `level`
    (a `Growth` output): the path through that level fading in over the path that skips it."""

    def __init__(self, level, **kwargs):
        super().__init__(**kwargs)
        self.level = level

    def call(self, inputs):
        old, new, weights = inputs
        weight = ops.reshape(weights[:, self.level], (-1,) + (1,) * (len(new.shape) - 1))
        return old + ops.cast(weight, new.dtype) * (new - old)

    def compute_output_shape(self, input_shape):
        return input_shape[1]

    def get_config(self):
        return {**super().get_config(), "level": self.level}


def _fade_in(images, weights):
    """Images of levels 0, 1, ... (each at its own side) -> one image at the last side: each level blended
    over the nearest-upsampled result of the levels below. G's output and the real images D sees."""
    blended = images[0]
    for level, image in enumerate(images[1:], start=1):
        blended = Fade(level)([keras.layers.UpSampling2D(2)(blended), image, weights])
    return blended


def _conv(h, filters, kernel_size=3, pixel_norm=False, name=None):
    h = keras.layers.LeakyReLU(0.2)(EqualizedConv2D(filters, kernel_size, name=name)(h))
    return PixelNorm()(h) if pixel_norm else h


def _widths(image_shape, channels):
    """Width of each level: `channels` at the final level, doubled per halving of the resolution."""
    levels = num_levels(image_shape[0])
    return [channels * 2 ** (levels - 1 - level) for level in range(levels)]


def generator(latent_dim, image_shape, channels=32, num_classes=0, name="generator"):
    """z (+ label) -> images of `image_shape`, grown from 4x4 to `image_shape[0]`; linear output, as in the
    paper (the data lie in [-1, 1])."""
    widths = _widths(image_shape, channels)
    z = keras.Input((latent_dim,), name="z")
    inputs, h = dcgan.conditioned_latent(z, num_classes)
    h = EqualizedDense(16 * widths[0], gain=math.sqrt(2.0) / 4)(PixelNorm()(h))  # the paper's 4x4 "conv"
    h = PixelNorm()(keras.layers.LeakyReLU(0.2)(keras.layers.Reshape((4, 4, widths[0]))(h)))
    h = _conv(h, widths[0], pixel_norm=True)
    images = []
    for level, width in enumerate(widths):
        if level:
            h = keras.layers.UpSampling2D(2)(h)
            h = _conv(_conv(h, width, pixel_norm=True), width, pixel_norm=True)
        side = 4 * 2**level
        images.append(EqualizedConv2D(image_shape[-1], 1, gain=1.0, name=f"to_image_{side}x{side}")(h))
    return keras.Model(inputs, _fade_in(images, Growth(len(widths))(z)), name=name)


def discriminator(image_shape, channels=32, num_classes=0, conditioning="concat", name="discriminator"):
    """images (+ label) of `image_shape` -> one logit per image (and class logits with `acgan`), reading
    the images at the current level: above it, each block is replaced by the average-pooled input."""
    widths = _widths(image_shape, channels)
    samples = keras.Input(tuple(image_shape), name="samples")
    inputs, label, _, image = dcgan.conditioned_images(samples, num_classes, conditioning)
    weights = Growth(len(widths))(samples)

    def from_image(image, level):
        side = 4 * 2**level
        return _conv(image, widths[level], 1, name=f"from_image_{side}x{side}")

    h = from_image(image, len(widths) - 1)
    for level in range(len(widths) - 1, 0, -1):
        h = keras.layers.AveragePooling2D(2)(_conv(_conv(h, widths[level]), widths[level - 1]))
        image = keras.layers.AveragePooling2D(2)(image)
        h = Fade(level)([from_image(image, level - 1), h, weights])
    h = _conv(layers.MinibatchStdDev()(h), widths[0])
    features = keras.layers.LeakyReLU(0.2)(EqualizedDense(widths[0])(keras.layers.Flatten()(h)))
    outputs = dcgan.conditioned_outputs(
        features, label, num_classes, conditioning, functools.partial(EqualizedDense, gain=1.0)
    )
    return keras.Model(inputs, outputs, name=name)


def real_images(image_shape, name="real_images"):
    """The GAN's `real_transform`: real images at the current level, average-pooled to each level and faded
    in exactly like G's output, so that D compares real and fake at the same resolution and blend."""
    images = keras.Input(tuple(image_shape), name="samples")
    pyramid = [images]
    for _ in range(num_levels(image_shape[0]) - 1):
        pyramid.insert(0, keras.layers.AveragePooling2D(2)(pyramid[0]))
    return keras.Model(images, _fade_in(pyramid, Growth(len(pyramid))(images)), name=name)


class ProgressiveGrowth(keras.callbacks.Callback):
    """Drives the growth of a progressive GAN inside one `fit`: before each step, sets the level and fade-in
    alpha that `growth_at` gives for the real images seen so far (`images_per_step` per step).
    With a `picture(step)` (PNG bytes) and a `directory`, writes `level_<side>x<side>.png` there as each level
    ends, and for the level reached at the end of training once it is stable."""

    def __init__(self, stable_images, transition_images, images_per_step, picture=None, directory=None):
        super().__init__()
        self.stable_images, self.transition_images, self.images_per_step = (
            stable_images,
            transition_images,
            images_per_step,
        )
        self.picture, self.directory = picture, directory

    def on_train_batch_begin(self, batch, logs=None):
        step = int(self.model.step.numpy())
        num_levels = growth_layers(self.model)[0].num_levels
        level, alpha = growth_at(step * self.images_per_step, num_levels, self.stable_images, self.transition_images)
        if level > growth(self.model)[0]:
            self.save_picture(step)
        set_growth(self.model, level, alpha)

    def on_train_end(self, logs=None):
        if growth(self.model)[1] == 1.0:
            self.save_picture(int(self.model.step.numpy()))

    def save_picture(self, step):
        if self.picture is None:
            return
        side = 4 * 2 ** growth(self.model)[0]
        with open(os.path.join(self.directory, f"level_{side}x{side}.png"), "wb") as f:
            f.write(self.picture(step))


def build(model_config, sample_shape, num_classes, num_conditions=0, sync_batch_norm=False):
    """The progressive family's networks for `model_config` (no batch norm: pixel norm in G, as in the paper)."""
    m = model_config
    return (
        generator(m.latent_dim, sample_shape, m.channels, num_classes),
        discriminator(sample_shape, m.channels, num_classes, m.conditioning),
    )


def callbacks(config, picture=None, directory=None):
    """The growth schedule of `config.train` (`stable_images`, `transition_images`) as a callback."""
    t = config.train
    return [
        ProgressiveGrowth(t.stable_images, t.transition_images, t.d_steps * config.data.batch_size, picture, directory)
    ]


FAMILY = Family(
    "progressive",
    ("images",),
    build,
    options=("channels", "conditioning"),
    real_transform=real_images,
    callbacks=callbacks,
)

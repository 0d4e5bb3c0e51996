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

HE_GAIN = math.sqrt(2.0)  # He et al. 2015: the gain that keeps ReLU-family activations at unit variance


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
    return [layer for model in models if model is not None for layer in model.layers if isinstance(layer, GrowingLayer)]


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

    def __init__(self, units, gain=HE_GAIN, **kwargs):
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

    def __init__(self, filters, kernel_size, gain=HE_GAIN, **kwargs):
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


def pixel_norm(h):
    return h * ops.rsqrt(ops.mean(ops.square(h), axis=-1, keepdims=True) + 1e-8)


@keras.saving.register_keras_serializable(package="tfgan_zoo")
class PixelNorm(keras.layers.Layer):
    """Scales each pixel's feature vector to unit mean square (section 4.2), which keeps G's signal
    magnitudes from escalating under the adversarial game; also applied to z."""

    def call(self, inputs):
        return pixel_norm(inputs)


def _upsample(images, factor):
    """Nearest-neighbour upsampling by an integer `factor` (a resize, not `ops.repeat`, whose int32 intermediates
    fail TensorFlow's type inference inside the `ops.switch` of `Growth`)."""
    if factor == 1:
        return images
    return ops.image.resize(images, (images.shape[1] * factor, images.shape[2] * factor), interpolation="nearest")


def _downsample(images, factor):
    return images if factor == 1 else ops.average_pool(images, factor, factor)


def _fade(old, new, alpha):
    return old + ops.cast(alpha, new.dtype) * (new - old)


@keras.saving.register_keras_serializable(package="tfgan_zoo")
def leaky_relu(h):
    """LeakyReLU(0.2) as a maximum: TensorFlow's remapper fuses a convolution, its bias and a `LeakyRelu` op even
    where the gradient reads the pre-activation, and then abandons the whole graph's fusions with an error."""
    return ops.maximum(h, 0.2 * h)


class GrowingLayer(keras.layers.Layer):
    """A network's growing part: holds its current `level` and fade-in `alpha` as non-trainable weights, set
    by `set_growth`, and on each call runs only the levels in use, `grown(level, inputs)` of the current level
    (`ops.switch`: a `tf.switch_case`, whose untaken branches cost nothing; their weights get zero gradients,
    as a fade weight of 0 gave them before). Shapes stay static, so one traced step serves every level."""

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

    def at(self, name, level):
        """The sublayer `name` of `level`. Sublayers are attributes, not list items: Keras's tracked lists are
        invisible to `tf.train.Checkpoint`, which would then miss the EMA generator's weights."""
        return getattr(self, f"{name}_{4 * 2**level}")

    def call(self, inputs):
        branches = [functools.partial(self.grown, level) for level in range(self.num_levels)]
        return ops.switch(ops.clip(self.level, 0, self.num_levels - 1), branches, inputs)

    def grown(self, level, inputs):
        raise NotImplementedError

    def get_config(self):
        return {**super().get_config(), "num_levels": self.num_levels}


@keras.saving.register_keras_serializable(package="tfgan_zoo")
class Synthesis(GrowingLayer):
    """G's growing part: 4x4 features -> images at the final side. Levels 1, 2, ... each double the side
    (nearest upsampling, two 3x3 convolutions with pixel norm); the current level's image (a 1x1 `to_image`
    convolution) is blended over the upsampled image of the level below by `alpha`, then nearest-upsampled
    to the final side."""

    def __init__(self, widths, image_channels, **kwargs):
        super().__init__(len(widths), **kwargs)
        self.widths, self.image_channels = list(widths), image_channels
        for level, width in enumerate(self.widths):
            side = 4 * 2**level
            if level:
                setattr(self, f"conv0_{side}", EqualizedConv2D(width, 3, name=f"conv0_{side}x{side}"))
                setattr(self, f"conv1_{side}", EqualizedConv2D(width, 3, name=f"conv1_{side}x{side}"))
            setattr(
                self, f"to_image_{side}", EqualizedConv2D(image_channels, 1, gain=1.0, name=f"to_image_{side}x{side}")
            )

    def build(self, input_shape):
        super().build(input_shape)
        channels = input_shape[-1]
        for level, width in enumerate(self.widths):
            side = 4 * 2**level
            if level:
                self.at("conv0", level).build((None, side, side, channels))
                self.at("conv1", level).build((None, side, side, width))
                channels = width
            self.at("to_image", level).build((None, side, side, channels))

    def grown(self, level, h):
        features = [h]
        for above in range(1, level + 1):
            h = pixel_norm(leaky_relu(self.at("conv0", above)(_upsample(h, 2))))
            features.append(pixel_norm(leaky_relu(self.at("conv1", above)(h))))
            h = features[-1]
        image = self.at("to_image", level)(h)
        if level:
            below = _upsample(self.at("to_image", level - 1)(features[level - 1]), 2)
            image = _fade(below, image, self.alpha)
        return _upsample(image, 2 ** (self.num_levels - 1 - level))

    def compute_output_shape(self, input_shape):
        side = 4 * 2 ** (self.num_levels - 1)
        return (input_shape[0], side, side, self.image_channels)

    def get_config(self):
        config = {**super().get_config(), "widths": self.widths, "image_channels": self.image_channels}
        del config["num_levels"]
        return config


@keras.saving.register_keras_serializable(package="tfgan_zoo")
class Analysis(GrowingLayer):
    """D's growing part: images at the final side -> 4x4 features. It reads the images average-pooled to the
    current level (a 1x1 `from_image` convolution); each level then halves the side (two 3x3 convolutions,
    average pooling). While a level fades in, its output is blended by `alpha` over the level below's
    `from_image` of the images pooled once more, mirroring G."""

    def __init__(self, widths, **kwargs):
        super().__init__(len(widths), **kwargs)
        self.widths = list(widths)
        for level, width in enumerate(self.widths):
            side = 4 * 2**level
            setattr(self, f"from_image_{side}", EqualizedConv2D(width, 1, name=f"from_image_{side}x{side}"))
            if level:
                setattr(self, f"conv0_{side}", EqualizedConv2D(width, 3, name=f"conv0_{side}x{side}"))
                setattr(self, f"conv1_{side}", EqualizedConv2D(self.widths[level - 1], 3, name=f"conv1_{side}x{side}"))

    def build(self, input_shape):
        super().build(input_shape)
        for level, width in enumerate(self.widths):
            side = 4 * 2**level
            self.at("from_image", level).build((None, side, side, input_shape[-1]))
            if level:
                self.at("conv0", level).build((None, side, side, width))
                self.at("conv1", level).build((None, side, side, width))

    def grown(self, level, images):
        images = _downsample(images, 2 ** (self.num_levels - 1 - level))
        h = leaky_relu(self.at("from_image", level)(images))
        for block in range(level, 0, -1):
            h = _downsample(leaky_relu(self.at("conv1", block)(leaky_relu(self.at("conv0", block)(h)))), 2)
            if block == level:
                h = _fade(leaky_relu(self.at("from_image", level - 1)(_downsample(images, 2))), h, self.alpha)
        return h

    def compute_output_shape(self, input_shape):
        return (input_shape[0], 4, 4, self.widths[0])

    def get_config(self):
        config = {**super().get_config(), "widths": self.widths}
        del config["num_levels"]
        return config


@keras.saving.register_keras_serializable(package="tfgan_zoo")
class RealImages(GrowingLayer):
    """Real images as D should see them: average-pooled to the current level and faded in exactly like G's
    output, then nearest-upsampled to the final side (the GAN's `real_transform`)."""

    def grown(self, level, images):
        factor = 2 ** (self.num_levels - 1 - level)
        images = _downsample(images, factor)
        if level:
            images = _fade(_upsample(_downsample(images, 2), 2), images, self.alpha)
        return _upsample(images, factor)

    def compute_output_shape(self, input_shape):
        return input_shape


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
    h = EqualizedDense(16 * widths[0], gain=HE_GAIN / 4)(PixelNorm()(h))  # the paper's 4x4 "conv"
    h = PixelNorm()(keras.layers.Activation(leaky_relu)(keras.layers.Reshape((4, 4, widths[0]))(h)))
    h = PixelNorm()(keras.layers.Activation(leaky_relu)(EqualizedConv2D(widths[0], 3)(h)))
    return keras.Model(inputs, Synthesis(widths, image_shape[-1], name="synthesis")(h), name=name)


def discriminator(image_shape, channels=32, num_classes=0, conditioning="concat", name="discriminator"):
    """images (+ label) of `image_shape` -> one logit per image (and class logits with `acgan`), reading
    the images at the current level."""
    widths = _widths(image_shape, channels)
    samples = keras.Input(tuple(image_shape), name="samples")
    inputs, label, _, image = dcgan.conditioned_images(samples, num_classes, conditioning)
    h = Analysis(widths, name="analysis")(image)
    h = keras.layers.Activation(leaky_relu)(EqualizedConv2D(widths[0], 3)(layers.MinibatchStdDev()(h)))
    features = keras.layers.Activation(leaky_relu)(EqualizedDense(widths[0])(keras.layers.Flatten()(h)))
    outputs = dcgan.conditioned_outputs(
        features, label, num_classes, conditioning, functools.partial(EqualizedDense, gain=1.0)
    )
    return keras.Model(inputs, outputs, name=name)


def real_images(image_shape, name="real_images"):
    """The GAN's `real_transform`: real images at the current level, as D compares them with G's."""
    images = keras.Input(tuple(image_shape), name="samples")
    return keras.Model(images, RealImages(num_levels(image_shape[0]), name="growth")(images), name=name)


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


def build(model_config, sample_shape, num_classes, conditions=None, sync_batch_norm=False):
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

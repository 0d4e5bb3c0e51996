"""Layers shared by the network families: the discriminator's diversity terms against mode collapse."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="tfgan_zoo")
class MinibatchStdDev(keras.layers.Layer):
    """Appends the average standard deviation of features over a group of samples as one extra feature.

    Karras et al. 2018 (PGGAN), section 3: a collapsed generator produces batches with little
    variation, which this feature makes visible to the discriminator. Works on flat `[N, F]` and
    image `[N, H, W, C]` inputs; the batch size must be divisible by the group size.

    A group is `group_size` consecutive samples (the paper's code takes every `N / group_size`-th), so a batch
    split into contiguous per-replica parts whose size divides by the group size is grouped as on one device.
    """

    def __init__(self, group_size=4, **kwargs):
        super().__init__(**kwargs)
        self.group_size = group_size

    def call(self, inputs):
        shape = ops.shape(inputs)
        group = min(self.group_size, inputs.shape[0]) if inputs.shape[0] else self.group_size
        grouped = ops.reshape(inputs, (-1, group) + tuple(inputs.shape[1:]))
        std = ops.sqrt(ops.var(grouped, axis=1) + 1e-8)
        mean_std = ops.mean(std, axis=tuple(range(1, len(std.shape))), keepdims=True)
        per_sample = ops.repeat(mean_std, group, axis=0)
        feature = ops.broadcast_to(per_sample, tuple(shape[:-1]) + (1,))
        return ops.concatenate([inputs, ops.cast(feature, inputs.dtype)], axis=-1)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (input_shape[-1] + 1,)

    def get_config(self):
        return {**super().get_config(), "group_size": self.group_size}


@keras.saving.register_keras_serializable(package="tfgan_zoo")
class MinibatchDiscrimination(keras.layers.Layer):
    """Appends, per sample, its closeness to every other sample of the batch in learned projections.

    Salimans et al. 2016, "Improved Techniques for Training GANs", section 3.2: features
    o(x_i)_b = sum_j exp(-||M_i,b - M_j,b||_1) let the discriminator see a batch of near-identical
    samples. Input `[N, F]`; output `[N, F + num_kernels]`.
    """

    def __init__(self, num_kernels=32, kernel_dim=8, **kwargs):
        super().__init__(**kwargs)
        self.num_kernels = num_kernels
        self.kernel_dim = kernel_dim

    def build(self, input_shape):
        self.projection = self.add_weight(
            shape=(input_shape[-1], self.num_kernels * self.kernel_dim),
            initializer=keras.initializers.RandomNormal(stddev=0.05),
            name="projection",
        )

    def call(self, inputs):
        m = ops.reshape(ops.matmul(inputs, self.projection), (-1, self.num_kernels, self.kernel_dim))
        l1 = ops.sum(ops.abs(ops.expand_dims(m, 0) - ops.expand_dims(m, 1)), axis=-1)
        closeness = ops.sum(ops.exp(-l1), axis=0) - 1.0  # minus each sample's match with itself
        return ops.concatenate([inputs, closeness], axis=-1)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (input_shape[-1] + self.num_kernels,)

    def get_config(self):
        config = super().get_config()
        return {**config, "num_kernels": self.num_kernels, "kernel_dim": self.kernel_dim}


class _Packing(keras.layers.Layer):
    """A layer configured by the pack size `size` of PacGAN."""

    def __init__(self, size, **kwargs):
        super().__init__(**kwargs)
        self.size = size

    def get_config(self):
        return {**super().get_config(), "size": self.size}


@keras.saving.register_keras_serializable(package="tfgan_zoo")
class Pack(_Packing):
    """Concatenates each run of `size` consecutive samples into one input: `[N, F]` -> `[N / size, size * F]`.

    PacGAN (Lin et al. 2018): a discriminator that judges packs of samples of one kind (all real or all
    generated) sees how varied they are, so a generator that drops modes is penalised. `Unpack` gives each
    sample of a pack the pack's logit, so per-example losses keep the batch's shape. N must divide by `size`.
    """

    def call(self, inputs):
        return ops.reshape(inputs, (-1, self.size * inputs.shape[-1]))

    def compute_output_shape(self, input_shape):
        return (None, self.size * input_shape[-1])


@keras.saving.register_keras_serializable(package="tfgan_zoo")
class Unpack(_Packing):
    """Repeats each row `size` times: one value per pack of `Pack` becomes one per sample."""

    def call(self, inputs):
        return ops.repeat(inputs, self.size, axis=0)

    def compute_output_shape(self, input_shape):
        return (None,) + tuple(input_shape[1:])


def _spectral(layer, spectral_norm):
    """`layer`, spectrally normalised (Miyato et al. 2018) when asked."""
    return keras.layers.SpectralNormalization(layer) if spectral_norm else layer


@keras.saving.register_keras_serializable(package="tfgan_zoo")
class SpectralEmbedding(keras.layers.SpectralNormalization):
    """A spectrally normalised `Embedding`, as the class embedding of Miyato & Koyama's projection discriminator.

    Keras' wrapper casts its output to its inputs' dtype, which turns the vectors of integer labels into integers;
    the labels go in as floats instead, which the Embedding casts back.
    """

    def call(self, inputs, training=False):
        return super().call(ops.cast(inputs, "float32"), training=training)


def embedding(input_dim, output_dim, spectral_norm=False, **kwargs):
    """An Embedding layer, spectrally normalised when asked."""
    layer = keras.layers.Embedding(input_dim, output_dim, **kwargs)
    return SpectralEmbedding(layer) if spectral_norm else layer


def dense(units, spectral_norm=False, **kwargs):
    """A Dense layer, spectrally normalised when asked."""
    return _spectral(keras.layers.Dense(units, **kwargs), spectral_norm)


def conv1d(filters, kernel_size, spectral_norm=False, **kwargs):
    """A Conv1D layer, spectrally normalised when asked."""
    return _spectral(keras.layers.Conv1D(filters, kernel_size, **kwargs), spectral_norm)


def conv2d(filters, kernel_size, spectral_norm=False, **kwargs):
    """A Conv2D layer, spectrally normalised when asked."""
    return _spectral(keras.layers.Conv2D(filters, kernel_size, **kwargs), spectral_norm)


@keras.saving.register_keras_serializable(package="tfgan_zoo")
class DepthToSpace(keras.layers.Layer):
    """Sub-pixel upsampling (Shi et al. 2016, "PixelShuffle"): `[N, H, W, r*r*C]` -> `[N, r*H, r*W, C]`."""

    def __init__(self, block_size=2, **kwargs):
        super().__init__(**kwargs)
        self.block_size = block_size

    def call(self, inputs):
        return ops.depth_to_space(inputs, self.block_size)

    def compute_output_shape(self, input_shape):
        n, h, w, c = input_shape
        r = self.block_size
        return (n, None if h is None else h * r, None if w is None else w * r, c // (r * r))

    def get_config(self):
        return {**super().get_config(), "block_size": self.block_size}


@keras.saving.register_keras_serializable(package="tfgan_zoo")
class BroadcastToImage(keras.layers.Layer):
    """`[N, C]` -> `[N, *size, C]`: a per-example vector as constant feature maps (label maps of cGANs), over
    images (`size` (H, W)) or series (`size` (T,))."""

    def __init__(self, size, **kwargs):
        super().__init__(**kwargs)
        self.size = tuple(size)

    def call(self, inputs):
        maps = ops.reshape(inputs, (-1,) + (1,) * len(self.size) + (inputs.shape[-1],))
        return ops.tile(maps, (1, *self.size, 1))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], *self.size, input_shape[-1])

    def get_config(self):
        return {**super().get_config(), "size": self.size}

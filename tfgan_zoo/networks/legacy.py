"""Layers of the files that earlier versions of tfgan-zoo wrote, kept so that those files load as they are.

`pggan_fashion_mnist` version 1 (before the progressive levels ran one at a time): its networks compute every
level and blend them with per-level fade weights. Keras finds a layer's weights in a `.keras` file by the
snake-cased name of its class, so these keep their class names.
"""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="tfgan_zoo")
class Growth(keras.layers.Layer):
    """The fade weight of each level, `clip(level + alpha - l, 0, 1)`, per example (its input gives the batch)."""

    def __init__(self, num_levels, **kwargs):
        super().__init__(**kwargs)
        self.num_levels = num_levels

    def build(self, input_shape):
        self.level = self.add_weight(shape=(), dtype="int32", initializer="zeros", trainable=False, name="level")
        self.alpha = self.add_weight(shape=(), initializer="ones", trainable=False, name="alpha")

    def call(self, inputs):
        weights = ops.clip(
            ops.cast(self.level, "float32") + self.alpha - ops.arange(self.num_levels, dtype="float32"), 0.0, 1.0
        )
        return ops.broadcast_to(weights, (ops.shape(inputs)[0], self.num_levels))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.num_levels)

    def get_config(self):
        return {**super().get_config(), "num_levels": self.num_levels}


@keras.saving.register_keras_serializable(package="tfgan_zoo")
class Fade(keras.layers.Layer):
    """`[old, new, weights]` -> `old + w * (new - old)`, `w` being the fade weight of level `level`."""

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

"""The SavedModel of a zoo entry: the generator behind the signatures TF Serving and `load_pretrained` call.

Every version has the signature `serving_default`, inputs `z` float32 [N, latent_dim] (+ `label` int32 [N]
when conditional, + one float32 [N] per continuous condition) -> `samples` float32 [N, *sample_shape] in the
data's scale; image entries add `images` (same inputs) -> `images` uint8 [N, H, W, C].
"""

import keras
import tensorflow as tf

from tfgan_zoo import data


def input_specs(latent_dim, num_classes, conditions):
    """The signatures' inputs, name -> `tf.TensorSpec`: `z`, `label` when conditional, one per condition."""
    specs = {"z": tf.TensorSpec([None, latent_dim], tf.float32, name="z")}
    if num_classes:
        specs["label"] = tf.TensorSpec([None], tf.int32, name="label")
    specs.update({name: tf.TensorSpec([None], tf.float32, name=name) for name in conditions})
    return specs


def export_archive(gan, conditions=(), padding=None, value_range=None):
    """`(archive, sample_shape)`: a `keras.export.ExportArchive` of the EMA generator (else the generator)
    of `gan` with the zoo's signatures, its samples cropped by `padding` (`data.pad`'s margins) and clipped
    to `value_range` when given: a generator without a tanh output (progressive growing) may overshoot."""
    generator = gan.inference_generator
    specs = input_specs(gan.latent_dim, gan.num_classes, conditions)

    def samples(*tensors):
        inputs = dict(zip(specs, tensors))
        z, label = inputs.pop("z"), inputs.pop("label", None)
        checks = [] if label is None else _label_checks(z, label, gan.num_classes)
        with tf.control_dependencies(checks):
            # What is left of `inputs` are the continuous conditions: they reach G through the labels' hook.
            x = generator(gan._generator_inputs(z, label, **inputs), training=False)
        x = data.crop_padding(x, padding) if padding else x
        return tf.clip_by_value(x, *value_range) if value_range else x

    def images(*tensors):
        # The mapping of `plots.image_grid`: [-1, 1] -> {0, ..., 255}.
        x = tf.round((tf.clip_by_value(samples(*tensors), -1.0, 1.0) + 1.0) * 127.5)
        return {"images": tf.cast(x, tf.uint8)}

    # ExportArchive saves the variables the signatures capture, which TF Serving's session-based loader
    # needs: a plain tf.Module holding the Keras model reloads in TF2 but fails in `saved_model_cli run`.
    archive = keras.export.ExportArchive()
    archive.track(generator)
    serving = archive.add_endpoint(
        "serving_default", lambda *tensors: {"samples": samples(*tensors)}, list(specs.values())
    )
    sample_shape = serving.get_concrete_function().structured_outputs["samples"].shape[1:].as_list()
    if len(sample_shape) == 3:
        archive.add_endpoint("images", images, list(specs.values()))
    return archive, sample_shape


def _label_checks(z, label, num_classes):
    message = f"label must hold one integer in [0, {num_classes - 1}] per row of z"
    return [
        tf.debugging.assert_equal(tf.shape(label)[0], tf.shape(z)[0], message=message),
        tf.debugging.assert_non_negative(label, message=message),
        tf.debugging.assert_less(label, num_classes, message=message),
    ]

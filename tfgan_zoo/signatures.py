"""The SavedModel of a zoo entry: the generator behind the signatures TF Serving and `load_pretrained` call, and
the warmup requests TF Serving replays when it loads a version.

Every version has the signature `serving_default`, inputs `z` float32 [N, latent_dim] (+ `label` int32 [N]
when conditional, + one float32 [N] per continuous condition) -> `samples` float32 [N, *sample_shape] in the
data's scale, and `seed`: `seed` int64 [], `num` int32 [], `truncation` float32 [] (+ `label` int32 [num], + one
float32 [num] per condition) -> `samples`, z drawn in the graph as `sampling.latent` draws it. Image entries add
`images` (the inputs of `serving_default`) -> `images` uint8 [N, H, W, C] and `png` -> `png_bytes` string [N],
one PNG file per sample (TF Serving's REST API returns a `_bytes` output as base64).
"""

import keras
import numpy as np
import tensorflow as tf

from tfgan_zoo import data, sampling

# The batch sizes the warmup file replays: TF Serving pads batched requests to them (`allowed_batch_sizes`), and
# oneDNN builds its convolution kernels per shape. Chosen from the batch-size sweep in docs/performance.md.
SERVED_BATCH_SIZES = (1, 8, 32, 64)
# The most samples one `seed` request may ask for: a scalar `num` must not allocate without bound.
MAX_SEED_SAMPLES = 10_000
WARMUP_FILE = "tf_serving_warmup_requests"  # in <version>/assets.extra/, where TF Serving looks for it


def input_specs(latent_dim, num_classes, conditions):
    """The inputs of `serving_default`, `images` and `png`, name -> `tf.TensorSpec`: `z`, `label` when
    conditional, one per condition."""
    specs = {"z": tf.TensorSpec([None, latent_dim], tf.float32, name="z")}
    specs.update(_condition_specs(num_classes, conditions))
    return specs


def seed_input_specs(num_classes, conditions):
    """The inputs of `seed`, name -> `tf.TensorSpec`: `seed`, `num`, `truncation`, then `label` and conditions."""
    specs = {
        "seed": tf.TensorSpec([], tf.int64, name="seed"),
        "num": tf.TensorSpec([], tf.int32, name="num"),
        "truncation": tf.TensorSpec([], tf.float32, name="truncation"),
    }
    specs.update(_condition_specs(num_classes, conditions))
    return specs


def _condition_specs(num_classes, conditions):
    specs = {"label": tf.TensorSpec([None], tf.int32, name="label")} if num_classes else {}
    specs.update({name: tf.TensorSpec([None], tf.float32, name=name) for name in conditions})
    return specs


def signature_names(sample_shape):
    """The signatures an entry with samples of `sample_shape` serves."""
    images = ["images", "png"] if data.sample_kind(sample_shape) == "images" else []
    return ["serving_default", "seed", *images]


def export_archive(gan, conditions=(), padding=None, value_range=None):
    """`(archive, sample_shape)`: a `keras.export.ExportArchive` of the EMA generator (else the generator)
    of `gan` with the zoo's signatures, its samples cropped by `padding` (`data.pad`'s margins) and clipped
    to `value_range` when given: a generator without a tanh output (progressive growing) may overshoot."""
    generator = gan.inference_generator
    specs = input_specs(gan.latent_dim, gan.num_classes, conditions)
    seed_specs = seed_input_specs(gan.num_classes, conditions)

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

    def png(*tensors):
        pixels = images(*tensors)["images"]
        return {"png_bytes": tf.map_fn(tf.io.encode_png, pixels, fn_output_signature=tf.string)}

    def seeded(seed, num, truncation, *rest):
        checks = _seed_checks(num, truncation, gan.latent_distribution)
        with tf.control_dependencies(checks):
            z = sampling.latent(num, gan.latent_dim, gan.latent_distribution, tf.stack([seed, 0]), truncation)
        return {"samples": samples(z, *rest)}

    # ExportArchive saves the variables the signatures capture, which TF Serving's session-based loader
    # needs: a plain tf.Module holding the Keras model reloads in TF2 but fails in `saved_model_cli run`.
    # The generator is not `track`ed: its Keras variables would then be saved a second time beside the captured
    # TensorFlow variables, doubling the SavedModel's variables.
    archive = keras.export.ExportArchive()
    serving = archive.add_endpoint(
        "serving_default", lambda *tensors: {"samples": samples(*tensors)}, list(specs.values())
    )
    archive.add_endpoint("seed", seeded, list(seed_specs.values()))
    sample_shape = serving.get_concrete_function().structured_outputs["samples"].shape[1:].as_list()
    if data.sample_kind(sample_shape) == "images":
        archive.add_endpoint("images", images, list(specs.values()))
        archive.add_endpoint("png", png, list(specs.values()))
    return archive, sample_shape


def _label_checks(z, label, num_classes):
    message = f"label must hold one integer in [0, {num_classes - 1}] per row of z"
    return [
        tf.debugging.assert_equal(tf.shape(label)[0], tf.shape(z)[0], message=message),
        tf.debugging.assert_non_negative(label, message=message),
        tf.debugging.assert_less(label, num_classes, message=message),
    ]


def _seed_checks(num, truncation, distribution):
    checks = [
        tf.debugging.assert_positive(num, message=f"num must be in [1, {MAX_SEED_SAMPLES}]"),
        tf.debugging.assert_less_equal(num, MAX_SEED_SAMPLES, message=f"num must be in [1, {MAX_SEED_SAMPLES}]"),
        tf.debugging.assert_positive(truncation, message=sampling.TRUNCATION_RANGE),
        tf.debugging.assert_less_equal(truncation, 1.0, message=sampling.TRUNCATION_RANGE),
    ]
    if distribution == "spherical":
        checks.append(tf.debugging.assert_equal(truncation, 1.0, message=sampling.SPHERICAL_TRUNCATION))
    return checks


def example_inputs(card, n, seed):
    """Inputs of `serving_default` for `n` samples of the entry described by `card`, name -> numpy: z drawn from
    `seed`, labels cycling through the classes, each condition at the middle of its trained range."""
    z = sampling.latent(n, card["latent_dim"], card["latent_distribution"], tf.constant([seed, 0], tf.int64))
    inputs = {"z": z.numpy()}
    if card["num_classes"]:
        inputs["label"] = np.arange(n, dtype=np.int32) % card["num_classes"]
    inputs.update({name: np.full(n, sum(bounds) / 2, np.float32) for name, bounds in card["conditions"].items()})
    return inputs


def warmup_requests(card, batch_sizes=SERVED_BATCH_SIZES):
    """`[(signature, inputs)]`: one request per signature of the entry and batch size, inputs name -> numpy."""
    requests = []
    for signature in signature_names(card["sample_shape"]):
        for n in batch_sizes:
            inputs = example_inputs(card, n, seed=0)
            if signature == "seed":
                del inputs["z"]
                inputs = {"seed": np.int64(0), "num": np.int32(n), "truncation": np.float32(1.0), **inputs}
            requests.append((signature, inputs))
    return requests


def write_warmup(path, model_name, requests):
    """Writes `requests` as TF Serving's warmup file: a TFRecord of `tensorflow.serving.PredictionLog`s, each
    holding a `PredictRequest`."""
    with tf.io.TFRecordWriter(str(path)) as writer:
        for signature, inputs in requests:
            writer.write(_prediction_log(model_name, signature, inputs))


def _prediction_log(model_name, signature, inputs):
    """A serialized `PredictionLog { predict_log { request { model_spec { name signature_name } inputs } } }`,
    written field by field so that exporting needs no tensorflow-serving-api; the tests parse it back with it.
    Field numbers from tensorflow_serving/apis/{prediction_log,predict,model}.proto."""
    spec = _field(1, model_name.encode()) + _field(3, signature.encode())
    tensors = b"".join(
        _field(2, _field(1, name.encode()) + _field(2, tf.make_tensor_proto(value).SerializeToString()))
        for name, value in inputs.items()
    )  # `map<string, TensorProto> inputs`: one (key = 1, value = 2) entry each
    return _field(6, _field(1, _field(1, spec) + tensors))


def _field(number, payload):
    """A length-delimited protobuf field (wire type 2): its tag, its length, its bytes."""
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _varint(value):
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)

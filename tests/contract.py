"""The serving contract of an exported zoo entry (docs/serving.md), checked with TensorFlow and
tensorflow-serving-api alone.

Run by the `check_entry` fixture (tests/conftest.py), in a fresh interpreter that must never import tfgan_zoo, as
TF Serving's users load an entry:

    python tests/contract.py ENTRY [ENTRY ...]

"""

import io
import json
import pathlib
import sys
import tempfile

import numpy as np
import tensorflow as tf
import yaml
from PIL import Image
from tensorflow.python.tools import saved_model_cli
from tensorflow_serving.apis import prediction_log_pb2

CARD_FIELDS = {
    "name",
    "family",
    "dataset",
    "latent_dim",
    "num_classes",
    "sample_shape",
    "value_range",
    "conditions",
    "config",
    "training",
    "metrics",
    "version",
}
TRAINING_FIELDS = {"steps", "images_seen", "wall_time_s", "hardware", "seed", "command"}


def contract_signatures(card):
    """The signatures an entry with this card must serve: {name: {(inputs|outputs, tensor): (dtype, shape)}}."""
    per_sample = {("inputs", "label"): ("int32", [None])} if card["num_classes"] else {}
    per_sample.update({("inputs", name): ("float32", [None]) for name in card["conditions"]})
    inputs = {("inputs", "z"): ("float32", [None, card["latent_dim"]]), **per_sample}
    shape = [None, *card["sample_shape"]]
    signatures = {"serving_default": {**inputs, ("outputs", "samples"): ("float32", shape)}}
    scalars = {("inputs", "seed"): ("int64", []), ("inputs", "num"): ("int32", [])}
    scalars[("inputs", "truncation")] = ("float32", [])
    signatures["seed"] = {**scalars, **per_sample, ("outputs", "samples"): ("float32", shape)}
    if len(card["sample_shape"]) == 3:
        signatures["images"] = {**inputs, ("outputs", "images"): ("uint8", shape)}
        signatures["png"] = {**inputs, ("outputs", "png_bytes"): ("string", [None])}
    return signatures


def served_signatures(saved_model):
    """The signatures a loaded SavedModel serves, in the form of `contract_signatures`."""
    served = {}
    for name, signature in saved_model.signatures.items():
        specs = {("inputs", key): spec for key, spec in signature.structured_input_signature[1].items()}
        specs.update({("outputs", key): spec for key, spec in signature.structured_outputs.items()})
        served[name] = {key: (spec.dtype.name, spec.shape.as_list()) for key, spec in specs.items()}
    return served


def call(signature, inputs):
    """A signature's outputs for `inputs` (name -> values, cast to the signature's dtypes), as numpy."""
    specs = signature.structured_input_signature[1]
    outputs = signature(**{name: tf.constant(value, specs[name].dtype) for name, value in inputs.items()})
    return {name: value.numpy() for name, value in outputs.items()}


def check(entry):
    """Asserts the card's fields, the newest version's signatures and its outputs for the golden inputs, that every
    version holds its training config, and that `saved_model_cli run`, TF Serving's session loader, runs every
    signature; what the `seed` and `png` signatures give and the warmup file."""
    entry = pathlib.Path(entry)
    card = json.loads((entry / "model_card.json").read_text())
    assert CARD_FIELDS <= set(card) and TRAINING_FIELDS <= set(card["training"]), sorted(card)
    golden = json.loads((entry / "golden.json").read_text())
    assert golden["version"] == card["version"], (golden["version"], card["version"])
    version = entry / str(card["version"])
    saved_model = tf.saved_model.load(str(version))
    assert served_signatures(saved_model) == contract_signatures(card), served_signatures(saved_model)
    samples = call(saved_model.signatures[golden["signature"]], golden["inputs"])["samples"]
    assert samples.shape[1:] == tuple(card["sample_shape"]), samples.shape
    flat = samples.reshape(len(samples), -1)
    for key, value in [("values", flat[:, golden["positions"]]), ("mean", flat.mean(1)), ("std", flat.std(1))]:
        np.testing.assert_allclose(value, golden[key], atol=1e-4, err_msg=key)
    for path in (path for path in entry.iterdir() if path.name.isdigit()):  # each says how it was trained
        assert "model" in yaml.safe_load((path / "assets.extra" / "config.yaml").read_text()), path
    per_sample = {name: value[:2] for name, value in golden["inputs"].items() if name != "z"}
    requests = {"serving_default": {"z": golden["inputs"]["z"][:2], **per_sample}}
    check_seed(saved_model, card, per_sample)
    if "png" in saved_model.signatures:
        check_png(saved_model, requests["serving_default"])
    requests = check_warmup(version, saved_model, card)
    check_saved_model_cli(version, saved_model, requests)


def check_seed(saved_model, card, per_sample, seed=7):
    """`seed` draws z ~ N(0, I) with `tf.random.stateless_normal([num, latent_dim], [seed, 0])` (spherical: scaled to
    radius sqrt(latent_dim)), times the truncation psi, and gives what `serving_default` gives for that z."""
    z = tf.random.stateless_normal([2, card["latent_dim"]], tf.constant([seed, 0], tf.int64))
    if card["latent_distribution"] == "spherical":
        z = tf.math.l2_normalize(z, axis=1) * card["latent_dim"] ** 0.5
    psis = [1.0] if card["latent_distribution"] == "spherical" else [1.0, 0.5]
    for psi in psis:
        seeded = call(saved_model.signatures["seed"], {"seed": seed, "num": 2, "truncation": psi, **per_sample})
        served = call(saved_model.signatures["serving_default"], {"z": z * psi, **per_sample})
        np.testing.assert_allclose(seeded["samples"], served["samples"], atol=1e-5, err_msg=f"psi {psi}")


def check_png(saved_model, inputs):
    """`png` gives one PNG file per sample, holding what `images` gives."""
    files = call(saved_model.signatures["png"], inputs)["png_bytes"]
    pixels = call(saved_model.signatures["images"], inputs)["images"]
    decoded = [np.asarray(Image.open(io.BytesIO(data))) for data in files]
    np.testing.assert_array_equal(np.stack(decoded).reshape(pixels.shape), pixels)


def check_warmup(version, saved_model, card):
    """Every record of the warmup file is a `PredictionLog` whose request names a signature of the version and
    gives exactly its inputs, at their dtypes; every signature is warmed at the same batch sizes. Returns the
    smallest request of each signature, name -> inputs."""
    path = version / "assets.extra" / "tf_serving_warmup_requests"
    logs = [prediction_log_pb2.PredictionLog.FromString(r.numpy()) for r in tf.data.TFRecordDataset(str(path))]
    assert 0 < len(logs) <= 1000, len(logs)  # TF Serving refuses more than 1000 records
    sizes, smallest = {}, {}
    for log in logs:
        request = log.predict_log.request
        assert request.model_spec.name == card["name"], request.model_spec
        signature = saved_model.signatures[request.model_spec.signature_name]
        specs = signature.structured_input_signature[1]
        inputs = {name: tf.make_ndarray(tensor) for name, tensor in request.inputs.items()}
        assert set(inputs) == set(specs), (request.model_spec.signature_name, sorted(inputs))
        for name, value in inputs.items():
            assert value.dtype == specs[name].dtype.as_numpy_dtype and specs[name].shape.is_compatible_with(value.shape)
        size = int(inputs["num"]) if "num" in inputs else len(inputs["z"])
        sizes.setdefault(request.model_spec.signature_name, []).append(size)
        if size == min(sizes[request.model_spec.signature_name]):
            smallest[request.model_spec.signature_name] = inputs
    assert set(sizes) == set(saved_model.signatures) and len({tuple(s) for s in sizes.values()}) == 1, sizes
    return smallest


def check_saved_model_cli(version, saved_model, requests):
    """`saved_model_cli run` (its Python entry point: a TF1 session over the `serve` MetaGraph, TF Serving's loader)
    on every signature of the version, with `requests` (signature -> inputs; signatures sharing the inputs of
    `serving_default` reuse its request)."""
    with tempfile.TemporaryDirectory() as outdir:
        for name, signature in saved_model.signatures.items():
            inputs = requests.get(name, requests["serving_default"])
            specs = signature.structured_input_signature[1]
            feed = {key: np.asarray(value, specs[key].dtype.as_numpy_dtype) for key, value in inputs.items()}
            saved_model_cli.run_saved_model_with_feed_dict(str(version), "serve", name, feed, outdir, True)
            for key, spec in signature.structured_outputs.items():
                output = np.load(pathlib.Path(outdir) / f"{key}.npy", allow_pickle=True)
                assert spec.shape[1:].is_compatible_with(output.shape[1:]) and len(output) == len(feed.get("z", output))


if __name__ == "__main__":
    for path in sys.argv[1:]:
        check(path)
    assert "tfgan_zoo" not in sys.modules
    print("contract ok")

"""The serving contract of an exported zoo entry (docs/serving.md), checked with TensorFlow alone.

Run by the `check_entry` fixture (tests/conftest.py), in a fresh interpreter that must never import tfgan_zoo, as
TF Serving's users load an entry:

    python tests/contract.py ENTRY [ENTRY ...]
"""

import json
import pathlib
import sys

import numpy as np
import tensorflow as tf
import yaml

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
    inputs = {("inputs", "z"): ("float32", [None, card["latent_dim"]])}
    if card["num_classes"]:
        inputs[("inputs", "label")] = ("int32", [None])
    inputs.update({("inputs", name): ("float32", [None]) for name in card["conditions"]})
    shape = [None, *card["sample_shape"]]
    signatures = {"serving_default": {**inputs, ("outputs", "samples"): ("float32", shape)}}
    if len(card["sample_shape"]) == 3:
        signatures["images"] = {**inputs, ("outputs", "images"): ("uint8", shape)}
    return signatures


def served_signatures(saved_model):
    """The signatures a loaded SavedModel serves, in the form of `contract_signatures`."""
    served = {}
    for name, signature in saved_model.signatures.items():
        specs = {("inputs", key): spec for key, spec in signature.structured_input_signature[1].items()}
        specs.update({("outputs", key): spec for key, spec in signature.structured_outputs.items()})
        served[name] = {key: (spec.dtype.name, spec.shape.as_list()) for key, spec in specs.items()}
    return served


def check(entry):
    """Asserts the card's fields, the newest version's signatures and its outputs for the golden inputs, and that
    every version holds its training config."""
    entry = pathlib.Path(entry)
    card = json.loads((entry / "model_card.json").read_text())
    assert CARD_FIELDS <= set(card) and TRAINING_FIELDS <= set(card["training"]), sorted(card)
    golden = json.loads((entry / "golden.json").read_text())
    assert golden["version"] == card["version"], (golden["version"], card["version"])
    saved_model = tf.saved_model.load(str(entry / str(card["version"])))
    assert served_signatures(saved_model) == contract_signatures(card), served_signatures(saved_model)
    signature = saved_model.signatures[golden["signature"]]
    specs = signature.structured_input_signature[1]
    samples = signature(**{k: tf.constant(v, specs[k].dtype) for k, v in golden["inputs"].items()})["samples"].numpy()
    assert samples.shape[1:] == tuple(card["sample_shape"]), samples.shape
    flat = samples.reshape(len(samples), -1)
    for key, value in [("values", flat[:, golden["positions"]]), ("mean", flat.mean(1)), ("std", flat.std(1))]:
        np.testing.assert_allclose(value, golden[key], atol=1e-4, err_msg=key)
    for version in (path for path in entry.iterdir() if path.name.isdigit()):  # each says how it was trained
        assert "model" in yaml.safe_load((version / "assets.extra" / "config.yaml").read_text()), version


if __name__ == "__main__":
    for path in sys.argv[1:]:
        check(path)
    assert "tfgan_zoo" not in sys.modules
    print("contract ok")

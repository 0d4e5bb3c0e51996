"""Export for TF Serving, the model card, one-line loading and the serving client, on tiny trained runs;
and the contract checks of every generator shipped in `saved_models/`."""

import http.server
import importlib.util
import io
import json
import pathlib
import shlex
import shutil
import subprocess
import threading

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from tfgan_zoo import config, evaluation, export, paths, plots, signatures, training, zoo

REPOSITORY = pathlib.Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def conditional(tmp_path_factory, tiny_config):
    """A tiny conditional DCGAN on 8x8 digits, its workdir, and its export: `(gan, workdir, entry)`."""
    root = tmp_path_factory.mktemp("conditional")
    gan, _ = training.train(tiny_config("cgan_digits"), root / "run", verbose=0)
    export.export(root / "run", root / "models" / "cgan_tiny")
    return gan, root / "run", root / "models" / "cgan_tiny"


@pytest.fixture(scope="module")
def points(tmp_path_factory, tiny_config):
    """A tiny unconditional MLP GAN on the ring of 8 Gaussians (2-D points) and its export."""
    root = tmp_path_factory.mktemp("points")
    gan, _ = training.train(tiny_config("vanilla_ring8", "train.steps=2"), root / "run", verbose=0)
    export.export(root / "run", root / "ring_tiny")
    return gan, root / "ring_tiny"


def run(*command, **kwargs):
    result = subprocess.run([str(c) for c in command], capture_output=True, text=True, timeout=300, **kwargs)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_a_conditional_export_meets_the_contract(conditional, check_entry):
    _, workdir, entry = conditional
    check_entry(entry)
    card = json.loads((entry / "model_card.json").read_text())
    assert (card["family"], card["dataset"], card["num_classes"], card["sample_shape"]) == (
        "conditional",
        "digits",
        10,
        [8, 8, 1],
    )
    assert card["version"] == 1 and card["value_range"] == [-1.0, 1.0] and card["conditions"] == {}
    assert card["training"]["steps"] == 2 and card["training"]["images_seen"] == 2 * 64
    assert card["training"]["data_examples"] == 256  # the tiny run's data.num_examples, of 1,437 training digits
    assert 0 < card["training"]["wall_time_s"] < 300
    assert (entry / "README.md").read_text().startswith("# cgan_tiny")
    assert "(its first 256 training examples)" in (entry / "README.md").read_text()
    assert (entry / "gan.keras").exists()
    # The recorded command rebuilds the run's config exactly.
    args = shlex.split(card["training"]["command"])
    overrides = [args[i + 1] for i, arg in enumerate(args) if arg == "--set"]
    assert args[args.index("--config") + 1] == "zoo_configs/cgan_digits.yaml"
    rebuilt = config.load(str(REPOSITORY / "zoo_configs" / "cgan_digits.yaml"), overrides)
    assert rebuilt == config.load(str(workdir / "config.yaml")) == config.load(str(paths.version_config(entry, 1)))
    assert card["keras_file_version"] == 1


def test_saved_model_cli_runs_the_images_signature(conditional, tmp_path):
    _, _, entry = conditional
    z = np.random.default_rng(0).standard_normal((3, 16)).round(3).tolist()
    run(
        "saved_model_cli",
        "run",
        "--dir",
        entry / "1",
        "--tag_set",
        "serve",
        "--signature_def",
        "images",
        "--input_exprs",
        f"z={z};label=[0, 5, 9]",
        "--outdir",
        tmp_path,
        "--overwrite",
    )
    images = np.load(tmp_path / "images.npy")
    assert images.shape == (3, 8, 8, 1) and images.dtype == np.uint8


@pytest.mark.parametrize("fixture, labels", [("conditional", [0, 3, 3, 9, 1, 2]), ("points", None)])
def test_load_pretrained_samples_what_the_gan_samples(request, fixture, labels):
    gan, *_, entry = request.getfixturevalue(fixture)
    model = zoo.load_pretrained(entry)
    assert isinstance(model, zoo.PretrainedGenerator) and model.card["version"] == 1
    np.testing.assert_allclose(model.sample(6, seed=7, labels=labels), gan.sample(6, seed=7, labels=labels), atol=1e-5)


def test_an_entry_loads_by_name_from_the_models_directory(points, monkeypatch, check_entry):
    _, entry = points
    monkeypatch.setenv("TFGAN_ZOO_MODELS", str(entry.parent))
    assert paths.entries()["ring_tiny"] == ("$TFGAN_ZOO_MODELS", entry)
    assert zoo.load_pretrained("ring_tiny").sample(5, seed=1).shape == (5, 2)
    (row,) = [row for row in zoo.describe_entries() if row[0] == "ring_tiny"]
    assert row == ("ring_tiny", "vanilla", "ring8", 1, "not evaluated", "$TFGAN_ZOO_MODELS")
    card = json.loads((entry / "model_card.json").read_text())
    assert card["value_range"] is None
    check_entry(entry, fresh_process=False)  # points: the contract asks serving_default, no images


def test_evaluating_an_entry_fills_its_card_readme_and_listing(points, tmp_path, monkeypatch):
    entry = tmp_path / "ring_tiny"
    shutil.copytree(points[1], entry)
    # The version's own config, not the zoo's YAML of today, tells evaluate what the entry was trained on.
    monkeypatch.setenv("TFGAN_ZOO_CONFIGS", str(tmp_path / "no_configs"))
    report = evaluation.evaluate_model(entry, num_samples=200)
    card = json.loads((entry / "model_card.json").read_text())
    assert card["metrics"]["values"] == report["values"] and "modes_covered" in report["values"]
    assert "real_floor" in (entry / "README.md").read_text() and (entry / "evaluation.json").exists()
    monkeypatch.setenv("TFGAN_ZOO_MODELS", str(tmp_path))
    assert "modes_covered" in dict((row[0], row[4]) for row in zoo.describe_entries())["ring_tiny"]


def test_labels_are_checked_in_python_and_in_the_signature(conditional):
    _, _, entry = conditional
    model = zoo.load_pretrained(entry)
    with pytest.raises(ValueError, match=r"Label 10 is out of range"):
        model.sample(2, labels=[1, 10])
    with pytest.raises(ValueError, match="This generator is conditional: pass `labels`"):
        model.sample(2)
    serving = model.saved_model.signatures["serving_default"]
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"label must hold one integer in \[0, 9\] per row of z"):
        serving(z=tf.zeros([2, 16]), label=tf.constant([1, 10]))


def test_reexport_adds_a_version_and_keeps_the_old_one(conditional, tmp_path):
    gan, workdir, _ = conditional
    entry = tmp_path / "cgan"
    export.export(workdir, entry, checkpoint=workdir / "checkpoints" / "ckpt-1")
    (entry / "model_card.json").write_text(
        json.dumps({**json.loads((entry / "model_card.json").read_text()), "notes": "Kept across exports."})
    )
    export.export(workdir, entry)
    assert paths.versions(entry) == [1, 2]
    card = json.loads((entry / "model_card.json").read_text())
    assert card["version"] == 2 and card["training"]["steps"] == 2 and card["notes"] == "Kept across exports."
    assert json.loads((entry / "golden.json").read_text())["version"] == 2
    assert "Kept across exports." in (entry / "README.md").read_text()
    newest, first = zoo.load_pretrained(entry), zoo.load_pretrained(entry / "1")
    assert (newest.version, first.version) == (2, 1)
    np.testing.assert_allclose(newest.sample(3, seed=2, labels=4), gan.sample(3, seed=2, labels=4), atol=1e-5)
    assert not np.allclose(first.sample(3, seed=2, labels=4), newest.sample(3, seed=2, labels=4))


def test_padded_training_images_are_exported_at_the_data_shape(conditional):
    gan = conditional[0]
    _, sample_shape = signatures.export_archive(gan, padding=((1, 2), (2, 1)))  # as for 5x5 images padded to 8x8
    assert sample_shape == [5, 5, 1]


def test_samples_are_clipped_to_the_value_range(conditional, tmp_path):
    gan = conditional[0]
    archive, _ = signatures.export_archive(gan, value_range=(-0.01, 0.01))
    archive.write_out(str(tmp_path / "clipped"), verbose=False)
    z, label = tf.constant(gan.latent(8, tf.constant([0, 0], tf.int64))), tf.range(8, dtype=tf.int32) % gan.num_classes
    unclipped = gan.generate(z, label).numpy()
    samples = tf.saved_model.load(str(tmp_path / "clipped")).signatures["serving_default"](z=z, label=label)["samples"]
    assert np.abs(unclipped).max() > 0.01  # so the clip has something to do
    np.testing.assert_allclose(samples.numpy(), np.clip(unclipped, -0.01, 0.01), atol=1e-6)


def corrupt(entry, tmp_path, how):
    broken = tmp_path / "broken"
    shutil.copytree(entry, broken)
    how(broken)
    return broken


@pytest.mark.parametrize(
    "how, error, message",
    [
        (lambda e: (e / "model_card.json").write_text("{"), ValueError, r"model_card.json is unreadable .*Re-export"),
        (lambda e: shutil.rmtree(e / "1"), FileNotFoundError, r"has a model card but no exported version"),
        (
            lambda e: (e / "1" / "saved_model.pb").write_bytes(b"\x08garbage"),
            ValueError,
            r"broken/1 is not a readable SavedModel .*Re-export it: tfgan-zoo export",
        ),
        (lambda e: shutil.rmtree(e / "1" / "variables"), ValueError, r"broken/1 is not a readable SavedModel"),
    ],
)
def test_a_corrupt_entry_is_a_clear_error(conditional, tmp_path, how, error, message):
    with pytest.raises(error, match=message):
        zoo.load_pretrained(corrupt(conditional[2], tmp_path, how))


def test_a_missing_entry_names_the_place_and_the_fix(tmp_path, monkeypatch):
    monkeypatch.setenv("TFGAN_ZOO_MODELS", str(tmp_path))
    with pytest.raises(
        FileNotFoundError,
        match=rf"No trained model at 'nope'.*known: .*dcgan_fashion_mnist.*searched \$TFGAN_ZOO_MODELS={tmp_path}.*"
        r"tfgan-zoo export --workdir DIR",
    ):
        zoo.load_pretrained("nope")


def serving_client():
    spec = importlib.util.spec_from_file_location("serving_client", REPOSITORY / "tools" / "serving_client.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class FakeServing(http.server.BaseHTTPRequestHandler):
    """TF Serving's REST `:predict` over a loaded SavedModel (columnar format; a sole output loses its name)."""

    saved_model = None

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        signature = self.saved_model.signatures[body["signature_name"]]
        specs = signature.structured_input_signature[1]
        (output,) = signature(**{k: tf.constant(v, specs[k].dtype) for k, v in body["inputs"].items()}).values()
        reply = json.dumps({"outputs": output.numpy().tolist()}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args):
        pass


def test_the_rest_body_of_the_client_is_served_and_decoded_to_a_png(conditional):
    client = serving_client()
    model = zoo.load_pretrained(conditional[2])
    inputs = client.request_inputs(model, 20, seed=3)  # one row per class
    assert inputs["z"].shape == (20, 16) and inputs["label"].tolist() == [i // 2 for i in range(20)]
    FakeServing.saved_model = model.saved_model
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FakeServing)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        response = client.rest_predict(f"http://127.0.0.1:{server.server_port}", "cgan_tiny", client.rest_body(inputs))
    finally:
        server.shutdown()
    samples = client.rest_outputs(response)
    np.testing.assert_allclose(samples, model.sample(20, seed=3, labels=inputs["label"]), atol=1e-5)
    picture = Image.open(io.BytesIO(plots.samples_png(samples, rows=10)))
    assert picture.format == "PNG" and picture.width >= 400


def test_the_grpc_request_of_the_client_carries_the_inputs(conditional):
    pytest.importorskip("tensorflow_serving.apis", reason="gRPC needs tensorflow-serving-api (the serving extra)")
    client = serving_client()
    inputs = client.request_inputs(zoo.load_pretrained(conditional[2]), 4, seed=0, labels=7)
    request = client.grpc_request("cgan_tiny", inputs, "images")
    assert (request.model_spec.name, request.model_spec.signature_name) == ("cgan_tiny", "images")
    np.testing.assert_array_equal(tf.make_ndarray(request.inputs["z"]), inputs["z"])
    assert tf.make_ndarray(request.inputs["label"]).tolist() == [7] * 4


@pytest.mark.parametrize("entry", paths.shipped_entries(), ids=lambda entry: entry.name)
def test_shipped_entry(entry, check_entry):
    """Every shipped generator: card fields, contract signatures, plain-TensorFlow loading, golden outputs."""
    check_entry(entry)

"""Export for TF Serving, the model card, one-line loading and the serving client, on tiny trained runs;
the serving signatures (`seed`, `png`), truncation, `export --from_entry` and `--best`, TF Serving's config files;
and the contract checks of every generator shipped in `saved_models/`."""

import base64
import csv
import http.server
import importlib.util
import io
import json
import pathlib
import re
import shlex
import shutil
import subprocess
import threading

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from tfgan_zoo import config, evaluation, export, paths, plots, signatures, training, zoo
from tfgan_zoo.gan import GAN
from tfgan_zoo.networks import mlp

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


def test_the_saved_model_holds_each_weight_of_the_generator_once(conditional):
    gan, _, entry = conditional
    saved = tf.train.load_checkpoint(str(entry / "1" / "variables" / "variables")).get_variable_to_shape_map()
    saved.pop("_CHECKPOINTABLE_OBJECT_GRAPH")
    assert sorted(map(tuple, saved.values())) == sorted(tuple(v.shape) for v in gan.inference_generator.weights)


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


def tool(name):
    spec = importlib.util.spec_from_file_location(name, REPOSITORY / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def serving_client():
    return tool("serving_client")


class FakeServing(http.server.BaseHTTPRequestHandler):
    """TF Serving's REST `:predict` over a loaded SavedModel (columnar format; a sole output loses its name; an
    output named `*_bytes` is sent as base64, `{"b64": ...}` per value)."""

    saved_model = None

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        signature = self.saved_model.signatures[body["signature_name"]]
        specs = signature.structured_input_signature[1]
        outputs = signature(**{k: tf.constant(v, specs[k].dtype) for k, v in body["inputs"].items()})
        ((name, output),) = outputs.items()
        values = output.numpy().tolist()
        if name.endswith("_bytes"):
            values = [{"b64": base64.b64encode(value).decode()} for value in values]
        reply = json.dumps({"outputs": values}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args):
        pass


def served(model, client, body):
    """The response of a `FakeServing` of `model`'s SavedModel to the REST `body`, sent by `client`."""
    FakeServing.saved_model = model.saved_model
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FakeServing)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        return client.rest_predict(f"http://127.0.0.1:{server.server_port}", model.card["name"], body)
    finally:
        server.shutdown()


def test_the_rest_body_of_the_client_is_served_and_decoded_to_a_png(conditional):
    client = serving_client()
    model = zoo.load_pretrained(conditional[2])
    inputs = client.request_inputs(model, 20, seed=3)  # one row per class
    assert inputs["z"].shape == (20, 16) and inputs["label"].tolist() == [i // 2 for i in range(20)]
    response = served(model, client, client.rest_body(inputs))
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


def test_the_seed_and_png_requests_of_the_client_give_what_load_pretrained_gives(conditional):
    client = serving_client()
    model = zoo.load_pretrained(conditional[2])
    labels = [3, 3, 7, 0]
    inputs = client.request_inputs(model, 4, seed=5, labels=labels, signature="seed", truncation=0.7)
    body = client.rest_body(inputs, "seed")
    assert body["inputs"]["seed"] == 5 and body["inputs"]["num"] == 4 and len(json.dumps(body)) < 200
    samples = client.rest_outputs(served(model, client, body))
    np.testing.assert_allclose(samples, model.sample(4, seed=5, labels=labels, truncation=0.7), atol=1e-5)
    inputs = client.request_inputs(model, 4, seed=5, labels=labels)
    files = client.rest_outputs(served(model, client, client.rest_body(inputs, "png")), "png_bytes")
    images = model.saved_model.signatures["images"](**{k: tf.constant(v) for k, v in inputs.items()})["images"]
    np.testing.assert_array_equal(np.stack([np.asarray(Image.open(io.BytesIO(f)))[..., None] for f in files]), images)
    with pytest.raises(ValueError, match=r"truncation must be in \(0, 1\]"):
        client.request_inputs(model, 4, signature="seed", truncation=1.5)


@pytest.mark.parametrize("fixture, labels", [("conditional", [1, 9, 9]), ("points", None)])
def test_the_seed_signature_samples_what_load_pretrained_samples(request, fixture, labels):
    model = zoo.load_pretrained(request.getfixturevalue(fixture)[-1])
    seed = model.saved_model.signatures["seed"]
    for psi in (1.0, 0.5):
        given = {"label": tf.constant(labels, tf.int32)} if labels else {}
        served = seed(seed=tf.constant(11, tf.int64), num=tf.constant(3), truncation=tf.constant(psi), **given)
        np.testing.assert_allclose(
            served["samples"], model.sample(3, seed=11, labels=labels, truncation=psi), atol=1e-5
        )
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"num must be in \[1, 10000\]"):
        seed(seed=tf.constant(0, tf.int64), num=tf.constant(10**6), truncation=tf.constant(1.0), **given)


def test_the_seed_signature_takes_continuous_conditions():
    model = zoo.load_pretrained("cgan_lightcurves")
    conditions = {"amplitude": np.float32([0.3, 0.6]), "period": np.float32([20.0, 40.0])}
    served = model.saved_model.signatures["seed"](
        seed=tf.constant(3, tf.int64),
        num=tf.constant(2),
        truncation=tf.constant(0.7),
        label=tf.constant([0, 2]),
        **{name: tf.constant(value) for name, value in conditions.items()},
    )
    expected = model.sample(2, seed=3, labels=[0, 2], conditions=conditions, truncation=0.7)
    np.testing.assert_allclose(served["samples"], expected, atol=1e-5)


def test_truncation_is_refused_alike_in_python_and_in_the_graph(tmp_path):
    gan = GAN(mlp.generator(4, (2,), (8,)), mlp.discriminator((2,), (8,)), 4, latent_distribution="spherical")
    archive, _ = signatures.export_archive(gan)
    archive.write_out(str(tmp_path / "spherical"), verbose=False)
    seed = tf.saved_model.load(str(tmp_path / "spherical")).signatures["seed"]
    for psi, message in [(0.7, "truncation is for normal latents"), (0.0, r"truncation must be in \(0, 1\]")]:
        with pytest.raises(ValueError, match=message):
            gan.sample(2, truncation=psi)
        with pytest.raises(tf.errors.InvalidArgumentError, match=message):
            seed(seed=tf.constant(0, tf.int64), num=tf.constant(2), truncation=tf.constant(psi))
    np.testing.assert_allclose(
        seed(seed=tf.constant(4, tf.int64), num=tf.constant(2), truncation=tf.constant(1.0))["samples"],
        gan.sample(2, seed=4),
        atol=1e-5,
    )


def test_sample_truncates_from_the_command_line(points, run_cli, tmp_path):
    _, entry = points
    status, _, err = run_cli("sample", "--model", entry, "--truncation", "0.5", "--output", tmp_path / "t.png")
    assert status == 0 and (tmp_path / "t.png").read_bytes().startswith(b"\x89PNG"), err
    status, _, err = run_cli("sample", "--model", entry, "--truncation", "1.5", "--output", tmp_path / "t.png")
    assert status == 1 and "truncation must be in (0, 1]" in err and "got 1.5" in err


def test_export_from_entry_rebuilds_the_newest_version_with_its_card(conditional, tmp_path, run_cli):
    entry = tmp_path / "cgan_tiny"
    shutil.copytree(conditional[2], entry)
    card = json.loads((entry / "model_card.json").read_text())
    card["metrics"] = {"evaluator": {"name": "e", "num_samples": 9}, "values": {"fd": 1.5}, "references": {}}
    (entry / "model_card.json").write_text(json.dumps(card))
    status, out, err = run_cli("export", "--from_entry", entry)
    assert status == 0 and "golden outputs of" in out, err
    rebuilt = json.loads((entry / "model_card.json").read_text())
    assert paths.versions(entry) == [1, 2] and rebuilt["version"] == rebuilt["keras_file_version"] == 2
    assert rebuilt["training"] == card["training"] and rebuilt["metrics"] == card["metrics"]
    assert rebuilt["export_command"] == f"tfgan-zoo export --from_entry {entry}"
    assert rebuilt["signatures"] == ["serving_default", "seed", "images", "png"]
    golden = json.loads((entry / "golden.json").read_text())
    assert (
        golden["version"] == 2
        and golden["inputs"] == json.loads((conditional[2] / "golden.json").read_text())["inputs"]
    )
    np.testing.assert_allclose(
        golden["values"], json.loads((conditional[2] / "golden.json").read_text())["values"], atol=1e-5
    )


def test_export_from_entry_refuses_a_copy_that_departs_from_the_golden_outputs(conditional, tmp_path):
    entry = tmp_path / "cgan_tiny"
    shutil.copytree(conditional[2], entry)
    golden = json.loads((entry / "golden.json").read_text())
    golden["values"][0][0] += 0.01
    (entry / "golden.json").write_text(json.dumps(golden))
    with pytest.raises(ValueError, match=r"departs from its golden.json \(version 1\) by up to 0.01.*Nothing was"):
        export.export_from_entry(entry)
    assert paths.versions(entry) == [1] and not list(entry.glob(".export-*"))


@pytest.mark.parametrize(
    "args, message",
    [
        (["--from_entry", "e", "--workdir", "w"], "it takes no --workdir"),
        (["--from_entry", "e", "--output", "elsewhere"], "drop --output"),
        (["--workdir", "w", "--output", "o", "--best", "modes_covered", "--checkpoint", "c"], "not both"),
    ],
)
def test_export_flags_that_do_not_go_together(run_cli, args, message):
    status, _, err = run_cli("export", *args)
    assert status == 1 and message in err


@pytest.fixture(scope="module")
def three_epochs(tmp_path_factory, tiny_config):
    """A tiny ring8 run of 3 epochs with every checkpoint kept: its workdir."""
    workdir = tmp_path_factory.mktemp("best") / "run"
    training.train(tiny_config("vanilla_ring8", "train.steps=6", "train.keep_checkpoints=4"), workdir, verbose=0)
    return workdir


@pytest.mark.parametrize("metric", ["high_quality", "reverse_kl"])
def test_export_best_takes_the_kept_checkpoint_that_scored_best(three_epochs, tmp_path, metric):
    rows = list(csv.DictReader(open(three_epochs / "history.csv")))
    scores = {2 * (int(row["epoch"]) + 1): float(row[metric]) for row in rows}
    pick = max if metric == "high_quality" else min
    best = pick(scores.values())
    step = max(step for step, value in scores.items() if value == best)  # the later one on a tie
    export.export(three_epochs, tmp_path / "ring", best=metric)
    card = json.loads((tmp_path / "ring" / "model_card.json").read_text())
    assert card["training"]["steps"] == step and card["training"]["checkpoint"].endswith(f"ckpt-{step}")
    assert card["training"]["selected_by"] == {"metric": metric, "value": best}
    assert card["export_command"].endswith(f"--best {metric}")


@pytest.mark.parametrize(
    "metric, message",
    [("fd", r"history.csv logs no fd; metrics it logs: .*modes_covered"), ("spread", "better higher or lower")],
)
def test_export_best_needs_a_logged_metric_with_a_direction(three_epochs, tmp_path, metric, message):
    with pytest.raises(ValueError, match=message):
        export.export(three_epochs, tmp_path / "ring", best=metric)


def test_evaluate_measures_the_truncation_psi_and_the_card_shows_it(points, tmp_path, run_cli):
    entry = tmp_path / "ring_tiny"
    shutil.copytree(points[1], entry)
    status, out, err = run_cli("evaluate", "--model", entry, "--num_samples", "200", "--truncation", "1,0.5")
    assert status == 0 and "psi 0.5" in out, err
    truncation = json.loads((entry / "model_card.json").read_text())["metrics"]["truncation"]
    assert list(truncation["values"]) == ["1.0", "0.5"] and truncation["num_samples"] == 200
    assert truncation["values"]["1.0"] == json.loads((entry / "model_card.json").read_text())["metrics"]["values"]
    assert "Truncation: samples of psi * z" in (entry / "README.md").read_text()


def test_models_config_serves_every_entry_with_stable_and_canary_versions():
    model_server_config = pytest.importorskip("tensorflow_serving.config.model_server_config_pb2")
    from google.protobuf import text_format

    models = REPOSITORY / "saved_models"
    entries = sorted(card.parent for card in models.glob("*/model_card.json") if card.parent.name != "evaluators")
    text = (models / "models.config").read_text()
    assert text == tool("serving_config").models_config(entries), "stale: run python tools/serving_config.py"
    parsed = text_format.Parse(text, model_server_config.ModelServerConfig()).model_config_list.config
    assert [model.name for model in parsed] == [entry.name for entry in entries]
    for model, entry in zip(parsed, entries):
        versions = paths.versions(entry)[-2:]
        assert model.base_path == f"/models/{entry.name}" and model.model_platform == "tensorflow"
        assert list(model.model_version_policy.specific.versions) == versions
        assert dict(model.version_labels) == {"stable": versions[0], "canary": versions[-1]}


def test_batching_parameters_are_chosen_from_the_sweep():
    config_tool = tool("serving_config")
    throughput = {1: 1000, 2: 1500, 8: 4000, 32: 8000, 64: 8500, 128: 8600}
    sweep = {str(n): {"p50_ms": n / rate * 1000, "samples_per_s": rate} for n, rate in throughput.items()}
    assert config_tool.batching_parameters(sweep, threads=2) == {
        "max_batch_size": 32,  # the smallest served size within 10% of the best throughput
        "batch_timeout_micros": 4000,  # one full batch
        "max_enqueued_batches": 500,  # a second of full batches on 2 threads
        "num_batch_threads": 2,
        "allowed_batch_sizes": [1, 8, 32],
    }
    # The shipped file: BatchingParameters' text format, allowed sizes warmed by every version's warmup file.
    fields, allowed = {}, []
    for line in (REPOSITORY / "saved_models" / "batching_parameters.txt").read_text().splitlines():
        if line.startswith("allowed_batch_sizes: "):
            allowed.append(int(line.split(": ")[1]))
        elif not line.startswith("#"):
            name, value = re.fullmatch(r"(\w+) \{ value: (\d+) \}", line).groups()
            fields[name] = int(value)
    assert set(fields) == {"max_batch_size", "batch_timeout_micros", "max_enqueued_batches", "num_batch_threads"}
    assert allowed == sorted(allowed) and allowed[-1] == fields["max_batch_size"]
    assert set(allowed) <= set(signatures.SERVED_BATCH_SIZES)


@pytest.mark.parametrize("entry", paths.shipped_entries(), ids=lambda entry: entry.name)
def test_shipped_entry(entry, check_entry):
    """Every shipped generator: card fields, contract signatures, plain-TensorFlow loading, golden outputs,
    `saved_model_cli run` of every signature, the warmup file."""
    check_entry(entry)

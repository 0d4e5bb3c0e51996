"""`tfgan_zoo.evaluation`: degradations, reference rows, reports with known answers, workdirs and the CLI entry."""

import json
import math

import keras
import numpy as np
import pytest

from tfgan_zoo import config, data, evaluation, export, metrics, paths, training

DIGITS_TRAIN, DIGITS_TEST = data.load("digits", "train"), data.load("digits", "test")
RING_TRAIN, RING_TEST = data.load("ring8", "train", num_examples=5000), data.load("ring8", "test", num_examples=1000)


def pixel_extractor(kernel_initializer=None, info=None):
    """Pixels as features and a fixed linear classifier as logits (random by default): enough to test the plumbing."""
    inputs = keras.Input((8, 8, 1))
    pixels = keras.layers.Flatten(name="pixels")(inputs)
    logits = keras.layers.Dense(
        10, name="logits", kernel_initializer=kernel_initializer or keras.initializers.RandomNormal(seed=0)
    )(pixels)
    return metrics.FeatureExtractor(keras.Model(inputs, logits, name="pixels"), "pixels", "logits", info=info)


class Replay:
    """An unconditional "generator" that returns fixed examples."""

    num_classes = 0

    def __init__(self, x):
        self.x = x

    def sample(self, n, seed=0, labels=None):
        return self.x[np.arange(n) % len(self.x)]


class RealSampler:
    """A perfect conditional generator: real training examples of the requested classes."""

    def __init__(self, source):
        self.source, self.num_classes = source, source.num_classes

    def sample(self, n, seed=0, labels=None):
        rng = np.random.default_rng(seed)
        return np.stack([self.source.x[rng.choice(np.flatnonzero(self.source.y == label))] for label in labels])


# ----- degradations and reference rows -----


def test_noise_has_its_stddev_and_is_clipped_to_the_range():
    x = np.zeros((100, 8, 8, 1), np.float32)
    noisy = evaluation.add_noise(x, 0.3, seed=1)
    assert noisy.std() == pytest.approx(0.3, rel=0.05)
    assert evaluation.add_noise(x + 0.95, 0.3, value_range=(-1.0, 1.0)).max() == 1.0


def test_box_blur_spreads_an_impulse_over_its_3x3_neighbourhood():
    x = np.zeros((1, 5, 5, 1), np.float32)
    x[0, 2, 2, 0] = 9.0
    blurred = evaluation.box_blur(x)[0, :, :, 0]
    np.testing.assert_allclose(blurred[1:4, 1:4], np.ones((3, 3)), rtol=1e-6)
    assert blurred.sum() == pytest.approx(9.0)
    np.testing.assert_allclose(evaluation.box_blur(np.full((2, 4, 4, 1), 0.5, np.float32)), 0.5)


def test_reference_rows_of_images_and_of_points():
    rows = evaluation.reference_rows(DIGITS_TRAIN, 300, seed=0)
    assert list(rows) == ["real_floor", "noise_0.1", "noise_0.3", "blur_3x3", "single_class"]
    assert all(len(x) == 300 for x, *_ in list(rows.values())[:4])
    assert set(rows["single_class"][1]) == {0}
    np.testing.assert_array_equal(rows["real_floor"][1], rows["noise_0.3"][1])
    points = evaluation.reference_rows(RING_TRAIN, 100)
    assert "blur_3x3" not in points and points["noise_0.3"][0].max() > 1.0  # coordinates are not clipped


# ----- reports with known answers -----


@pytest.fixture(scope="module")
def extractor():
    return pixel_extractor()


def image_report(generator, extractor, names=("fd", "kid", "classifier_score", "precision_recall")):
    return evaluation.evaluate(
        generator, DIGITS_TRAIN, DIGITS_TEST, evaluator=extractor, num_samples=300, image_metrics=names
    )


def test_the_test_split_itself_scores_zero_and_references_order_as_expected(extractor):
    report = image_report(Replay(DIGITS_TEST.x[:300]), extractor, metrics.IMAGE_METRICS)
    values, references = report["values"], report["references"]
    assert values["fd"] == pytest.approx(0.0, abs=1e-6) and values["precision"] == values["recall"] == 1.0
    assert values["kid"] < references["real_floor"]["kid"]  # unbiased: slightly negative for identical sets
    fd = {name: row["fd"] for name, row in references.items()}
    assert 0 < fd["real_floor"] < fd["noise_0.1"] < fd["noise_0.3"] and fd["real_floor"] < fd["blur_3x3"]
    assert references["single_class"]["recall"] < references["real_floor"]["recall"]
    assert values["swd"] < references["real_floor"]["swd"] < references["noise_0.3"]["swd"]
    assert report["evaluator"] == {
        "name": "pixels",
        "feature_layer": "pixels",
        "logits_layer": "logits",
        "reference": "first 300 examples of the test split",
        "num_samples": 300,
        "seed": 0,
        "tstr": "not computed: the generator is unconditional",
    }
    assert "tstr_accuracy" not in values


def test_a_generator_replaying_the_floor_scores_the_floor(extractor):
    floor_images = evaluation.reference_rows(DIGITS_TRAIN, 300)["real_floor"][0]
    report = image_report(Replay(floor_images), extractor)
    assert report["values"] == pytest.approx(report["references"]["real_floor"], nan_ok=True)


def test_a_collapsed_generator_has_no_recall(extractor):
    report = image_report(Replay(DIGITS_TRAIN.x[:1]), extractor)
    assert report["values"]["recall"] == 0.0
    assert report["values"]["fd"] > report["references"]["single_class"]["fd"]


def test_a_conditional_generator_gets_tstr_next_to_real_data(extractor):
    report = image_report(RealSampler(DIGITS_TRAIN), extractor, ["fd"])
    references = report["references"]
    assert references["real_floor"]["tstr_ratio"] == 1.0
    assert 0.8 < report["values"]["tstr_ratio"] < 1.25  # 300 examples: a noisy but unbiased comparison
    # A classifier trained on one class predicts it everywhere: accuracy = that class's share of the test split.
    assert references["single_class"]["tstr_accuracy"] == pytest.approx(np.mean(DIGITS_TEST.y == 0))


class LabelWriter:
    """A conditional "generator" drawing its label as the one bright pixel among the first ten, except that every
    fourth sample shows the next label: an evaluator that reads that pixel finds 75% of labels right."""

    num_classes = 10

    def sample(self, n, seed=0, labels=None):
        shown = np.where(np.arange(n) % 4 == 3, (labels + 1) % 10, labels)
        x = np.full((n, 64), -1.0, np.float32)
        x[np.arange(n), shown] = 1.0
        return x.reshape(n, 8, 8, 1)


def test_label_accuracy_is_the_share_of_samples_the_dataset_classifier_gives_their_label():
    reader = pixel_extractor(keras.initializers.Identity(), info={"dataset": "digits"})
    assert image_report(LabelWriter(), reader, ["fd"])["values"]["label_accuracy"] == 0.75
    # A classifier of another dataset cannot judge labels: no label_accuracy rather than a meaningless one.
    other = pixel_extractor(keras.initializers.Identity(), info={"dataset": "mnist"})
    assert "label_accuracy" not in image_report(LabelWriter(), other, ["fd"])["values"]


def test_mode_coverage_report_of_2d_mixtures():
    perfect = evaluation.evaluate(Replay(RING_TEST.x), RING_TRAIN, RING_TEST)
    assert perfect["evaluator"]["name"] == "mode_coverage" and perfect["evaluator"]["num_samples"] == 2500
    assert perfect["values"]["modes_covered"] == 8 and perfect["values"]["high_quality"] > 0.97
    references = perfect["references"]
    assert references["real_floor"]["modes_covered"] == 8
    assert references["single_class"]["modes_covered"] == 1
    assert references["single_class"]["reverse_kl"] == pytest.approx(math.log(8))
    assert references["noise_0.1"]["high_quality"] < 0.05
    collapsed = evaluation.evaluate(Replay(RING_TEST.x[RING_TEST.y == 3]), RING_TRAIN, RING_TEST, num_samples=500)
    assert collapsed["values"]["modes_covered"] == 1


def test_moment_report_of_a_gaussian():
    train, test = data.load("gaussian2d", "train", num_examples=20000), data.load("gaussian2d", "test")
    report = evaluation.evaluate(Replay(test.x), train, test)
    assert report["evaluator"]["name"] == "moment_errors"
    assert report["references"]["real_floor"]["mean_error"] < 0.1 < report["references"]["noise_0.3"]["cov_error"]
    assert "single_class" not in report["references"]  # unlabelled


# ----- workdirs, the model card and the CLI entry -----


def train_workdir(path, source, *overrides):
    cfg = config.load(
        paths.config_path("vanilla_ring8"),
        [
            "runtime.precision=float32",
            f"data.source={source}",
            "data.batch_size=32",
            "model.generator_units=[16]",
            "model.discriminator_units=[16]",
            "train.steps=2",
            "train.steps_per_epoch=2",
            "runtime.jit_compile=false",
            "eval.num_samples=100",
            *overrides,
        ],
    )
    training.train(cfg, str(path), verbose=0)
    return path


def test_evaluating_a_workdir_writes_the_report_and_fills_the_model_card(tmp_path, run_cli):
    workdir = train_workdir(tmp_path, "ring8", "data.num_examples=1000")
    (workdir / "model_card.json").write_text(json.dumps({"name": "ring8_test", "metrics": {}}))
    status, out, _ = run_cli("evaluate", "--model", workdir, "--num_samples", 500)
    assert status == 0
    report = json.loads((workdir / "evaluation.json").read_text())
    assert report["model"] == str(workdir) and report["step"] == 2 and report["evaluator"]["num_samples"] == 500
    assert set(report["references"]) == {"real_floor", "noise_0.1", "noise_0.3", "single_class"}
    card = json.loads((workdir / "model_card.json").read_text())
    assert card["name"] == "ring8_test"
    assert card["metrics"] == {key: report[key] for key in ("evaluator", "values", "references")}
    assert "modes_covered" in out and "real_floor" in out and "single_class" in out and "Wrote" in out


def test_an_image_workdir_without_inception_weights_fails_clearly_and_takes_another_evaluator(
    tmp_path, monkeypatch, run_cli
):
    workdir = train_workdir(tmp_path / "run", "digits")

    def offline(**kwargs):
        # pylint: disable-next=broad-exception-raised
        raise Exception("URL fetch failure on https://storage.googleapis.com/...")

    monkeypatch.setattr(keras.applications, "InceptionV3", offline)
    status, _, err = run_cli("evaluate", "--model", workdir, "--num_samples", 100)  # digits default to InceptionV3
    assert status == 1 and "InceptionV3's ImageNet weights" in err
    # Any evaluator folder with a model card works.
    folder = tmp_path / "pixels"
    folder.mkdir()
    extractor = pixel_extractor()
    keras.Model(extractor.model.inputs, extractor.model.outputs[1], name="pixels").save(folder / "pixels.keras")
    (folder / "model_card.json").write_text(
        json.dumps(
            {
                "name": "pixels",
                "file": "pixels.keras",
                "feature_layer": "pixels",
                "logits_layer": "logits",
                "input_range": [-1, 1],
                "test_accuracy": 0.1,
            }
        )
    )
    status, out, _ = run_cli("evaluate", "--model", workdir, "--evaluator", folder, "--num_samples", 100)
    assert status == 0 and "at step 2 on digits: pixels, test accuracy 10.00%; 100 samples per row" in out


def test_a_folder_without_a_model_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="neither a training workdir"):
        evaluation.evaluate_model(tmp_path)


def test_a_padded_run_is_evaluated_through_its_export_at_the_data_shape(tmp_path):
    workdir = train_workdir(tmp_path / "run", "digits", "data.params={pad_to: 12}")
    with pytest.raises(ValueError, match="trains on padded images; evaluate its export"):
        evaluation.evaluate_model(workdir)
    entry = tmp_path / "models" / "digits_padded"
    export.export(workdir, entry)
    report = evaluation.evaluate_model(entry, evaluator=pixel_extractor(), num_samples=100)  # an 8x8 evaluator
    assert report["values"]["fd"] > report["references"]["real_floor"]["fd"]

"""The light-curve entry (issue 7): the `lightcurves` source, the period and amplitude measures, the 1-D networks
conditioned on class, amplitude and period through `GAN`'s one train step, and their export, sampling and
evaluation."""

import io

import keras
import numpy as np
import pytest
import scipy.stats
import tensorflow as tf
from PIL import Image
from sklearn.linear_model import LogisticRegression

from tfgan_zoo import build, cards, config, data, evaluation, export, paths, plots, training, zoo
from tfgan_zoo.data.lightcurves import CLASS_NAMES
from tfgan_zoo.metrics import lightcurves
from tfgan_zoo.networks import conv1d

RANGES = data.LIGHTCURVE_RANGES


# ----- the data source -----


def test_source_is_deterministic_per_seed_and_split():
    first = data.load("lightcurves", num_examples=300, seed=3)
    again = data.load("lightcurves", num_examples=300, seed=3)
    np.testing.assert_array_equal(first.x, again.x)
    np.testing.assert_array_equal(first.conditions["period"], again.conditions["period"])
    assert not np.allclose(first.x, data.load("lightcurves", num_examples=300, seed=4).x)
    assert not np.allclose(first.x, data.load("lightcurves", "test", num_examples=300, seed=3).x)
    assert first.x.shape == (300, 128, 1) and first.x.dtype == np.float32
    assert -1.0 <= first.x.min() and first.x.max() <= 1.0
    assert set(first.y) == {0, 1, 2} and first.num_classes == 3
    for name, (low, high) in RANGES.items():
        values = first.conditions[name]
        assert values.shape == (300,) and low <= values.min() and values.max() <= high
    assert data.LIGHTCURVE_LENGTH / RANGES["period"][1] >= 2  # two full periods in every window


def test_curves_follow_their_parameters():
    source = data.load("lightcurves", num_examples=50)
    t = np.arange(128) / source.conditions["period"][:, None] + source.metadata["phase"][:, None]
    clean = source.conditions["amplitude"][:, None] * data.lightcurve_shapes(source.y, t)
    residual = source.x[..., 0] - clean
    assert residual.std() == pytest.approx(data.LIGHTCURVE_NOISE, rel=0.1)


def test_classes_are_separable_by_a_simple_classifier():
    """A logistic regression on each curve's sorted, standardised values (blind to phase and period)."""

    def features(source):
        x = np.sort(source.x[..., 0], axis=1)
        return (x - x.mean(axis=1, keepdims=True)) / x.std(axis=1, keepdims=True)

    train, test = data.load("lightcurves", num_examples=2000), data.load("lightcurves", "test", num_examples=600)
    model = LogisticRegression(max_iter=2000).fit(features(train), train.y)
    assert model.score(features(test), test.y) > 0.95


def test_periodogram_measures_real_curves():
    source = data.load("lightcurves", "test", num_examples=600)
    errors = lightcurves.relative_errors(
        source.x, source.conditions["amplitude"], source.conditions["period"], RANGES["period"]
    )
    assert np.mean(errors["period_error"]) < 0.01 and np.mean(errors["amplitude_error"]) < 0.08
    # Eclipsing binaries put most power at half the period; the multi-harmonic fit still finds the period.
    binaries = source.y == 2
    _, periods = lightcurves.measure(source.x[binaries], RANGES["period"])
    close = np.abs(periods / source.conditions["period"][binaries] - 1) < 0.05
    assert close.mean() > 0.98


def test_dataset_carries_labels_and_conditions_with_each_example():
    source = data.load("lightcurves", num_examples=100)
    x, given = next(iter(data.make_dataset(source, 16, conditions=("amplitude", "period"))))
    assert set(given) == {"label", "amplitude", "period"} and given["period"].shape == (16,)
    index = [int(np.argmin(np.abs(source.x - row).sum(axis=(1, 2)))) for row in x.numpy()]
    np.testing.assert_array_equal(given["label"], source.y[index])
    np.testing.assert_allclose(given["period"], source.conditions["period"][index])
    with pytest.raises(ValueError, match="no condition mass"):
        data.make_dataset(source, 16, conditions=("mass",))


def test_phase_channels_are_the_phase_of_the_period_at_every_step():
    # Scaled conditions [amplitude, period] as GAN gives them: period -1 and 1 are 16 and 48 steps.
    layer = conv1d.PhaseChannels(8, 32, 1, (16.0, 48.0))
    channels = np.asarray(layer(np.array([[0.3, -1.0], [0.0, 1.0]], np.float32)))
    assert channels.shape == (2, 8, 4) and channels.dtype == np.float32
    steps = np.arange(8) * 4.0  # 8 points over 32 steps
    for row, period in enumerate((16.0, 48.0)):
        angles = 2 * np.pi * steps[:, None] * np.array([1.0, 2.0]) / period
        np.testing.assert_allclose(channels[row], np.concatenate([np.sin(angles), np.cos(angles)], 1), atol=1e-5)
    # At step 4 of a period of 16 steps the first harmonic is a quarter cycle on: sin 1, cos 0.
    np.testing.assert_allclose(channels[0, 1, [0, 2]], [1.0, 0.0], atol=1e-6)


def test_phase_channels_keep_float32_under_a_bfloat16_policy():
    with build._dtype_policy("mixed_bfloat16"):  # as build_gan builds the networks of a bfloat16 run
        layer = conv1d.PhaseChannels(128, 128, 0, (16.0, 48.0))
    channels = np.asarray(layer(np.array([[1.0]], np.float32)))
    angles = 2 * np.pi * 127 * np.array([1.0, 2.0]) / 48.0  # the last step, where bfloat16 angles are far off
    np.testing.assert_allclose(channels[0, -1], np.concatenate([np.sin(angles), np.cos(angles)]), atol=1e-4)


@pytest.mark.parametrize("final_length, span", [(0, 22), (4, 94)])
def test_the_discriminator_length_sets_how_far_its_last_features_see(final_length, span):
    # The steps that one of D's last features reads (its receptive field), away from the series' ends: halving
    # 128 steps to G's first length (16) spans 22 steps, less than the longest period; to 4 steps, 94.
    d = conv1d.discriminator((128, 1), 4, batch_norm=False, final_length=final_length)
    last = [layer for layer in d.layers if isinstance(layer, keras.layers.LeakyReLU)][-1]
    features = keras.Model(d.input, last.output)  # the last features, before the flatten and the logit
    series = tf.random.stateless_normal((1, 128, 1), (0, 1))
    with tf.GradientTape() as tape:
        tape.watch(series)
        total = tf.reduce_sum(features(series)[0, features.output.shape[1] // 2])
    reads = np.flatnonzero(np.abs(tape.gradient(total, series).numpy()[0, :, 0]) > 0)
    assert reads[-1] - reads[0] + 1 == span


def test_a_discriminator_length_that_does_not_halve_the_series_is_refused():
    assert conv1d.discriminator_halvings(128) == 3 and conv1d.discriminator_halvings(128, 4) == 5
    with pytest.raises(config.ConfigError, match="model.discriminator_length must halve the series length 128.*got 48"):
        conv1d.discriminator_halvings(128, 48)


def test_phase_channels_read_the_period_where_the_gan_puts_it(zoo_config):
    # model.conditions sets the order of the networks' condition input, whatever the data's order; the phase
    # must come from the period as GAN scales it.
    cfg = zoo_config("cgan_lightcurves", ["model.conditions=[period, amplitude]", "model.period_inputs=[phase]"])
    gan = build.build_gan(cfg, (128, 1), 3, RANGES)
    phase = [layer for layer in gan.generator.layers if isinstance(layer, conv1d.PhaseChannels)][-1]
    inputs = gan._generator_inputs(np.zeros((1, gan.latent_dim)), [2], period=[32.0], amplitude=[0.5])
    channels = np.asarray(phase(inputs[-1]))  # 128 points over 128 steps
    np.testing.assert_allclose(channels[0, 8, :2], [1.0, 0.0], atol=1e-5)  # a quarter of 32 steps: sin 1, sin(pi) 0


def test_the_half_period_view_brings_the_other_eclipse_to_every_step():
    # An eclipsing binary of period 30 steps, its primary eclipse at step 15 and the secondary (half as deep) at 30.
    period, steps = 30.0, np.arange(128)
    series = data.lightcurve_shapes(2, (steps - 15) / period).astype("float32")[None, :, None]
    scaled = np.array([[(period - 16.0) / 32.0 * 2 - 1]], np.float32)  # the period scaled from RANGES' (16, 48)
    x = tf.constant(series)
    with tf.GradientTape() as tape:
        tape.watch(x)
        view = conv1d.HalfPeriodView(0, RANGES["period"])(x, scaled)
    # D's loss reaches G through the view: each step's view is a weighted mean of two steps of the series.
    np.testing.assert_allclose(tape.gradient(view, x).numpy().sum(), 128, rtol=1e-6)
    view = view.numpy()[0, :, 0]
    assert series[0, 15, 0] == -1.0 and series[0, 30, 0] == 0.0  # primary: full depth; secondary: half
    assert view[15] == 0.0 and view[30] == -1.0  # each eclipse's step reads the other one
    assert view[120] == series[0, 105, 0]  # past the end, half a period back instead
    np.testing.assert_allclose(view[:98], series[0, 15:113, 0], atol=1e-6)


def test_the_discriminator_reads_the_half_period_view_of_the_period_condition(zoo_config):
    cfg = zoo_config("cgan_lightcurves", ["model.conditions=[period, amplitude]", "model.period_inputs=[half_period]"])
    gan = build.build_gan(cfg, (128, 1), 3, RANGES)
    (view,) = [layer for layer in gan.discriminator.layers if isinstance(layer, conv1d.HalfPeriodView)]
    assert view.index == 0 and view.period_range == RANGES["period"]
    assert not [layer for layer in gan.generator.layers if isinstance(layer, conv1d.PhaseChannels)]
    with pytest.raises(
        config.ConfigError,
        match=r"model.period_inputs\[0\] must be one of 'phase', 'latent_phase', 'half_period', got 'halfperiod'",
    ):
        build.build_gan(zoo_config("cgan_lightcurves", ["model.period_inputs=[halfperiod]"]), (128, 1), 3, RANGES)


def test_a_latent_phase_starts_at_the_angle_of_the_first_two_latents():
    # Real curves start anywhere in their cycle: G's clock at the asked period starts at a random angle, that of
    # (z_0, z_1), uniform over the circle for a normal z.
    layer = conv1d.PhaseChannels(4, 128, 0, (16.0, 48.0))
    z = np.array([[1.0, 0.0, 5.0], [0.0, 2.0, 5.0], [-3.0, 0.0, 5.0]], np.float32)
    channels = np.asarray(layer(np.zeros((3, 1), np.float32), z))  # period 32 steps; 4 points 32 steps apart
    for row, angle in enumerate([0.0, np.pi / 2, np.pi]):
        angles = np.array([1.0, 2.0]) * (2 * np.pi * np.arange(4)[:, None] * 32 / 32 + angle)
        np.testing.assert_allclose(channels[row], np.concatenate([np.sin(angles), np.cos(angles)], 1), atol=1e-5)


@pytest.mark.parametrize(
    "overrides, message",
    [
        (["model.period_inputs=[phase,latent_phase]"], "both phase and latent_phase, two phases for G to read"),
        (["model.period_inputs=[latent_phase]", "model.latent_dim=1"], "model.latent_dim is 1: set it to 2 or more"),
        (
            ["model.period_condition=''"],
            r"model.period_inputs \(latent_phase, half_period\) needs model.period_condition",
        ),
    ],
)
def test_a_latent_phase_is_refused_where_it_cannot_work(zoo_config, overrides, message):
    with pytest.raises(config.ConfigError, match=message):
        build.build_gan(zoo_config("cgan_lightcurves", overrides), (128, 1), 3, RANGES)


def test_a_period_condition_must_be_one_of_the_conditions(zoo_config):
    cfg = zoo_config("cgan_lightcurves", ["model.conditions=[amplitude]"])
    with pytest.raises(config.ConfigError, match="model.period_condition names period, which is not one of"):
        build.build_gan(cfg, (128, 1), 3, RANGES)


def test_a_config_naming_conditions_the_data_lacks_is_an_error(zoo_config):
    cfg = zoo_config("cgan_lightcurves", ["data.source=ring8", "model.family=vanilla"])
    with pytest.raises(config.ConfigError, match="model.conditions names amplitude, period"):
        build.build_gan(cfg, (2,), 8, data.load("ring8", num_examples=1).metadata.get("condition_ranges"))


# ----- a tiny trained run: conditions through training, sampling, saving, export and evaluation -----


@pytest.fixture(scope="module")
def run(tmp_path_factory, tiny_config):
    workdir = tmp_path_factory.mktemp("lightcurves") / "run"
    gan, _ = training.train(tiny_config("cgan_lightcurves"), str(workdir), verbose=0)
    return gan, workdir


def test_sample_and_generate_take_continuous_conditions(run):
    gan, workdir = run
    assert gan.conditions == {"amplitude": RANGES["amplitude"], "period": RANGES["period"]}
    both = gan.sample(6, seed=1, labels=[0, 1, 2, 0, 1, 2], conditions={"amplitude": 0.5, "period": 20.0})
    assert both.shape == (6, 128, 1)
    other_period = gan.sample(6, seed=1, labels=[0, 1, 2, 0, 1, 2], conditions={"amplitude": 0.5, "period": 40.0})
    assert not np.allclose(both, other_period)
    # A condition left out is drawn over its trained range, the same way for the same seed.
    np.testing.assert_array_equal(
        gan.sample(4, seed=2, labels=0, conditions={"period": 30.0}),
        gan.sample(4, seed=2, labels=0, conditions={"period": 30.0}),
    )
    with pytest.raises(ValueError, match="Unknown condition.*mass"):
        gan.sample(2, labels=0, conditions={"mass": 1.0})
    with pytest.raises(ValueError, match="takes the continuous conditions amplitude, period"):
        gan.generate(np.zeros((2, gan.latent_dim)), [0, 1], {"period": 20.0})
    loaded = zoo.load_pretrained(str(workdir / "gan.keras"))
    np.testing.assert_allclose(
        loaded.sample(4, seed=3, labels=1, conditions={"amplitude": 0.3, "period": 25.0}),
        gan.sample(4, seed=3, labels=1, conditions={"amplitude": 0.3, "period": 25.0}),
        atol=1e-6,
    )
    picture = Image.open(workdir / "samples.png")
    assert picture.width > 200 and picture.height > 200


def test_export_takes_conditions_in_the_signature_and_card(run, tmp_path):
    gan, workdir = run
    entry = tmp_path / "cgan_lightcurves"
    export.export(str(workdir), str(entry))
    card = zoo.PretrainedGenerator(entry).card
    assert card["family"] == "timeseries" and card["sample_shape"] == [128, 1]
    assert card["conditions"] == {"amplitude": list(RANGES["amplitude"]), "period": list(RANGES["period"])}
    signature = tf.saved_model.load(str(entry / "1")).signatures["serving_default"]
    specs = signature.structured_input_signature[1]
    assert {name: (spec.dtype, spec.shape.as_list()) for name, spec in specs.items()} == {
        "z": (tf.float32, [None, gan.latent_dim]),
        "label": (tf.int32, [None]),
        "amplitude": (tf.float32, [None]),
        "period": (tf.float32, [None]),
    }
    z = gan.latent(3, tf.constant([5, 0], tf.int64))
    served = signature(z=z, label=tf.constant([0, 1, 2]), amplitude=tf.fill([3], 0.4), period=tf.fill([3], 30.0))
    np.testing.assert_allclose(
        served["samples"].numpy(), gan.generate(z, [0, 1, 2], {"amplitude": 0.4, "period": 30.0}), atol=1e-5
    )
    shipped = zoo.load_pretrained(str(entry))
    np.testing.assert_allclose(
        shipped.sample(3, seed=7, labels=2, conditions={"period": 18.0}),
        gan.sample(3, seed=7, labels=2, conditions={"period": 18.0}),
        atol=1e-5,
    )
    png = plots.samples_png(shipped.sample(6, seed=0, labels=[0, 0, 1, 1, 2, 2]), rows=3)
    assert Image.open(io.BytesIO(png)).format == "PNG"


def test_evaluation_reports_tstr_trts_and_parameter_errors(run):
    gan, _ = run
    train = data.load("lightcurves", num_examples=1000)
    test = data.load("lightcurves", "test", num_examples=300)
    report = evaluation.evaluate(gan, train, test, num_samples=150)
    expected = {"tstr_accuracy", "trts_accuracy", "amplitude_error", "period_error", "tstr_ratio"}
    assert expected <= report["values"].keys() and expected <= report["references"]["real_floor"].keys()
    floor = report["references"]["real_floor"]
    assert floor["tstr_accuracy"] > 0.6 and floor["period_error"] < 0.01
    assert report["references"]["noise_0.3"]["period_error"] > floor["period_error"]
    assert "single_class" in report["references"]
    # Every figure per class too, for the generator and each labelled reference row; their means are the overall
    # figures (balanced labels: 50 samples of each class).
    per_class = report["per_class"]
    assert set(per_class) == {"generator", *report["references"]}
    assert list(per_class["generator"]) == list(CLASS_NAMES)
    assert set(per_class["single_class"]) == {CLASS_NAMES[0]}
    for row in ("generator", "real_floor"):
        figures = per_class[row].values()
        assert all(f.keys() == {"tstr_recall", "trts_recall", "amplitude_error", "period_error"} for f in figures)
    by_class = per_class["generator"].values()
    for key, overall in [
        ("amplitude_error", "amplitude_error"),
        ("period_error", "period_error"),
        ("trts_recall", "trts_accuracy"),
    ]:
        assert report["values"][overall] == pytest.approx(np.mean([f[key] for f in by_class]), abs=1e-9)
    assert per_class["real_floor"]["eclipsing binary"]["period_error"] < 0.02
    table = cards.per_class_table(per_class).splitlines()
    assert [line.split(":")[0] for line in table[2:]] == [name for name in CLASS_NAMES for _ in range(2)]
    assert table[-1].startswith("eclipsing binary: real_floor") and "tstr_recall" in table[1]


# ----- a longer run: the generated period follows the requested one -----


@pytest.mark.slow  # about 3 minutes on 2 CPU cores
def test_short_training_makes_the_period_track_the_requested_period(tmp_path):
    # The shipped config's networks; the period follows its condition after about 2,500 steps (correlation
    # 0.2 at 2,000 steps, 0.5 at 3,000 when this test was written).
    cfg = config.load(
        paths.config_path("cgan_lightcurves"),
        [
            "runtime.jit_compile=false",
            "runtime.precision=float32",
            "train.steps=3000",
            "train.steps_per_epoch=3000",
            "data.num_examples=5000",
            "model.ema_decay=0.99",
            "health.enabled=false",
        ],
    )
    gan, _ = training.train(cfg, str(tmp_path / "run"), verbose=0)
    requested = np.random.default_rng(0).uniform(*RANGES["period"], 600)
    curves = gan.sample(600, seed=1, labels=np.arange(600) % 3, conditions={"period": requested})
    _, measured = lightcurves.measure(curves, RANGES["period"])
    assert np.corrcoef(measured, requested)[0, 1] > 0.3


def test_the_shipped_entry_follows_the_asked_period_in_every_class_and_starts_anywhere_in_its_cycle():
    entry = paths.resolve("cgan_lightcurves")
    if not entry.exists():
        pytest.skip("saved_models/cgan_lightcurves is not exported")
    model = zoo.load_pretrained(str(entry))
    requested = np.random.default_rng(0).uniform(*RANGES["period"], 300)
    steps = np.arange(128)
    for label in range(3):
        curves = model.sample(300, seed=1, labels=np.full(300, label), conditions={"period": requested})
        _, measured = lightcurves.measure(curves, RANGES["period"])
        # Version 3's eclipsing binaries: 0.46, a quarter of them at half the period asked; real curves 0.98.
        assert scipy.stats.spearmanr(measured, requested)[0] > 0.95, label
        # Real curves start anywhere in their cycle: the phases of the first harmonic at the asked period spread
        # over the circle (mean resultant length 0.02-0.10 per class on the test split); version 3's at 20 steps:
        # 0.50, 0.80 and 0.98.
        curves = model.sample(300, seed=2, labels=np.full(300, label), conditions={"period": 20.0, "amplitude": 0.5})
        curves = curves[..., 0] - curves[..., 0].mean(axis=1, keepdims=True)
        first_harmonic = (curves * np.exp(-2j * np.pi * steps / 20.0)).sum(axis=1)
        assert np.abs(np.mean(first_harmonic / np.abs(first_harmonic))) < 0.2, label

"""Where names find configs, entries and evaluators (the search path), and the presets of the Python API."""

import json
import pathlib
import shutil

import numpy as np
import pytest

import tfgan_zoo
from tfgan_zoo import cards, data, evaluation, paths, zoo

ZOO = "packaged" if paths.packaged_dir() else "repository"


def fake_entry(folder, name, family="vanilla"):
    """A folder that the search path takes for an entry: a model card (copied from vanilla_grid25's)."""
    card = json.loads((paths.resolve("vanilla_grid25") / paths.CARD_FILE).read_text())
    (folder / name).mkdir(parents=True)
    cards.write_card(folder / name, {**card, "name": name, "family": family})
    return folder / name


def test_entries_resolve_in_order_user_folder_working_directory_zoo(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TFGAN_ZOO_MODELS", raising=False)
    assert paths.entries()["vanilla_grid25"][0] == ZOO
    mine = fake_entry(tmp_path / "saved_models", "vanilla_grid25", family="mine")
    assert paths.entries()["vanilla_grid25"] == ("./saved_models", pathlib.Path("saved_models/vanilla_grid25"))
    assert paths.resolve("vanilla_grid25").resolve() == mine
    user = fake_entry(tmp_path / "user", "vanilla_grid25", family="user")
    monkeypatch.setenv("TFGAN_ZOO_MODELS", str(tmp_path / "user"))
    assert paths.entries()["vanilla_grid25"] == ("$TFGAN_ZOO_MODELS", user)
    rows = {row[0]: row for row in zoo.describe_entries()}
    assert rows["vanilla_grid25"][1] == "user" and rows["dcgan_fashion_mnist"][-1] == ZOO
    assert (
        paths.searched("models")
        == f"$TFGAN_ZOO_MODELS={tmp_path / 'user'}, ./saved_models, {ZOO} ("
        + str(paths.search_path("models")[-1][1])
        + ")"
    )
    assert zoo.describe_evaluators()[0][::3] == ("fashion_mnist_classifier", ZOO)


def test_configs_resolve_in_order_and_a_path_is_taken_as_given(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TFGAN_ZOO_CONFIGS", raising=False)
    zoo_config = paths.zoo_config("vanilla_ring8")
    (tmp_path / "zoo_configs").mkdir()
    shutil.copy(zoo_config, tmp_path / "zoo_configs" / "vanilla_ring8.yaml")
    assert paths.configs()["vanilla_ring8"][0] == "./zoo_configs"
    monkeypatch.setenv("TFGAN_ZOO_CONFIGS", str(tmp_path / "user"))
    (tmp_path / "user").mkdir()
    shutil.copy(zoo_config, tmp_path / "user" / "mine.yaml")
    assert paths.config_path("mine") == str(tmp_path / "user" / "mine.yaml")
    assert {row[0]: row[-1] for row in zoo.describe_configs()} == {
        **{name: ZOO for name in paths.config_names()},
        "mine": "$TFGAN_ZOO_CONFIGS",
        "vanilla_ring8": "./zoo_configs",
    }
    assert paths.config_path(str(zoo_config)) == str(zoo_config)
    with pytest.raises(paths.ConfigError, match=r"No zoo config named 'nope'.*mine.*searched \$TFGAN_ZOO_CONFIGS="):
        paths.config_path("nope")


def test_gan_from_preset_is_compiled_samples_the_golden_outputs_and_fine_tunes():
    entry = paths.resolve("vanilla_grid25")
    golden = json.loads((entry / "golden.json").read_text())
    gan = tfgan_zoo.GAN.from_preset("vanilla_grid25")
    z = np.asarray(golden["inputs"]["z"], np.float32)
    np.testing.assert_allclose(gan.predict(z, verbose=0)[:, golden["positions"]], golden["values"], atol=1e-5)
    sampler = tfgan_zoo.PretrainedGenerator.from_preset("vanilla_grid25")
    np.testing.assert_allclose(sampler.sample(5, seed=3), gan.sample(5, seed=3), atol=1e-5)
    step, kernel = int(gan.step.numpy()), gan.discriminator.trainable_weights[0].numpy()
    source = data.load("grid25", num_examples=256)
    gan.fit(data.make_dataset(source, batch_size=gan.d_steps * 64), steps_per_epoch=2, epochs=1, verbose=0)
    assert int(gan.step.numpy()) == step + 2 and int(gan.d_optimizer.iterations.numpy()) == 2 * gan.d_steps
    assert not np.allclose(gan.discriminator.trainable_weights[0].numpy(), kernel)


def test_a_lean_keras_file_has_no_optimizer_state_and_loads_compiled(tmp_path):
    gan = tfgan_zoo.GAN.from_preset("vanilla_grid25")
    gan.save(tmp_path / "full.keras")
    gan.save(tmp_path / "lean.keras", include_optimizer=False)
    assert (tmp_path / "lean.keras").stat().st_size < 0.6 * (tmp_path / "full.keras").stat().st_size
    lean = tfgan_zoo.GAN.from_preset(tmp_path / "lean.keras")
    assert lean.compiled and lean.gan_loss.__class__ is gan.gan_loss.__class__
    np.testing.assert_allclose(lean.sample(4, seed=1), gan.sample(4, seed=1))


def test_missing_presets_name_what_there_is(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"No gan.keras for 'nope'.*Entries with one: .*vanilla_ring8"):
        tfgan_zoo.GAN.from_preset("nope")
    with pytest.raises(FileNotFoundError, match=r"No trained model at 'nope'.*known: .*vanilla_ring8"):
        tfgan_zoo.PretrainedGenerator.from_preset("nope")


def test_reports_on_installed_entries_go_to_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.setattr(paths, "packaged_dir", lambda: tmp_path / "site" / "tfgan_zoo" / "zoo")
    installed = tmp_path / "site" / "tfgan_zoo" / "zoo" / "saved_models" / "dcgan_fashion_mnist"
    assert paths.is_packaged(installed) and not paths.is_packaged(tmp_path / "runs" / "x")
    assert evaluation.report_path(installed) == pathlib.Path("evaluations/dcgan_fashion_mnist/evaluation.json")
    assert evaluation.report_path(tmp_path / "runs" / "x") == tmp_path / "runs" / "x" / "evaluation.json"


def test_the_card_names_an_entry_off_the_search_path_by_its_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    fake_entry(pathlib.Path("exports"), "vanilla_grid25")  # as `export --output exports/...` names it
    readme = (tmp_path / "exports" / "vanilla_grid25" / "README.md").read_text()
    assert 'load_pretrained("exports/vanilla_grid25")' in readme and "--model exports/vanilla_grid25 " in readme
    fake_entry(tmp_path / "saved_models", "mine")  # ./saved_models is on the search path
    assert 'load_pretrained("mine")' in (tmp_path / "saved_models" / "mine" / "README.md").read_text()

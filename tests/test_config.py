"""Configs: YAML + overrides, validated against the schema with errors that name the key and the file."""

import concurrent.futures
import os

import pytest

from tfgan_zoo import config, paths


def write(tmp_path, text, name="entry.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_every_zoo_config_loads():
    assert "vanilla_ring8" in paths.config_names()
    for name in paths.config_names():
        assert config.load(paths.config_path(name)).name == name


def test_yaml_and_overrides_are_typed(tmp_path):
    path = write(tmp_path, "train:\n  steps: 100\n  g_learning_rate: 1\nmodel:\n  generator_units: [8, 8]\n")
    cfg = config.load(path, ["train.steps=300", "model.spectral_norm=true", "data.params={mean: [0, 0]}"])
    assert cfg.name == "entry"
    assert cfg.train.steps == 300 and cfg.train.g_learning_rate == 1.0
    assert isinstance(cfg.train.g_learning_rate, float)
    assert cfg.model.generator_units == [8, 8] and cfg.model.spectral_norm is True
    assert cfg.data.params == {"mean": [0, 0]}


def test_unknown_key_names_the_key_the_file_and_a_guess(tmp_path):
    path = write(tmp_path, "train:\n  stpes: 100\n")
    with pytest.raises(
        config.ConfigError, match=r"Unknown key config\.train\.stpes\. Did you mean 'steps'\?.*entry\.yaml"
    ):
        config.load(path)


def test_unknown_section(tmp_path):
    with pytest.raises(config.ConfigError, match=r"Unknown key config\.trainn.*Did you mean 'train'"):
        config.load(write(tmp_path, "trainn: {}\n"))


@pytest.mark.parametrize(
    "override, message",
    [
        ("train.steps=many", r"config\.train\.steps must be of type int, got 'many'"),
        ("train.steps=1.5", r"config\.train\.steps must be of type int"),
        ("model.spectral_norm=3", r"config\.model\.spectral_norm must be of type bool"),
        ("model.generator_units=[8, x]", r"config\.model\.generator_units\[1\] must be of type int"),
        ("model.generator_units=8", r"config\.model\.generator_units must be a list"),
        ("train=3", r"config\.train must be a mapping"),
        ("train.d_learning_rate=1e-4", r"must be of type float, got '1e-4' \(str\)\. Write floats like 1\.0e-4\."),
        ("health.windw=5", r"Unknown key config\.health\.windw\. Did you mean 'window'\?"),
    ],
)
def test_wrong_value_types_are_errors(tmp_path, override, message):
    with pytest.raises(config.ConfigError, match=message):
        config.load(write(tmp_path, ""), [override])


def test_malformed_override():
    with pytest.raises(config.ConfigError, match="must look like section.key=value"):
        config.apply_overrides({}, ["train.steps"])


def test_missing_file_and_unknown_entry():
    with pytest.raises(config.ConfigError, match="does not exist"):
        config.load("no/such.yaml")
    with pytest.raises(config.ConfigError, match="No zoo config named 'vanilla_rnig8'.*vanilla_ring8"):
        paths.config_path("vanilla_rnig8")


def test_saved_config_round_trips(tmp_path):
    cfg = config.load(paths.config_path("vanilla_ring8"), ["train.seed=7"])
    config.save(cfg, tmp_path / "config.yaml")
    assert config.load(str(tmp_path / "config.yaml")) == cfg


def test_concurrent_saves_of_one_file_do_not_collide(tmp_path):
    # The workers of a multi-worker run all write the shared workdir's config.yaml; with one partial file name,
    # one worker's rename took the file another was about to rename.
    path, cfg = tmp_path / "config.yaml", config.Config()
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda _: config.save(cfg, str(path)), range(200)))
    assert config.load(str(path)) == cfg
    assert os.listdir(tmp_path) == ["config.yaml"]

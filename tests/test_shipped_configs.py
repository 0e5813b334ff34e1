"""The configs shipped in ``configs/``: each loads, and says what it claims."""

import dataclasses
import tomllib
from pathlib import Path

import pytest

from mlp_lab.config import Config, Setting, load_config

CONFIGS = Path(__file__).resolve().parent.parent / "configs"
SHIPPED = sorted(CONFIGS.glob("*.toml"))


def test_both_variants_are_shipped():
    assert {p.name for p in SHIPPED} >= {"default.toml", "airplane-bird-32.toml"}


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_config_is_valid(path):
    cfg = load_config(path)
    assert cfg.name and cfg.sizes[0] == 3 * cfg.image_size ** 2
    assert cfg.limit_per_class == 0 and cfg.data_dir == ""  # the full data


def test_default_toml_is_exactly_the_defaults_written_out():
    path = CONFIGS / "default.toml"
    assert load_config(path) == Config()
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    assert set(raw) == {f.name for f in dataclasses.fields(Config)}


def test_airplane_bird_32_is_the_earlier_edition():
    cfg = load_config(CONFIGS / "airplane-bird-32.toml")
    assert cfg.name == "airplane vs bird, 32x32"
    assert cfg.classes == ("airplane", "bird")
    assert cfg.class_names == ("airplane", "bird")
    assert (cfg.image_size, cfg.sizes) == (32, (3072, 512, 128, 32, 2))
    assert cfg.settings == tuple(Setting(0.01, m, wd) for m in (0.0, 0.9)
                                 for wd in (0.0, 0.01))
    same = ("train_fraction", "split_seed", "epochs", "batch_size", "seed",
            "dtype", "loss")
    assert all(getattr(cfg, k) == getattr(Config(), k) for k in same)

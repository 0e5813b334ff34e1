"""The results record: plain data, written and read back without torch."""

from __future__ import annotations

import dataclasses
import json
import math

import pytest

import records
from mlp_lab import results as rec
from mlp_lab.config import Config, Setting


@pytest.fixture
def setup(image_tree, monkeypatch, tmp_path):
    """A config over a tiny image tree (the record's key lists its files)."""
    root = image_tree(classes=("automobile", "cat"), n_train=4, n_test=2)
    monkeypatch.setenv("MLP_LAB_DATA", str(root))
    cfg = Config(epochs=3, limit_per_class=4,
                 settings=(Setting(0.01), Setting(10.0), Setting(0.01, 0.9)))
    res = records.results([records.setting(), records.diverged(),
                           records.setting(momentum=0.9, val_acc=0.91, diff=1e-9)],
                          cfg=cfg)
    return cfg, res, root


def test_record_round_trips_through_json(setup):
    cfg, res, _ = setup
    rec.save_record(cfg, res)
    back = rec.load_record(cfg)
    # field by field (as JSON: NaN == NaN there), types included
    assert json.dumps(back.to_dict(), sort_keys=True) == json.dumps(
        res.to_dict(), sort_keys=True)
    assert type(back.best) is type(res.best) and type(back.env) is type(res.env)
    assert all(s.from_cache for s in back.settings)
    assert back.best.index == 2 and back.config == cfg
    assert math.isnan(back.settings[1].train_loss_sgd[-1])  # NaN survives


def test_identical_is_both_differences_zero():
    s = records.setting()
    assert s.identical
    assert not dataclasses.replace(s, max_abs_diff_loss=1e-12).identical
    assert not dataclasses.replace(s, max_abs_diff_params=1e-12).identical
    assert not dataclasses.replace(s, max_abs_diff_params=math.nan).identical
    res = records.results([s, dataclasses.replace(s, max_abs_diff_params=1e-9)])
    assert res.n_identical == 1 and not res.all_identical


def test_errors_are_the_off_diagonal_of_rows_true_columns_predicted():
    b = records.results(confusion=((95, 5), (40, 60))).best
    assert b.errors == (5, 40)
    assert b.error_rates == (0.05, 0.4)
    b = records.results(confusion=((190, 10), (30, 70))).best
    assert b.error_rates == (0.05, 0.3)  # each over its own row


@pytest.mark.parametrize("change", [
    {"epochs": 4}, {"seed": 1}, {"batch_size": 64}, {"dtype": "float32"},
    {"limit_per_class": 3}, {"split_seed": 1}, {"train_fraction": 0.8},
    {"settings": (Setting(0.01), Setting(10.0), Setting(0.01, 0.9, 0.01))},
    {"name": "another name"}])
def test_a_record_of_another_config_is_a_miss(setup, change):
    cfg, res, _ = setup
    rec.save_record(cfg, res)
    assert rec.load_record(dataclasses.replace(cfg, **change)) is None


def test_changed_data_files_make_the_record_a_miss(setup):
    cfg, res, root = setup
    rec.save_record(cfg, res)
    image = root / "train" / "cat" / "0000.png"
    image.write_bytes((root / "train" / "cat" / "0001.png").read_bytes())
    assert rec.load_record(cfg) is None


@pytest.mark.parametrize("damage", ["truncate", "other key", "old layout"])
def test_a_damaged_or_foreign_record_is_a_miss(setup, damage):
    cfg, res, _ = setup
    path = rec.save_record(cfg, res)
    raw = json.loads(path.read_text())
    if damage == "truncate":
        path.write_text(path.read_text()[:200])
    elif damage == "other key":
        path.write_text(json.dumps(dict(raw, key="0" * 16)))
    else:
        del raw["results"]["data"]["samples"]
        path.write_text(json.dumps(raw))
    with _maybe_warns(damage):
        assert rec.load_record(cfg) is None


def _maybe_warns(damage):
    from mlp_lab.cache import CacheWarning
    import contextlib
    return pytest.warns(CacheWarning) if damage == "truncate" else \
        contextlib.nullcontext()


def test_json_safe_turns_nan_and_inf_into_null():
    d = {"a": [1.0, math.nan, (math.inf, 2)], "b": {"c": -math.inf}, "d": "x"}
    assert rec.json_safe(d) == {"a": [1.0, None, [None, 2]], "b": {"c": None},
                                "d": "x"}
    json.dumps(rec.json_safe(d), allow_nan=False)  # strict JSON

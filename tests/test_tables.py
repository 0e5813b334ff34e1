"""book.tables on hand-made records (no torch): every cell is the number of
its row and column. Each setting, split and class gets values of its own, so
a column read from another field, or rows in another order, would show."""

from __future__ import annotations

import dataclasses

import pytest

import records
from mlp_lab import cache
from mlp_lab.book import tables

S = records.setting


@pytest.fixture
def res():
    settings = [
        S(0.01, 0.0, 0.0, train_acc=0.71, val_acc=0.62, losses=(0.7, 0.61)),
        S(0.02, 0.5, 0.01, train_acc=0.93, val_acc=0.84, losses=(0.7, 0.33),
          diff=3e-9),
        S(0.05, 0.9, 0.001, train_acc=0.88, val_acc=0.79, losses=(0.7, 0.45))]
    for i, s in enumerate(settings):
        s.seconds_sgd, s.seconds_manual = 1.0 + i, 10.0 + i
    return records.results(settings, confusion=((95, 5), (40, 60)), test_acc=0.775,
                           counts={"train": [450, 430], "val": [50, 70],
                                   "test": [100, 90]})


def test_results_table(res):
    t = tables.results_table(res)
    assert t.index.tolist() == ["Model 1", "Model 2", "Model 3"]
    for (_, row), s in zip(t.iterrows(), res.settings):
        assert (row.lr, row.momentum, row.weight_decay) == (s.lr, s.momentum,
                                                            s.weight_decay)
        assert row.final_loss == s.train_loss_sgd[-1]
        assert (row.train_acc, row.val_acc) == (s.train_acc, s.val_acc)
        assert row.seconds == s.seconds_sgd + s.seconds_manual
    assert t["best"].tolist() == [False, True, False]
    tried = tables.tried_table(res)
    assert tried["selected"].tolist() == ["", "yes", ""]
    assert tried["val_acc"].tolist() == [0.62, 0.84, 0.79]
    assert tables.settings_table(res).values.tolist() == [
        [0.01, 0.0, 0.0], [0.02, 0.5, 0.01], [0.05, 0.9, 0.001]]


def test_test_table_names_each_split(res):
    t = tables.test_table(res)
    assert t["accuracy"].to_dict() == {"train": 0.93, "validation": 0.84,
                                       "test": 0.775}
    none = records.results([records.diverged()])
    assert tables.test_table(none).empty


def test_equality_and_time_tables(res):
    eq = tables.equality_table(res)
    assert eq["epochs"].tolist() == [2, 2, 2]
    assert eq["max_abs_diff_loss"].tolist() == [0.0, 3e-9, 0.0]
    assert eq["max_abs_diff_params"].tolist() == [0.0, 3e-9, 0.0]
    assert eq["identical"].tolist() == [True, False, True]
    t = tables.time_table(res)
    assert t["SGD (s)"].tolist() == [1.0, 2.0, 3.0]
    assert t["manual (s)"].tolist() == [10.0, 11.0, 12.0]
    short = records.results([records.diverged(epoch=3)])
    assert tables.equality_table(short)["epochs"].tolist() == [3]


def test_counts_and_statistics_tables(res):
    c = tables.counts_table(res)
    assert c.columns.tolist() == ["train", "val", "test"]
    assert c.to_dict("index") == {"car": {"train": 450, "val": 50, "test": 100},
                                  "cat": {"train": 430, "val": 70, "test": 90},
                                  "total": {"train": 880, "val": 120, "test": 190}}
    st = tables.stats_table(res)
    assert st.to_dict("index") == {"red": {"mean": 0.5, "std": 0.25},
                                   "green": {"mean": 0.4, "std": 0.2},
                                   "blue": {"mean": 0.3, "std": 0.2}}


def test_environment_table(res):
    res = dataclasses.replace(res, data=dataclasses.replace(
        res.data, fingerprint="f1e2d3"))
    t = tables.environment_table(res, "1.10.17", "configs/x.toml")["value"]
    assert t["PyTorch"] == "2.14.1" and t["torchvision"] == "0.29.1"
    assert t["Python"] == "3.11.7" and t["Quarto"] == "1.10.17"
    assert t["device"] == "cpu (AMD EPYC, 2 cores)" and t["dtype"] == "float64"
    assert t["seed (models)"] == "265"
    assert t["seed (split)"] == str(res.config.split_seed)
    assert t["data fingerprint"] == "f1e2d3" and t["config"] == "configs/x.toml"
    assert t["library code hash"] == cache.source_hash(cache.COMPUTE_MODULES)

"""book.tables on hand-made records (no torch): every cell is the number of
its row and column. Each setting, split and class gets values of its own, so
a column read from another field, or rows in another order, would show."""

from __future__ import annotations

import dataclasses
import re

import pytest

import records
from mlp_lab import cache
from mlp_lab.book import fmt, original, tables

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


NBSP = "\u00a0"


def test_results_table_for_the_cli(res):
    t = tables.results_table(res)
    assert t.index.tolist() == ["Model 1", "Model 2", "Model 3"]
    for (_, row), s in zip(t.iterrows(), res.settings):
        assert (row.lr, row.momentum, row.weight_decay) == (s.lr, s.momentum,
                                                            s.weight_decay)
        assert row.final_loss == s.train_loss_sgd[-1]
        assert (row.train_acc, row.val_acc) == (s.train_acc, s.val_acc)
        assert row.seconds == s.seconds_sgd + s.seconds_manual
    assert t["best"].tolist() == [False, True, False]


def test_settings_table(res):
    assert tables.settings_table(res).values.tolist() == [
        [0.01, 0.0, 0.0], [0.02, 0.5, 0.01], [0.05, 0.9, 0.001]]


def test_test_table_names_each_split(res):
    t = tables.test_table(res)
    assert t["accuracy (%)"].to_dict() == pytest.approx(
        {"train": 93.0, "validation": 84.0, "test": 77.5})
    none = records.results([records.diverged()])
    assert tables.test_table(none).empty


def test_equality_and_time_tables(res):
    eq = tables.equality_table(res)
    # no "epochs" or "identical" column: the text says both
    assert eq.columns.tolist() == [*tables.EQUALITY]
    assert eq["losses"].tolist() == [0.0, 3e-9, 0.0]
    assert eq["final parameters"].tolist() == [0.0, 3e-9, 0.0]
    t = tables.time_table(res)
    assert t["torch.optim.SGD (s)"].tolist() == [1.0, 2.0, 3.0]
    assert t["manual update (s)"].tolist() == [10.0, 11.0, 12.0]


def test_counts_and_statistics_tables(res):
    c = tables.counts_table(res)
    assert c.columns.tolist() == ["train", "validation", "test"]
    assert c.to_dict("index") == {
        "car": {"train": 450, "validation": 50, "test": 100},
        "cat": {"train": 430, "validation": 70, "test": 90},
        "total": {"train": 880, "validation": 120, "test": 190}}
    st = tables.stats_table(res)
    assert st.to_dict("index") == {
        "red": {"mean": 0.5, "standard deviation": 0.25},
        "green": {"mean": 0.4, "standard deviation": 0.2},
        "blue": {"mean": 0.3, "standard deviation": 0.2}}


BOOK_TABLES = ("settings_table", "equality_table", "time_table", "counts_table",
               "stats_table", "test_table")


@pytest.mark.parametrize("name", BOOK_TABLES)
def test_book_tables_have_headers_in_words(name, res):
    """No identifier (final_loss, train_acc) as a header: words, with the unit
    where there is one; accuracies in percent."""
    t = getattr(tables, name)(res)
    for header in [t.index.name or "", *t.columns]:
        assert re.fullmatch(r"[A-Za-z.' ]+( \((%|s)\))?|", header), header
        assert "acc" not in header or header.endswith("(%)"), header


def _printed(df, **kw) -> dict[str, list[str]]:
    """The cells of ``df`` as ``fmt.markdown_table`` prints them, by header."""
    lines = fmt.markdown_table(df, **kw).data.splitlines()
    head, *rows = [[c.strip(" ") for c in line.strip("|").split("|")]
                   for line in lines[:1] + lines[2:]]
    return {h: [r[k] for r in rows] for k, h in enumerate(head)}


def test_printed_formats(res):
    """Percent with one decimal, hyper-parameters as written, seconds with at
    most one decimal, "Model 1" with a no-break space."""
    for s, secs in zip(res.settings, (6.327, 5.77, 61.25)):
        s.seconds_sgd = secs
    # Model 1's setting is the original report's Model 1: its figure follows
    cells = {h: c[:3] for h, c in _printed(original.results_table(res),
                                           digits=4).items()}
    assert cells["train accuracy (%)"] == ["71.0 (89.7)", "93.0", "88.0"]
    assert cells["learning rate"] == ["0.01", "0.02", "0.05"]
    assert cells["weight decay"] == ["0.000", "0.010", "0.001"]
    # none given by the original report, but printed to its decimals (0.031)
    assert cells["final loss"] == ["0.610", "0.330", "0.450"]
    assert cells["model"] == [f"Model{NBSP}1", f"Model{NBSP}2 (selected)",
                              f"Model{NBSP}3"]
    assert _printed(tables.time_table(res), digits=2)["torch.optim.SGD (s)"] == [
        "6.3", "5.8", "61.2"]
    assert _printed(tables.equality_table(res), digits=1,
                    sci=tables.EQUALITY)["losses"] == ["0", "3.0\u00d710\u207b\u2079", "0"]


def test_percent_gets_two_decimals_where_one_would_hide_a_difference(res):
    res.settings[0].val_acc, res.settings[1].val_acc = 0.91234, 0.91176
    cells = {h: c[:3] for h, c in _printed(original.results_table(res),
                                           digits=4).items()}
    assert cells["validation accuracy (%)"] == ["91.23 (88.5)", "91.18", "79.00"]
    assert cells["train accuracy (%)"] == ["71.0 (89.7)", "93.0", "88.0"]


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

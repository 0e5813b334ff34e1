"""The reference results (book.original), on hand-made records: which
reference a config gets, the table's rows and columns, and its caption."""

from __future__ import annotations

from pathlib import Path

import pytest

import records
from mlp_lab.book import fmt
from mlp_lab.book import original as O
from mlp_lab.config import Config, Setting, load_config

ROOT = Path(__file__).resolve().parent.parent
S = records.setting
NBSP = "\u00a0"


@pytest.fixture
def variant_cfg():
    return load_config(ROOT / "configs" / "airplane-bird-32.toml")


def _run(cfg, val_accs):
    """A record of ``cfg``'s settings with the given validation accuracies."""
    return records.results([S(s.lr, s.momentum, s.weight_decay, val_acc=v)
                            for s, v in zip(cfg.settings, val_accs)], cfg=cfg,
                           class_names=cfg.class_names)


def test_each_config_gets_the_reference_of_its_task(variant_cfg):
    assert O.reference_for(Config()) is O.ORIGINAL_REPORT
    assert O.reference_for(variant_cfg) is O.COURSE_OUTPUT_2023
    # same classes, other layers: not the same task
    assert O.reference_for(Config(sizes=(768, 64, 2))) is None
    assert O.reference_for(Config(classes=("cat", "dog"))) is None
    assert O.differences(variant_cfg, O.COURSE_OUTPUT_2023) == []
    assert O.differences(Config(epochs=5, limit_per_class=100),
                         O.ORIGINAL_REPORT) == ["limit_per_class", "epochs"]


def test_the_2023_edition_is_compared_with_the_course_output(variant_cfg):
    res = _run(variant_cfg, [0.84, 0.83, 0.82, 0.85])
    t = O.results_table(res)
    assert t.index.tolist() == [f"Model{NBSP}1", f"Model{NBSP}2", f"Model{NBSP}3",
                                f"Model{NBSP}4 (selected)"] + ["reference only"] * 2
    # this render's figure, then the course's in parentheses, as given; the
    # final losses to the reference's five decimals
    assert t["validation accuracy (%)"].tolist() == [
        "84.0 (83)", "83.0 (83)", "82.0 (83)", "85.0 (84)", "(83)", "(80)"]
    assert t["final loss"].tolist()[3:] == ["0.40000 (0.08699)", "(0.05682)",
                                            "(0.14508)"]
    assert t["train accuracy (%)"].tolist()[:2] == ["90.0 (88)", "90.0 (87)"]
    assert t[["momentum", "weight decay"]].values.tolist()[4:] == [[0.9, 0.001],
                                                                   [0.8, 0.01]]
    assert O.reference_caption(res) == (
        "In parentheses: the course's published output of its own solution (its "
        "2023 edition, gradient_descent_output.txt: airplane vs bird, "
        "32\u00d732), for the same setting.")


def test_the_default_config_is_compared_with_the_original_report():
    """The car/cat reference is a student report, never the course's own:
    the caption says so, and that it gives a final loss for Model 5 only,
    printed as precisely as this render's beside it."""
    res = _run(Config(), [0.888, 0.883, 0.905, 0.918, 0.895])
    t = O.results_table(res)
    assert t["validation accuracy (%)"].tolist() == [
        "88.8 (88.5)", "88.3 (88.5)", "90.5 (91.9)", "91.8 (92.1)", "89.5 (91.3)"]
    assert t["final loss"].tolist()[3:] == ["0.400", "0.400 (0.031)"]
    assert len(t) == 5 and t.index[3] == f"Model{NBSP}4 (selected)"
    caption = O.reference_caption(res)
    assert caption == (
        "In parentheses: the original report of this assignment (a student "
        "report: car vs cat, 16\u00d716, canonical CIFAR-10), for the same "
        "setting; it gives a final loss only for Model 5.")
    assert "course's" not in caption and "published" not in caption


def test_published_figures_print_as_published_and_right_aligned(variant_cfg):
    res = _run(variant_cfg, [0.84, 0.83, 0.82, 0.85])
    lines = fmt.markdown_table(O.results_table(res), digits=4,
                               right=tuple(O.FIGURES)).data.splitlines()
    row = [c.strip() for c in lines[2].strip("|").split("|")]
    assert row[-3:] == ["0.40000 (0.31793)", "90.0 (88)", "84.0 (83)"]
    assert lines[1].rstrip("|").endswith("--:")  # right-aligned, as numbers


def test_settings_without_counterpart_and_diverged_ones():
    cfg = Config(epochs=3, settings=(Setting(0.01), Setting(0.02, 0.5)))
    res = _run(cfg, [0.88, 0.9])
    t = O.results_table(res)
    assert t["validation accuracy (%)"].iloc[1] == "90.0"  # no counterpart
    assert O.reference_caption(res).endswith(
        "; it gives no final loss for the settings here.")
    res.settings[0].diverged = True
    assert O.results_table(res).index[0] == f"Model{NBSP}1 (diverged)"


def test_another_task_has_nothing_to_compare():
    cfg = Config(classes=("airplane", "bird"), image_size=32,
                 sizes=(3072, 512, 2), settings=(Setting(0.01),), epochs=3)
    res = _run(cfg, [0.8])
    t = O.results_table(res)
    assert not t.map(lambda v: "(" in str(v)).values.any() and len(t) == 1
    assert t["final loss"].iloc[0] == "0.4000"  # four decimals without a reference
    assert O.reference_caption(res) == "Neither reference trained this task."

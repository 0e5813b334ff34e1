"""The comparison with the course's published results (book.original), on
hand-made records: which reference a config gets, the table's rows and
columns, and what the sentence says in each case."""

from __future__ import annotations

import math
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
    t = O.reference_table(res)
    assert t.index.tolist() == [f"Model{NBSP}{k}" for k in (1, 2, 3, 4)] + [
        "reference only"] * 2
    assert t["validation accuracy, reference (%)"].tolist() == [83, 83, 83, 84, 83, 80]
    assert t["final loss, reference"].tolist() == [0.31793, 0.33567, 0.07555,
                                                   0.08699, 0.05682, 0.14508]
    assert t["train accuracy, reference (%)"].tolist() == [88, 87, 97, 96, 98, 88]
    assert t["validation accuracy (%)"].tolist()[:4] == pytest.approx([84, 83, 82, 85])
    assert math.isnan(t["validation accuracy (%)"].iloc[4])  # not run here
    assert t[["momentum", "weight decay"]].values.tolist()[4:] == [[0.9, 0.001],
                                                                   [0.8, 0.01]]
    text = O.reference_sentence(res)
    assert text.startswith(
        "Against the course's output for its 2023 edition (gradient_descent_output"
        ".txt: airplane vs bird, 32x32), the validation accuracies of the 4 settings"
        " both trained differ by at most 1.0 points (it rounds its accuracies to "
        "0.01), within what a different data copy and split explain.")
    assert ("It also trained 2 settings that this render did not (lr=0.01, "
            "momentum=0.9, weight_decay=0.001; lr=0.01, momentum=0.8, "
            "weight_decay=0.01): the table lists them as reference only.") in text
    assert "indicative" not in text and "no counterpart" not in text
    assert "gradient_descent_output.txt" in O.reference_caption(res)


def test_published_figures_print_as_published(variant_cfg):
    res = _run(variant_cfg, [0.84, 0.83, 0.82, 0.85])
    lines = fmt.markdown_table(O.reference_table(res), digits=4,
                               exact=O.EXACT).data.splitlines()
    row = [c.strip() for c in lines[2].strip("|").split("|")]
    assert row[-3:] == ["0.31793", "88", "83"]
    assert row[5:7] == ["90.0", "84.0"]  # this render's: one decimal


def test_the_default_config_is_compared_with_the_original_report():
    res = _run(Config(), [0.888, 0.883, 0.905, 0.918, 0.895])
    t = O.reference_table(res)
    assert t["validation accuracy, reference (%)"].tolist() == [88.5, 88.5, 91.9,
                                                                92.1, 91.3]
    assert len(t) == 5 and "reference only" not in t.index
    assert O.reference_sentence(res) == (
        "Against the original report (car vs cat, 16x16, canonical CIFAR-10), the "
        "validation accuracies of the 5 settings both trained differ by at most "
        "1.8 points, within what a different data copy and split explain.")
    assert "the original report" in O.reference_caption(res)
    far = _run(Config(), [0.80, 0.883, 0.905, 0.918, 0.895])
    assert O.reference_sentence(far).endswith(
        "differ by at most 8.5 points; likely reasons: a different copy of the "
        "data (e.g. JPEG re-encoded), a different split or number of epochs.")


def test_settings_without_counterpart_and_another_configuration():
    cfg = Config(epochs=3, settings=(Setting(0.01), Setting(0.02, 0.5)))
    res = _run(cfg, [0.88, 0.9])
    text = O.reference_sentence(res)
    assert "of the 1 settings both trained" in text
    assert "Model 2 has no counterpart there." in text
    assert "It also trained 4 settings" in text
    assert text.endswith("This render differs from it in epochs, so the "
                         "comparison is only indicative.")
    t = O.reference_table(res)
    assert math.isnan(t["validation accuracy, reference (%)"].iloc[1])
    # a diverged setting is listed but never compared
    res.settings[0].diverged = True
    assert "trained none, so there is nothing to compare" in O.reference_sentence(res)


def test_another_task_has_nothing_to_compare():
    cfg = Config(classes=("airplane", "bird"), image_size=32,
                 sizes=(3072, 512, 2), settings=(Setting(0.01),), epochs=3)
    res = _run(cfg, [0.8])
    t = O.reference_table(res)
    assert not any("reference" in c for c in t.columns) and len(t) == 1
    assert O.reference_sentence(res) == (
        "The course published results for car vs cat at 16x16 (layers "
        "768-128-32-2) and for airplane vs bird at 32x32 (layers "
        "3072-512-128-32-2); this render trains neither task, so there is nothing "
        "to compare.")
    assert "neither published reference" in O.reference_caption(res)

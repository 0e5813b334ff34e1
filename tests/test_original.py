"""The comparison with the course's published results (book.original), on
hand-made records: which reference a config gets, the table's rows and
columns, and what the sentence says in each case."""

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
    # this render's figure, then the course's in parentheses, as published
    assert t["validation accuracy (%)"].tolist() == [
        "84.0 (83)", "83.0 (83)", "82.0 (83)", "85.0 (84)", "(83)", "(80)"]
    assert t["final loss"].tolist()[3:] == ["0.4000 (0.08699)", "(0.05682)",
                                            "(0.14508)"]
    assert t["train accuracy (%)"].tolist()[:2] == ["90.0 (88)", "90.0 (87)"]
    assert t[["momentum", "weight decay"]].values.tolist()[4:] == [[0.9, 0.001],
                                                                   [0.8, 0.01]]
    text = O.reference_sentence(res)
    assert text.startswith(
        "The figures in parentheses are those of the course's published output of "
        "its own solution (its 2023 edition, gradient_descent_output.txt: airplane "
        "vs bird, 32x32). Against it, the validation accuracies of the 4 settings "
        "both trained differ by at most 1.0 points (it rounds its accuracies to "
        "0.01), within what a different data copy and split explain.")
    assert ("It also trained 2 settings not trained here (lr=0.01, "
            "momentum=0.9, weight_decay=0.001; lr=0.01, momentum=0.8, "
            "weight_decay=0.01): the table lists them as reference only.") in text
    assert "indicative" not in text and "no counterpart" not in text
    assert "student report" not in text
    caption = O.results_caption(res)
    assert caption.endswith("In parentheses: the course's published output of its "
                            "own solution (its 2023 edition, gradient_descent_"
                            "output.txt: airplane vs bird, 32x32), for the same "
                            "setting.")
    assert "trained for 30 epochs with mini-batches of 256" in caption


def test_the_default_config_is_compared_with_the_original_report():
    """The car/cat reference is another group's student report, never the
    course's own: the caption and the sentence say so."""
    res = _run(Config(), [0.888, 0.883, 0.905, 0.918, 0.895])
    t = O.results_table(res)
    assert t["validation accuracy (%)"].tolist() == [
        "88.8 (88.5)", "88.3 (88.5)", "90.5 (91.9)", "91.8 (92.1)", "89.5 (91.3)"]
    assert t["final loss"].tolist()[3:] == ["0.4000", "0.4000 (0.031)"]
    assert len(t) == 5 and t.index[3] == f"Model{NBSP}4 (selected)"
    whose = ("the original report of this assignment (another group's student "
             "report: car vs cat, 16x16, canonical CIFAR-10)")
    assert O.reference_sentence(res) == (
        f"The figures in parentheses are those of {whose}. Against it, the "
        "validation accuracies of the 5 settings both trained differ by at most "
        "1.8 points, within what a different data copy and split explain.")
    assert O.results_caption(res).endswith(f"In parentheses: {whose}, for the "
                                           "same setting.")
    for text in (O.reference_sentence(res), O.results_caption(res)):
        assert "course's" not in text
    far = _run(Config(), [0.80, 0.883, 0.905, 0.918, 0.895])
    assert O.reference_sentence(far).endswith(
        "differ by at most 8.5 points; likely reasons: a different copy of the "
        "data (e.g. JPEG re-encoded), a different split or number of epochs.")


def test_published_figures_print_as_published_and_right_aligned(variant_cfg):
    res = _run(variant_cfg, [0.84, 0.83, 0.82, 0.85])
    lines = fmt.markdown_table(O.results_table(res), digits=4,
                               right=tuple(O.FIGURES)).data.splitlines()
    row = [c.strip() for c in lines[2].strip("|").split("|")]
    assert row[-3:] == ["0.4000 (0.31793)", "90.0 (88)", "84.0 (83)"]
    assert lines[1].rstrip("|").endswith("--:")  # right-aligned, as numbers


def test_settings_without_counterpart_and_another_configuration():
    cfg = Config(epochs=3, settings=(Setting(0.01), Setting(0.02, 0.5)))
    res = _run(cfg, [0.88, 0.9])
    text = O.reference_sentence(res)
    assert "of the 1 settings both trained" in text
    assert "Model 2 has no counterpart there." in text
    assert "It also trained 4 settings" in text
    assert text.endswith("The training here differs from it in epochs, so the "
                         "comparison is only indicative.")
    t = O.results_table(res)
    assert t["validation accuracy (%)"].iloc[1] == "90.0"  # no counterpart
    # a diverged setting is listed but never compared
    res.settings[0].diverged = True
    assert "trained none, so there is nothing to compare" in O.reference_sentence(res)
    assert O.results_table(res).index[0] == f"Model{NBSP}1 (diverged)"


def test_another_task_has_nothing_to_compare():
    cfg = Config(classes=("airplane", "bird"), image_size=32,
                 sizes=(3072, 512, 2), settings=(Setting(0.01),), epochs=3)
    res = _run(cfg, [0.8])
    t = O.results_table(res)
    assert not t.map(lambda v: "(" in str(v)).values.any() and len(t) == 1
    assert O.reference_sentence(res) == (
        "Published results exist for car vs cat at 16x16 (layers 768-128-32-2) and "
        "for airplane vs bird at 32x32 (layers 3072-512-128-32-2); neither is the "
        "task here, so there is nothing to compare.")
    assert O.results_caption(res).endswith(
        "Neither published reference trained this task.")

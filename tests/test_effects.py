"""book.effects on hand-made records (no torch): answer (g)'s per-pair
effects, each weighed against chance, why the selected setting wins, the
effective step."""

from __future__ import annotations

import pytest

import records
from mlp_lab.book import effects as E
from mlp_lab.config import Config

S, C = records.setting, records.correct
EQ, LT = "\U0001d45d = ", "\U0001d45d < "  # the math italic p


@pytest.fixture
def five():
    """The default settings with a real render's validation accuracies, and
    per-image results (windows of right images on 1,000 validation images)
    that make the pairs: Model 1 -> 3, 60 images right only for Model 3 and
    43 only for Model 1; Model 2 -> 4, 50 and 15; Model 1 -> 2, 39 and 44;
    Model 3 -> 4, 29 and 16."""
    return records.results([
        S(0.01, 0, 0, 0.897, 0.888, val_correct=C(1000, 888, 89)),
        S(0.01, 0, 0.01, 0.894, 0.883, val_correct=C(1000, 883, 50)),
        S(0.01, 0.85, 0, 0.965, 0.905, val_correct=C(1000, 905, 29)),
        S(0.01, 0.85, 0.01, 0.977, 0.918, val_correct=C(1000, 918, 0)),
        S(0.05, 0.85, 0.01, 0.940, 0.895, val_correct=C(1000, 895, 100))],
        cfg=Config(),
        counts={"train": [4500, 4500], "val": [500, 500], "test": [1000, 1000]})


def test_each_pair_is_named_and_weighed_against_chance(five):
    assert E.effects(five, "momentum") == [(0, 2, pytest.approx(0.017)),
                                           (1, 3, pytest.approx(0.035))]
    assert E.effect_sentence(five, "momentum") == (
        "Between settings that differ in momentum alone, it raised the validation "
        "accuracy in both pairs: +1.7 percentage points from Model 1 to Model 3 "
        f"(60 images right only for Model 3, 43 only for Model 1; {EQ}0.11) and "
        f"+3.5 from Model 2 to Model 4 (50 against 15; {LT}0.001); only the "
        "change from Model 2 to Model 4 is beyond chance.")
    # an average (+0.4) would hide the -0.5 and the +1.3
    assert E.effect_sentence(five, "weight_decay") == (
        "Between settings that differ in weight decay alone, its effect on the "
        "validation accuracy changes sign: \u22120.5 percentage points from Model 1 "
        f"to Model 2 (39 images right only for Model 2, 44 only for Model 1; "
        f"{EQ}0.66) and +1.3 from Model 3 to Model 4 (29 against 16; {EQ}0.072); "
        "either change may be chance, so no effect of weight decay can be "
        "claimed.")
    assert E.effect_sentence(five, "lr") == (
        "No two settings differ in the learning rate alone, so its effect is not "
        "shown.")  # Model 5 differs from Model 4 in lr, but lr is never 0


def test_one_pair_that_lowers_beyond_chance():
    res = records.results([S(val_acc=0.9), S(momentum=0.9, val_acc=0.5)])
    assert E.effect_sentence(res, "momentum") == (
        "Between settings that differ in momentum alone, it lowered the validation "
        "accuracy in the one pair: \u221240.0 percentage points from Model 1 to "
        f"Model 2 (0 images right only for Model 2, 40 only for Model 1; {LT}0.001); "
        "the change is beyond chance.")


def test_without_per_image_results_no_verdict_is_given():
    res = records.results([S(val_acc=0.9), S(momentum=0.9, val_acc=0.85)])
    res.settings[1].val_correct = []  # a record made before they were kept
    assert E.effect_sentence(res, "momentum") == (
        "Between settings that differ in momentum alone, it lowered the validation "
        "accuracy in the one pair: \u22125.0 percentage points from Model 1 to "
        "Model 2.")


def test_why_the_selected_setting_wins(five):
    assert E.why_selected_sentence(five) == (
        "Model 4 has the highest validation accuracy, 91.8%, 1.3 percentage points "
        "above Model 3; it uses momentum, which raised the validation accuracy in "
        "both pairs that isolate it (beyond chance in one).")
    none = records.results([records.diverged()])
    assert E.why_selected_sentence(none) == (
        "Every setting diverged, so none was selected.")


def test_effective_step_and_its_phrase(five):
    assert E.effective_step(0.05, 0.85) == pytest.approx(1 / 3)
    assert E.steps_phrase(five, 4) == (
        "0.333 for Model 5, against 0.0667 for Models 3 and 4 and 0.01 for Models "
        "1 and 2")
    assert E.models([2]) == "Model 3" and E.models([0, 1, 4]) == "Models 1, 2 and 5"


def test_pairs_differ_in_one_factor_only():
    res = records.results([S(0.01, 0, 0), S(0.05, 0.9, 0), S(0.01, 0.9, 0.01),
                           S(0.05, 0, 0), records.diverged(lr=0.01)])
    res.settings[4].momentum = 0.9
    # (0, 1): lr differs too; (0, 2): decay differs too; the diverged one never
    assert E.pairs_differing_only_in(res, "momentum") == [(3, 1)]
    assert E.pairs_differing_only_in(res, "weight_decay") == []
    assert E.varies(res, "lr") and E.varies(res, "weight_decay")

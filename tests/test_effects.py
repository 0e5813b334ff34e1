"""book.effects on hand-made records (no torch): answer (g)'s per-pair
effects, the standard error of a validation accuracy and its rule, why the
selected setting wins, the effective step."""

from __future__ import annotations

import math

import pytest

import records
from mlp_lab.book import effects as E
from mlp_lab.config import Config

S = records.setting


@pytest.fixture
def five():
    """The default settings with a real render's validation accuracies: weight
    decay lowers one pair (Model 1 -> 2) and raises the other (3 -> 4)."""
    return records.results([
        S(0.01, 0, 0, 0.897, 0.888), S(0.01, 0, 0.01, 0.894, 0.883),
        S(0.01, 0.85, 0, 0.965, 0.905), S(0.01, 0.85, 0.01, 0.977, 0.918),
        S(0.05, 0.85, 0.01, 0.940, 0.895)], cfg=Config(),
        counts={"train": [4500, 4500], "val": [500, 500], "test": [1000, 1000]})


def test_each_pair_is_named_and_a_sign_change_is_said(five):
    assert E.effects(five, "momentum") == [(0, 2, pytest.approx(0.017)),
                                           (1, 3, pytest.approx(0.035))]
    assert E.effect_sentence(five, "momentum") == (
        "Between settings that differ in momentum alone, it raised the validation "
        "accuracy in all 2 pairs (+1.7 points from Model 1 to Model 3; +3.5 points "
        "from Model 2 to Model 4).")
    # an average (+0.4) would hide the -0.5 and the +1.3
    assert E.effect_sentence(five, "weight_decay") == (
        "Between settings that differ in weight decay alone, its effect on the "
        "validation accuracy changes sign (-0.5 points from Model 1 to Model 2; "
        "+1.3 points from Model 3 to Model 4): it depends on the other factors, "
        "and no single direction can be claimed.")
    assert E.effect_sentence(five, "lr") == (
        "No two settings differ in the learning rate alone, so its effect is not "
        "shown.")  # Model 5 differs from Model 4 in lr, but lr is never 0


def test_one_pair_that_lowers():
    res = records.results([S(val_acc=0.9), S(momentum=0.9, val_acc=0.85)])
    assert E.effect_sentence(res, "momentum") == (
        "Between settings that differ in momentum alone, it lowered the validation "
        "accuracy in the one pair (-5.0 points from Model 1 to Model 2).")


def test_standard_error_is_the_binomial_one():
    assert E.standard_error(0.918, 1000) == pytest.approx(
        math.sqrt(0.918 * 0.082 / 1000))
    assert E.standard_error(0.5, 100) == pytest.approx(0.05)
    assert math.isnan(E.standard_error(0.5, 0))


def test_the_two_best_are_within_the_noise_of_1000_images(five):
    # 91.8 vs 90.5: a 1.3-point lead; 2 SE of a difference is about 2.5 points
    assert E.ranked(five)[:2] == [3, 2] and E.separable(five) is False
    assert E.noise_sentence(five) == (
        "On 1000 validation images, an accuracy near 91.8% has a standard error "
        "of 0.9 points (sqrt(p(1 - p)/n)); Model 4 leads Model 3 by 1.3 points, "
        "within 2 standard errors of a difference (2.5 points): this validation "
        "split cannot tell the two apart, and either would be a fair choice.")


def test_a_clear_lead_is_called_one(five):
    five.settings[3].val_acc = 0.96
    assert E.separable(five) is True
    assert E.noise_sentence(five).endswith(
        "more than 2 standard errors of a difference (2.2 points), so the lead is "
        "unlikely to be chance.")
    single = records.results([S(), records.diverged()])
    assert E.separable(single) is None
    assert E.noise_sentence(single).startswith("Fewer than two settings")


def test_why_the_selected_setting_wins(five):
    assert E.why_selected_sentence(five) == (
        "Model 4 was selected because its validation accuracy, 91.8%, is the "
        "highest, 1.3 points above Model 3; it has momentum, which raised the "
        "validation accuracy in every pair that isolates it.")
    none = records.results([records.diverged()])
    assert E.why_selected_sentence(none) == (
        "No setting converged, so none was selected.")


def test_effective_step_and_its_sentence(five):
    assert E.effective_step(0.05, 0.85) == pytest.approx(1 / 3)
    assert E.steps_sentence(five, 4) == (
        "its effective step lr/(1 - momentum) is 0.333, against 0.0667 for "
        "Model 3 and Model 4, 0.01 for Model 1 and Model 2")


def test_pairs_differ_in_one_factor_only():
    res = records.results([S(0.01, 0, 0), S(0.05, 0.9, 0), S(0.01, 0.9, 0.01),
                           S(0.05, 0, 0), records.diverged(lr=0.01)])
    res.settings[4].momentum = 0.9
    # (0, 1): lr differs too; (0, 2): decay differs too; the diverged one never
    assert E.pairs_differing_only_in(res, "momentum") == [(3, 1)]
    assert E.pairs_differing_only_in(res, "weight_decay") == []
    assert E.varies(res, "lr") and E.varies(res, "weight_decay")

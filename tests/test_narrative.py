"""The narrative's and the comments' decisions on hand-made results records
(no data, no torch): each branch of each sentence the book states."""

from __future__ import annotations

import pytest

import records
from mlp_lab.book import comments as G, narrative as N
from mlp_lab.config import Config

S = records.setting
# Model 5's training loss of a real render (car vs cat, defaults, JPEG copy):
# it rises again in epochs 18-20 and 26-28 and ends above its lowest value.
MODEL_5 = [0.5087, 0.3307, 0.2738, 0.2409, 0.2247, 0.2125, 0.1981, 0.1882, 0.1776,
           0.1823, 0.1732, 0.1713, 0.1625, 0.1561, 0.1503, 0.1429, 0.1372, 0.1379,
           0.1528, 0.1734, 0.1607, 0.1575, 0.1409, 0.1305, 0.1246, 0.1304, 0.1427,
           0.1617, 0.1538, 0.1339]


def falling(start: float, end: float, epochs: int = 30) -> list[float]:
    return records.curve(start, end, epochs)


@pytest.fixture
def five():
    """The five default settings with outcomes like a real render's."""
    return records.results([
        S(0.01, 0, 0, 0.89656, 0.888, falling(0.68, 0.264)),
        S(0.01, 0, 0.01, 0.89367, 0.883, falling(0.68, 0.2735)),
        S(0.01, 0.85, 0, 0.96544, 0.905, falling(0.63, 0.0584)),
        S(0.01, 0.85, 0.01, 0.97678, 0.918, falling(0.63, 0.0841)),
        S(0.05, 0.85, 0.01, 0.94033, 0.895, MODEL_5)],
        confusion=((919, 81), (86, 914)), test_acc=0.9165, cfg=Config())


def test_findings_name_the_settings_the_prose_talks_about(five):
    f = N.findings(five)
    assert f.n_diverged == 0 and f.lowest_loss == 2   # 0.0584
    assert f.largest_gap == 2 and f.gap[2] == pytest.approx(0.96544 - 0.905)
    assert f.noisiest == 4                             # its loss goes up and down
    assert f.rises == {4: [18, 19, 20, 26, 27, 28]}    # the others fall throughout
    # Model 5 differs in lr as well: it is in no pair
    assert f.momentum_pairs == [(0, 2), (1, 3)]
    assert f.decay_pairs == [(0, 1), (2, 3)]


@pytest.mark.parametrize("losses, start, epochs", [
    (MODEL_5, 0.5, [18, 19, 20, 26, 27, 28]),
    (MODEL_5, 0.0, [10, 18, 19, 20, 26, 27, 28]),   # epoch 10 is in the first half
    ([0.7, 0.5, 0.4, 0.3], 0.5, []), ([0.7, 0.5], 0.5, [])])
def test_late_rises(losses, start, epochs):
    assert N.late_rises(losses, start) == epochs


@pytest.mark.parametrize("epochs, words", [
    ([18, 19, 20, 26, 27, 28], "epochs 18\u201320 and 26\u201328"),
    ([7], "epoch 7"), ([3, 9, 10], "epochs 3 and 9\u201310"),
    ([2, 4, 6], "epochs 2, 4 and 6")])
def test_epoch_ranges(epochs, words):
    assert N.epoch_ranges(epochs) == words


def test_sentences_of_a_normal_render(five):
    f = N.findings(five)
    assert N.best_sentence(five) == (
        "The best setting by validation accuracy was Model 4 (learning rate 0.01, "
        "momentum 0.85, weight decay 0.01): 91.80% validation and 91.65% test "
        "accuracy.")  # 0.9165: not "91.6%", the float 91.65 rounded down
    assert N.selected_model(five) == "the selected model, Model 4"
    assert N.selection_sentence(five) == (
        "Validation accuracy selected Model 4: 97.7% training, 91.8% validation "
        "and 91.65% test accuracy (1,833 of the 2,000 test images right).")
    # final losses to the decimals of the results table (the original report's)
    assert N.lowest_loss_sentence(five, f) == "the lowest is that of Model 3, 0.058"
    assert N.divergence_sentence(five) == (
        "No setting diverged: no training loss became NaN or infinite.")
    assert G.momentum_step_sentence(five) == (
        "At learning rate 0.01, the momentum used here, 0.85, makes the effective "
        "step 0.0667, against 0.01 without momentum.")


def test_gaps_under_momentum_and_weight_decay(five):
    f = N.findings(five)
    assert G.momentum_gap_sentence(five, f) == (
        "It also widened the gap between training and validation accuracy in both "
        "pairs, from 0.9 to 6.0 and from 1.1 to 5.9 percentage points.")
    # weight decay moved the gap by 0.2 and 0.1 points: it did not regularize
    assert G.decay_gap_sentence(five, f) == (
        "It barely changed the gap between training and validation accuracy (from "
        "0.9 to 1.1 and from 6.0 to 5.9 percentage points): at this strength and "
        "within these epochs, the smaller overfitting that (e) leads one to expect "
        "does not show.")
    five.settings[1].train_acc = 0.8  # now decay narrows both gaps
    five.settings[3].train_acc = 0.93
    f = N.findings(five)
    assert G.decay_gap_sentence(five, f).startswith(
        "It narrowed the gap between training and validation accuracy, from 0.9 "
        "to \u22128.3 and from 6.0 to 1.2 percentage points")
    five.settings[3].train_acc = 0.999  # widens one: not "barely" (2.1 points)
    assert G.decay_gap_sentence(five, N.findings(five)).startswith(
        "It did not narrow the gap")


def test_accuracy_and_loss_that_disagree_are_discussed(five):
    """Model 4 fits more training images than Model 3 yet has the higher
    loss; Models 1 and 2 agree (higher accuracy, lower loss)."""
    f = N.findings(five)
    assert G.fit_disagreement_sentence(five, f) == (
        "Model 4 classifies more training images correctly than Model 3 (97.7% "
        "against 96.5%) yet ends with the higher training loss (0.084 against "
        "0.058): the cross-entropy also penalizes right answers given without "
        "confidence, and smaller weights likely make the predictions less "
        "confident.")
    five.settings[3].train_acc = 0.96
    assert G.fit_disagreement_sentence(five, N.findings(five)) == ""


def test_stability_and_the_effective_step(five):
    f = N.findings(five)
    assert G.stability_sentence(five, f) == (
        "In the second half of training, the training loss of Model 5 rose again "
        "in epochs 18\u201320 and "
        "26\u201328 and ended at 0.134, above its lowest value, 0.125 (epoch "
        "25): its training is unstable. Its curve is also the roughest of the "
        "five.")
    assert G.steps_sentence(five, f) == (
        "0.333 for Model 5, against 0.0667 for Models 3 and 4 and 0.01 for Models "
        "1 and 2: the roughest curve has the largest step, which overshoots most.")
    calm = records.results([S(losses=falling(0.7, 0.3)),
                            S(momentum=0.9, losses=falling(0.7, 0.1))])
    f = N.findings(calm)
    assert G.stability_sentence(calm, f).startswith(
        "Every training loss fell at every epoch of the second half of training.")


def test_asymmetric_errors_are_read_rows_true_columns_predicted():
    """Row 0 is the true car images: 5 of 100 taken for cat; row 1 the true
    cats: 40 of 100 taken for car. A transposed reading swaps the two."""
    res = records.results(confusion=((95, 5), (40, 60)))
    assert N.confusion_sentence(res) == (
        "Of the 100 car test images, five were taken for cat (5.0%), and of the "
        "100 cat images, 40 for car (40.0%): the errors are asymmetric: one class "
        "is mistaken noticeably more often than the other.")
    # precision: of the 135 predicted car, 95 are; recall: 95 of the 100 cars
    assert N.precision_recall(res.best.confusion) == [
        (pytest.approx(95 / 135), 0.95), (pytest.approx(60 / 65), 0.6)]
    assert N.precision_recall_sentence(res) == (
        "For car, precision (the share of images predicted as car that are car) "
        "is 70.4% and recall (the share of car images found) 95.0%; for cat, "
        "92.3% and 60.0%.")


@pytest.mark.parametrize("rates, word", [((0.08, 0.086), "about symmetric"),
                                         ((0.0, 0.0), "absent in both"),
                                         ((0.05, 0.4), "asymmetric")])
def test_symmetry(rates, word):
    assert N.symmetry(rates).startswith(word)


def test_diverged_settings_are_named_and_skipped():
    res = records.results([S(val_acc=0.8), records.diverged(lr=10.0, epoch=2),
                           S(momentum=0.9, val_acc=0.85)])
    f = N.findings(res)
    assert f.n_diverged == 1 and 1 not in f.gap and res.best.index == 2
    assert N.divergence_sentence(res) == (
        "Model 2 (learning rate 10, momentum 0, weight decay 0) diverged (its "
        "training loss became NaN in epoch 2 of 3) and was excluded from model "
        "selection.")
    # equal curves: the first is the roughest; its step 0.01 is not the
    # largest (0.01 / (1 - 0.9) = 0.1), and the diverged lr 10 is not counted
    assert G.steps_sentence(res, f) == (
        "0.01 for Model 1, against 0.1 for Model 3: the largest step did not make "
        "the roughest curve here.")


def test_everything_diverged():
    res = records.results([records.diverged(), records.diverged(lr=20.0)])
    f = N.findings(res)
    assert res.best is None and f.lowest_loss is None and f.largest_gap is None
    assert N.best_sentence(res) == "Every setting diverged, so no model was selected."
    assert N.selection_sentence(res).startswith("Every setting diverged")
    assert N.selected_model(res).startswith("no model: every setting diverged")
    assert N.lowest_loss_sentence(res, f).startswith("every setting diverged")
    assert N.confusion_sentence(res).startswith("No model was selected")
    assert N.precision_recall_sentence(res).startswith("No model was selected")
    assert G.stability_sentence(res, f) == "Every setting diverged."
    assert G.steps_sentence(res, f).startswith("not defined")
    assert N.describe(None, res) == "no model"
    assert "converged" not in " ".join([N.best_sentence(res),
                                        N.selection_sentence(res)])


def test_no_momentum_pair_and_no_decay_pair():
    res = records.results([S(momentum=0.9), S(lr=0.05, momentum=0.9,
                                              weight_decay=0.01)])
    f = N.findings(res)
    assert f.momentum_pairs == [] and f.decay_pairs == []
    assert G.momentum_gap_sentence(res, f) == ""
    assert G.decay_gap_sentence(res, f) == ""
    assert G.fit_disagreement_sentence(res, f) == ""
    plain = records.results([S(), S(lr=0.05)])
    assert G.momentum_step_sentence(plain) == "No setting here used momentum."


def test_the_largest_momentum_is_named_so_only_among_several():
    res = records.results([S(momentum=0.5), S(momentum=0.9)])
    assert G.momentum_step_sentence(res) == (
        "At learning rate 0.01, the largest momentum used here, 0.9, makes the "
        "effective step 0.1, against 0.01 without momentum.")


def test_the_manual_models_and_the_third_figure(five):
    assert N.manual_phrase(five) == ("the manual update's models, measured on "
                                     "their own, reach exactly the same accuracies")
    assert N.third_figure_phrase(five).endswith("equal at every epoch")
    five.settings[1].val_acc_manual = 0.7
    five.settings[1].train_loss_manual = [v + 1e-9 for v in
                                          five.settings[1].train_loss_sgd]
    five.settings[1].max_abs_diff_loss = 1e-9
    assert N.manual_phrase(five) == (
        "the manual update's models reach other accuracies in Model 2")
    assert N.third_figure_phrase(five).endswith("where the two trainers' losses "
                                                "differ")


def test_roughness_of_a_smooth_and_a_jumpy_curve():
    assert N.roughness([0.7, 0.5, 0.4, 0.35]) < N.roughness([0.7, 0.4, 0.6, 0.3])
    assert N.roughness([0.7, 0.5]) == 0.0


VARIANT = [(0.01, 0, 0), (0.01, 0, 0.01), (0.01, 0.9, 0), (0.01, 0.9, 0.01)]


@pytest.fixture
def variant():
    """The 2023 edition's four settings: one learning rate for all; the
    momentum settings' curves are the noisier ones."""
    return records.results([
        S(lr, mu, wd, train_acc=0.88 + 0.1 * mu, val_acc=0.83 + 0.01 * k,
          losses=(0.69, 0.45, 0.40, 0.32) if mu == 0 else (0.69, 0.2, 0.3, 0.08))
        for k, (lr, mu, wd) in enumerate(VARIANT)])


def test_a_factor_the_settings_share_is_never_named_as_a_cause(variant):
    """Answer (g) of the 2023 edition said the noisiest curve had "the largest
    learning rate (0.01)" although every setting used 0.01."""
    f = N.findings(variant)
    steps = G.steps_sentence(variant, f)
    assert "learning rate" not in steps  # the step lr/(1 - momentum) differs
    assert steps.startswith("0.1 for Model 3, against 0.1 for Model 4 and 0.01 for "
                            "Models 1 and 2")
    assert f.momentum_pairs == [(0, 2), (1, 3)] and f.decay_pairs == [(0, 1), (2, 3)]


@pytest.mark.parametrize("losses, falling", [
    ([0.7, 0.5, 0.4, 0.35, 0.31], True),          # still 11% down in its last epoch
    ([0.7, 0.3] + [0.2] * 18, False),              # levelled off
    ([0.7] + [0.2 * 0.999 ** e for e in range(29)], False),  # 0.3% in 3 epochs
    ([0.7], True)])                                # too short to tell
def test_still_falling(losses, falling):
    assert N.still_falling(losses) is falling


def test_few_epochs_are_named_only_while_the_loss_still_falls():
    flat = [0.7, 0.3] + [0.2] * 8
    falling = [0.7 * 0.9 ** e for e in range(10)]
    for curve, said in ((flat, False), (falling, True)):
        res = records.results([S(losses=curve), S(weight_decay=0.01, losses=curve)])
        text = G.still_falling_sentence(N.findings(res))
        assert ("still falling at the last epoch" in text) is said, text


def test_a_tied_largest_step_is_said_as_shared():
    """The 2023 edition's record: Models 3 and 4 share the largest effective
    step, 0.1; the roughest curve does not have "the largest step" alone."""
    rough = [0.7, 0.4, 0.5, 0.3, 0.45, 0.25]
    res = records.results([S(losses=falling(0.7, 0.3, 6)),
                           S(momentum=0.9, losses=rough),
                           S(momentum=0.9, weight_decay=0.01,
                             losses=falling(0.7, 0.2, 6))])
    said = G.steps_sentence(res, N.findings(res))
    assert said.startswith("0.1 for Model 2, against 0.1 for Model 3 and 0.01 for "
                           "Model 1")
    assert said.endswith(": the roughest curve shares the largest step with Model "
                         "3, so the step alone does not make it the roughest.")

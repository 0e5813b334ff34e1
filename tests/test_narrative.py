"""The narrative's decisions on hand-made results records (no data, no torch):
each branch of each sentence the book states."""

from __future__ import annotations

import pytest

import records
from mlp_lab.book import narrative as N
from mlp_lab.config import Config

S = records.setting


@pytest.fixture
def five():
    """The five default settings with outcomes like a real render's."""
    return records.results([
        S(0.01, 0, 0, 0.897, 0.888, (0.69, 0.40, 0.264)),
        S(0.01, 0, 0.01, 0.894, 0.883, (0.69, 0.41, 0.2735)),
        S(0.01, 0.85, 0, 0.965, 0.905, (0.60, 0.20, 0.0584)),
        S(0.01, 0.85, 0.01, 0.977, 0.918, (0.60, 0.22, 0.0841)),
        S(0.05, 0.85, 0.01, 0.940, 0.895, (0.60, 0.20, 0.45, 0.1339))],
        confusion=((919, 81), (86, 914)), test_acc=0.917, cfg=Config())


def test_findings_name_the_settings_the_prose_talks_about(five):
    f = N.findings(five)
    assert f.n_diverged == 0 and f.lowest_loss == 2   # 0.0584
    assert f.largest_gap == 2 and f.gap[2] == pytest.approx(0.965 - 0.905)
    assert f.noisiest == 4                             # its loss goes up and down
    # Model 5 differs in lr as well: it is in no pair
    assert f.momentum_pairs == [(0, 2), (1, 3)]
    assert f.momentum_gap_larger is True
    assert f.decay_pairs == [(0, 1), (2, 3)]


def test_sentences_of_a_normal_render(five):
    f = N.findings(five)
    assert N.best_sentence(five) == (
        "The best setting by validation accuracy was Model 4 (lr=0.01, "
        "momentum=0.85, weight_decay=0.01): 91.8% validation and 91.7% test "
        "accuracy.")
    assert N.selected_sentence(five) == "Validation accuracy selected Model 4."
    assert N.selected_model(five) == "the selected model, Model 4"
    assert N.lowest_loss_sentence(five, f) == (
        "the lowest is reached by Model 3 (lr=0.01, momentum=0.85, "
        "weight_decay=0), at 0.0584")
    assert N.test_vs_val_sentence(five) == (
        "The test accuracy is 0.1 points below the validation accuracy.")
    assert N.overfitting_sentence(five, f).endswith(
        "so it overfits more than the same setting without.")
    assert "Model 3 (lr=0.01, momentum=0.85, weight_decay=0) (6.0 points)" in \
        N.overfitting_sentence(five, f)
    assert N.noise_sentence(f, five) == (
        "The roughest loss curve is that of Model 5 (lr=0.05, momentum=0.85, "
        "weight_decay=0.01); its effective step lr/(1 - momentum) is 0.333, "
        "against 0.0667 for Model 3 and Model 4, 0.01 for Model 1 and Model 2: "
        "the largest step overshoots most, which shows as a rougher descent.")
    assert N.drift_sentence(five) == (
        "Trained the same way, the textbook update p - lr*g ends with parameters "
        "up to 4.4e-16 away from torch.optim.SGD's (nonzero in 5 of 5 settings): "
        "close, but not the same model.")
    assert N.momentum_step_sentence(five) == (
        "For the largest momentum used here, 0.85, that is 6.7 times the plain step.")
    assert N.divergence_sentence(five).startswith("Every setting converged")


def test_equal_trainers(five):
    assert N.agreement_sentence(five) == (
        "The two trainers agreed exactly in 5 of 5 settings (largest difference in "
        "any loss or parameter: 0).")
    assert N.equality_sentence(five).endswith("in 5 of 5 settings.")
    assert N.accuracy_bars_note(five) == (
        "the hatched bars are measured on the manual update's model, and equal "
        "the torch.optim.SGD model's in 5 of 5 settings")
    assert N.curves_sentence(five) == "coincide everywhere"


def test_unequal_trainers():
    res = records.results([S(), S(diff=2e-7, val_acc=0.7)])
    assert N.agreement_sentence(res) == (
        "The two trainers agreed exactly in 1 of 2 settings (largest difference in "
        "any loss or parameter: 2e-07).")
    assert N.equality_sentence(res).endswith(
        "in 1 of 2 settings: the others differ, which means the manual update no "
        "longer follows the step of PyTorch.")
    res.settings[1].val_acc_manual = 0.71  # measured on the manual model
    assert N.accuracy_bars_note(res).endswith("in 1 of 2 settings")
    assert N.curves_sentence(res) == "do not coincide everywhere"


def test_asymmetric_errors_are_read_rows_true_columns_predicted():
    """Row 0 is the true car images: 5 of 100 taken for cat; row 1 the true
    cats: 40 of 100 taken for car. A transposed reading swaps the two."""
    res = records.results(confusion=((95, 5), (40, 60)))
    assert N.confusion_sentence(res) == (
        "5 test images of class car were taken for cat (5.0% of that class) and "
        "40 of class cat for car (40.0%): the errors are asymmetric: one class is "
        "mistaken noticeably more often than the other.")
    # rows of unequal size, and columns that sum otherwise (220, 80): each
    # rate is over its own row, the true images of that class
    unequal_rows = records.results(confusion=((190, 10), (30, 70)))
    assert N.confusion_sentence(unequal_rows).startswith(
        "10 test images of class car were taken for cat (5.0% of that class) and "
        "30 of class cat for car (30.0%)")


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
        "Model 2 (lr=10, momentum=0, weight_decay=0) diverged (its training loss "
        "became NaN in epoch 2 of 3, where its training stopped) and was excluded "
        "from model selection.")
    # equal curves: the first is the roughest; its step 0.01 is not the
    # largest (0.01 / (1 - 0.9) = 0.1), and the diverged lr 10 is not counted
    assert N.noise_sentence(f, res).endswith(
        "its effective step lr/(1 - momentum) is 0.01, against 0.1 for Model 3: "
        "the largest step did not make the roughest curve here.")


def test_everything_diverged():
    res = records.results([records.diverged(), records.diverged(lr=20.0)])
    f = N.findings(res)
    assert res.best is None and f.lowest_loss is None and f.largest_gap is None
    assert N.best_sentence(res).startswith("No setting converged")
    assert N.selected_sentence(res).startswith("No setting converged")
    assert N.selected_model(res).startswith("no model: every setting diverged")
    assert N.lowest_loss_sentence(res, f).startswith("no setting converged")
    assert N.test_vs_val_sentence(res) == "No model was selected, so none was tested."
    assert N.confusion_sentence(res).startswith("no model was selected")
    assert N.overfitting_sentence(res, f).startswith("No setting converged")
    assert N.noise_sentence(f, res) == "No setting converged."
    assert N.describe(None, res) == "no model"


def test_no_momentum_pair_and_no_decay_pair():
    res = records.results([S(momentum=0.9), S(lr=0.05, momentum=0.9,
                                              weight_decay=0.01)])
    f = N.findings(res)
    assert f.momentum_gap_larger is None
    assert f.decay_pairs == []
    assert N.overfitting_sentence(res, f).endswith(
        "no pair of settings differs only in momentum.")
    plain = records.results([S(), S(lr=0.05)])
    assert N.momentum_step_sentence(plain) == "No setting here used momentum."


def test_momentum_that_narrows_the_gap():
    res = records.results([S(val_acc=0.90, train_acc=0.98),
                           S(momentum=0.9, val_acc=0.85, train_acc=0.85),
                           S(momentum=0.9, weight_decay=0.01, val_acc=0.88,
                             train_acc=0.89)])
    f = N.findings(res)
    assert N.overfitting_sentence(res, f).endswith(
        "momentum did not widen the gap between training and validation.")


def test_test_accuracy_above_or_equal_to_validation():
    above = records.results([S(val_acc=0.80)], test_acc=0.83)
    assert N.test_vs_val_sentence(above) == (
        "The test accuracy is 3.0 points above the validation accuracy.")
    equal = records.results([S(val_acc=0.80)], test_acc=0.80)
    assert N.test_vs_val_sentence(equal) == (
        "The test accuracy equals the validation accuracy.")


@pytest.mark.parametrize("counts, verdict", [
    ([450, 450], "balanced and accuracy is a fair summary"),
    ([600, 300], "imbalanced: read accuracy together with the confusion matrix")])
def test_balance_sentence(counts, verdict):
    res = records.results(counts={"train": counts, "val": [1, 1], "test": [1, 1]})
    assert N.balance_sentence(res).endswith(verdict + ".")


@pytest.mark.parametrize("value, word", [(2e-16, "far below"), (5e-4, "below"),
                                         (2e-3, "ABOVE")])
def test_compared_with_threshold(value, word):
    assert N.compared_with(value, 1e-3) == word


def test_roughness_of_a_smooth_and_a_jumpy_curve():
    assert N.roughness([0.7, 0.5, 0.4, 0.35]) < N.roughness([0.7, 0.4, 0.6, 0.3])
    assert N.roughness([0.7, 0.5]) == 0.0


def test_reproducibility_sentence_names_data_config_seeds_and_versions(five):
    text = N.reproducibility_sentence(five, "configs/x.toml")
    assert five.data.location == "/data/cifar10-jpg"  # printed by its name only
    for part in ("imagefolder images at \N{HORIZONTAL ELLIPSIS}/cifar10-jpg (1200 "
                 "files, content fingerprint abcd)", '"car vs cat, 16x16" (configs/x.toml)',
                 "split seed 42 and model seed 265", "in float64 on cpu",
                 "Python 3.11.7, PyTorch 2.14.1 and torchvision 0.29.1"):
        assert part in text, part


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
    noise = N.noise_sentence(f, variant)
    assert "learning rate" not in noise  # the step lr/(1 - momentum) differs
    assert noise.startswith("The roughest loss curve is that of Model 3 (lr=0.01, "
                            "momentum=0.9, weight_decay=0); its effective step "
                            "lr/(1 - momentum) is 0.1, against 0.1 for Model 4, "
                            "0.01 for Model 1 and Model 2")
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
        text = N.still_falling_sentence(N.findings(res))
        assert ("still falling at the last epoch" in text) is said, text

"""The report's short answers (book.answers): each sentence the numbers decide,
on records where its claim holds, fails, ties or has nothing to say, and on
the 2023 edition's real record (tests/data/record-2023.json: airplane vs
bird, 32x32, trained on the JPEG copy; per-image records kept, sample images
dropped)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from mlp_lab.book import answers as A, course
from mlp_lab.book.narrative import epoch_ranges
from mlp_lab.config import Config, Setting
from mlp_lab.results import Results
from records import correct, diverged, results, setting

RECORD_2023 = Path(__file__).parent / "data" / "record-2023.json"


@pytest.fixture(scope="module")
def edition_2023() -> Results:
    return Results.from_dict(json.loads(RECORD_2023.read_text()))


def four(val=(0.88, 0.883, 0.905, 0.918), losses=None, train=None) -> Results:
    """The default's first four settings (plain, decay, momentum, both), with
    validation accuracies val, loss curves losses and training accuracies
    train (each one per setting)."""
    kinds = [(0.0, 0.0), (0.0, 0.01), (0.85, 0.0), (0.85, 0.01)]
    losses = losses or [(0.7, 0.5, 0.4)] * 4
    train = train or [0.9] * 4
    return results([setting(momentum=m, weight_decay=w, val_acc=v, losses=l,
                            train_acc=t)
                    for (m, w), v, l, t in zip(kinds, val, losses, train)])


# ---------------------------------------------------------------- (f)

def test_the_selection_names_the_winner_and_the_diverged():
    res = results([setting(val_acc=0.9), diverged(), setting(lr=0.05, val_acc=0.87)])
    said = A.f_sentences(res)
    assert said.startswith("Model 2 (learning rate 10, momentum 0, weight decay 0) "
                           "diverged (its training loss became NaN in epoch 2 of 3)")
    assert "We selected the setting of highest validation accuracy, Model 1" in said
    assert ": 90.00%." in said and "above Model 3" not in said  # (g) weighs the lead
    assert "of the 100 car images it classifies 90 correctly and ten as cat" in said
    nothing = results([diverged(), diverged(lr=20.0)])
    assert "No model was selected or tested." in A.f_sentences(nothing)
    assert A.test_sentence(nothing) == ""


def test_the_results_table_prints_what_part_b_prints(edition_2023):
    table = A.results_table(four())
    assert list(table.columns) == [*A.SETTING_SYMBOLS, *A.RESULTS_FIGURES]
    assert list(table[A.SETTING_SYMBOLS[1]]) == ["0", "0", "0.85", "0.85"]
    assert list(table["validation (%)"]) == ["88.00", "88.30", "90.50", "91.80"]
    assert table.index[3] == "**Model\u00a04**"  # the selected one, in bold
    assert not (table == "").any().any()
    # the 2023 edition: the course's published figures in parentheses, and
    # the two settings it trained that this edition does not
    table = A.results_table(edition_2023)
    assert table.loc["Model\u00a01", "validation (%)"] == "84.10 (83)"
    assert table.loc["Model\u00a01", "final loss"].endswith("(0.31793)")
    assert list(table.index).count("course\u00a0only") == 2
    assert "In parentheses: the course's published output" in A.f_sentences(
        edition_2023)
    assert "In parentheses" not in A.f_sentences(four())


# ---------------------------------------------------------------- (g)

def test_the_winner_is_explained_by_its_neighbours_and_its_lead():
    said = A.why_sentence(four())
    assert said == ("Every setting that differs from Model 4 in one factor only "
                    "scores lower on the validation split (Model 3 without weight "
                    "decay 90.50%, Model 2 without momentum 88.30%); but its lead "
                    "over Model 3, 1.30 percentage points, is within twice the standard error "
                    "of a validation accuracy on these 100 images (2 \u00d7 2.74 points), so "
                    "it could be chance.")
    tied = A.why_sentence(four(val=(0.88, 0.883, 0.918, 0.918)))
    assert "differs from Model 3" in tied and "scores no higher" in tied
    lone = results([setting(val_acc=0.9), setting(lr=0.05, momentum=0.9, val_acc=0.8)])
    said = A.why_sentence(lone)
    assert "cannot say which of its choices made it win; its lead over Model 2" in said
    assert said.endswith("so it is unlikely to be chance.")
    assert A.why_sentence(results([setting()])).startswith("No other setting")


def test_the_lead_is_weighed_by_the_standard_error_of_an_accuracy():
    n = 100
    apart = results([setting(val_acc=0.95, val_correct=correct(n, 95)),
                     setting(momentum=0.9, val_acc=0.6, val_correct=correct(n, 60, 40))])
    assert A.lead_clause(apart) == (
        "its lead over Model 2, 35.00 percentage points, is more than twice the standard "
        "error of a validation accuracy on these 100 images (2 \u00d7 2.18 points), so it "
        "is unlikely to be chance")
    assert A.lead_clause(results([setting()])) == ""


def test_a_factor_is_read_in_the_pairs_that_isolate_it():
    both_up = A.factor_sentence(four(), "momentum")
    assert both_up == (  # 100 images: twice the standard error is 5.5 points
        "Momentum moved the validation accuracy only within the noise in both "
        "pairs of settings that differ in momentum alone: from 88.00% to 90.50% "
        "(Model 1 to Model 3) and from 88.30% to 91.80% (Model 2 to Model 4).")
    up = A.factor_sentence(four(val=(0.80, 0.883, 0.905, 0.918)), "momentum")
    assert up.startswith("The validation accuracy was higher with momentum in both "
                         "pairs")  # a rise within the noise is not called an effect
    assert "(Model 2 to Model 4, within the noise)." in up  # only the small one
    small = A.factor_sentence(four(val=(0.88, 0.87, 0.905, 0.918)), "weight_decay")
    assert small.startswith("Weight decay moved the validation accuracy only within "
                            "the noise in both pairs")
    mixed = A.factor_sentence(four(val=(0.88, 0.80, 0.805, 0.918)), "weight_decay")
    assert mixed.startswith("Weight decay had no consistent effect on the "
                            "validation accuracy")  # -8 and +11.3 points: both real
    assert "it went from 88.00% to 80.00% (Model 1 to Model 2) and" in mixed
    clear = A.factor_sentence(four(val=(0.80, 0.81, 0.905, 0.918)), "momentum")
    assert "from 80.00% to 90.50% (Model 1 to Model 3) and" in clear  # 10.5 > 5.5
    down = A.factor_sentence(four(val=(0.88, 0.80, 0.905, 0.82)), "weight_decay")
    assert down.startswith("Weight decay lowered the validation accuracy in both")
    same = A.factor_sentence(four(val=(0.88, 0.88, 0.9, 0.9)), "weight_decay")
    assert same.startswith("Weight decay left unchanged the validation accuracy")
    assert A.factor_sentence(results([setting(), setting(lr=0.05)]), "momentum") == ""


def test_momentum_and_the_gap_between_training_and_validation():
    """The default's record: momentum's models fit the training data more
    closely, and the selected one is among them."""
    wide = four(train=(0.8966, 0.8937, 0.9654, 0.9768))
    assert A.overfit_sentence(wide) == (
        "Momentum widened the gap between training and validation accuracy: 6.04 "
        "and 5.88 percentage points with it (Models 3 and 4) against 1.66 and 1.07 without "
        "(Models 1 and 2): the momentum models fit their training data more "
        "closely.")
    mixed = four(train=(0.95, 0.89, 0.92, 0.93))
    assert A.overfit_sentence(mixed).startswith(
        "Momentum did not move one way the gap")
    assert A.overfit_sentence(results([setting(), setting(lr=0.05)])) == ""


def test_a_higher_accuracy_with_a_higher_loss_is_explained():
    """The default's Models 3 and 4: weight decay gives more right answers and
    the higher final loss."""
    res = four(losses=[(0.7, 0.26403)] * 2 + [(0.7, 0.05835), (0.7, 0.08406)],
               train=(0.8966, 0.8937, 0.9654, 0.9768))
    assert A.loss_accuracy_sentence(res) == (
        "Model 4 classifies more training images correctly than Model 3 (97.68% "
        "against 96.54%) yet ends with the higher final loss (0.08406 against "
        "0.05835): the cross-entropy also penalizes right answers given without "
        "confidence, and weight decay, which keeps the weights of Model 4 "
        "smaller, likely makes its predictions less confident.")
    agree = four(losses=[(0.7, 0.3)] * 2 + [(0.7, 0.09), (0.7, 0.08)],
                 train=(0.8966, 0.8937, 0.9654, 0.9768))
    assert A.loss_accuracy_sentence(agree) == ""


@pytest.mark.parametrize("fp, fn, said", [
    (81, 86, "The errors fall about evenly on the two classes (81 against 86), so "
             "the model favours neither."),
    (30, 10, "Most of its errors are car images taken for cat."),
    (10, 30, "Most of its errors are cat images taken for car."),
    (0, 0, "It makes no error.")])
def test_the_test_errors_are_read_off_the_confusion_matrix(fp, fn, said):
    assert A.errors_sentence(fp, fn, "car", "cat") == said


def test_every_rise_of_a_loss_is_named():
    """The 2023 record's Model 3 rose in epochs 13 and 14 too (the first
    report named only the second half's)."""
    assert A.rises([1.0, 0.9, 0.95, 0.8, 0.85, 0.86]) == [3, 5, 6]
    assert epoch_ranges([13, 14, 16, 17, 19, 21, 29]) == (
        "epochs 13\u201314, 16\u201317, 19, 21 and 29")
    assert epoch_ranges([7]) == "epoch 7"


def test_the_unstable_training_and_its_step(edition_2023):
    calm = four()
    assert A.stability_sentence(calm).startswith("Every training loss fell")
    rough = four(losses=[(0.7, 0.5, 0.4)] * 3 + [(0.7, 0.4, 0.45)])
    said = A.stability_sentence(rough)
    assert said.startswith("The training loss rose again in epoch 3 for Model 4")
    assert ("its effective step $\\eta/(1-\\mu)$, 0.0667, is the largest "
            "here, shared with settings whose loss kept falling") in said
    slow = four(losses=[(0.7, 0.5, 0.55)] + [(0.7, 0.5, 0.4)] * 3)
    assert "is not the largest here" in A.stability_sentence(slow)
    # the 2023 edition: Models 3 and 4 rose, and share the largest step
    said = A.stability_sentence(edition_2023)
    assert "epochs 13\u201314, 16\u201317, 19, 21 and 29 for Model 3" in said
    assert ("their effective step $\\eta/(1-\\mu)$, 0.1, is the largest "
            "here, against 0.01 for Models 1 and 2") in said


def test_weight_decay_against_the_theory():
    narrowed = results([setting(train_acc=0.95, val_acc=0.88),
                        setting(weight_decay=0.01, train_acc=0.92, val_acc=0.9)])
    assert A.gap_sentence(narrowed).startswith("As regularization leads one to "
                                               "expect, weight decay narrowed")
    widened = results([setting(train_acc=0.9, val_acc=0.89),
                       setting(weight_decay=0.01, train_acc=0.99, val_acc=0.88)])
    said = A.gap_sentence(widened)
    assert "here it widened the gap (from 1.00 to 11.00 percentage points)" in said
    assert said.endswith("beyond the noise of the validation split, which these "
                         "runs alone cannot explain.")
    mixed = A.gap_sentence(results([
        setting(train_acc=0.90, val_acc=0.89),
        setting(weight_decay=0.01, train_acc=0.905, val_acc=0.89),
        setting(momentum=0.9, train_acc=0.96, val_acc=0.90),
        setting(momentum=0.9, weight_decay=0.01, train_acc=0.955, val_acc=0.90)]))
    assert ("here it narrowed the gap in one pair (from 6.00 to 5.50 percentage "
            "points) and widened it in the other (from 1.00 to 1.50 percentage "
            "points)") in mixed
    assert mixed.endswith("changes within twice the standard error of a validation "
                          "accuracy (2 \u00d7 3.00 points), so at $\\lambda = 0.01$ its "
                          "effect on the gap cannot be seen.")
    assert A.gap_sentence(results([setting(), setting(momentum=0.9)])) == ""


def test_the_course_output_is_the_only_reference_and_only_for_its_edition(
        edition_2023):
    said = A.reference_sentence(edition_2023)
    assert said.startswith("Against the course's published output of its own "
                           "solution, our validation accuracies differ by at most ")
    assert "lossy JPEG copy" in said
    assert A.reference_sentence(four()) == ""  # the default: nothing to compare
    assert not any("original report" in s for s in A.g_sentences(four()))


@pytest.mark.parametrize("which", ["default", "2023", "one setting", "all diverged"])
def test_g_holds_at_most_eight_sentences_each_with_a_number(which, edition_2023):
    res = {"default": four(), "2023": edition_2023,
           "one setting": results([setting()]),
           "all diverged": results([diverged(), diverged(lr=20.0)])}[which]
    said = A.g_sentences(res)
    sentences = [s for item in said for s in re.split(r"(?<=[.!?])\s+(?=[A-Z])", item)]
    assert len(sentences) <= 8
    assert all(re.search(r"\d", s) for s in sentences), sentences
    assert all(s.strip() for s in said)


def test_the_courses_tests_are_said_as_they_went():
    assert course.sentence({}) == ""
    assert course.sentence({"mnist": "passed", "toy": "passed"}).endswith(
        "passed all four of its checks on the toy network and on MNIST.")
    said = course.sentence({"toy": "passed", "mnist": "not run"})
    assert "passed all four of its checks on the toy network; it could not run, " \
           "its data not downloaded, on MNIST." in said
    assert course.verdict("...\n4 / 4: ALL TEST PASSED\n") == "passed"
    assert course.verdict("3 / 4: SOME TESTS FAILED") == "failed"
    assert course.verdict("", "RuntimeError: Error downloading t10k") == "not run"
    assert course.verdict("Not run: the course's file is not here.") == "not run"
    absent = course.sentence(dict.fromkeys(course.MODES, course.ABSENT))
    assert absent.endswith("`main_test` in `tests_backpropagation.py`, was not run "
                           "here: that file was not beside Part A.")


def test_the_settings_are_said_by_the_values_each_factor_took():
    assert A.settings_sentence(four()) == (
        "We trained four settings: at learning rate 0.01, every combination of "
        "momentum 0 or 0.85 and weight decay 0 or 0.01 (Models 1 to 4).")
    five = results([*(setting(momentum=m, weight_decay=w) for m, w in
                      ((0, 0), (0, 0.01), (0.85, 0), (0.85, 0.01))),
                    setting(lr=0.05, momentum=0.85, weight_decay=0.01)])
    assert A.settings_sentence(five).endswith(
        "(Models 1 to 4); at learning rate 0.05, momentum 0.85 and weight decay "
        "0.01 (Model 5).")
    partial = results([setting(), setting(momentum=0.9, weight_decay=0.01)])
    assert A.settings_sentence(partial).endswith(
        "at learning rate 0.01, momentum 0 and weight decay 0 (Model 1); momentum "
        "0.9 and weight decay 0.01 (Model 2).")


def test_a_record_of_the_2023_config_is_read_as_the_2023_edition(edition_2023):
    cfg = edition_2023.config
    assert cfg.classes == ("airplane", "bird") and cfg.image_size == 32
    assert cfg.settings == Config(settings=cfg.settings).settings
    assert Setting(0.01, 0.9, 0.0) in cfg.settings

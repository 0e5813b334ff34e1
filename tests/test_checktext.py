"""book.checktext: the sentences on the backpropagation checks, the exact
equality of the two trainers and the textbook update's drift, on hand-made
records and check tables (no torch)."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

import records
from mlp_lab.book import checktext as CT

S = records.setting


def test_equal_trainers():
    res = records.results([S(), S(momentum=0.9, val_acc=0.9)])
    assert CT.agreement_sentence(res) == (
        "In every setting the two trainers gave the same loss at every epoch and "
        "the same final weights, to the last bit.")
    assert CT.equality_sentence(res).startswith("Every setting passes")
    assert CT.accuracy_bars_note(res) == (
        "the hatched bars are measured on the manual update's model, and equal "
        "the solid bars in every setting")
    assert CT.curves_sentence(res) == "coincide everywhere"


def test_unequal_trainers():
    res = records.results([S(), S(diff=2e-7, val_acc=0.7)])
    assert CT.agreement_sentence(res) == (
        "The two trainers gave the same losses and weights, to the last bit, in "
        "one of the two settings; elsewhere they differ by up to 2.0\u00d7"
        "10\u207b\u2077.")
    assert CT.equality_sentence(res) == (
        "One of the two settings passes; in the others the manual update no longer "
        "follows the optimizer's step.")
    res.settings[1].val_acc_manual = 0.71  # measured on the manual model
    assert CT.accuracy_bars_note(res).endswith("in one of the two settings")
    assert CT.curves_sentence(res) == "do not coincide everywhere"


def test_the_textbook_drift_is_measured_not_assumed():
    """The drift of one setting's training (drift.textbook_drift), named."""
    from mlp_lab.drift import Drift

    res = records.results([S(), S(momentum=0.9, weight_decay=0.01)])
    assert CT.drift_sentence(res, Drift(1, 4.4e-16)) == (
        "Trained once more on Model 2 (learning rate 0.01, momentum 0.9, weight "
        "decay 0.01) with the textbook update, which rounds differently, it ends "
        "4.4\u00d710\u207b\u00b9\u2076 away from the optimizer's parameters: "
        "close, but not the same model.")
    assert "happened to end at the optimizer's" in CT.drift_sentence(res, Drift(1, 0.0))
    gone = records.results([S(), records.diverged()])
    assert "diverged, so the textbook update was not compared" in CT.drift_sentence(
        gone, Drift(1, 0.0))


def test_the_device_is_named_in_words_and_a_gpu_is_never_claimed():
    res = records.results([S()])
    env = dataclasses.replace(res.env,
                              device_name="Intel(R) Xeon(R) Processor, 2 cores")
    assert CT.device_words(env) == "a CPU (Intel Xeon Processor, 2 cores)"
    assert CT.tested_on_sentence(dataclasses.replace(res, env=env)) == (
        "The test ran on a CPU (Intel Xeon Processor, 2 cores), not on a GPU.")
    gpu = dataclasses.replace(res.env, device="cuda", device_name="NVIDIA H200")
    assert CT.tested_on_sentence(dataclasses.replace(res, env=gpu)) == (
        "The test ran on a GPU (NVIDIA H200).")


@pytest.mark.parametrize("value, word", [(2e-16, "far below"), (5e-4, "below"),
                                         (2e-3, "ABOVE")])
def test_compared_with_threshold(value, word):
    assert CT.compared_with(value, 1e-3) == word


@pytest.fixture
def checks():
    """A table of the four checks as gradcheck.four_checks_table gives it:
    every ReLU row's error against finite differences is the smaller."""
    rows = [("2-3-2", "tanh", 1, 2.1e-16, 8.1e-10),
            ("2-3-2", "tanh", 32, 9.5e-17, 1.0e-9),
            ("2-3-2", "relu", 1, 0.0, 5.3e-12),
            ("2-3-2", "relu", 32, 0.0, 2.3e-10),
            ("768-128-32-2", "tanh", 1, 2.5e-16, 9.6e-8),
            ("768-128-32-2", "tanh", 32, 2.1e-16, 1.1e-6),
            ("768-128-32-2", "relu", 1, 0.0, 8.8e-9),
            ("768-128-32-2", "relu", 32, 0.0, 1.3e-8)]
    df = pd.DataFrame(rows, columns=["net", "activation", "batch", "vs autograd",
                                     "vs finite diff."])
    df["SGD step changed weights"] = True
    df["leaves requiring grad"] = True
    return df


def test_the_errors_against_each_reference_are_weighed(checks):
    assert CT.autograd_sentence(checks["vs autograd"].max()) == (
        "Against autograd the worst relative error is 2.5\u00d710\u207b\u00b9"
        "\u2076, far below the course's threshold of 10\u207b\u00b3.")
    assert CT.activation_sentence(checks) == (
        "With ReLU the error against finite differences is the smaller in every "
        "network and batch.")
    checks.loc[7, "vs finite diff."] = 2e-6  # now above its tanh row's 1.1e-6
    assert CT.activation_sentence(checks) == (
        "With ReLU the error against finite differences is the smaller in three "
        "of the four network and batch pairs.")
    tanh = checks[checks["activation"] == "tanh"]
    assert CT.activation_sentence(tanh) == "Every check here uses tanh."


def test_part_as_table_is_weighed_against_the_course_threshold():
    table = pd.DataFrame({"network": ["2-3-2", "2-3-2"], "batch": [1, 10],
                          "vs autograd": [1.5e-16, 1e-16],
                          "vs finite differences": [3.4e-11, 1e-11]})
    assert CT.part_a_sentence(table) == (
        "The largest error against autograd is 1.5\u00d710\u207b\u00b9\u2076, "
        "the rounding of float64, far below the course's threshold of "
        "10\u207b\u00b3; against finite differences it is 3.4\u00d7"
        "10\u207b\u00b9\u00b9, the error of the difference quotient itself.")
    table["vs autograd"] = 5e-4
    assert "5.0\u00d710\u207b\u2074, the rounding of float64, below the course's" \
        in CT.part_a_sentence(table)
    table["vs autograd"] = 5e-3
    assert "ABOVE the course's threshold" in CT.part_a_sentence(table)


def test_checks_three_and_four_over_every_row(checks):
    assert CT.checks_passed_sentence(checks) == (
        "In every check, an SGD step changed every weight tensor, and every "
        "parameter stayed a leaf that requires gradients.")
    checks.loc[3, "SGD step changed weights"] = False
    assert CT.checks_passed_sentence(checks).startswith(
        "In some check, an SGD step left a weight tensor unchanged")

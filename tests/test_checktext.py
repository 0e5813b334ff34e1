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
        "one of the two settings; elsewhere they differ by up to 2.0 \u00d7 "
        "10\u207b\u2077.")
    assert CT.equality_sentence(res) == (
        "One of the two settings passes; in the others the manual update no longer "
        "follows the optimizer's step.")
    res.settings[1].val_acc_manual = 0.71  # measured on the manual model
    assert CT.accuracy_bars_note(res).endswith("in one of the two settings")
    assert CT.curves_sentence(res) == "do not coincide everywhere"


def test_the_textbook_drift_is_measured_not_assumed():
    res = records.results([S(), S(momentum=0.9)])
    assert CT.drift_sentence(res) == (
        "The textbook update, which rounds differently, ends 4.4 \u00d7 "
        "10\u207b\u00b9\u2076 away from the optimizer's parameters in every setting: "
        "close, but not the same model.")
    res.settings[0].max_abs_diff_params_textbook = 0.0
    assert "in one of the two settings" in CT.drift_sentence(res)
    res.settings[1].max_abs_diff_params_textbook = 0.0
    assert CT.drift_sentence(res).startswith("The textbook update happened to end")
    gone = records.results([records.diverged()])
    assert CT.drift_sentence(gone).startswith("Every setting diverged")


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
    """A check table as gradcheck.check_table gives it (a real render's
    values): the worst relative error against finite differences falls on a
    small gradient entry, and every ReLU row's absolute error is the
    smaller."""
    rows = [("2-3-2", "tanh", 1, 2.1e-16, 8.1e-10, 0.0187, 1.2e-10),
            ("2-3-2", "tanh", 32, 9.5e-17, 1.0e-9, 0.285, 1.6e-9),
            ("2-3-2", "relu", 1, 0.0, 5.3e-12, 0.0175, 5.6e-13),
            ("2-3-2", "relu", 32, 0.0, 2.3e-10, 0.262, 1.2e-10),
            ("768-128-32-2", "tanh", 1, 2.5e-16, 9.6e-8, 2.67e-5, 9.3e-11),
            ("768-128-32-2", "tanh", 32, 2.1e-16, 1.1e-6, 1.88e-5, 5.4e-10),
            ("768-128-32-2", "relu", 1, 0.0, 8.8e-9, 2.48e-4, 1.6e-11),
            ("768-128-32-2", "relu", 32, 0.0, 1.3e-8, 1.79e-3, 1.8e-10)]
    df = pd.DataFrame(rows, columns=["net", "activation", "batch", "vs autograd",
                                     "vs finite diff.", "gradient at worst",
                                     "absolute error"])
    df["SGD step changed weights"] = True
    df["leaves requiring grad"] = True
    return df


def test_the_finite_differences_error_is_explained_where_it_falls(checks):
    assert CT.autograd_sentence(checks["vs autograd"].max()) == (
        "Against autograd the worst relative error is 2.5 \u00d7 10\u207b\u00b9"
        "\u2076, far below the course's threshold of 10\u207b\u00b3.")
    assert CT.fd_worst_sentence(checks) == (
        "The worst, 1.1 \u00d7 10\u207b\u2076 (tanh, batch of 32, network "
        "768-128-32-2), falls on an entry whose gradient is only 1.9 \u00d7 "
        "10\u207b\u2075, while the absolute error is at most 1.6 \u00d7 "
        "10\u207b\u2079 in every check.")
    assert CT.activation_sentence(checks) == (
        "With ReLU the absolute error is the smaller in every network and batch.")
    checks.loc[7, "absolute error"] = 1e-9  # now above its tanh row's 5.4e-10
    assert CT.activation_sentence(checks) == (
        "With ReLU the absolute error is the smaller in three of the four network "
        "and batch pairs.")


def test_checks_three_and_four_over_every_row(checks):
    assert CT.checks_passed_sentence(checks) == (
        "In every check, an SGD step changed every weight tensor, and every "
        "parameter stayed a leaf that requires gradients.")
    checks.loc[3, "SGD step changed weights"] = False
    assert CT.checks_passed_sentence(checks).startswith(
        "In some check, an SGD step left a weight tensor unchanged")

"""report.markdown_table: what the book's tables print."""

from __future__ import annotations

import numpy as np
import pandas as pd

import pytest

from mlp_lab.book import fmt
from mlp_lab.book.fmt import markdown_table


def _rows(df, **kw) -> list[list[str]]:
    lines = markdown_table(df, **kw).data.splitlines()
    return [[c.strip() for c in line.strip("|").split("|")] for line in lines[2:]]


def test_tiny_errors_keep_their_exponent_and_floats_their_digits():
    df = pd.DataFrame({"rel. error": [1.234e-12, 5e-9], "acc": [0.91234, 1.0],
                       "n": np.array([1000, 7]), "ok": [True, False],
                       "name": ["a", "b"]}, index=["x", "y"])
    assert _rows(df, digits=2, sci=("rel. error",)) == [
        ["x", "1.23\u00d710\u207b\u00b9\u00b2", "0.91", "1000", "yes", "a"],
        ["y", "5.00\u00d710\u207b\u2079", "1.00", "7", "no", "b"]]


def test_missing_values_are_blank():
    df = pd.DataFrame({"median": [1.5, 2.0], "min": [np.nan, 1.0],
                       "target": [None, ">= 3"]})
    assert _rows(df, digits=1) == [["0", "1.5", "", ""], ["1", "2.0", "1.0", ">= 3"]]


def test_numbers_are_right_aligned_and_text_left_aligned():
    df = pd.DataFrame({"x": [1.0], "label": ["a"]})
    rule = markdown_table(df).data.splitlines()[1]
    assert rule.split("|")[2].endswith(":") and rule.split("|")[3].startswith(":")


@pytest.mark.parametrize("values, decimals", [
    ([91.2, 88.5], 1), ([91.24, 91.18], 2), ([91.24, 91.24, 90.0], 1),
    ([float("nan"), 50.0, 50.04], 2), ([], 1)])
def test_percent_decimals(values, decimals):
    """One decimal, two only where two different values would print alike."""
    assert fmt.percent_decimals(values) == decimals


@pytest.mark.parametrize("values, digits, decimals", [
    ([0.01, 0.05], 4, 2), ([0.0, 0.85], 4, 2), ([0.0, 0.01, 0.001], 4, 3),
    ([0.2640127, 0.1], 4, 4), ([3.0, 4.0], 2, 0), ([6.327], 1, 1)])
def test_exact_decimals(values, digits, decimals):
    assert fmt.exact_decimals(values, digits) == decimals


def test_units_in_headers_choose_the_decimals():
    df = pd.DataFrame({"time (s)": [6.327, 12.0], "acc (%)": [91.24, 91.18],
                       "learning rate": [0.01, 0.05], "loss": [0.26401, 0.3]})
    assert _rows(df, digits=4) == [["0", "6.3", "91.24", "0.01", "0.2640"],
                                   ["1", "12.0", "91.18", "0.05", "0.3000"]]
    assert _rows(pd.DataFrame({"d": [0.0, 3e-9]}), digits=1, sci=("d",)) == [
        ["0", "0"], ["1", "3.0\u00d710\u207b\u2079"]]


def test_row_name_never_wraps():
    assert fmt.row_name(0) == "Model\u00a01"


@pytest.mark.parametrize("x, text", [
    (0.9165, "91.65%"),  # 1833/2000: the float 91.65 would round down to "91.6"
    (1833 / 2000, "91.65%"), (0.918, "91.8%"), (0.97677777, "97.7%"),
    (0.5, "50.0%"), (0.125, "12.5%"), (0.12345, "12.3%")])
def test_percent_is_honest_about_its_rounding(x, text):
    assert fmt.pct(x) == text


def test_prose_numbers():
    assert fmt.signed(-0.5) == "\u22120.5" and fmt.signed(1.7) == "+1.7"
    assert fmt.decimal(-8.25, 1) == "\u22128.2" and fmt.decimal(6.04) == "6.0"
    assert fmt.points(0.013) == "1.3 percentage points"
    assert fmt.points(0.013, full=False) == "1.3 points"
    assert [fmt.count(n) for n in (0, 5, 10, 11, 1000, 12000)] == [
        "zero", "five", "ten", "11", "1,000", "12,000"]
    assert fmt.capital("five settings") == "Five settings"
    assert fmt.size(16) == "16\u00d716"


@pytest.mark.parametrize("x, text", [
    (1e-5, "10\u207b\u2075"), (1e-3, "10\u207b\u00b3"),
    (1.1e-6, "1.1\u00d710\u207b\u2076"), (2.5e-16, "2.5\u00d710\u207b\u00b9\u2076"),
    (0.0, "0"), (-3e-4, "\u22123.0\u00d710\u207b\u2074")])
def test_tiny_numbers_in_prose_are_powers_of_ten(x, text):
    assert fmt.power(x) == text

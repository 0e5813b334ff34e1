"""report.markdown_table: what the book's tables print."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mlp_lab.book.fmt import markdown_table


def _rows(df, **kw) -> list[list[str]]:
    lines = markdown_table(df, **kw).data.splitlines()
    return [[c.strip() for c in line.strip("|").split("|")] for line in lines[2:]]


def test_tiny_errors_keep_their_exponent_and_floats_their_digits():
    df = pd.DataFrame({"rel. error": [1.234e-12, 5e-9], "acc": [0.91234, 1.0],
                       "n": np.array([1000, 7]), "ok": [True, False],
                       "name": ["a", "b"]}, index=["x", "y"])
    assert _rows(df, digits=2, sci=("rel. error",)) == [
        ["x", "1.23e-12", "0.91", "1000", "True", "a"],
        ["y", "5.00e-09", "1.00", "7", "False", "b"]]


def test_missing_values_are_blank():
    df = pd.DataFrame({"median": [1.5, 2.0], "min": [np.nan, 1.0],
                       "target": [None, ">= 3"]})
    assert _rows(df, digits=1) == [["0", "1.5", "", ""], ["1", "2.0", "1.0", ">= 3"]]


def test_numbers_are_right_aligned_and_text_left_aligned():
    df = pd.DataFrame({"x": [1.0], "label": ["a"]})
    rule = markdown_table(df).data.splitlines()[1]
    assert rule.split("|")[2].endswith(":") and rule.split("|")[3].startswith(":")

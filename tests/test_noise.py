"""book.noise: the standard error of an accuracy, the paired comparison of
two settings on the same validation images, and McNemar's exact test."""

from __future__ import annotations

import math
import statistics

import pytest

import records
from mlp_lab.book import noise

S, C = records.setting, records.correct


def binomial_tail(m: int, k: int) -> float:
    """P(X <= k) for X ~ Binomial(m, 1/2), by the pmf's recurrence (an
    independent route to McNemar's p)."""
    pmf, total = 0.5 ** m, 0.0
    for j in range(k + 1):
        total += pmf
        pmf *= (m - j) / (j + 1)
    return total


def test_standard_error_is_the_binomial_one():
    assert noise.standard_error(0.918, 1000) == pytest.approx(
        math.sqrt(0.918 * 0.082 / 1000))
    assert noise.standard_error(0.5, 100) == pytest.approx(0.05)
    assert math.isnan(noise.standard_error(0.5, 0))
    assert noise.independent_se(0.9, 0.9, 100) == pytest.approx(
        math.sqrt(2) * noise.standard_error(0.9, 100))


def test_the_paired_standard_error_is_that_of_the_per_image_differences():
    a, b = C(200, 150, 0), C(200, 140, 30)
    res = records.results([S(val_acc=0.75, val_correct=a),
                           S(val_acc=0.70, val_correct=b)],
                          counts={"train": [9, 9], "val": [100, 100],
                                  "test": [1, 1]})
    p = noise.paired(res, 0, 1)
    assert (p.b, p.c, p.n) == (30, 20, 200) and p.difference == pytest.approx(0.05)
    d = [x - y for x, y in zip(a, b)]
    assert p.se == pytest.approx(statistics.pstdev(d) / math.sqrt(len(d)))
    assert p.p_value == pytest.approx(2 * binomial_tail(50, 20))


@pytest.mark.parametrize("b, c, p", [(0, 5, 0.0625), (5, 5, 1.0), (0, 0, 1.0),
                                     (29, 16, 2 * binomial_tail(45, 16))])
def test_mcnemar_exact_p(b, c, p):
    assert noise.Paired(0, 1, b, c, 1000).p_value == pytest.approx(p)


def test_a_handful_of_images_is_not_called_real():
    """Five images right only for one setting exceed 2 paired standard
    errors, yet such a split happens by chance with p = 0.06: the exact
    test, not the normal rule, decides."""
    p = noise.Paired(0, 1, 0, 5, 1000)
    assert abs(p.difference) > 2 * p.se and not p.real


@pytest.fixture
def two():
    """Model 2 leads Model 1 on the same 1,000 images: 29 right only for
    Model 2, 16 only for Model 1."""
    return records.results([S(val_acc=0.905, val_correct=C(1000, 905, 29)),
                            S(momentum=0.9, val_acc=0.918,
                              val_correct=C(1000, 918, 0))],
        counts={"train": [4500, 4500], "val": [500, 500], "test": [1000, 1000]})


def test_a_lead_within_chance(two):
    assert noise.ranked(two) == [1, 0] and noise.separable(two) is False
    assert noise.se_sentence(two) == (
        "0.9 percentage points for 91.8% on 1,000 validation images.")
    assert noise.lead_sentence(two) == (
        "Model 2 leads Model 1 by 1.3 percentage points, with a paired standard "
        "error of 0.7 points: 29 validation images are right only for Model 2 and "
        "16 only for Model 1, and McNemar's test gives "
        "\U0001d45d = 0.072: this validation "
        "split cannot tell the two apart, and either would be a fair choice.")


def test_a_clear_lead_is_called_one(two):
    two.settings[1].val_correct = C(1000, 960, 0)
    two.settings[1].val_acc = 0.96
    assert noise.separable(two) is True
    assert noise.lead_sentence(two).endswith(
        "McNemar's test gives \U0001d45d < 0.001, so the lead is "
        "unlikely to be chance.")
    single = records.results([S(), records.diverged()])
    assert noise.separable(single) is None
    assert noise.lead_sentence(single).startswith("Fewer than two settings")
    two.settings[0].val_correct = []
    assert noise.separable(two) is None
    assert noise.lead_sentence(two) == (
        "The per-image validation results were not recorded.")

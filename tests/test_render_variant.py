"""The 2023 edition rendered for real, small: ``make book`` and ``make report``
with ``tests/book_variant_small.toml`` (``configs/airplane-bird-32.toml``'s
classes, image size and layers on 200 images per class, one epoch, and one
setting that diverges) in a fresh copy of the project (tests/render.py).

Its faults were the layout's, not the numbers': a conditional sentence that
printed its source, a wide network name set over the next column, a page
left a quarter empty. They are checked here on the real PDFs. Needs Quarto
and poppler (skips without them, fails in CI) and the real images.
"""

from __future__ import annotations

import pytest

import render
from mlp_lab.book import pages
from mlp_lab.cache import PROJECT_ROOT
from test_render_default import A4_TEXT_WIDTH, BOOK_TEXT_WIDTH, _listed

VARIANT = PROJECT_ROOT / "tests" / "book_variant_small.toml"


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> render.Project:
    project = render.project(tmp_path_factory.mktemp("render-variant"), VARIANT)
    project.render()
    project.render("--profile", "report")
    return project


def test_no_source_none_or_nan_where_a_number_belongs(built):
    report = pages.text(built.report_pdf)
    book = render.without_listings(pages.text(built.book_pdf), _listed())
    for text in (report, book):
        assert not render.MISSING_NUMBER.findall(text), [
            line for line in text.splitlines() if render.MISSING_NUMBER.search(line)]
    assert "airplane" in report and "3072-512-128-32-2" in report


def test_no_overprint_and_whole_header_words_in_either_pdf(built):
    assert not render.layout_problems(built.report_pdf, A4_TEXT_WIDTH,
                                      header_lines=2, labels=True)
    assert not render.layout_problems(built.book_pdf, BOOK_TEXT_WIDTH)


def test_the_report_fits_five_pages_with_no_half_empty_page(built):
    blank = render.report_blank_fractions(built.report_pdf)
    assert len(blank) <= 5, blank
    assert max(blank[:-1]) <= 0.20, blank


def test_the_report_compares_with_the_courses_output(built):
    """This edition's reference is the course's published output of its own
    solution: the results table holds its figures and the settings only it
    trained, and (g) weighs the departures."""
    text = " ".join(pages.text(built.report_pdf).replace("\u2019", "'").split())
    assert "In parentheses: the course's published output" in text
    assert "course only" in text and "original report" not in text

"""The editions link each other: the book offers its PDF, and its home page
links the short report once both are rendered (mlp_lab.book.editions, run by
Quarto's post-render step book/_postrender.py)."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys

import pytest
import yaml

from mlp_lab.book import editions
from mlp_lab.cache import PROJECT_ROOT

QUARTO_YML = yaml.safe_load((PROJECT_ROOT / "_quarto.yml").read_text())
REPORT_YML = yaml.safe_load((PROJECT_ROOT / "_quarto-report.yml").read_text())
# The home page as Quarto writes it: the raw HTML block of index.qmd, in a page.
INDEX_QMD = (PROJECT_ROOT / "index.qmd").read_text(encoding="utf-8")
RAW_LINK = INDEX_QMD.split("```{=html}\n")[1].split("```")[0]
PAGE = f"<html><body><main><h2>Rebuilding</h2>\n{RAW_LINK}</main></body></html>"


def _project(tmp_path, book: bool, report: bool):
    """A project folder with a rendered book and/or report."""
    if book:
        (tmp_path / "_book").mkdir(parents=True)
        (tmp_path / "_book" / "index.html").write_text(PAGE, encoding="utf-8")
        os.chmod(tmp_path / "_book" / "index.html", 0o644)
    if report:
        (tmp_path / "_report").mkdir(parents=True)
        (tmp_path / "_report" / "report.pdf").write_bytes(b"%PDF-1.7 the report")
    return tmp_path


def test_output_folders_are_those_of_the_quarto_configs():
    assert QUARTO_YML["project"]["output-dir"] == editions.BOOK_DIR
    assert REPORT_YML["project"]["output-dir"] == editions.REPORT_DIR


def test_the_book_offers_its_pdf_and_runs_the_post_render_step():
    assert QUARTO_YML["book"]["downloads"] == ["pdf"]
    step = QUARTO_YML["project"]["post-render"]
    assert (PROJECT_ROOT / step).is_file()
    assert "project" not in REPORT_YML or "post-render" not in REPORT_YML["project"]


def test_the_home_page_carries_a_hidden_link_to_the_report():
    assert 'id="report-link" hidden' in RAW_LINK
    assert f'href="{editions.REPORT_PDF}"' in RAW_LINK


def test_both_rendered_the_link_shows_and_the_pdf_is_copied(tmp_path):
    root = _project(tmp_path, book=True, report=True)
    assert "links the report" in editions.link_report(root / "_book",
                                                      root / "_report")
    html = (root / "_book" / "index.html").read_text(encoding="utf-8")
    assert '<p id="report-link">' in html and " hidden" not in html
    copy = root / "_book" / "report.pdf"
    assert copy.read_bytes() == b"%PDF-1.7 the report"
    assert stat.S_IMODE(copy.stat().st_mode) == 0o644
    assert stat.S_IMODE((root / "_book" / "index.html").stat().st_mode) == 0o644
    # a newer report replaces the copy; linking twice changes nothing else
    (root / "_report" / "report.pdf").write_bytes(b"%PDF-1.7 newer")
    editions.link_report(root / "_book", root / "_report")
    assert copy.read_bytes() == b"%PDF-1.7 newer"
    assert (root / "_book" / "index.html").read_text(encoding="utf-8") == html
    assert not [p for p in (root / "_book").iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize("tag", ['<p id="report-link" hidden="">',
                                 '<p hidden id="report-link" class="x">'])
def test_the_link_shows_however_the_page_writes_the_attribute(tmp_path, tag):
    """As the source has it, as an HTML serializer may write it (hidden=""),
    in any attribute order; other hidden elements stay hidden."""
    root = _project(tmp_path, book=True, report=True)
    index = root / "_book" / "index.html"
    index.write_text(f'<div hidden>other</div>{tag}the report</p>')
    editions.link_report(root / "_book", root / "_report")
    html = index.read_text()
    assert html.startswith("<div hidden>other</div>")
    assert re.search(r'<p [^>]*id="report-link"', html) and html.count("hidden") == 1


def test_without_a_report_or_a_book_nothing_is_linked(tmp_path):
    book_only = _project(tmp_path / "a", book=True, report=False)
    editions.link_report(book_only / "_book", book_only / "_report")
    assert "hidden" in (book_only / "_book" / "index.html").read_text()
    assert not (book_only / "_book" / "report.pdf").exists()
    report_only = _project(tmp_path / "b", book=False, report=True)
    editions.link_report(report_only / "_book", report_only / "_report")
    assert not (report_only / "_book").exists()


def test_a_home_page_without_the_link_is_reported_not_changed(tmp_path):
    root = _project(tmp_path, book=True, report=True)
    (root / "_book" / "index.html").write_text("<html><body></body></html>")
    message = editions.link_report(root / "_book", root / "_report")
    assert "has no report link" in message
    assert not (root / "_book" / "report.pdf").exists()


def test_the_post_render_script_runs_as_quarto_runs_it(tmp_path):
    """From the project root, with a plain interpreter: it links the editions
    of its own project (here: a copy with a book and a report)."""
    script = tmp_path / "book" / "_postrender.py"
    script.parent.mkdir()
    script.write_text((PROJECT_ROOT / "book" / "_postrender.py").read_text())
    _project(tmp_path, book=True, report=True)
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    out = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "links the report" in out.stdout
    assert (tmp_path / "_book" / "report.pdf").is_file()

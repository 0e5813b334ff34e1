"""The report's PDF as Quarto would typeset it, approximated without Quarto
(book.typeset: pandoc 3.9 and Typst 0.15; book.pages): at most 7 pages, no
page but the last more than 20 % blank, every table header in whole words
that fit their columns, and a body that names no module, file, command or
cache. The report runs on the small test config (the default config's PDF:
scripts/preview_report.py); the approximation's page breaks were checked
against a real render of the 9-page report of the previous round."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

import records
from mlp_lab.book import bookcheck, fmt, pages, report, tables, typeset
from mlp_lab.cache import PACKAGE, PROJECT_ROOT

pytest.importorskip("pypandoc")
pytest.importorskip("typst")
PPI = 30


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict:
    """The report typeset once (profile report), its pages and its Markdown."""
    data = os.environ.get("MLP_LAB_DATA")
    if not data and not (PROJECT_ROOT / "data" / "cifar-10-batches-py").is_dir():
        pytest.skip("no data: set MLP_LAB_DATA (e.g. ../shared/data/cifar10-jpg)")
    out = tmp_path_factory.mktemp("typeset")
    env = {**os.environ, "MLP_LAB_CONFIG": str(PROJECT_ROOT / "tests" /
                                                 "book_small.toml"),
           "MLP_LAB_CACHE": str(tmp_path_factory.mktemp("typeset-cache")),
           "IPYTHONDIR": str(PROJECT_ROOT / "book" / "_ipython")}
    if data:
        env["MLP_LAB_DATA"] = str(Path(data).expanduser().resolve())
    source, front = typeset.typeset(PROJECT_ROOT / "report.qmd", out, env,
                                    PROJECT_ROOT, "report")
    _, pngs = pages.compile_pages(source, PPI)
    return {"source": source, "front": front, "pngs": pngs,
            "text": source.read_text(encoding="utf-8")}


def test_report_fits_seven_pages_and_no_page_but_the_last_is_half_empty(built):
    margin = built["front"]["format"]["typst"]["margin"]["y"]
    blank = pages.blank_fractions(built["pngs"], margin, PPI)
    assert len(blank) <= 7, blank
    assert max(blank[:-1]) <= 0.20, blank


def test_report_table_headers_are_whole_words_that_fit(built):
    cells = pages.header_cells(built["source"].with_name("report-probe.typ"))
    assert {c["text"] for c in cells} >= {"validation accuracy (%)", "momentum",
                                          "learning rate", "net"}
    assert not [c for c in cells if c["hyphenate"] or c["wide"]], cells


def _tables_doc(tmp_path: Path, header: str, frames, width: str) -> Path:
    """Typst of ``frames`` (DataFrames) as the book prints them, on a page whose
    text is ``width`` wide, with ``header`` and the probe."""
    body = "\n\n".join(typeset.to_typst(fmt.markdown_table(f, digits=2).data)
                       for f in frames)
    doc = tmp_path / "tables.typ"
    doc.write_text(typeset.PREAMBLE.format(paper="a4", mx=f"(210mm - {width}) / 2",
                                           my="2cm")
                   + header + pages.HEADER_PROBE + body, encoding="utf-8")
    return doc


def test_book_speed_tables_headers_fit_in_whole_words(tmp_path):
    """The speed appendix printed "set-tings", "work-ers" and "train-ing"; at
    the book's text width (150 mm, about that of its PDF) and the report's
    (166 mm), every header word fits its column and none is hyphenated."""
    bench = report.benchmark("recorded")
    if bench is None:
        pytest.skip("benchmarks/recorded.json not recorded")
    frames = [tables.benchmark_table(bench), tables.scaling_table(bench),
              tables.anatomy_table(bench), tables.time_table(records.results()),
              tables.equality_table(records.results())]
    header = typeset.header_includes(PROJECT_ROOT, {})
    for width in ("150mm", "166mm"):
        cells = pages.header_cells(_tables_doc(tmp_path, header, frames, width))
        assert {"training / bound", "settings", "workers"} <= {
            c["text"] for c in cells}
        assert not [c for c in cells if c["hyphenate"] or c["wide"]], cells
    # without the project's rule, Typst may hyphenate the same headers
    bare = pages.header_cells(_tables_doc(tmp_path, "", frames, "150mm"))
    assert all(c["hyphenate"] for c in bare)


def test_flags_print_as_typed():
    """Typst reads -- in text as an en dash: a flag in a table is code."""
    bench = {"mlp_lab_workers1_s": 1.0, "workers_speedup": 2.0}
    text = fmt.markdown_table(tables.benchmark_table(bench)).data
    assert "`--workers 1`" in text and not re.search(r"[^`]--workers", text)
    assert "`--workers 1`" in typeset.to_typst(text)


MODULES = sorted({p.stem for p in PACKAGE.rglob("*.py")} - {"__init__", "__main__"})
# What the report's body must not name (the reproducibility paragraph may):
# the library and its modules, files, build commands, caches, environment.
SOFTWARE = [r"\bmlp_lab\b", rf"\b(?:{'|'.join(MODULES)})\.[a-z_]+\(?",
            r"\bmake (?:book|report|handin|test|run|setup|bench)\b",
            r"\b[\w/]+\.(?:py|qmd|json|toml|yml|typ)\b",
            r"\bcache", r"python -m", r"\bquarto\b", r"\bMLP_LAB_\w+",
            r"\bcontract\b", r"\brender\b"]


def test_report_body_names_no_module_file_command_or_cache(built):
    # the document after its header and title, without Quarto's float kinds
    text = re.sub(r'kind: "quarto-float-\w+"', "",
                  built["text"].rsplit(typeset.TITLE.splitlines()[-1][:20], 1)[1])
    text = re.sub(r"\\(.)", r"\1", text)  # Typst's escapes: mlp\_lab is mlp_lab
    body = text.split("= Reproducibility")[0]
    found = {p: re.findall(p, body, re.IGNORECASE) for p in SOFTWARE}
    assert not any(found.values()), {p: f for p, f in found.items() if f}
    # the scan finds them where they are: the closing paragraph names mlp_lab
    assert re.search(SOFTWARE[0], text.split("= Reproducibility")[1])


def test_for_profile_keeps_or_drops_conditional_divs():
    text = ('a\n\n::: {.content-visible unless-profile="report"}\nbook only\n:::\n'
            '\n::: {.content-visible when-profile="report"}\nreport only\n:::\nz\n')
    assert "book only" in bookcheck.for_profile(text, None)
    assert "report only" not in bookcheck.for_profile(text, None)
    shown = bookcheck.for_profile(text, "report")
    assert "report only" in shown and "book only" not in shown
    assert ":::" not in shown and shown.startswith("a") and shown.endswith("z\n")


def _prose(built) -> str:
    """The report's running text before its reproducibility paragraph, one
    paragraph a line (no tables, figures or display math)."""
    body = built["source"].with_suffix(".md").read_text(encoding="utf-8")
    text = typeset.prose(body).split("Reproducibility")[0]
    return re.sub(r"^- ", "", text, flags=re.MULTILINE)  # list items' bullets


def test_report_prose_reads_as_a_report_not_as_program_output(built):
    """The TA's second-round marks that a scan can find: a sentence opening
    with a numeral, code written as plain text, setting labels and image
    sizes in code form, hyphens for minus signs, "cpu", doubled parentheses,
    "converged" for "did not diverge", an overclaiming heading."""
    prose = _prose(built)
    sentences = re.split(r"(?<=[.!?])\s+|\n+", prose)
    assert not [s for s in sentences if re.match(r"[\d\u2212-]", s)]
    # torch.optim.SGD always in code font
    body = built["source"].with_suffix(".md").read_text(encoding="utf-8")
    assert not re.findall(r"(?<!`)torch\.optim\.SGD", body.split("# Reproduc")[0])
    for pattern in (r"\b(?:lr|momentum|weight_decay)=\d", r"\b\d+x\d+\b",
                    r"\s-\d", r"\bcpu\b", r"\)\s+\(", r"\bconverged\b",
                    r"Proof of equality", r"\b\d+ of \d+\b", r"published results",
                    r"sqrt\(", r"another group"):
        assert not re.findall(pattern, prose), pattern


def test_report_says_which_points_it_means(built):
    """A difference of two percentages is in percentage points: the first
    "points" of a sentence says so."""
    for sentence in re.split(r"(?<=[.!?])\s+", _prose(built)):
        first = re.search(r"\b(percentage )?points\b", sentence)
        assert first is None or first.group(1), sentence

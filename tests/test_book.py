"""The book: every chapter executes as Quarto would, and every reference resolves.

Chapters run on the small config ``tests/book_small.toml`` with a shared,
temporary results cache (the first chapter computes, later ones load), and
again on ``tests/book_variant_small.toml`` (the airplane-vs-bird 32x32 variant
of ``configs/``, with one diverging setting) in a cache of its own.
They need the real images: ``MLP_LAB_DATA`` (an ImageFolder tree) or the
torchvision CIFAR-10 download in ``data/``; otherwise they are skipped.
"""

import json
import shutil
import os
import re
from pathlib import Path

import jupytext
import nbformat
import pytest
import yaml

from mlp_lab.book import bookcheck
from mlp_lab.cache import PROJECT_ROOT
from render import data_env

CHAPTERS = bookcheck.book_chapters(PROJECT_ROOT)
REPORT_YML = yaml.safe_load((PROJECT_ROOT / "_quarto-report.yml").read_text())
REPORT = REPORT_YML["project"]["render"][0]  # the short report (make report)
DOCUMENTS = [*CHAPTERS, REPORT]
SMALL_CONFIG = PROJECT_ROOT / "tests" / "book_small.toml"
# The kernels' IPython profile, as scripts/render_book.sh sets it (IPYTHONDIR).
KERNEL_PROFILE = PROJECT_ROOT / "book" / "_ipython"
VARIANT_CONFIG = PROJECT_ROOT / "tests" / "book_variant_small.toml"


@pytest.fixture(scope="module")
def book_env(tmp_path_factory) -> dict:
    """Environment of every chapter kernel: small config, one shared tmp cache."""
    cache = tmp_path_factory.mktemp("book-cache")
    return {**os.environ, **data_env(), "MLP_LAB_CONFIG": str(SMALL_CONFIG),
            "MLP_LAB_CACHE": str(cache), "IPYTHONDIR": str(KERNEL_PROFILE)}


def _source(doc: str) -> str:
    """A document's text with its includes pasted in, as Quarto executes it."""
    path = PROJECT_ROOT / doc
    return bookcheck.expand_includes(path.read_text(encoding="utf-8"), path,
                                     PROJECT_ROOT)


def _edition(chapter: str) -> str | None:
    """The profile a document renders with: the report's, or the book's (None)."""
    return "report" if chapter == REPORT else None


@pytest.mark.parametrize("chapter", DOCUMENTS)
def test_chapter_executes(chapter, book_env):
    nb = bookcheck.read_chapter(PROJECT_ROOT / chapter, _edition(chapter))
    bookcheck.execute(nb, PROJECT_ROOT, book_env, name=chapter)


@pytest.fixture(scope="module")
def variant_env(tmp_path_factory) -> dict:
    """Like ``book_env``, with the small variant config and a cache of its own.

    One torch thread: on a small machine shared with other jobs, two threads
    that wait for each other make small matrix products many times slower.
    """
    cache = tmp_path_factory.mktemp("book-variant-cache")
    return {**os.environ, **data_env(), "MLP_LAB_CONFIG": str(VARIANT_CONFIG),
            "MLP_LAB_CACHE": str(cache), "OMP_NUM_THREADS": "1",
            "IPYTHONDIR": str(KERNEL_PROFILE)}


def _inline_text(run: nbformat.NotebookNode) -> str:
    """What the inline expressions of an executed chapter display, joined."""
    return " ".join(bookcheck.shown_text(plain)
                    for _, plain in bookcheck.inline_values(run))


@pytest.mark.parametrize("chapter", DOCUMENTS)
def test_chapter_executes_with_the_variant_config(chapter, variant_env):
    """Airplane vs bird, 32x32, 3072-512-128-32-2, setting 3 diverges: every
    chapter runs, no sentence keeps a default of car vs cat at 16x16, and the
    results chapter notes the divergence instead of failing."""
    nb = bookcheck.read_chapter(PROJECT_ROOT / chapter, _edition(chapter))
    run = bookcheck.execute(nb, PROJECT_ROOT, variant_env, name=chapter)
    # the one sentence that names the original report's task, on purpose
    prose = re.sub(r"The original report trained .*?nothing to compare", "",
                   _inline_text(run))
    for default in ("car", "cat", "16x16", "16\u00d716", "768"):
        assert not re.search(rf"\b{default}\b", prose), (chapter, default, prose)
    if chapter == REPORT:  # the hand-in: its written prose names no default either
        written = bookcheck._prose(_source(REPORT))
        for default in ("car", "cat", "16x16", "16\u00d716", "768"):
            assert not re.search(rf"\b{default}\b", written), default
    if chapter in ("book/results.qmd", REPORT):
        assert ("Model 3 (learning rate 10, momentum 0, weight decay 0) diverged "
                "(its training loss became NaN in epoch 1 of 1") in prose
        assert "validation accuracy was Model 3" not in prose
    if chapter == REPORT:  # stated once in full; referred to after that
        assert prose.count("The best setting by validation accuracy was") == 1


def test_book_lists_existing_chapters_index_first():
    assert CHAPTERS[0] == "index.qmd"  # Quarto requires index.qmd next to _quarto.yml
    missing = [c for c in CHAPTERS if not (PROJECT_ROOT / c).is_file()]
    assert not missing, f"chapters listed in _quarto.yml but missing: {missing}"


def test_references_resolve():
    chapters = {c: bookcheck.read_chapter(PROJECT_ROOT / c) for c in CHAPTERS}
    problems = bookcheck.check_references(chapters)
    assert not problems, "\n".join(problems)


# ------------------------------------------------------------ the report edition

def test_report_is_a_profile_of_its_own_with_its_own_output():
    """make report renders the article into _report/, leaving _book/ alone."""
    project = REPORT_YML["project"]
    assert project == {"type": "default", "output-dir": "_report",
                       "render": [REPORT]}
    assert (PROJECT_ROOT / REPORT).is_file()
    assert "quarto render --profile report" in (
        PROJECT_ROOT / "docs" / "book-and-report.md").read_text()
    assert "report:" in (PROJECT_ROOT / "Makefile").read_text()


SIX = {"fig-accuracy", "fig-final-loss", "fig-loss-grid", "fig-all-losses",
       "fig-best", "fig-confusion"}  # the original report's six figures


def _labels(nb) -> set[str]:
    return {bookcheck.cell_options(c.source).get("label") or "" for c in nb.cells
            if c.cell_type == "code"} | {
        label for c in nb.cells if c.cell_type == "markdown"
        for label in bookcheck.markdown_labels(c.source)}


def test_report_references_resolve_and_cite_every_figure_and_table():
    """As rendered (profile report): every reference resolves, every figure and
    table is cited, and one results table stands where the book has more: no
    figure or table of the report repeats another's numbers."""
    nb = bookcheck.read_chapter(PROJECT_ROOT / REPORT, "report")
    problems = bookcheck.check_references({REPORT: nb})
    assert not problems, "\n".join(problems)
    shown = {x for x in _labels(nb) if x.startswith(("fig-", "tbl-"))}
    assert shown == {"tbl-gradcheck", "tbl-selection", "fig-losses"}, shown


def test_the_book_keeps_the_six_figures_of_the_original_report():
    chapters = [bookcheck.read_chapter(PROJECT_ROOT / c) for c in CHAPTERS]
    assert SIX <= set().union(*map(_labels, chapters))


def _front_matter(doc: str) -> dict:
    text = (PROJECT_ROOT / doc).read_text(encoding="utf-8")
    return yaml.safe_load(text.split("---\n")[1])


def test_report_shows_no_code():
    """Not a cell's code, not a library listing, not a code block."""
    assert _front_matter(REPORT)["execute"]["echo"] is False
    nb = bookcheck.read_chapter(PROJECT_ROOT / REPORT)
    for cell in nb.cells:
        if cell.cell_type == "code":
            options = bookcheck.cell_options(cell.source)
            assert options.get("echo", False) is False, cell.source
            assert "report.listing(" not in cell.source, cell.source
            assert "config_toml(" not in cell.source, cell.source
        else:
            assert not bookcheck.FENCED.search(cell.source), cell.source


def _sentences(text: str) -> set[str]:
    """The written sentences of a source (prose only, 6 words or more),
    normalized: the unit that must be written once."""
    prose = bookcheck._prose(bookcheck.INCLUDE.sub("", text))
    prose = re.sub(r"^---\n.*?\n---\n", "", prose, flags=re.DOTALL)
    words = [" ".join(re.sub(r"[^\w@-]+", " ", s).lower().split())
             for s in re.split(r"(?<=[.:;?!])\s+|\n\s*\n", prose)]
    return {w for w in words if len(w.split()) >= 6}


def test_every_sentence_is_written_once():
    """A sentence in both editions lives in a partial both include; no text is
    copied between chapters, partials and the report."""
    sources = sorted({*DOCUMENTS, *(str(p.relative_to(PROJECT_ROOT)) for p in
                                    (PROJECT_ROOT / "book" / "parts").glob("_*.qmd"))})
    seen: dict[str, str] = {}
    copies = []
    for doc in sources:
        for sentence in _sentences((PROJECT_ROOT / doc).read_text(encoding="utf-8")):
            if sentence in seen and seen[sentence] != doc:
                copies.append((seen[sentence], doc, sentence))
            seen.setdefault(sentence, doc)
    assert not copies, copies


def test_report_takes_its_sentences_from_the_books_partials():
    """Every partial the report includes is one a book chapter includes too,
    and most of the report's text comes from them."""
    def includes(doc: str) -> set[Path]:
        text = (PROJECT_ROOT / doc).read_text(encoding="utf-8")
        return {p.resolve() for p in bookcheck.included_files(
            text, PROJECT_ROOT / doc, PROJECT_ROOT)}
    report = includes(REPORT) - {PROJECT_ROOT / "book/parts/_byline.qmd"}
    book = set().union(*(includes(c) for c in CHAPTERS))  # (the book's byline is
    assert report and report <= book, report - book      # its title page's)
    own = _sentences((PROJECT_ROOT / REPORT).read_text(encoding="utf-8"))
    shared = _sentences(_source(REPORT)) - own
    assert len(own) < len(shared) / 10, (len(own), len(shared))


def test_report_cells_are_its_setup_only():
    """The report's own code is its setup cell; every other cell is a partial's,
    written once for both editions."""
    text = (PROJECT_ROOT / REPORT).read_text(encoding="utf-8")
    nb = jupytext.reads(text, fmt="Rmd")
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    assert len(code) == 1 and SETUP_LINE in code[0]


SETUP_LINE = "C, R, F = report.setup()"


@pytest.mark.parametrize("chapter", DOCUMENTS)
def test_chapters_open_with_the_shared_setup_and_use_what_it_imports(chapter):
    """One setup line for every chapter; every other name its setup cell
    defines is used later (no leftovers such as ``best = R.best``)."""
    import ast

    # Quarto runs the cells of both profiles' content: count uses in either
    nbs = [bookcheck.read_chapter(PROJECT_ROOT / chapter, p) for p in (None, "report")]
    nb = nbs[0]
    code = [bookcheck.strip_options(c.source) for c in nb.cells
            if c.cell_type == "code"]
    setup = code[0]
    rest = "\n".join(bookcheck.strip_options(c.source) for n in nbs
                     for c in n.cells[1:] if c.cell_type == "code")
    assert SETUP_LINE in setup.splitlines(), setup
    defined = set()
    for node in ast.parse(setup).body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            defined |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, ast.Assign):
            defined |= {n.id for t in node.targets for n in ast.walk(t)
                        if isinstance(n, ast.Name)}
    later = rest + " ".join(bookcheck.inline_expressions(
        "\n".join(c.source for n in nbs for c in n.cells
                  if c.cell_type == "markdown")))
    unused = {n for n in defined - {"C", "R", "F", "report"}  # the setup line
              if not re.search(rf"\b{n}\b", later)}
    assert not unused, f"{chapter}: setup defines unused {sorted(unused)}"


def test_the_best_model_sentence_is_stated_once_per_edition():
    """In full once (the key results); the selection and answer (f) refer to
    it. The book's chapters together, and the report, each state it once."""
    def count(docs):
        return sum(len(re.findall(r"\bN\.best_sentence\(", _source(d)))
                   for d in docs)
    assert count([REPORT]) == 1 and count(CHAPTERS) == 1
    assert "N.best_sentence(" in (PROJECT_ROOT / "book" / "parts" /
                                  "_key-results.qmd").read_text()


def test_no_inline_expression_decides_with_if_else():
    """Decisions are named, tested narrative functions, not conditional
    expressions in the prose."""
    conditional = {c: [e for e in bookcheck.inline_expressions(_source(c))
                       if re.search(r"\bif\b", e)] for c in DOCUMENTS}
    assert not any(conditional.values()), conditional


def test_no_math_uses_a_symbol_typst_015_removed():
    """pandoc writes \\odot as Typst's dot.circle, which Typst 0.15 removed: the
    first real render's PDF failed on it."""
    found = {c: bookcheck.removed_typst_symbols(_source(c)) for c in DOCUMENTS}
    assert not any(found.values()), found


def test_every_equation_compiles_with_pandoc_39_and_typst_015(tmp_path):
    """All the math of both editions, converted by pandoc 3.9 (the real
    render's) to Typst and compiled by Typst 0.15, as the PDF's will be."""
    pypandoc = pytest.importorskip("pypandoc")
    typst = pytest.importorskip("typst")
    assert pypandoc.get_pandoc_version().startswith("3.9")
    spans = sorted({m for doc in DOCUMENTS for m in bookcheck.math_spans(_source(doc))})
    assert len(spans) > 20
    markdown = "\n\n".join(f"$${m}$$" for m in spans)
    (tmp_path / "math.typ").write_text(
        pypandoc.convert_text(markdown, "typst", format="markdown"))
    typst.compile(str(tmp_path / "math.typ"), output=str(tmp_path / "math.pdf"))
    broken = tmp_path / "broken.typ"
    broken.write_text(pypandoc.convert_text("$a \\odot b$", "typst",
                                            format="markdown"))
    with pytest.raises(Exception, match="unknown symbol modifier"):
        typst.compile(str(broken))  # the first real render's error


def _caption_math(doc: str) -> list[str]:
    """The TeX of the math in a document's figure and table captions."""
    nb = bookcheck.read_chapter(PROJECT_ROOT / doc)
    return [m for c in nb.cells if c.cell_type == "code"
            for key, v in bookcheck.cell_options(c.source).items()
            if key.endswith("-cap") for m in re.findall(r"\$([^$]+)\$", str(v))]


def test_math_delimiters_are_set_tight():
    """pandoc writes a bare |x| as escaped bars and \\big( as scaled
    parentheses, which Typst sets with loose space around them (the TA's
    "f^[l] ( z^[l] )" and "max| g |"): every bar pair is \\left| \\right|,
    and no delimiter is \\big."""
    pypandoc = pytest.importorskip("pypandoc")
    spans = sorted({m for doc in DOCUMENTS for m in
                    bookcheck.math_spans(_source(doc)) + _caption_math(doc)})
    assert any("\\max\\left|a - b\\right|" in m for m in spans)  # captions' too
    typst = pypandoc.convert_text("\n\n".join(f"${m}$" for m in spans), "typst",
                                  format="markdown")
    assert "\\|" not in typst and "#scale(" not in typst, typst
    loose = pypandoc.convert_text("$f\\big(z\\big) + |g|$", "typst",
                                  format="markdown")
    assert "\\|" in loose and "#scale(" in loose  # what the check looks for


QUARTO_YML = yaml.safe_load((PROJECT_ROOT / "_quarto.yml").read_text())
FORMATS = QUARTO_YML["format"]


def test_pdf_title_page_has_a_plain_author_and_the_render_date():
    """orange-book stops with "expected content, found array" without an
    author, and prints Typst's escapes (mlp\\_lab) of one with markup in it.
    ``book: author:`` is the one place that names the authors (a pair: a list):
    the book shows it on its title page and home page, the report prints it
    under its title; a project-wide ``author`` would head every chapter."""
    author = QUARTO_YML["book"]["author"]
    names = author if isinstance(author, list) else [author]
    assert names and all(isinstance(n, str) and n.strip() for n in names)
    assert not set("".join(names)) & set("_*#@$\\<>[]`~"), author
    assert "author" not in QUARTO_YML and "author" not in FORMATS["html"]
    assert "author" not in REPORT_YML  # the report prints the book's
    assert QUARTO_YML["book"]["date"] == "today"  # the HTML home page
    subtitle = QUARTO_YML["book"]["subtitle"]  # the PDF's: orange-book omits date
    assert re.search(r"`[^`]*#datetime\.today\(\)[^`]*`\{=typst\}", subtitle)
    assert _front_matter(REPORT)["date"] == "today"  # the article prints its date


def test_html_reads_offline_and_fits_figures_to_the_column():
    html = FORMATS["html"]
    assert html["html-math-method"] == "mathml"  # MathJax would come from a CDN
    css = PROJECT_ROOT / html["css"]
    rule = re.search(r"\.quarto-figure img\s*\{([^}]*)\}", css.read_text())
    assert rule, f"{css} has no rule for .quarto-figure img"
    assert re.search(r"max-width:\s*100%", rule.group(1))
    assert re.search(r"height:\s*auto", rule.group(1))


def test_pdf_hides_glue_code_and_lets_typst_size_table_columns():
    typst = FORMATS["typst"]
    assert typst["echo"] is False and typst["tbl-colwidths"] is False
    # the listings the chapters show are outputs, not echoed code: they stay
    listings = [c for c in CHAPTERS
                if "report.listing(" in (PROJECT_ROOT / c).read_text()]
    assert listings


HEADERS = [PROJECT_ROOT / f for f in FORMATS["typst"]["include-in-header"]]
CHAPTER_REFS = PROJECT_ROOT / "book" / "_chapter-refs.typ"
# orange-book's chapter numbering ("2.") and supplement, then a chapter, a
# section and references to both (Quarto writes them as Typst references).
REFS_DOC = """#show: doc => {
  set heading(numbering: (..nums) => {
    let vals = nums.pos()
    let pattern = if vals.len() == 1 { "1." } else if vals.len() <= 4 { "1.1" }
    if pattern != none { numbering(pattern, ..nums) }
  })
  show heading.where(level: 1): set heading(supplement: [Chapter])
  doc
}
= Intro <sec-intro>
= Backpropagation <sec-backprop>
== The equations <sec-eq>
See @sec-backprop, #ref(<sec-backprop>, supplement: [Chapter]) and @sec-eq.
"""


def _chapter_links(tmp_path, header: str) -> list[str]:
    """The text of each link a chapter reference became, compiled by Typst."""
    typst = pytest.importorskip("typst")
    doc = tmp_path / "refs.typ"
    doc.write_text(header + "\n" + REFS_DOC)
    links = json.loads(typst.query(str(doc), "link"))
    return ["".join(c.get("text", "") for c in link["body"]["children"])
            for link in links]


def test_chapter_references_in_the_pdf_have_no_trailing_period(tmp_path):
    """The PDF's header holds a show rule that prints "Chapter 2", not the
    template's "Chapter 2.", and leaves other references alone."""
    assert CHAPTER_REFS in HEADERS
    fixed = _chapter_links(tmp_path, CHAPTER_REFS.read_text(encoding="utf-8"))
    assert fixed == ["Chapter\u00a02", "Chapter\u00a02"], fixed
    assert _chapter_links(tmp_path, "") == []  # without it none is rewritten


def test_quarto_version_is_required():
    assert QUARTO_YML["quarto-required"] == ">= 1.10.17"


# ------------------------------------------------------------ the checker itself

QMD = """---
title: "t"
---

# Intro {#sec-intro}

See @fig-a, @tbl-b and @sec-intro; mail me@fig-x.org; `@fig-code` is code.
Value `{python} x + 1` here.

```{python}
#| label: fig-a
#| fig-cap: "A figure."
x = 1
```

```{python}
#| eval: false
raise RuntimeError("never runs")
```

```{python}
#| label: tbl-b
#| tbl-cap: "A table."
x
```

::: {#fig-div}
![](a.png)

A div figure, @fig-div.
:::

Now `{python} x * 10`.
"""


def _nb(text: str = QMD) -> nbformat.NotebookNode:
    return jupytext.reads(text, fmt="Rmd")


def test_reader_keeps_python_cells_and_options():
    code = [c for c in _nb().cells if c.cell_type == "code"]
    labels = [bookcheck.cell_options(c.source).get("label") for c in code]
    assert labels == ["fig-a", None, "tbl-b"]
    assert bookcheck.cell_options(code[0].source)["fig-cap"] == "A figure."
    assert bookcheck.strip_options(code[0].source) == "x = 1"


def test_inline_expressions_follow_preceding_code_cells():
    cells = bookcheck.executable(_nb()).cells
    order = [c.metadata.get("bookcheck", {}).get("inline") or c.source
             for c in cells if c.cell_type == "code"]
    assert order == ["x + 1", "x = 1", "x", "x * 10"]  # eval: false cell dropped


def test_inline_extraction_matches_quartos_pattern():
    text = "a `{python} n` b `{python}  f(1, 'x')` c ``{python} no` `{r} no`"
    assert bookcheck.inline_expressions(text) == ["n", "f(1, 'x')"]


def test_dangling_reference_missing_caption_and_duplicate_are_reported():
    good = bookcheck.check_references({"a.qmd": _nb()})
    assert good == []
    bad = _nb(QMD.replace("@tbl-b", "@fig-nope").replace('#| fig-cap: "A figure."\n',
                                                         ""))
    problems = bookcheck.check_references({"a.qmd": bad, "b.qmd": _nb()})
    assert any("@fig-nope does not resolve" in p for p in problems)
    assert any("fig-a has no fig-cap" in p for p in problems)
    assert any("duplicate label sec-intro in b.qmd" in p for p in problems)


def test_a_figure_or_table_never_referred_to_is_reported():
    quiet = _nb(QMD.replace("@tbl-b", "the table"))
    assert bookcheck.check_references({"a.qmd": quiet}) == [
        "a.qmd: tbl-b is never referred to in the text"]
    # a reference an output: asis cell prints, written in its source, counts
    printed = _nb(QMD.replace("@tbl-b", "the table") + '\n```{python}\n'
                  '#| output: asis\nprint(sentences(table="@tbl-b"))\n```\n')
    assert bookcheck.check_references({"a.qmd": printed}) == []


def test_labels_come_from_attributes_and_cell_options():
    labels = bookcheck.markdown_labels("# T {#sec-t .unnumbered}\n::: {#fig-d}\n:::")
    assert labels == ["sec-t", "fig-d"]
    assert bookcheck.references("see [@fig-d]; `@sec-t`; -@tbl-x.") == ["fig-d",
                                                                       "tbl-x"]


def test_failing_inline_expression_names_chapter_and_expression(tmp_path):
    nb = _nb("# T\n\n```{python}\nx = 1\n```\n\nBad `{python} y + x`.\n")
    with pytest.raises(bookcheck.ChapterError) as err:
        bookcheck.execute(nb, tmp_path, name="book/t.qmd", timeout=300)
    message = str(err.value)
    assert "book/t.qmd: inline expression `{python} y + x` failed" in message
    assert "NameError" in message


def test_includes_are_pasted_as_quarto_does(tmp_path):
    (tmp_path / "_quarto.yml").write_text("project:\n  type: book\n")
    (tmp_path / "parts").mkdir()
    (tmp_path / "parts" / "_a.qmd").write_text(
        "A says `{python} x`.\n\n{{< include /parts/_b.qmd >}}\n")
    (tmp_path / "parts" / "_b.qmd").write_text("B.\n")
    (tmp_path / "ch").mkdir()
    main = tmp_path / "ch" / "main.qmd"
    main.write_text("# M\n\n```{python}\nx = 1\n```\n\n"
                    "{{< include /parts/_a.qmd >}}\n\nEnd.\n")
    nb = bookcheck.read_chapter(main)
    text = "".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert "A says `{python} x`." in text and "B." in text and "End." in text
    assert bookcheck.included_files(main.read_text(), main, tmp_path) == [
        tmp_path / "parts" / "_a.qmd"]
    run = bookcheck.execute(nb, tmp_path, name="ch/main.qmd", timeout=300)
    assert [v for _, v in bookcheck.inline_values(run)] == ["1"]
    main.write_text("{{< include /parts/_missing.qmd >}}\n")
    with pytest.raises(bookcheck.ChapterError, match="missing file"):
        bookcheck.read_chapter(main)
    (tmp_path / "parts" / "_b.qmd").write_text("{{< include /parts/_b.qmd >}}\n")
    main.write_text("{{< include /parts/_b.qmd >}}\n")
    with pytest.raises(bookcheck.ChapterError, match="includes itself"):
        bookcheck.read_chapter(main)


def test_removed_typst_symbols_are_found_in_math_only():
    text = ("$a \\odot b$ and\n$$\n\\delta = x \\otimes y \\cap z\n$$\n"
            "`$\\oplus$` is code, and \\odot outside math is text.")
    assert bookcheck.removed_typst_symbols(text) == [
        "\\odot -> dot.circle", "\\otimes -> times.circle", "\\cap -> sect"]
    assert bookcheck.removed_typst_symbols("$a \\circ b \\cdot c$") == []


def test_inline_value_with_markdown_fails_the_chapter(tmp_path):
    nb = _nb("```{python}\nnote = 'the `MLP_LAB_DATA` folder'\n```\n\n"
             "Use `{python} note` here; `{python} 0.85` is fine.\n")
    with pytest.raises(bookcheck.ChapterError, match="MLP_LAB_DATA"):
        bookcheck.execute(nb, tmp_path, name="t", timeout=300)


def test_an_empty_inline_value_fails_the_chapter(tmp_path):
    """Quarto prints the source of an expression whose value is empty (the
    2023 report printed "{python} G.fit_disagreement_sentence(R, F)")."""
    nb = _nb("```{python}\nsaid = ''\n```\n\nText. `{python} said` More.\n")
    with pytest.raises(bookcheck.ChapterError, match=r"`\{python\} said` is empty"):
        bookcheck.execute(nb, tmp_path, name="t", timeout=300)
    nb = _nb("```{python}\nsaid = 'Something.'\n```\n\nText. `{python} said`\n")
    bookcheck.execute(nb, tmp_path, name="t", timeout=300)


@pytest.mark.parametrize("value, leaks", [
    ("'a `b` c'", ["`"]), ("'**bold**'", ["**"]), ("'[x](y)'", ["]("]),
    ("'costs $5'", ["$"]), ("'it\\'s \"x\"'", ["\\"]), ("'a_b and *c*'", []),
    ("0.85", []), ("'Model 4 (lr=0.01, momentum=0.85)'", [])])
def test_markdown_leaks(value, leaks):
    assert bookcheck.markdown_leaks(value) == leaks


def test_statement_is_not_an_inline_expression(tmp_path):
    nb = _nb("Text `{python} z = 2`.\n")
    with pytest.raises(bookcheck.ChapterError, match="SyntaxError"):
        bookcheck.execute(nb, tmp_path, name="t", timeout=300)


def test_kernel_runs_in_the_given_directory_with_the_given_env(tmp_path):
    nb = _nb("```{python}\nimport os\nassert os.getcwd() == "
                   f"{str(tmp_path)!r}\nassert os.environ['BOOKCHECK_T'] == '1'\n"
                   "```\n\n```{python}\n#| error: true\n1 / 0\n```\n")
    bookcheck.execute(nb, tmp_path, {**os.environ, "BOOKCHECK_T": "1"}, timeout=300)


# ------------------------------------------------------------ a real render's output
# (the renders themselves: tests/test_render_default.py and test_render_variant.py)

def test_render_checks_on_html_and_pdf_text():
    html = ('<script src="https://cdn.example/mathjax.js"></script>'
            '<link rel="stylesheet" href="//fonts.example/a.css">'
            '<script src="site_libs/quarto.js"></script><link href="style.css">'
            '<p>\\(x^2\\)</p><pre>print("\\(")</pre>')
    assert bookcheck.remote_resources(html) == [
        '<script src="https://cdn.example/mathjax.js',
        '<link rel="stylesheet" href="//fonts.example/a.css']
    assert bookcheck.raw_tex_math(html)
    assert not bookcheck.raw_tex_math('<math><mi>x</mi></math><code>\\[0]</code>')
    text = "Figure 3.2: The samples of Figure 3.1 after nor-\nmalization (rescaled)"
    assert bookcheck.caption_in_text(
        "The samples of @fig-samples after normalization (rescaled).", text)
    assert not bookcheck.caption_in_text("Something else entirely.", text)
    caps = bookcheck.captions({"a.qmd": _nb()})
    assert caps == {"fig-a": "A figure.", "tbl-b": "A table."}


def test_for_profile_keeps_or_drops_conditional_divs():
    text = ('a\n\n::: {.content-visible unless-profile="report"}\nbook only\n:::\n'
            '\n::: {.content-visible when-profile="report"}\nreport only\n:::\nz\n')
    assert "book only" in bookcheck.for_profile(text, None)
    assert "report only" not in bookcheck.for_profile(text, None)
    shown = bookcheck.for_profile(text, "report")
    assert "report only" in shown and "book only" not in shown
    assert ":::" not in shown and shown.startswith("a") and shown.endswith("z\n")


def test_an_inline_equation_is_never_broken_across_lines(tmp_path):
    """The PDF's header holds a show rule that sets each inline equation in a
    box: a line break inside it left half a formula on the next line (page 1
    of the report). Measured on a narrow justified page where the formula
    straddles a line end: without the rule it is broken."""
    typst = pytest.importorskip("typst")
    if not shutil.which("pdftotext"):
        pytest.skip("pdftotext (poppler-utils) is not installed")
    from mlp_lab.book import pages

    rule = (PROJECT_ROOT / "book" / "_math.typ").read_text(encoding="utf-8")
    assert PROJECT_ROOT / "book" / "_math.typ" in HEADERS
    body = ("#set page(width: 9cm, height: 6cm, margin: 1cm)\n"
            "#set par(justify: true)\n"
            "The quick brown fox is $L = e(y) = sum_i (y_i - hat(y)_i)^2 + a + b "
            "+ c$ and nothing more.\n")

    def lines_of_the_formula(header: str) -> int:
        doc = tmp_path / "eq.typ"
        doc.write_text(header + "\n" + body)
        typst.compile(str(doc), output=str(tmp_path / "eq.pdf"))
        words = [w for block in pages.layout(tmp_path / "eq.pdf")[0]
                 for w in block.words]
        first = next(w for w in words if w.text.startswith("\U0001d43f"))  # L
        last = next(w for w in words if w.text.startswith("\U0001d450"))   # c
        return 1 + round((last.y0 - first.y0) / 14)  # 14 pt: about a line

    assert lines_of_the_formula(rule) == 1
    assert lines_of_the_formula("") == 2  # the page makes it straddle a line end

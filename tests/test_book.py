"""The book: every chapter executes as Quarto would, and every reference resolves.

Chapters run on the small config ``tests/book_small.toml`` with a shared,
temporary results cache (the first chapter computes, later ones load), and
again on ``tests/book_variant_small.toml`` (the airplane-vs-bird 32x32 variant
of ``configs/``, with one diverging setting) in a cache of its own.
They need the real images: ``MLP_LAB_DATA`` (an ImageFolder tree) or the
torchvision CIFAR-10 download in ``data/``; otherwise they are skipped.
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import jupytext
import nbformat
import pytest

from mlp_lab import bookcheck
from mlp_lab.cache import PROJECT_ROOT

CHAPTERS = bookcheck.book_chapters(PROJECT_ROOT)
SMALL_CONFIG = PROJECT_ROOT / "tests" / "book_small.toml"
VARIANT_CONFIG = PROJECT_ROOT / "tests" / "book_variant_small.toml"


def _data_env() -> dict:
    """MLP_LAB_DATA made absolute, or skip when no real data is available."""
    data = os.environ.get("MLP_LAB_DATA")
    if data:
        return {"MLP_LAB_DATA": str(Path(data).expanduser().resolve())}
    if (PROJECT_ROOT / "data" / "cifar-10-batches-py").is_dir():
        return {}
    pytest.skip("no data: set MLP_LAB_DATA to an ImageFolder tree (e.g. "
                "../shared/data/cifar10-jpg) or download CIFAR-10 into data/")


@pytest.fixture(scope="module")
def book_env(tmp_path_factory) -> dict:
    """Environment of every chapter kernel: small config, one shared tmp cache."""
    cache = tmp_path_factory.mktemp("book-cache")
    return {**os.environ, **_data_env(), "MLP_LAB_CONFIG": str(SMALL_CONFIG),
            "MLP_LAB_CACHE": str(cache)}


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_executes(chapter, book_env):
    nb = bookcheck.read_chapter(PROJECT_ROOT / chapter)
    bookcheck.execute(nb, PROJECT_ROOT, book_env, name=chapter)


@pytest.fixture(scope="module")
def variant_env(tmp_path_factory) -> dict:
    """Like ``book_env``, with the small variant config and a cache of its own.

    One torch thread: on a small machine shared with other jobs, two threads
    that wait for each other make small matrix products many times slower.
    """
    cache = tmp_path_factory.mktemp("book-variant-cache")
    return {**os.environ, **_data_env(), "MLP_LAB_CONFIG": str(VARIANT_CONFIG),
            "MLP_LAB_CACHE": str(cache), "OMP_NUM_THREADS": "1"}


def _inline_text(run: nbformat.NotebookNode) -> str:
    """What the inline expressions of an executed chapter display, joined."""
    return " ".join(o.get("data", {}).get("text/plain", "")
                    for cell in run.cells
                    if "inline" in cell.metadata.get("bookcheck", {})
                    for o in cell.outputs)


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_executes_with_the_variant_config(chapter, variant_env):
    """Airplane vs bird, 32x32, 3072-512-128-32-2, setting 3 diverges: every
    chapter runs, no sentence keeps a default of car vs cat at 16x16, and the
    results chapter notes the divergence instead of failing."""
    nb = bookcheck.read_chapter(PROJECT_ROOT / chapter)
    run = bookcheck.execute(nb, PROJECT_ROOT, variant_env, name=chapter)
    # the one sentence that names the original report's task, on purpose
    prose = re.sub(r"The original report trained .*?nothing to compare", "",
                   _inline_text(run))
    for default in ("car", "cat", "16x16", "768"):
        assert not re.search(rf"\b{default}\b", prose), (chapter, default, prose)
    if chapter == "book/results.qmd":
        assert ("Model 3 (lr 10, momentum 0, weight decay 0) diverged (its training "
                "loss became NaN in epoch 1 of 1") in prose
        assert "validation accuracy was Model 3" not in prose


def test_book_lists_existing_chapters_index_first():
    assert CHAPTERS[0] == "index.qmd"  # Quarto requires index.qmd next to _quarto.yml
    missing = [c for c in CHAPTERS if not (PROJECT_ROOT / c).is_file()]
    assert not missing, f"chapters listed in _quarto.yml but missing: {missing}"


def test_references_resolve():
    chapters = {c: bookcheck.read_chapter(PROJECT_ROOT / c) for c in CHAPTERS}
    problems = bookcheck.check_references(chapters)
    assert not problems, "\n".join(problems)


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


def test_labels_come_from_attributes_and_cell_options():
    labels = bookcheck.markdown_labels("# T {#sec-t .unnumbered}\n::: {#fig-d}\n:::")
    assert labels == ["sec-t", "fig-d"]
    assert bookcheck.references("see [@fig-d]; `@sec-t`; -@tbl-x.") == ["fig-d",
                                                                       "tbl-x"]


def test_failing_inline_expression_names_chapter_and_expression(tmp_path):
    nb = _nb("# T\n\n```{python}\nx = 1\n```\n\nBad `{python} y + x`.\n")
    with pytest.raises(bookcheck.ChapterError) as err:
        bookcheck.execute(nb, tmp_path, name="book/t.qmd", timeout=120)
    message = str(err.value)
    assert "book/t.qmd: inline expression `{python} y + x` failed" in message
    assert "NameError" in message


def test_statement_is_not_an_inline_expression(tmp_path):
    nb = _nb("Text `{python} z = 2`.\n")
    with pytest.raises(bookcheck.ChapterError, match="SyntaxError"):
        bookcheck.execute(nb, tmp_path, name="t", timeout=120)


def test_kernel_runs_in_the_given_directory_with_the_given_env(tmp_path):
    nb = _nb("```{python}\nimport os\nassert os.getcwd() == "
                   f"{str(tmp_path)!r}\nassert os.environ['BOOKCHECK_T'] == '1'\n"
                   "```\n\n```{python}\n#| error: true\n1 / 0\n```\n")
    bookcheck.execute(nb, tmp_path, {**os.environ, "BOOKCHECK_T": "1"}, timeout=120)


# ------------------------------------------------------------ quarto itself

def _ignore(folder: str, names: list[str]) -> list[str]:
    """What not to copy: outputs, caches, VCS and the venv (the copy uses ours)."""
    skip = {".git", ".venv", "_book", "_freeze", ".quarto", "__pycache__"}
    if Path(folder) == PROJECT_ROOT / "data":
        skip.add("cache")
    return [n for n in names if n in skip]


def test_quarto_renders_the_book(tmp_path, request):
    quarto = shutil.which("quarto")
    if quarto is None:
        pytest.skip("quarto not on PATH: the book's execution is covered by "
                    "test_chapter_executes; install Quarto >= 1.9 to render it")
    book_env = request.getfixturevalue("book_env")
    copy = tmp_path / "project"
    shutil.copytree(PROJECT_ROOT, copy, ignore=_ignore)
    env = {**book_env, "QUARTO_PYTHON": sys.executable}
    out = subprocess.run([quarto, "render"], cwd=copy, env=env, text=True,
                         capture_output=True, timeout=3600)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-4000:]
    assert (copy / "_book" / "index.html").is_file()
    assert list((copy / "_book").glob("*.pdf")), "no PDF from the typst format"

"""Check the book without Quarto: run its chapters, resolve its cross-references.

Execution follows Quarto's Jupyter engine (``resources/jupyter/notebook.py``):
each chapter runs top to bottom in a fresh ``python3`` kernel started in the
project root (``execute-dir: project``); ``#|`` option lines are stripped,
``eval: false`` cells are skipped, ``error: true`` cells may raise; every
inline `` `{python} expr` `` of a markdown cell is evaluated right after the
code cells above it (here: as an extra code cell ``eval(expr)``, which, like
Quarto's ``user_expressions``, accepts only an expression). Any error fails.

References: every ``@fig-``/``@tbl-``/``@sec-``/``@eq-`` must name a label
defined somewhere in the book (a ``#| label:`` cell option or a ``{#id}``
attribute), labels are unique, labelled figure/table cells have captions, and
every figure and table is referred to in the text.
"""

from __future__ import annotations

import re
from pathlib import Path

import jupytext
import nbformat
import yaml
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

_ID = r"(?:fig|tbl|sec|eq)-[\w-]*\w"
# Quarto's own pattern for inline expressions (language python).
INLINE = re.compile(r"(?:^|[^`])`\{python\}[ \t]([^`]+)`", re.MULTILINE)
REF = re.compile(rf"(?<![\w@])@({_ID})")
ATTRS = re.compile(r"\{([^{}\n]*)\}")
ATTR_ID = re.compile(rf"(?:^|\s)#({_ID})(?=\s|$)")
OPTION = re.compile(r"^#\s*\| ?")
FENCED = re.compile(r"^(`{3,}|~{3,}).*?^\1[ \t]*$", re.MULTILINE | re.DOTALL)
CODE_SPAN = re.compile(r"(`+).+?\1", re.DOTALL)
ANSI = re.compile(r"\x1b\[[0-9;]*m")


class ChapterError(AssertionError):
    """A chapter failed to execute (which one, which cell, the traceback)."""


def book_chapters(root: Path) -> list[str]:
    """Chapter files of ``_quarto.yml`` (chapters, parts, then appendices), in order."""
    cfg = yaml.safe_load((Path(root) / "_quarto.yml").read_text(encoding="utf-8"))
    book = cfg.get("book") or {}
    return _flatten(book.get("chapters") or []) + _flatten(book.get("appendices") or [])


def _flatten(items: list) -> list[str]:
    out = []
    for item in items:
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, dict):  # {part: title-or-file, chapters: [...]}
            part = item.get("part")
            if isinstance(part, str) and part.endswith((".qmd", ".md", ".ipynb")):
                out.append(part)
            out += _flatten(item.get("chapters") or [])
    return out


def read_chapter(path: Path) -> nbformat.NotebookNode:
    """A ``.qmd`` as a notebook, read as R Markdown (```` ```{python} ```` cells).

    jupytext's own ``qmd`` format shells out to Quarto; the Rmd reader needs
    nothing and keeps ``#|`` option lines as the first lines of each cell.
    """
    return jupytext.reads(Path(path).read_text(encoding="utf-8"), fmt="Rmd")


def cell_options(source: str) -> dict:
    """The ``#| key: value`` options at the top of a code cell, as a dict."""
    lines = []
    for line in source.splitlines():
        match = OPTION.match(line)
        if not match:
            break
        lines.append(line[match.end():])
    options = yaml.safe_load("\n".join(lines)) if lines else {}
    return options if isinstance(options, dict) else {}


def strip_options(source: str) -> str:
    """The cell's code without its leading ``#|`` option lines."""
    lines = source.splitlines()
    n = next((i for i, line in enumerate(lines) if not OPTION.match(line)), len(lines))
    return "\n".join(lines[n:])


def inline_expressions(markdown: str) -> list[str]:
    """The ``expr`` of every `` `{python} expr` `` in ``markdown``, in order."""
    return [expr.strip() for expr in INLINE.findall(markdown)]


def inline_cell(expr: str) -> nbformat.NotebookNode:
    """A code cell that evaluates ``expr`` as an expression in the user namespace."""
    cell = nbformat.v4.new_code_cell(f"eval(compile({expr!r}, '<inline>', 'eval'))")
    cell.metadata["bookcheck"] = {"inline": expr}
    return cell


def executable(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The cells Quarto runs, in its order: code cells, inline expressions after."""
    out = nbformat.v4.new_notebook(metadata=nb.metadata)
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            out.cells.append(cell)
            out.cells += [inline_cell(e) for e in inline_expressions(cell.source)]
        elif cell.cell_type == "code":
            options = cell_options(cell.source)
            if options.get("eval", True) is not True:
                continue
            code = nbformat.v4.new_code_cell(strip_options(cell.source))
            code.metadata["bookcheck"] = {"label": options.get("label"),
                                          "error_ok": options.get("error") is True}
            out.cells.append(code)
    return out


def _describe(cell: nbformat.NotebookNode) -> str:
    info = cell.metadata.get("bookcheck", {})
    if "inline" in info:
        return f"inline expression `{{python}} {info['inline']}`"
    first = next((ln for ln in cell.source.splitlines() if ln.strip()), "")
    return f"cell '{info.get('label') or first[:60]}'"


# What Quarto's python setup cell does for figures (resources/jupyter/lang/
# python/setup.py): pyplot with the kernel's inline backend, so a returned
# matplotlib Figure is displayed as an image.
SETUP = ("import matplotlib.pyplot as plt\n"
         "from matplotlib_inline.backend_inline import set_matplotlib_formats\n"
         "set_matplotlib_formats('png')")


def missing_figures(run: nbformat.NotebookNode, name: str) -> list[str]:
    """``fig-`` labelled cells of an executed notebook that displayed no image."""
    problems = []
    for cell in run.cells:
        label = cell.metadata.get("bookcheck", {}).get("label") or ""
        if cell.cell_type == "code" and label.startswith("fig-"):
            if not any("image/png" in o.get("data", {}) for o in cell.outputs):
                problems.append(f"{name}: cell {label} displayed no figure")
    return problems


def execute(nb: nbformat.NotebookNode, cwd: Path, env: dict | None = None,
            name: str = "notebook", timeout: int = 3600) -> nbformat.NotebookNode:
    """Run ``executable(nb)`` in a fresh python3 kernel in ``cwd``; raise on error.

    The kernel starts as Quarto starts it: the inline matplotlib backend (an
    ``MPLBACKEND`` of the caller is not passed on) and Quarto's figure setup.
    Every ``fig-`` cell must display an image.
    """
    run = executable(nb)
    run.cells.insert(0, nbformat.v4.new_code_cell(SETUP, metadata={"bookcheck": {}}))
    if env is not None:
        env = {k: v for k, v in env.items() if k != "MPLBACKEND"}
    client = NotebookClient(run, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(cwd)}})
    with client.setup_kernel(**({} if env is None else {"env": env})):
        for index, cell in enumerate(run.cells):
            if cell.cell_type != "code":
                continue
            try:
                client.execute_cell(cell, index)
            except CellExecutionError as exc:
                if not cell.metadata["bookcheck"].get("error_ok"):
                    raise ChapterError(f"{name}: {_describe(cell)} failed:\n"
                                       + ANSI.sub("", str(exc))) from None
    problems = missing_figures(run, name)
    if problems:
        raise ChapterError("\n".join(problems))
    return run


def _prose(markdown: str) -> str:
    """Markdown without fenced blocks and code spans (where @refs are literal)."""
    return CODE_SPAN.sub("", FENCED.sub("", markdown))


def markdown_labels(markdown: str) -> list[str]:
    """Ids set by ``{#sec-...}``-style attributes (headings, divs, images)."""
    return [m for attrs in ATTRS.findall(_prose(markdown))
            for m in ATTR_ID.findall(attrs)]


def references(markdown: str) -> list[str]:
    """Every ``@fig-``/``@tbl-``/``@sec-``/``@eq-`` cross-reference in the prose."""
    return REF.findall(_prose(markdown))


def check_references(chapters: dict[str, nbformat.NotebookNode]) -> list[str]:
    """Problems with the book's labels and references (empty list: all good)."""
    defined: dict[str, str] = {}
    problems: list[str] = []
    refs: list[tuple[str, str]] = []

    def define(label: str, where: str) -> None:
        if label in defined:
            problems.append(f"duplicate label {label} in {where} "
                            f"(first defined in {defined[label]})")
        defined.setdefault(label, where)

    for name, nb in chapters.items():
        for cell in nb.cells:
            if cell.cell_type == "markdown":
                for label in markdown_labels(cell.source):
                    define(label, name)
                refs += [(ref, name) for ref in references(cell.source)]
            elif cell.cell_type == "code":
                problems += _code_cell_labels(cell.source, name, define)
    problems += [f"{name}: @{ref} does not resolve to any label in the book"
                 for ref, name in refs if ref not in defined]
    cited = {ref for ref, _ in refs}
    problems += [f"{where}: {label} is never referred to in the text"
                 for label, where in defined.items()
                 if label.startswith(("fig-", "tbl-")) and label not in cited]
    return problems


def _code_cell_labels(source: str, name: str, define) -> list[str]:
    try:
        options = cell_options(source)
    except yaml.YAMLError as exc:
        return [f"{name}: invalid #| options ({exc})"]
    label = options.get("label")
    if not isinstance(label, str) or not re.fullmatch(_ID, label):
        return []
    if options.get("eval", True) is not True:  # no output: nothing to refer to
        return [f"{name}: cell {label} has eval: false, so nothing gets the label"]
    define(label, name)
    kind = label.split("-", 1)[0]
    if kind in ("fig", "tbl") and not options.get(f"{kind}-cap"):
        return [f"{name}: cell {label} has no {kind}-cap"]
    return []

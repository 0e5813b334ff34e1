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

What Quarto would show wrong, found without it: math that pandoc converts to
a Typst symbol Typst 0.15 removed (the PDF does not compile), inline values
that carry Markdown syntax (Quarto escapes a string's Markdown, so the reader
would see the backticks), and inline values that are empty (Quarto prints the
expression's source instead).
"""

from __future__ import annotations

import ast
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


# Quarto's include shortcode: alone on its line, surrounded by empty lines.
INCLUDE = re.compile(r"^\{\{<\s*include\s+(\S+?)\s*>\}\}[ \t]*$", re.MULTILINE)


def project_root(path: Path) -> Path:
    """The folder of the ``_quarto.yml`` above ``path`` (or its own folder)."""
    path = Path(path).resolve()
    return next((d for d in path.parents if (d / "_quarto.yml").is_file()),
                path.parent)


def included_files(text: str, main: Path, root: Path) -> list[Path]:
    """The files the include shortcodes of ``text`` name, as Quarto resolves
    them: ``/x`` from the project root, anything else from the main file's
    folder (also inside an included file: includes are pasted text)."""
    return [root / target.lstrip("/") if target.startswith("/")
            else Path(main).parent / target
            for target in (m.strip("\"'") for m in INCLUDE.findall(text))]


def expand_includes(text: str, main: Path, root: Path,
                    _open: tuple[Path, ...] = ()) -> str:
    """``text`` with every include replaced by the included file's expanded text."""
    def paste(match: re.Match) -> str:
        (path,) = included_files(match.group(0), main, root)
        if not path.is_file():
            raise ChapterError(f"{main}: include of a missing file {path}")
        if path.resolve() in _open:
            raise ChapterError(f"{main}: {path} includes itself")
        return expand_includes(path.read_text(encoding="utf-8"), main, root,
                               (*_open, path.resolve())).rstrip("\n")
    return INCLUDE.sub(paste, text)


# Quarto's conditional content by project profile (the report renders with
# --profile report): a div shown or hidden when, or unless, a profile is active.
PROFILE_DIV = re.compile(
    r'^(:::+)[ \t]*\{\.content-(visible|hidden)[ \t]+(when|unless)-profile='
    r'"([\w-]+)"\}[ \t]*\n(.*?)^\1[ \t]*$', re.MULTILINE | re.DOTALL)


def for_profile(text: str, profile: str | None) -> str:
    """``text`` as Quarto shows it with ``profile`` active (None: no profile):
    each conditional div's content kept without its fences, or dropped."""
    def keep(m: re.Match) -> str:
        active = m.group(4) == profile
        shown = active if m.group(3) == "when" else not active
        return m.group(5) if shown == (m.group(2) == "visible") else ""
    return PROFILE_DIV.sub(keep, text)


def read_chapter(path: Path, profile: str | None = None) -> nbformat.NotebookNode:
    """A ``.qmd`` as a notebook, read as R Markdown (```` ```{python} ```` cells),
    with its includes pasted in first, as Quarto does before executing; the
    content hidden with ``profile`` active (:func:`for_profile`) left out
    (Quarto would run its code, but show nothing of it).

    jupytext's own ``qmd`` format shells out to Quarto; the Rmd reader needs
    nothing and keeps ``#|`` option lines as the first lines of each cell.
    """
    path = Path(path)
    text = expand_includes(path.read_text(encoding="utf-8"), path,
                           project_root(path))
    return jupytext.reads(for_profile(text, profile), fmt="Rmd")


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
    Every ``fig-`` cell must display an image, and no inline value may carry
    Markdown syntax (:func:`markdown_leaks`).
    """
    run = executable(nb)
    run.cells.insert(0, nbformat.v4.new_code_cell(SETUP, metadata={"bookcheck": {}}))
    if env is not None:
        env = {k: v for k, v in env.items() if k != "MPLBACKEND"}
    # The kernel is stopped at once when done (a graceful shutdown request
    # waits about half a second for a kernel that has nothing left to do).
    client = NotebookClient(run, timeout=timeout, kernel_name="python3",
                            shutdown_kernel="immediate",
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
    problems = (missing_figures(run, name) + leaking_inline_values(run, name)
                + empty_inline_values(run, name))
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
                if cell_options(cell.source).get("output") == "asis":
                    # Markdown the cell prints: a reference written in its
                    # source, such as figure="@fig-losses", is cited there
                    refs += [(ref, name) for ref in references(cell.source)]
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


# ------------------------------------------------------------ what Quarto shows

# TeX commands that pandoc writes as Typst symbols that Typst 0.14 deprecated
# and 0.15 removed (the circled operators became ``*.o``, ``sect`` became
# ``inter``): with any of them in the book's math, the PDF does not compile
# ("unknown symbol modifier"). Measured with pandoc 3.9 and Typst 0.15, plus
# the circled plus, which other pandoc releases write as ``plus.circle``.
REMOVED_IN_TYPST_015 = {
    "odot": "dot.circle", "bigodot": "dot.circle.big", "oplus": "plus.circle",
    "bigoplus": "plus.circle.big", "ominus": "minus.circle",
    "otimes": "times.circle", "bigotimes": "times.circle.big",
    "circleddash": "dash.circle", "odiv": "div.circle", "cap": "sect",
    "bigcap": "sect.big", "sqcap": "sect.sq"}
MATH = re.compile(r"\$\$(.+?)\$\$|(?<![\\$])\$(?!\s)([^$\n]+?)(?<!\s)\$(?!\d)",
                  re.DOTALL)
TEX_COMMAND = re.compile(r"\\([A-Za-z]+)")


def math_spans(markdown: str) -> list[str]:
    """The TeX of every ``$...$`` and ``$$...$$`` in the prose (not in code)."""
    return [a or b for a, b in MATH.findall(_prose(markdown))]


def removed_typst_symbols(markdown: str) -> list[str]:
    """``\\cmd -> typst.name`` for each math command Typst 0.15 cannot compile."""
    return [f"\\{cmd} -> {REMOVED_IN_TYPST_015[cmd]}"
            for tex in math_spans(markdown) for cmd in TEX_COMMAND.findall(tex)
            if cmd in REMOVED_IN_TYPST_015]


# Markdown that an inline value must not carry: Quarto escapes a string's
# Markdown (the reader sees the backticks), leaves "$" alone (math would
# start), and doubles the backslashes of the string's repr.
MARKDOWN_SYNTAX = ("`", "**", "](", "$")


def inline_values(run: nbformat.NotebookNode) -> list[tuple[str, str]]:
    """(expression, text/plain of its value) of every inline expression run."""
    return [(cell.metadata["bookcheck"]["inline"],
             "".join(o.get("data", {}).get("text/plain", "") for o in cell.outputs))
            for cell in run.cells
            if "inline" in cell.metadata.get("bookcheck", {})]


def shown_text(plain: str) -> str:
    """What Quarto shows for a value's text/plain: a string without its quotes."""
    if len(plain) >= 2 and plain[0] == plain[-1] and plain[0] in "'\"":
        try:
            value = ast.literal_eval(plain)
        except (ValueError, SyntaxError):
            return plain
        if isinstance(value, str):
            return value
    return plain


def markdown_leaks(plain: str) -> list[str]:
    """The Markdown syntax in a value's text/plain that the reader would see."""
    leaks = [m for m in MARKDOWN_SYNTAX if m in shown_text(plain)]
    return leaks + (["\\"] if "\\" in plain else [])


def empty_inline_values(run: nbformat.NotebookNode, name: str) -> list[str]:
    """Problems: inline values of an executed chapter that show nothing.
    Quarto prints such an expression's source in its place ("{python} f(R)"):
    a sentence with nothing to say belongs in an ``output: asis`` cell, or
    says something."""
    return [f"{name}: inline `{{python}} {expr}` is empty, so Quarto would print "
            "its source" for expr, plain in inline_values(run)
            if not shown_text(plain).strip()]


def leaking_inline_values(run: nbformat.NotebookNode, name: str) -> list[str]:
    """Problems: inline values of an executed chapter that carry Markdown."""
    return [f"{name}: inline `{{python}} {expr}` shows {leaks} literally: {plain[:120]}"
            for expr, plain in inline_values(run)
            for leaks in [markdown_leaks(plain)] if leaks]


# ------------------------------------------------------------ a real render's output

def captions(chapters: dict[str, nbformat.NotebookNode]) -> dict[str, str]:
    """label -> caption of every figure and table cell of the book."""
    out = {}
    for nb in chapters.values():
        for cell in nb.cells:
            if cell.cell_type == "code":
                options = cell_options(cell.source)
                label = options.get("label") or ""
                if label.startswith(("fig-", "tbl-")):
                    out[label] = str(options.get(f"{label[:3]}-cap", ""))
    return out


def _letters(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def caption_in_text(caption: str, text: str) -> bool:
    """Whether ``caption`` appears in a PDF's extracted ``text``.

    Compared up to its first cross-reference or math (rendered differently),
    ignoring case, spaces, punctuation and line-break hyphens."""
    plain = re.split(r"[@$`]", caption)[0]
    return _letters(plain) in _letters(text)


_VERBATIM = re.compile(r"<(pre|code|script|style)\b.*?</\1>", re.DOTALL | re.I)
_REMOTE = re.compile(
    r"<(?:script|link)\b[^>]*\b(?:src|href)=[\"'](?:https?:)?//[^\"']+", re.I)


def raw_tex_math(html: str) -> bool:
    """Whether an HTML page shows TeX math delimiters outside code (MathJax's
    ``\\(`` or ``\\[``: math that a script was meant to typeset)."""
    return bool(re.search(r"\\[(\[]", _VERBATIM.sub("", html)))


def remote_resources(html: str) -> list[str]:
    """The ``<script src>`` and ``<link href>`` of a page that name another host."""
    return _REMOTE.findall(html)

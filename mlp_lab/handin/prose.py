"""The notebooks' Markdown: the book's partials, taken at build time.

Every sentence is written once, in ``book/parts/_*.qmd``. A notebook cell
takes a partial (or one ``## `` section of it) up to its first code chunk,
with its inline `` `{python} expr` `` evaluated in the namespace the report's
first cell builds, its equations numbered with ``\\tag`` (Jupyter's MathJax
has no cross-references) and each ``@eq-`` reference replaced by its number.
Other references (``@fig-``, ``@tbl-``, ``@sec-``) must be named by the caller.
"""

from __future__ import annotations

import re

from ..book.report import config as render_config, results as render_results
from ..book.bookcheck import FENCED, INLINE, REF, cell_options
from ..cache import PROJECT_ROOT

PARTS = PROJECT_ROOT / "book" / "parts"
REPORT = PROJECT_ROOT / "report.qmd"
EQUATION = re.compile(r"\n\$\$[ \t]*\{#(eq-[\w-]+)\}")
CHUNK = re.compile(r"^```\{python\}", re.MULTILINE)
HEADING_ID = re.compile(r"^(#+ .*?)[ \t]*\{#[\w-]+\}[ \t]*$", re.MULTILINE)


class ProseError(ValueError):
    """A partial's text cannot be used in a notebook as it stands."""


def namespace() -> dict:
    """The names the report's first code chunk defines (C, R, F, N, fmt, ...)."""
    first = FENCED.search(REPORT.read_text(encoding="utf-8")).group(0)
    render_config.cache_clear()  # this process's config may have changed
    render_results.cache_clear()
    ns: dict = {}
    exec("\n".join(first.splitlines()[1:-1]), ns)  # noqa: S102 - our own file
    return ns


def section(partial: str, heading: str | None = None) -> str:
    """The text of ``book/parts/_<partial>.qmd`` (or of its ``## heading``
    section, heading excluded) up to the first code chunk."""
    text = (PARTS / f"_{partial}.qmd").read_text(encoding="utf-8")
    text = HEADING_ID.sub(r"\1", text)  # "## Model selection {#sec-rule}": no id
    if heading is not None:
        parts = re.split(r"^## (.+?)[ \t]*$", text, flags=re.MULTILINE)
        titles = dict(zip(parts[1::2], parts[2::2]))
        if heading not in titles:
            raise ProseError(f"book/parts/_{partial}.qmd has no section {heading!r}")
        text = titles[heading]
    return CHUNK.split(text)[0].strip()


def _inline(text: str, ns: dict) -> str:
    def value(match: re.Match) -> str:
        shown = eval(match.group(1), ns)  # noqa: S307 - the partials' own code
        return match.group(0)[:match.start(1) - match.start(0) - len("`{python} ")] \
            + str(shown)
    return INLINE.sub(value, text)


def _equations(text: str) -> str:
    labels = EQUATION.findall(text)
    for n, label in enumerate(labels, 1):
        text = re.sub(rf"\n\$\$[ \t]*\{{#{label}\}}", f"\n\\\\tag{{{n}}}\n$$", text)
        text = re.sub(rf"(?<![\w@])@{label}\b", f"({n})", text)
    return text


def markdown(text: str, ns: dict, refs: dict[str, str] | None = None) -> str:
    """``text`` ready for a notebook: inline values, numbered equations,
    the references in ``refs`` replaced; ProseError if any reference is left."""
    text = _equations(_inline(text, ns))
    for label, words in (refs or {}).items():
        text = re.sub(rf"(?<![\w@])@{label}\b", words, text)
    left = REF.findall(text)
    if left:
        raise ProseError(f"references the notebook cannot resolve: {left}")
    return text


def caption(partial: str, label: str) -> str:
    """The ``fig-cap`` of the chunk labelled ``label`` in a partial."""
    text = (PARTS / f"_{partial}.qmd").read_text(encoding="utf-8")
    for chunk in FENCED.finditer(text):
        options = cell_options("\n".join(chunk.group(0).splitlines()[1:]))
        if options.get("label") == label:
            return options["fig-cap"]
    raise ProseError(f"book/parts/_{partial}.qmd has no chunk {label}")

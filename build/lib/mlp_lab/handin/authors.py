"""Who the hand-in is by, and how the work was divided: one place, ``_quarto.yml``.

``book: author:`` holds one name or a YAML list of names (Quarto's own key,
which the book's title page and home page show; the report prints it under its
title and the notebooks in their first cell); ``handin: division:`` holds an
optional paragraph on who did what, which the report prints. No torch: the
report reads this while it renders.
"""

from __future__ import annotations

import html
from pathlib import Path

import yaml

from ..cache import PROJECT_ROOT

QUARTO_YML = "_quarto.yml"


def project_meta(root: Path | None = None) -> dict:
    """The top-level keys of ``root/_quarto.yml`` (default: the project's)."""
    path = Path(root or PROJECT_ROOT) / QUARTO_YML
    meta = yaml.safe_load(path.read_text(encoding="utf-8"))
    return meta if isinstance(meta, dict) else {}


def authors(meta: dict) -> list[str]:
    """The author names: ``book: author:`` as one string, a list of strings,
    or a list of Quarto author objects (``- name: ...``)."""
    book = meta.get("book")
    raw = (book.get("author") if isinstance(book, dict) else None) or []
    items = raw if isinstance(raw, list) else [raw]
    names = [item.get("name") if isinstance(item, dict) else item for item in items]
    return [str(n).strip() for n in names if n and str(n).strip()]


def author_line(names: list[str]) -> str:
    """"A", "A and B", "A, B and C"."""
    if len(names) < 2:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def division(meta: dict) -> str:
    """The paragraph on how the authors divided the work ("" when not given)."""
    handin = meta.get("handin") or {}
    text = handin.get("division") if isinstance(handin, dict) else None
    return " ".join(str(text).split()) if text else ""


def division_warning(meta: dict) -> str | None:
    """A warning when two or more authors give no division of labour."""
    names = authors(meta)
    if len(names) >= 2 and not division(meta):
        return (f"{len(names)} authors ({author_line(names)}) but no paragraph on "
                f"how you divided the work: the course asks for one. Add it "
                f"as 'handin: division:' in {QUARTO_YML}")
    return None


def byline_markdown(meta: dict | None = None) -> str:
    """The authors as a centred line under the report's title: raw Typst for
    the PDF and raw HTML for the page (each format drops the other's block)."""
    line = author_line(authors(project_meta() if meta is None else meta))
    if not line:
        return ""
    typst = '"' + line.replace("\\", "\\\\").replace('"', '\\"') + '"'  # a string
    return (f"```{{=typst}}\n#align(center, text(size: 1.1em, {typst}))\n```\n\n"
            f"```{{=html}}\n<p class=\"report-byline\" style=\"text-align:center\">"
            f"{html.escape(line)}</p>\n```\n")


def division_markdown(meta: dict | None = None) -> str:
    """The paragraph on the division of labour that the report and the book's
    preface print, or "" without one."""
    text = division(project_meta() if meta is None else meta)
    return f"**Division of work.** {text}\n" if text else ""

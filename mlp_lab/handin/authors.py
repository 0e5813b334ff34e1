"""Who the hand-in is by, and how the work was divided: one place, ``_quarto.yml``.

``book: author:`` holds one name or a YAML list of names (Quarto's own key,
which the book's title page and home page show; the report prints it under its
title and the notebooks in their first cell); ``handin:`` holds the course and
the project (the assignment) the report names above the authors, and two
optional paragraphs the report prints: ``division`` (who did what) and
``collaboration`` (with whom the authors discussed which parts). No torch: the
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


def handin_text(meta: dict, key: str) -> str:
    """``handin: <key>:`` of ``meta`` on one line ("" when not given)."""
    handin = meta.get("handin") or {}
    text = handin.get(key) if isinstance(handin, dict) else None
    return " ".join(str(text).split()) if text else ""


def division(meta: dict) -> str:
    """The paragraph on how the authors divided the work ("" when not given)."""
    return handin_text(meta, "division")


PLACEHOLDER = "mlp-lab"  # the author the project ships with


def placeholder_warning(meta: dict) -> str | None:
    """A warning when the hand-in would carry no author or only the placeholder."""
    names = authors(meta)
    if names and names != [PLACEHOLDER]:
        return None
    shown = f"the placeholder {PLACEHOLDER!r}" if names else "no author"
    return (f"the hand-in names {shown} as its author. Fix: put your names "
            f"under 'book: author:' in {QUARTO_YML} (a list for a pair) and run "
            "make handin again.")


def division_warning(meta: dict) -> str | None:
    """A warning when two or more authors give no division of labour."""
    names = authors(meta)
    if len(names) >= 2 and not division(meta):
        return (f"{len(names)} authors ({author_line(names)}) but no paragraph on "
                f"how you divided the work: the course asks for one. Add it "
                f"as 'handin: division:' in {QUARTO_YML}")
    return None


def byline_markdown(meta: dict | None = None) -> str:
    """Under the report's title on its HTML page, centred: the course and the
    project, then the authors (each line only when set). The PDF's title block
    shows the same from the metadata (``book/report/typst-show.typ``)."""
    meta = project_meta() if meta is None else meta
    what = " · ".join(t for t in (handin_text(meta, "course"),
                                  handin_text(meta, "project")) if t)
    return "".join(
        f"```{{=html}}\n<p class=\"report-byline\" style=\"text-align:center\">"
        f"{html.escape(line)}</p>\n```\n\n"
        for line in (what, author_line(authors(meta))) if line)


def division_markdown(meta: dict | None = None) -> str:
    """The paragraphs on the division of labour and on collaboration that the
    report and the book's preface print, or "" without either."""
    meta = project_meta() if meta is None else meta
    return "\n".join(f"**{title}.** {text}\n" for title, text in (
        ("Division of work", division(meta)),
        ("Collaboration", handin_text(meta, "collaboration"))) if text)

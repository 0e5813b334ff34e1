"""The two editions point to each other: the HTML book links the short report.

The book's home page carries a hidden paragraph, ``<p id="report-link"
hidden>``, that links ``report.pdf``. After every render, of either edition
(Quarto's post-render step, ``book/_postrender.py``), :func:`link_report`
copies the report's PDF next to the book's pages and shows that paragraph,
when both exist; until the report has been rendered the link stays hidden, so
the book never points to a missing file. The book offers its own PDF through
Quarto (``book: downloads: [pdf]`` in ``_quarto.yml``).
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

from ..cache import PROJECT_ROOT

# The output folders of _quarto.yml and _quarto-report.yml (tests/test_editions.py
# checks them), named here so that the post-render step needs no YAML parser.
BOOK_DIR, REPORT_DIR = "_book", "_report"
REPORT_PDF = "report.pdf"  # its name in the report's and the book's folders
LINK_ID = 'id="report-link"'
LINK_TAG = re.compile(rf"<p\b[^>]*\b{LINK_ID}[^>]*>")
HIDDEN = re.compile(r'\s+hidden(?:=(?:""|"hidden"))?(?=[\s/>])')


def link_report(book: Path, report: Path) -> str:
    """Copy ``report/report.pdf`` into ``book`` and show the home page's link
    to it; returns what was done, in one line (nothing when either is missing).
    """
    index, pdf = book / "index.html", report / REPORT_PDF
    if not (index.is_file() and pdf.is_file()):
        return "mlp_lab editions: no rendered report and book to link"
    html = index.read_text(encoding="utf-8")
    tag = LINK_TAG.search(html)
    if tag is None:
        return (f"mlp_lab editions: {book.name}/index.html has no report link "
                f"(index.qmd lost its <p {LINK_ID} hidden>)")
    shown = html[:tag.start()] + HIDDEN.sub("", tag.group(0)) + html[tag.end():]
    _replace(book / REPORT_PDF, pdf.read_bytes(), 0o644)
    _replace(index, shown.encode("utf-8"), index.stat().st_mode)
    return f"mlp_lab editions: the book links the report ({book.name}/{REPORT_PDF})"


def _replace(path: Path, data: bytes, mode: int) -> None:
    """Write ``path`` in one step (a temp file renamed over it): a reader never
    sees half a page or half a PDF."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, mode & 0o777)  # mkstemp's 0600 would hide it from a server
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def main(root: Path | None = None) -> int:
    """Post-render entry point: link the editions of the project at ``root``."""
    root = Path(root or PROJECT_ROOT)
    print(link_report(root / BOOK_DIR, root / REPORT_DIR), flush=True)
    return 0

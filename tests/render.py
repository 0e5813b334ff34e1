"""Real renders for the tests: ``make book`` and ``make report`` in a copy of the
project, with Quarto from PATH, and what a reader would see of their output.

A render runs ``scripts/render_book.sh`` (what the two make targets run after
their setup) in a fresh copy of the project whose ``.venv`` is a link to the
running one, with its own results cache. Without Quarto, or without poppler
(``pdftotext``, ``pdftoppm``) to read the PDFs, a render test skips, except
in CI (``CI=true``), where ``.ci/run`` installs both: there it fails.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from mlp_lab.book import bookcheck, pages
from mlp_lab.cache import PROJECT_ROOT

OUTPUTS = {".git", ".venv", "_book", "_report", "_freeze", ".quarto", "_preview",
           "__pycache__", ".pytest_cache", "handin", "build"}
REPORT_MARGIN = "2.2cm"  # report.qmd's margin: y
PPI = 40


def report_blank_fractions(pdf: Path) -> list[float]:
    """The blank fraction of each page of the report, inside its margins; a
    report of at most 5 pages with no page but the last more than 20 % blank
    is what the tests ask."""
    return pages.blank_fractions(pages.page_images(pdf, PPI), REPORT_MARGIN, PPI)


def needs(*tools: str) -> None:
    """Skip (fail in CI) unless every command in ``tools`` is on PATH."""
    missing = [t for t in tools if shutil.which(t) is None]
    if not missing:
        return
    why = (f"{', '.join(missing)} not on PATH: install Quarto >= 1.10.17 (or run "
           "bash ../shared/tools/quarto/install.sh) and poppler-utils")
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI must render for real: {why} (.ci/run installs them)")
    pytest.skip(why)


def data_env() -> dict:
    """MLP_LAB_DATA made absolute, or skip when no real data is available."""
    data = os.environ.get("MLP_LAB_DATA")
    if data:
        return {"MLP_LAB_DATA": str(Path(data).expanduser().resolve())}
    if (PROJECT_ROOT / "data" / "cifar-10-batches-py").is_dir():
        return {}
    pytest.skip("no data: set MLP_LAB_DATA to an ImageFolder tree (e.g. "
                "../shared/data/cifar10-jpg) or download CIFAR-10 into data/")


def _ignore(folder: str, names: list[str]) -> list[str]:
    skip = set(OUTPUTS)
    if Path(folder) == PROJECT_ROOT / "data":
        skip.add("cache")
    return [n for n in names if n in skip]


@dataclass
class Project:
    """A copy of the project and the logs of the renders made in it."""

    root: Path
    env: dict
    logs: list[str] = field(default_factory=list)

    def render(self, *args: str) -> str:
        """``scripts/render_book.sh *args`` (``make book``, or ``make report``
        with ``--profile report``) in the copy; its log. Fails the test when
        the render fails."""
        out = subprocess.run(["bash", "scripts/render_book.sh", *args],
                             cwd=self.root, env=self.env, text=True,
                             capture_output=True, timeout=3600)
        log = out.stdout + out.stderr
        assert out.returncode == 0, log[-6000:]
        self.logs.append(log)
        return log

    @property
    def book(self) -> Path:
        return self.root / "_book"

    @property
    def book_pdf(self) -> Path:
        pdfs = sorted(self.book.glob("*.pdf"))
        pdfs = [p for p in pdfs if p.name != "report.pdf"]
        assert len(pdfs) == 1, pdfs
        return pdfs[0]

    @property
    def report_pdf(self) -> Path:
        return self.root / "_report" / "report.pdf"


def project(tmp: Path, config: Path | None) -> Project:
    """A fresh copy of the project in ``tmp`` set up to render ``config``
    (None: the defaults) with the real images and a cache of its own."""
    needs("quarto", *pages.TOOLS)
    root = tmp / "project"
    shutil.copytree(PROJECT_ROOT, root, ignore=_ignore)
    (root / ".venv").symlink_to(Path(sys.prefix))
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("MLP_LAB_", "QUARTO_", "PYTEST_")) and k != "CI"}
    env.update(data_env(), MLP_LAB_CACHE=str(tmp / "cache"))
    if config is not None:
        env["MLP_LAB_CONFIG"] = str(config)
    return Project(root, env)


# ------------------------------------------------------------------ the HTML

LINK = re.compile(r'\b(?:href|src)="([^"]*)"')
ID = re.compile(r'\bid="([^"]+)"')


def broken_links(site: Path) -> list[str]:
    """Every link of the HTML pages under ``site`` to a file of the site that
    is missing, or to an anchor that its page lacks."""
    problems, ids = [], {}
    for page in sorted(site.rglob("*.html")):
        html = page.read_text(encoding="utf-8")
        for target in LINK.findall(html):
            parts = urlsplit(target)
            if parts.scheme or target.startswith(("//", "#")) or not parts.path:
                continue
            path = (page.parent / unquote(parts.path)).resolve()
            if not path.exists():
                problems.append(f"{page.relative_to(site)}: {target} is missing")
            elif parts.fragment and path.suffix == ".html":
                if path not in ids:
                    ids[path] = set(ID.findall(path.read_text(encoding="utf-8")))
                if parts.fragment not in ids[path]:
                    problems.append(f"{page.relative_to(site)}: {target} names "
                                    "no anchor of its page")
    return problems


# ------------------------------------------------------------------ the PDF

MISSING_NUMBER = re.compile(r"\{python\}|\bNone\b|\bnan\b|\binf\b")


def without_listings(text: str, names: list[str]) -> str:
    """``text`` without the lines of the library listings ``names`` that the
    book prints (their code says None legitimately)."""
    from mlp_lab.book.report import source_text

    code = {" ".join(line.split()) for n in names
            for line in source_text(n).splitlines() if line.strip()}

    def listed(line: str) -> bool:  # a code line, or the start of a wrapped one
        words = " ".join(line.split())
        return words in code or (len(words) > 20 and any(c.startswith(words)
                                                         for c in code))
    return "\n".join(line for line in text.splitlines() if not listed(line))


def layout_problems(pdf: Path, text_width: float, header_lines: int | None = None,
                    labels: bool = False) -> list[str]:
    """Overprinted words, header words broken by a hyphen, and (when asked)
    headers of more than ``header_lines`` lines and wrapped row labels, on
    every page of ``pdf``."""
    problems = []
    for n, blocks in enumerate(pages.layout(pdf), 1):
        problems += [f"p{n}: {a!r} over {b!r}" for a, b in pages.overprints(blocks)]
        for table in pages.tables(blocks, text_width):
            found = pages.header_problems(table, header_lines or 99)
            if labels:
                found += [f"{table.caption.split(':')[0]}: row label {t!r} wraps"
                          for t in pages.wrapped_labels(table)]
            problems += [f"p{n}: {p}" for p in found]
    return problems


def profile_divs(doc: str) -> list[tuple[bool, str]]:
    """(shown in the report edition, a sentence of its prose) for each
    conditional div of ``doc`` (its includes pasted in)."""
    path = PROJECT_ROOT / doc
    text = bookcheck.expand_includes(path.read_text(encoding="utf-8"), path,
                                     PROJECT_ROOT)
    out = []
    for m in bookcheck.PROFILE_DIV.finditer(text):
        active = (m.group(3) == "when") == (m.group(2) == "visible")
        # runs of plain words: a value, code, math or a reference breaks a run
        runs = re.split(r"`[^`]*`|\$[^$]*\$|@\S+|\d|[:;()\[\]{}]|\n\s*\n",
                        bookcheck.FENCED.sub("|", m.group(5)))
        for run in runs:
            words = re.findall(r"[A-Za-z][a-z]+", run)
            if len(words) >= 6:
                out.append((active, " ".join(words[:6])))
                break
    return out


def contains_words(text: str, words: str) -> bool:
    """Whether the PDF ``text`` holds ``words`` in order (line breaks and
    hyphenation aside, punctuation and inline values skipped)."""
    letters = re.findall(r"[A-Za-z][a-z]+", text.replace("-\n", ""))
    joined = " " + " ".join(letters) + " "
    return f" {words} " in joined


# ------------------------------------------------------------------ the prose

class _Prose(HTMLParser):
    """The paragraphs and list items of a page's <main>: code spans kept in
    backticks, math as one "§", tables, figures, listings and captions left
    out; each paragraph tagged with the id of its section."""

    SKIP = {"table", "figure", "figcaption", "pre", "math", "script", "style"}

    def __init__(self) -> None:
        super().__init__()
        self.paragraphs: list[tuple[str, str]] = []
        self.sections: list[str] = []
        self.skip = 0
        self.text: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "section":
            self.sections.append(attrs.get("id") or "")
        elif tag in self.SKIP:
            if tag == "math" and self.text is not None and not self.skip:
                self.text.append("§")
            self.skip += 1
        elif tag in ("p", "li") and not self.skip:
            self.text = []
        elif tag == "code" and self.text is not None and not self.skip:
            self.text.append("`")

    def handle_endtag(self, tag):
        if tag == "section" and self.sections:
            self.sections.pop()
        elif tag in self.SKIP:
            self.skip -= 1
        elif tag in ("p", "li") and self.text is not None and not self.skip:
            text = " ".join("".join(self.text).split())
            if text:
                where = next((s for s in reversed(self.sections) if s), "")
                self.paragraphs.append((where, text))
            self.text = None
        elif tag == "code" and self.text is not None and not self.skip:
            self.text.append("`")

    def handle_data(self, data):
        if self.text is not None and not self.skip:
            self.text.append(data)


def paragraphs(page: Path) -> list[tuple[str, str]]:
    """(section id, text) of every paragraph and list item of an HTML page
    of Quarto's, in order (see :class:`_Prose`)."""
    parser = _Prose()
    html = page.read_text(encoding="utf-8")
    main = re.search(r"<main\b.*?</main>", html, re.DOTALL)
    parser.feed(main.group(0) if main else html)
    return parser.paragraphs

"""The README a newcomer reads in five minutes, and the docs one link away.

Words are counted as ``len(text.split())`` on the raw Markdown file: every
run of non-whitespace characters is one word, code blocks, link targets and
Markdown syntax included. Links are ``[text](target)`` and
``![alt](target)`` outside code; a relative one must name an existing file,
and its ``#fragment`` into a Markdown file must be one of that file's
headings, slugged as GitHub does (lower-case, punctuation other than hyphens
and underscores dropped, spaces to hyphens, ``-1``, ``-2`` for repeats).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
MAX_WORDS = 1200  # issue 30
FIRST_LINES = 40  # `make book` and `make test` must show within these

FENCE = re.compile(r"^ *(```|~~~).*?^ *\1[^\n]*$", re.M | re.S)
INLINE = re.compile(r"`[^`\n]*`")
LINK = re.compile(r"!?\[[^\]]*\]\(<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\)")


def prose(text: str) -> str:
    """``text`` without fenced code blocks and inline code."""
    return INLINE.sub("", FENCE.sub("", text))


def links(path: Path) -> list[str]:
    return LINK.findall(prose(path.read_text(encoding="utf-8")))


def anchors(path: Path) -> set[str]:
    """The fragments GitHub makes for the headings of ``path``."""
    seen: dict[str, int] = {}
    out = set()
    for line in FENCE.sub("", path.read_text(encoding="utf-8")).splitlines():
        heading = re.match(r" {0,3}#{1,6} +(.*?)[ #]*$", line)
        if heading:
            text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading.group(1))
            slug = re.sub(r"[^\w\- ]", "", text.lower()).replace(" ", "-")
            n = seen.get(slug, 0)
            seen[slug] = n + 1
            out.add(slug if n == 0 else f"{slug}-{n}")
    return out


def test_the_readme_is_short():
    assert len(README.read_text(encoding="utf-8").split()) <= MAX_WORDS


def test_the_two_commands_come_first():
    head = "\n".join(README.read_text(encoding="utf-8").splitlines()[:FIRST_LINES])
    assert "make book" in head and "make test" in head


def test_the_readme_shows_a_picture_of_the_report_from_docs():
    text = prose(README.read_text(encoding="utf-8"))
    pictures = re.findall(r"!\[[^\]]*\]\(([^)\s]+)\)", text)
    assert pictures
    for picture in pictures:
        path = (ROOT / picture).resolve()
        assert path.parent == ROOT / "docs" and path.is_file(), picture
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", picture


def test_the_readme_links_every_docs_page_and_only_existing_ones():
    linked = {(ROOT / t.split("#")[0]).resolve() for t in links(README)
              if t.startswith("docs/") and t.split("#")[0].endswith(".md")}
    assert DOCS and linked == set(DOCS)


@pytest.mark.parametrize("page", [README, *DOCS], ids=lambda p: p.name)
def test_every_relative_link_resolves(page):
    broken = []
    for target in links(page):
        if re.match(r"[a-z][a-z0-9+.-]*:", target):  # https:, mailto:, ...
            continue
        file, _, fragment = target.partition("#")
        path = (page.parent / file).resolve() if file else page
        if not path.exists():
            broken.append(target)
        elif fragment and path.suffix == ".md" and fragment not in anchors(path):
            broken.append(target)
    assert not broken, broken

"""A rendered PDF as a reader sees it: its pages, their blank space, its words
where they stand, and its tables.

Measured on the PDF itself with poppler's ``pdftoppm`` (pages as images) and
``pdftotext -bbox-layout`` (every word with its box, grouped in blocks: Typst
sets each table cell apart, so each cell is a block of its own).

- A page's blank fraction is the part of its text area (the page less its top
  and bottom margins, where Typst puts the page number) below the last row
  that holds any ink: the empty space a reader sees under a page's last
  line, table or figure.
- Two words overprint when their boxes overlap: text set over other text,
  such as a cell wider than its column running into the next one.
- A table is the caption "Table k: ..." and the cells below it: the header
  row (the cells level with the first one), then the body.
"""

from __future__ import annotations

import io
import math
import re
import shutil
import subprocess
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

INK = 240  # a pixel darker than this (of 255) in any channel is ink
UNITS = {"in": 1.0, "cm": 1 / 2.54, "mm": 1 / 25.4, "pt": 1 / 72}
TOOLS = ("pdftoppm", "pdftotext")  # poppler-utils


def missing_tools() -> list[str]:
    """The poppler tools this module needs that are not on PATH."""
    return [t for t in TOOLS if shutil.which(t) is None]


def inches(length: str) -> float:
    """A Typst length such as '2.2cm', '1.25in' or '20mm' in inches."""
    match = re.fullmatch(r"\s*([\d.]+)\s*(in|cm|mm|pt)\s*", str(length))
    if not match:
        raise ValueError(f"not a length in in, cm, mm or pt: {length!r}")
    return float(match.group(1)) * UNITS[match.group(2)]


def page_images(pdf: Path, ppi: float = 40) -> list[bytes]:
    """One PNG per page of ``pdf`` at ``ppi``, in order (``pdftoppm``)."""
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["pdftoppm", "-png", "-r", str(ppi), str(pdf),
                        f"{tmp}/page"], check=True, capture_output=True)
        files = sorted(Path(tmp).glob("page-*.png"),
                       key=lambda p: int(p.stem.rsplit("-", 1)[1]))
        return [p.read_bytes() for p in files]


def ink_rows(png: bytes) -> np.ndarray:
    """Whether each pixel row of a page holds any ink."""
    from PIL import Image

    pixels = np.asarray(Image.open(io.BytesIO(png)).convert("L"))
    return (pixels < INK).any(axis=1)


def blank_below(png: bytes, margin_y: str, ppi: float) -> float:
    """The fraction of the page's text area below its last ink (0: full,
    1: empty); ``margin_y`` is the top and bottom margin."""
    rows = ink_rows(png)
    edge = round(inches(margin_y) * ppi)
    area = rows[edge:len(rows) - edge]
    inked = np.flatnonzero(area)
    if not len(inked):
        return 1.0
    return (len(area) - 1 - inked[-1]) / len(area)


def blank_fractions(pngs: list[bytes], margin_y: str, ppi: float) -> list[float]:
    """:func:`blank_below` of every page, in order."""
    return [blank_below(p, margin_y, ppi) for p in pngs]


# ------------------------------------------------------------------ words

@dataclass(frozen=True)
class Word:
    """A word and its box in points, from the page's top left corner."""

    text: str
    x0: float
    y0: float
    x1: float
    y1: float

    def overlap(self, other: Word) -> float:
        """The area both boxes cover, over the smaller box's area."""
        w = min(self.x1, other.x1) - max(self.x0, other.x0)
        h = min(self.y1, other.y1) - max(self.y0, other.y0)
        if w <= 0 or h <= 0:
            return 0.0
        smaller = min((self.x1 - self.x0) * (self.y1 - self.y0),
                      (other.x1 - other.x0) * (other.y1 - other.y0))
        return w * h / smaller if smaller > 0 else 0.0


@dataclass
class Block:
    """A block of text as poppler groups it: its lines of words."""

    lines: list[list[Word]] = field(default_factory=list)

    @property
    def words(self) -> list[Word]:
        return [w for line in self.lines for w in line]

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)

    @property
    def x0(self) -> float:
        return min(w.x0 for w in self.words)

    @property
    def y0(self) -> float:
        return min(w.y0 for w in self.words)

    @property
    def x1(self) -> float:
        return max(w.x1 for w in self.words)


def _word(node: ET.Element) -> Word:
    return Word(node.text or "", *(float(node.get(k))
                                   for k in ("xMin", "yMin", "xMax", "yMax")))


def layout(pdf: Path) -> list[list[Block]]:
    """Every page of ``pdf`` as its blocks of words, in poppler's reading order
    (``pdftotext -bbox-layout``)."""
    out = subprocess.run(["pdftotext", "-bbox-layout", str(pdf), "-"],
                         check=True, capture_output=True, text=True).stdout
    root = ET.fromstring(re.sub(r'\sxmlns="[^"]+"', "", out, count=1))
    pages = []
    for page in root.iter("page"):
        blocks = [Block([[_word(w) for w in line.iter("word")]
                         for line in block.iter("line")])
                  for block in page.iter("block")]
        pages.append([b for b in blocks if b.words])
    return pages


def overprints(blocks: list[Block], threshold: float = 0.5) -> list[tuple[str, str]]:
    """Pairs of words of one page whose boxes overlap by more than
    ``threshold`` of the smaller one: text set over other text."""
    words = sorted((w for b in blocks for w in b.words), key=lambda w: w.x0)
    found = []
    for i, a in enumerate(words):
        for b in words[i + 1:]:
            if b.x0 >= a.x1:
                break
            if a.overlap(b) > threshold:
                found.append((a.text, b.text))
    return found


# ------------------------------------------------------------------ tables

CAPTION = re.compile(r"Table\s+[A-Z\d]+(?:\.\d+)*:")
SAME_LINE = 2.0  # points: words whose tops differ by less share a line


@dataclass
class Table:
    """A table as set on a page: its caption, the lines of its header row
    (each a list of words, left to right) and the cell that starts each body
    row (its label, in the first column)."""

    caption: str
    header: list[list[Word]]
    labels: list[Block]


def _lines(words: list[Word]) -> list[list[Word]]:
    """``words`` grouped into lines by their top edge, top to bottom."""
    lines: list[list[Word]] = []
    for w in sorted(words, key=lambda w: (w.y0, w.x0)):
        if lines and w.y0 - lines[-1][0].y0 < SAME_LINE:
            lines[-1].append(w)
        else:
            lines.append([w])
    return [sorted(line, key=lambda w: w.x0) for line in lines]


def _cells_below(caption: Block, blocks: list[Block], text_width: float,
                 gap: float) -> list[Block]:
    """The blocks under ``caption``, top to bottom, up to the first that is as
    wide as the text (a paragraph), another caption, or more than ``gap``
    points below those before it (a heading or a listing after the table)."""
    bottom = max(w.y1 for w in caption.words)
    cells = []
    for block in sorted(blocks, key=lambda b: (b.y0, b.x0)):
        if block is caption or block.y0 <= caption.y0:
            continue
        if (CAPTION.match(block.text) or block.x1 - block.x0 > 0.6 * text_width
                or block.y0 - bottom > gap):
            break
        cells.append(block)
        bottom = max(bottom, max(w.y1 for w in block.words))
    return cells


def tables(blocks: list[Block], text_width: float, gap: float = 20.0) -> list[Table]:
    """The tables of one page: each caption "Table k: ..." and the cells
    below it. A row starts at each cell of the first (leftmost) column; the
    header row is the first. ``text_width`` is the text column's width in
    points."""
    found = []
    for caption in blocks:
        if not CAPTION.match(caption.text):
            continue
        cells = _cells_below(caption, blocks, text_width, gap)
        if not cells:
            continue
        left = min(c.x0 for c in cells)
        firsts = [c for c in cells if c.x0 <= left + SAME_LINE]
        if firsts[0].y0 > cells[0].y0 + SAME_LINE:  # the header's first cell
            firsts.insert(0, None)                  # is empty
        end = firsts[1].y0 if len(firsts) > 1 else math.inf
        header = [w for c in cells for w in c.words if w.y0 < end - SAME_LINE]
        found.append(Table(caption.text, _lines(header), firsts[1:]))
    return found


def header_problems(table: Table, max_lines: int = 2) -> list[str]:
    """What is wrong with a table's header row: set on more than
    ``max_lines`` lines, or a word broken by a hyphen at a line's end."""
    name = table.caption.split(":")[0]
    problems = []
    if len(table.header) > max_lines:
        problems.append(f"{name}: the header takes {len(table.header)} lines")
    broken = [w.text for line in table.header for w in line
              if re.search(r"[A-Za-z]-$", w.text)]
    if broken:
        problems.append(f"{name}: header words broken by a hyphen: {broken}")
    return problems


def wrapped_labels(table: Table) -> list[str]:
    """The body rows' labels (first cells) set on more than one line."""
    return [c.text for c in table.labels if len(_lines(c.words)) > 1]


def text(pdf: Path, layout: bool = False) -> str:
    """The PDF's text, page after page (``pdftotext``); with ``layout``, each
    line as it stands on the page (a table's rows as rows)."""
    return subprocess.run(["pdftotext", *(["-layout"] if layout else []), str(pdf),
                           "-"], check=True, capture_output=True, text=True).stdout

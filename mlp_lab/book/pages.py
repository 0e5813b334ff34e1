"""The pages of a typeset document: how many, and how much of each is blank.

A page's blank fraction is the part of its text area (the page less its top
and bottom margins, where Typst puts the page number) below the last row
that holds any ink, over the text area's height: what a reader sees as the
empty space under a page's last line, table or figure (the render review's
"page 4 is 39 % blank under its table").
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np

INK = 240  # a pixel darker than this (of 255) in any channel is ink
UNITS = {"in": 1.0, "cm": 1 / 2.54, "mm": 1 / 25.4, "pt": 1 / 72}


def inches(length: str) -> float:
    """A Typst length such as '2.2cm', '1.25in' or '20mm' in inches."""
    match = re.fullmatch(r"\s*([\d.]+)\s*(in|cm|mm|pt)\s*", str(length))
    if not match:
        raise ValueError(f"not a length in in, cm, mm or pt: {length!r}")
    return float(match.group(1)) * UNITS[match.group(2)]


def compile_pages(source: Path, ppi: float = 40) -> tuple[bytes, list[bytes]]:
    """(the PDF, one PNG per page at ``ppi``) of the Typst file ``source``,
    with Typst's embedded fonts only (as on any machine)."""
    import typst

    compiler = typst.Compiler(str(source), root=str(Path(source).parent),
                              ignore_system_fonts=True)
    pdf = compiler.compile(format="pdf")
    pngs = compiler.compile(format="png", ppi=ppi)
    return pdf, pngs if isinstance(pngs, list) else [pngs]


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


# Appended after a document's header includes: for each table header cell,
# its words, the width its column leaves them, whether Typst may hyphenate
# or justify there, and the words wider than the column (which would stick
# out, or be hyphenated where hyphenation is on).
HEADER_PROBE = """
#let probe-text(c) = if type(c) == str { c } else if c.has("text") { c.text } \
else if c.has("children") { c.children.map(probe-text).join("") } \
else if c.has("body") { probe-text(c.body) } else if c == [ ] { " " } \
else if c.func() == smartquote { "'" } else { "" }
#show table.cell.where(y: 0): it => {
  it
  layout(size => {
    let words = probe-text(it.body).split(" ").filter(w => w != "")
    [#metadata((text: words.join(" "), width: size.width.pt(),
      hyphenate: text.hyphenate == true or (text.hyphenate == auto and par.justify),
      wide: words.filter(w => measure(w).width > size.width)))<header-probe>]
  })
}
"""


def header_cells(source: Path) -> list[dict]:
    """Every table header cell of the Typst file ``source`` as laid out:
    text, width (pt), hyphenate (bool), wide (its words wider than the
    column). ``source`` must hold :data:`HEADER_PROBE` after its header."""
    import json

    import typst

    compiler = typst.Compiler(str(source), root=str(Path(source).parent),
                              ignore_system_fonts=True)
    return json.loads(compiler.query("<header-probe>", field="value"))

"""Typeset the report as Quarto's PDF would be, without Quarto: `_preview/`.

    MLP_LAB_DATA=../shared/data/cifar10-jpg .venv/bin/python scripts/preview_report.py

Executes report.qmd (the config of $MLP_LAB_CONFIG or the defaults), converts
it with pandoc 3.9 to Typst and compiles it with Typst 0.15
(mlp_lab.book.typeset), then writes _preview/report.pdf, one PNG per page
(page-1.png ...), the Typst source and the body as Markdown with its values
(report.typ, report.md), and prints the page count and each page's blank
fraction (mlp_lab.book.pages). An approximation of `make report`'s PDF: see
typeset's docstring for what it reproduces.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from mlp_lab.book import pages, typeset

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("doc", nargs="?", default="report.qmd")
    parser.add_argument("--out", default=str(ROOT / "_preview"))
    parser.add_argument("--ppi", type=float, default=110)
    args = parser.parse_args()
    out = Path(args.out)
    env = {**os.environ, "IPYTHONDIR": str(ROOT / "book" / "_ipython")}
    source, front = typeset.typeset(ROOT / args.doc, out, env, ROOT,
                                    "report")
    pdf, pngs = pages.compile_pages(source, args.ppi)
    (out / source.with_suffix(".pdf").name).write_bytes(pdf)
    for old in out.glob("page-*.png"):
        old.unlink()
    for i, png in enumerate(pngs, 1):
        (out / f"page-{i}.png").write_bytes(png)
    margin = front["format"]["typst"]["margin"]["y"]
    blank = pages.blank_fractions(pngs, margin, args.ppi)
    print(f"{len(pngs)} pages; blank below the last line: "
          + ", ".join(f"p{i} {b:.0%}" for i, b in enumerate(blank, 1)))


if __name__ == "__main__":
    main()

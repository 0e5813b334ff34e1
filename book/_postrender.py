"""Quarto post-render step: the HTML book links the short report when both exist.

Runs after every render of either edition (the report profile inherits it),
from the project root with $QUARTO_PYTHON, else ``python3`` from PATH, like
``book/_prerender.py``; it needs only the standard library and this
project's ``mlp_lab`` (no torch). See ``mlp_lab/book/editions.py``.
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    from mlp_lab.book import editions

    sys.exit(editions.main(ROOT))

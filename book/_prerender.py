"""Quarto pre-render step: forget frozen chapters when library/config/data change.

Quarto runs this from the project root with $QUARTO_PYTHON, else ``python3``
from PATH (https://quarto.org/docs/projects/scripts.html). It needs only the
standard library and this project's ``mlp_lab`` (the freeze check imports no
torch), so any Python 3.11+ will do.
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    from mlp_lab.book import freeze

    sys.exit(freeze.main(ROOT))

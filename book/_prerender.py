"""Quarto pre-render step: forget frozen chapters when library/config/data change.

Quarto runs this from the project root with $QUARTO_PYTHON, else ``python3``
from PATH (https://quarto.org/docs/projects/scripts.html). That python may
lack torch; if so and the project's ``.venv`` exists, rerun there.
"""

import importlib.util
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"


def _python_with_torch() -> None:
    """Re-exec under the project's venv when this interpreter cannot import torch."""
    if importlib.util.find_spec("torch") is not None:
        return
    if VENV_PYTHON.exists() and not os.environ.get("MLP_LAB_PRERENDER_REEXEC"):
        os.environ["MLP_LAB_PRERENDER_REEXEC"] = "1"
        os.execv(VENV_PYTHON, [str(VENV_PYTHON), __file__, *sys.argv[1:]])
    sys.exit(f"pre-render: {sys.executable} cannot import torch. Fix: set "
             "QUARTO_PYTHON to the project's python (e.g. .venv/bin/python).")


if __name__ == "__main__":
    _python_with_torch()
    sys.path.insert(0, str(ROOT))
    from mlp_lab import freeze

    sys.exit(freeze.main(ROOT))

"""Notebook cells made of the library's own source, and the notebook itself."""

from __future__ import annotations

import nbformat

from ..book.report import source_text
from .authors import author_line

# What a notebook imports first; its library code needs nothing else (torch,
# torchvision, matplotlib and numpy are the only packages used).
STDLIB = ("hashlib", "math", "os", "time", "warnings")
FROM_STDLIB = """\
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace"""
PLOTS = """\
import matplotlib
import numpy as np
from matplotlib.figure import Figure

%matplotlib inline"""


def imports(plots: bool = False) -> str:
    """The import block; with ``plots``, also matplotlib and numpy."""
    std = STDLIB + (("functools",) if plots else ())
    block = ["from __future__ import annotations",
             "\n".join(f"import {m}" for m in sorted(std)) + "\n" + FROM_STDLIB,
             "import torch\nfrom torch import nn"] + ([PLOTS] if plots else [])
    return "\n\n".join(block)


def code(*names: str, before: str = "") -> nbformat.NotebookNode:
    """A code cell holding the library's definitions ``names`` (e.g.
    ``"trainers.train"``), read from its source now, after ``before``."""
    parts = ([before.strip()] if before.strip() else []) + [
        source_text(n).rstrip() for n in names]
    shown = ", ".join(n.rpartition(".")[2] for n in names)
    # a definition shows nothing: say what the cell defined, so it has output
    parts.append(f'print("defined: {shown}")')
    return nbformat.v4.new_code_cell("\n\n\n".join(parts))


def glue(source: str) -> nbformat.NotebookNode:
    """A short code cell of the notebook's own (calls, prints, figures)."""
    return nbformat.v4.new_code_cell(source.strip())


def md(text: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_markdown_cell(text.strip())


def title(heading: str, names: list[str], extra: str = "") -> nbformat.NotebookNode:
    """The first cell: the title and the authors."""
    by = f"**Authors:** {author_line(names)}" if names else ""
    return md("\n\n".join(p for p in (f"# {heading}", by, extra) if p))


def notebook(cells: list[nbformat.NotebookNode]) -> nbformat.NotebookNode:
    """A Python 3 notebook of ``cells``."""
    nb = nbformat.v4.new_notebook()
    nb.cells = cells
    nb.metadata.update(kernelspec={"name": "python3", "display_name": "Python 3",
                                   "language": "python"},
                       language_info={"name": "python"})
    return nb

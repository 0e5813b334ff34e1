"""Notebook cells made of the library's own source, and the notebook itself."""

from __future__ import annotations

import nbformat

from .authors import author_line
from .pull import Library

IMPORTS = "# {imports}"  # where the notebook's import block goes, once known


def code(lib: Library, *names: str, before: str = "") -> nbformat.NotebookNode:
    """A code cell holding the library's definitions ``names`` (e.g.
    ``"trainers.train"``) and those they need that ``lib`` has not yet
    handed out, read from the source now, after ``before``."""
    sources, defined = lib.sources(*names)
    # a definition shows nothing: say what the cell defined, so it has output
    parts = [before.strip()] if before.strip() else []
    parts += [*sources, f'print("defined: {", ".join(defined)}")']
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


def notebook(cells: list[nbformat.NotebookNode],
             lib: Library) -> nbformat.NotebookNode:
    """A Python 3 notebook of ``cells``, ``lib``'s imports in place of IMPORTS."""
    for cell in cells:
        if cell.cell_type == "code" and IMPORTS in cell.source:
            cell.source = cell.source.replace(IMPORTS, lib.import_block())
            break
    nb = nbformat.v4.new_notebook()
    nb.cells = cells
    nb.metadata.update(kernelspec={"name": "python3", "display_name": "Python 3",
                                   "language": "python"},
                       language_info={"name": "python"})
    return nb

"""Part A, ``backpropagation.ipynb``: the course's network, backpropagation, checks.

Cells in the assignment's order: the network class of the course's contract,
``backpropagation``, then the checks (mlp_lab's four, then the course's own
``tests_backpropagation.main_test`` when that file stands beside the notebook).
"""

from __future__ import annotations

import nbformat

from ..config import Config
from . import prose
from .cells import IMPORTS, code, glue, md, notebook, title
from .pull import Library

HARNESS = "tests_backpropagation.py"  # the course hands it out; never shipped

SETUP = IMPORTS + """

# float64, as the course's notebook: the checks compare to ~1e-16.
torch.set_default_dtype(torch.float64)
torch.manual_seed(0)
print("default dtype", torch.get_default_dtype(), "and seed 0")"""

RUN_CHECKS = """
rows = check_table_rows(SIZES)
print(f"{'net':>16} {'f':>5} {'batch':>5} {'vs autograd':>12} "
      f"{'vs finite diff.':>15}  SGD step changed  leaves requiring grad")
for r in rows:
    print(f"{r['net']:>16} {r['activation']:>5} {r['batch']:>5} "
          f"{r['vs autograd']:12.1e} {r['vs finite diff.']:15.1e}  "
          f"{str(r['SGD step changed weights']):>16}  {r['leaves requiring grad']}")
passed = all(r["vs autograd"] < 1e-3 and r["SGD step changed weights"]
             and r["leaves requiring grad"] for r in rows)
print(f"{len(rows)} cases; all four checks hold: {passed}")
assert passed"""

COURSE = f"""
# The course's own checks, when its file stands beside this notebook.
if Path("{HARNESS}").is_file():
    from tests_backpropagation import main_test
    model = MyNet([2, 3, 2])
    main_test(backpropagation, model)
else:
    print("{HARNESS} is not beside this notebook, so the course's main_test "
          "did not run. To add it: copy the course's {HARNESS} into this "
          "notebook's folder and run this cell again.")"""


def cells(cfg: Config, names: list[str], ns: dict,
          lib: Library) -> list[nbformat.NotebookNode]:
    """The cells of Part A for ``cfg`` (its layer sizes), by ``names``."""
    def text(partial: str, heading: str | None = None, **refs: str):
        return md(prose.markdown(prose.section(partial, heading), ns,
                                 {k.replace("_", "-"): v for k, v in refs.items()}))
    lib.need("import torch", "from pathlib import Path")
    return [
        title("Part A: backpropagation", names),
        text("approach", "Backpropagation"),
        glue(SETUP),
        text("backprop-equations"),
        md("## The network of the course's contract"),
        code(lib, "backprop.MyNet"),
        md("## Backpropagation"),
        code(lib, "backprop.course_loss", "backprop.backpropagation"),
        text("checks", tbl_checks="The cell below"),
        code(lib, "backprop.autograd_gradients", "backprop.named_gradients",
             "backprop.relative_error"),
        code(lib, "gradcheck.check_table_rows"),
        glue(f"SIZES = {tuple(cfg.sizes)!r}  # the MLP of Part B\n" + RUN_CHECKS),
        md(f"## The course's checks\n\nThe course hands out `{HARNESS}` with a "
           "function `main_test(backprop_fn, model)`. It is not part of this "
           "hand-in; the next cell runs it when the file is in this folder."),
        glue(COURSE),
    ]


def build(cfg: Config, names: list[str], ns: dict) -> nbformat.NotebookNode:
    lib = Library()
    return notebook(cells(cfg, names, ns, lib), lib)

"""Part A, ``backpropagation.ipynb``, in the order of the course's notebook.

The imports, the course's network class, ``backpropagation`` with its
equations, one check against autograd and central differences (the checks
the report's first table shows), and last the course's two test cells, toy
then MNIST, exactly as its notebook calls them. They run the course's
``main_test``, imported from ``tests_backpropagation.py``: plainly when that
file stands beside the notebook as it is built; else only if it is there
when the cells run, a stand-in saying in one line that they did not run.
"""

from __future__ import annotations

import nbformat

from ..config import CHECK_ENTRIES, Config
from ..gradcheck import part_a_cases
from .cells import IMPORTS, code, glue, md, notebook, title
from .pull import Library

HARNESS = "tests_backpropagation.py"  # the course hands it out; never shipped
COURSE_TAG = "course-test"  # the metadata tag of the course's two test cells

SETUP = IMPORTS + """

torch.set_default_dtype(torch.double)  # float64: rounding errors near 1e-16
torch.set_num_threads(1)  # one thread, so that reruns reproduce these digits exactly"""

EQUATIONS = r"""## Backpropagation

For a batch of $B$ samples, one per row, layer $l$ computes
$z^{[l]} = a^{[l-1]} W^{[l]\top} + b^{[l]}$ and $a^{[l]} = f^{[l]}(z^{[l]})$,
with $a^{[0]} = x$ and $\hat y = a^{[L]}$. The loss is
$\mathcal{L} = \sum (y - \hat y)^2$ over the batch and the outputs. With
$\delta^{[l]} = \partial \mathcal{L} / \partial z^{[l]}$ and $\odot$ the
entrywise product:

$$\delta^{[L]} = -2\,(y - \hat y) \odot f'^{[L]}(z^{[L]}), \qquad
\delta^{[l]} = \big(\delta^{[l+1]} W^{[l+1]}\big) \odot f'^{[l]}(z^{[l]})$$

$$\frac{\partial \mathcal{L}}{\partial W^{[l]}} = \delta^{[l]\top} a^{[l-1]},
\qquad \frac{\partial \mathcal{L}}{\partial b^{[l]}} = \sum_{i=1}^{B}
\delta^{[l]}_i$$

These are the course's column equations $W^\top \delta$ and $\delta\, a^\top$
with each sample as a row."""

CHECKS = """
cases = [  # (layer widths, batch size, target width: 1 is broadcast)
{cases}]
print("network          batch   vs autograd   vs finite differences")
for n_l, batch, vs_autograd, vs_fd in gradient_checks(cases):
    print(f"{{'-'.join(map(str, n_l)):<16}} {{batch:5d}} {{vs_autograd:13.1e}} "
          f"{{vs_fd:23.1e}}")"""

# The course's test file: imported plainly when it stands beside Part A as the
# hand-in is built; else imported only if it is there when the cells run.
IMPORT_COURSE = "from tests_backpropagation import main_test  # the course's file"
MAYBE_COURSE = f"""
if Path("{HARNESS}").is_file():  # the course's file
    from tests_backpropagation import main_test
else:
    def main_test(*args, **kwargs):
        print("Not run: the course's {HARNESS} is not in this folder.")"""

TOY = "main_test(backpropagation, MyNet([2, 3, 2]), verbose=False, data='toy')"
MNIST = ("main_test(backpropagation, MyNet([24*24, 16, 10]), verbose=False, "
         "data='mnist')")


def course_cell(source: str) -> nbformat.NotebookNode:
    """One of the course's test cells: it may fail (MNIST offline) without
    stopping the notebook, and the builder reads its verdict."""
    cell = glue(source)
    cell.metadata["tags"] = [COURSE_TAG, "raises-exception"]
    return cell


def cells(cfg: Config, names: list[str], lib: Library,
          harness: bool) -> list[nbformat.NotebookNode]:
    """The cells of Part A for ``cfg`` (Part B's layer sizes), by ``names``;
    ``harness``: whether the course's test file stands beside it."""
    lib.need("import torch")
    if not harness:
        lib.need("from pathlib import Path")
    cases = part_a_cases(cfg.sizes)
    return [
        title("Part A: backpropagation", names,
              "Backpropagation by hand for any network of the course's `MyNet` "
              "class, checked against autograd and finite differences, then by "
              "the course's own tests."),
        glue(SETUP),
        md("""## The network

The course's class: `fc[str(l)]` is layer $l$'s `nn.Linear`, `f[l]` and
`df[l]` its activation (tanh) and the derivative; `forward` keeps every
`a[l]` and `z[l]`, and `backpropagation` fills `dL_dw[l]` and `dL_db[l]`."""),
        code(lib, "backprop.MyNet"),
        md(EQUATIONS),
        code(lib, "backprop.backpropagation"),
        md(rf"""## Checking the gradients

Our own check, before the course's tests: on the course's toy network (one
sample, then 10), on its MNIST network with one target per sample (5
samples), broadcast over the 10 outputs as its test does, and on a `MyNet`
with Part B's layer widths ({'-'.join(map(str, cfg.sizes))}, 32 samples),
the gradients are compared
with autograd's, and with central differences on {CHECK_ENTRIES} random
entries of each parameter, by the relative error
$\max|a - b| / (\max|a| + \max|b|)$: near $10^{{-16}}$ is float64's
rounding, a wrong gradient gives about 1."""),
        code(lib, "gradcheck.gradient_checks"),
        glue(CHECKS.format(cases="".join(f"    {c!r},\n" for c in cases))),
        md(f"""## The course's tests

`main_test` from the course's `{HARNESS}`: the toy network, then MNIST digits,
whose target (one label per image) is broadcast over the 10 outputs."""),
        glue(IMPORT_COURSE if harness else MAYBE_COURSE),
        course_cell(TOY),
        course_cell(MNIST),
    ]


def build(cfg: Config, names: list[str], harness: bool = False
          ) -> nbformat.NotebookNode:
    lib = Library()
    return notebook(cells(cfg, names, lib, harness), lib)

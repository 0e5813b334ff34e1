"""Part A, ``backpropagation.ipynb``, in the order of the course's notebook.

The network class of the course's contract, ``backpropagation`` with its
equations, mlp_lab's four checks (short), and last the course's two test
cells, toy then MNIST, exactly as the course's notebook calls them. They run
the course's ``tests_backpropagation.main_test`` when that file stands beside
the notebook (it downloads MNIST into ``../data/`` itself); without the file,
or offline, the cell says why and what to do, and the notebook goes on.
"""

from __future__ import annotations

import nbformat

from ..config import Config
from .cells import IMPORTS, code, glue, md, notebook, title
from .pull import Library

HARNESS = "tests_backpropagation.py"  # the course hands it out; never shipped

SETUP = IMPORTS + """

torch.set_default_dtype(torch.float64)  # the checks compare to ~1e-16"""

EQUATIONS = r"""## Backpropagation

For a batch of $B$ samples, one per row, layer $l$ computes
$z^{[l]} = a^{[l-1]} W^{[l]\top} + b^{[l]}$ and $a^{[l]} = f^{[l]}(z^{[l]})$,
with $a^{[0]} = x$ and $\hat y = a^{[L]}$. The loss is the course's
$\mathcal{L} = \sum (y - \hat y)^2$, summed over the batch and the outputs. With
$\delta^{[l]} = \partial \mathcal{L} / \partial z^{[l]}$ (a $B \times n_l$ matrix)
and $\odot$ the entrywise product:

$$\delta^{[L]} = -2\,(y - \hat y) \odot f'^{[L]}(z^{[L]}), \qquad
\delta^{[l]} = \big(\delta^{[l+1]} W^{[l+1]}\big) \odot f'^{[l]}(z^{[l]})$$

$$\frac{\partial \mathcal{L}}{\partial W^{[l]}} = \delta^{[l]\top} a^{[l-1]},
\qquad \frac{\partial \mathcal{L}}{\partial b^{[l]}} = \sum_{i=1}^{B}
\delta^{[l]}_i$$

(the course's column form $W^\top \delta$ and $\delta\, a^\top$, transposed).
A target $y$ with fewer values than $\hat y$, such as one label per sample in
the course's MNIST test, is broadcast as `nn.MSELoss` broadcasts it, and the
gradient is that of the broadcast loss."""

CHECKS = """
torch.manual_seed(0)
print("          network  batch  vs autograd  vs finite diff.  step changed  leaves")
for n_l, batch in [([2, 3, 2], 1), ([2, 3, 2], 10), ({sizes}, 32)]:
    x, y = torch.randn(batch, n_l[0]), torch.rand(batch, n_l[-1])
    checks = four_checks(MyNet(n_l), x, y)
    vs_autograd, vs_fd, changed, leaves = list(checks.values())[:4]
    print(f"{{str(n_l):>17}}  {{batch:5d}}  {{vs_autograd:11.1e}}  {{vs_fd:15.1e}}  "
          f"{{changed!s:>12}}  {{leaves!s:>6}}")
    assert vs_autograd < 1e-3 and vs_fd < 1e-4 and changed and leaves
print("All four checks hold in every case.")"""

COURSE = f"""
# The last two cells run the course's tests_backpropagation.py when it stands
# beside this notebook (it downloads MNIST into ../data/ itself).
if Path("{HARNESS}").is_file():
    from tests_backpropagation import main_test as course_main_test

    def main_test(*args, **kwargs):
        \"\"\"The course's main_test; offline, MNIST cannot be downloaded: say so.\"\"\"
        try:
            course_main_test(*args, **kwargs)
        except RuntimeError as error:
            if not str(error).startswith("Error downloading"):
                raise
            print("MNIST could not be downloaded, so this test did not run:",
                  str(error).splitlines()[0], "Go online and run this cell again.")
else:
    def main_test(backprop_fn, model, verbose=False, data="toy"):
        \"\"\"Stands in for the course's main_test while its file is absent.\"\"\"
        print(f"{HARNESS} is not beside this notebook, so the course's "
              f"{{data}} test did not run. Copy it into this folder and run "
              "the notebook again.")"""

TOY = "main_test(backpropagation, MyNet([2, 3, 2]), verbose=False, data='toy')"
MNIST = ("main_test(backpropagation, MyNet([24*24, 16, 10]), verbose=False, "
         "data='mnist')")


def cells(cfg: Config, names: list[str], lib: Library) -> list[nbformat.NotebookNode]:
    """The cells of Part A for ``cfg`` (Part B's layer sizes), by ``names``."""
    lib.need("import torch", "from pathlib import Path")
    return [
        title("Part A: backpropagation", names,
              "Backpropagation by hand for any network of the course's `MyNet` "
              "contract, checked against autograd and finite differences, then "
              "by the course's own tests."),
        glue(SETUP),
        md("""## The network of the course's contract

`fc[str(l)]` is layer $l$'s `nn.Linear`; `f[l]` and `df[l]` its activation
and the derivative; `forward` keeps every `a[l]` and `z[l]`, and
`backpropagation` fills `dL_dw[l]` and `dL_db[l]`. tanh on every layer, as
in the course's class (ReLU can be chosen instead)."""),
        code(lib, "backprop.MyNet"),
        md(EQUATIONS),
        code(lib, "backprop.course_loss", "backprop.backpropagation"),
        md(f"""## Four checks

The course's four checks, as we implemented them, on the toy network 2-3-2 and
on one of Part B's size ({'-'.join(map(str, cfg.sizes))}), tanh: the gradients
against autograd (relative error below 1e-3) and against centered finite
differences (below 1e-4), an SGD step that changes every weight, and
parameters that are still leaves requiring gradients."""),
        code(lib, "gradcheck.four_checks"),
        glue(CHECKS.format(sizes=list(cfg.sizes))),
        md(f"""## The course's tests

The course's `main_test` from `{HARNESS}` (handed out by the course, not part
of this hand-in): on the toy network, then on MNIST digits, whose target is
one label per image, broadcast over the 10 outputs."""),
        glue(COURSE),
        glue(TOY),
        glue(MNIST),
    ]


def build(cfg: Config, names: list[str]) -> nbformat.NotebookNode:
    lib = Library()
    return notebook(cells(cfg, names, lib), lib)

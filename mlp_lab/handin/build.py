"""``make handin``: both notebooks executed, README.txt, report.pdf, handin.zip.

Part A runs in the output folder (where the course's ``tests_backpropagation.py``
may stand), Part B in the project root (so that ``data/`` is the project's, as
for the library). Each runs top to bottom in a fresh ``python3`` kernel and
keeps every output. ``report.pdf`` is the report edition, rendered by
``quarto render --profile report``; without Quarto the rest is still written
and the build fails with a message that says so.
"""

from __future__ import annotations

import datetime
import os
import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from ..book.bookcheck import ANSI
from ..book.places import shown_place
from ..cache import PROJECT_ROOT
from ..config import Config
from ..timing import timed
from ..experiments import run
from ..results import Results, load_record
from . import authors, parta, partb

NOTEBOOKS = {"backpropagation.ipynb": parta, "gradient_descent.ipynb": partb}
REPORT_PDF = PROJECT_ROOT / "_report" / "report.pdf"
FILES = (*NOTEBOOKS, "report.pdf", "README.txt")
# The book's IPython profile, which scripts/render_book.sh gives the book's
# kernels too: it drops ipykernel's notice "Kernel is running over TCP without
# encryption" and nothing else (book/_ipython/profile_default says why).
KERNEL_PROFILE = PROJECT_ROOT / "book" / "_ipython"


class HandinError(RuntimeError):
    """A notebook failed to execute, or the report could not be rendered."""


def execute(nb: nbformat.NotebookNode, cwd: Path, env: dict,
            name: str) -> nbformat.NotebookNode:
    """Run every cell of ``nb`` in a fresh python3 kernel in ``cwd``, in place."""
    env = {k: v for k, v in env.items() if k != "MPLBACKEND"}  # inline figures
    env["IPYTHONDIR"] = str(KERNEL_PROFILE)
    client = NotebookClient(nb, timeout=None, kernel_name="python3",
                            shutdown_kernel="immediate",
                            resources={"metadata": {"path": str(cwd)}})
    try:
        client.execute(env=env)
    except CellExecutionError as exc:
        raise HandinError(f"{name} failed:\n" + ANSI.sub("", str(exc))) from None
    return nb


FILE_LIST = """\
backpropagation.ipynb   Part A: the course's network class, backpropagation by
                        hand, and its checks (executed, outputs kept).
gradient_descent.ipynb  Part B: data, MyMLP, train and train_manual_update,
                        every setting, selection and test (executed, outputs
                        kept; it trains for real and gives the report's numbers).
report.pdf              The report: approach and design, results, answers
                        (a) to (g).
README.txt              This file."""


def readme(cfg: Config, record: Results, names: list[str]) -> str:
    """README.txt: what each file is, how it was made, from what config and data."""
    d, env = record.data, record.env
    config = os.environ.get("MLP_LAB_CONFIG") or "the defaults (configs/default.toml)"
    paragraphs = [
        f"How they were produced: `make handin` of the mlp_lab project on "
        f"{datetime.date.today().isoformat()}. The notebooks' code cells are the "
        "library's own functions, taken from its source when they were built; "
        "each notebook ran top to bottom in a fresh Jupyter kernel and needs "
        "only torch, torchvision, matplotlib and numpy. The report is `quarto "
        "render --profile report` of the same project.",
        f"Config: {config}: {cfg.name}, layers {'-'.join(map(str, cfg.sizes))}, "
        f"{len(cfg.settings)} settings, {cfg.epochs} epochs, batch "
        f"{cfg.batch_size}, seed {cfg.seed}, {cfg.dtype}.",
        f"Data: {d.source} ({shown_place(d.location)}), {d.n_files} files, fingerprint "
        f"{d.fingerprint}. Run again without MLP_LAB_DATA, gradient_descent.ipynb "
        "downloads the canonical CIFAR-10 with torchvision; with MLP_LAB_DATA "
        "set to an ImageFolder tree it reads that tree. Computed with PyTorch "
        f"{env.torch}, torchvision {env.torchvision}, on {env.device}."]
    head = ("Hand-in: Backpropagation and Gradient Descent\nAuthors: "
            + (authors.author_line(names) or "(none given)"))
    return "\n\n".join([head, FILE_LIST, *(textwrap.fill(p, 78)
                                           for p in paragraphs)]) + "\n"


def render_report(env: dict) -> Path:
    """``quarto render --profile report`` in the project; the PDF's path."""
    quarto = shutil.which("quarto", path=env.get("PATH"))
    if quarto is None:
        raise HandinError("report.pdf needs Quarto, which is not installed; the "
                          "notebooks and README.txt are written. Fix: install "
                          "Quarto from https://quarto.org/docs/get-started/ "
                          "and run make handin again.")
    out = subprocess.run([quarto, "render", "--profile", "report"],
                         cwd=PROJECT_ROOT, env={**env, "QUARTO_PYTHON": sys.executable,
                                                "IPYTHONDIR": str(KERNEL_PROFILE)},
                         text=True, capture_output=True)
    if out.returncode != 0 or not REPORT_PDF.is_file():
        raise HandinError("quarto render --profile report failed:\n"
                          + out.stdout[-3000:] + out.stderr[-3000:])
    return REPORT_PDF


def build(cfg: Config, out: Path, env: dict | None = None, log=print) -> Path:
    """Write the hand-in of ``cfg`` into ``out``; return the zip's path.

    Raises HandinError (after writing both notebooks and README.txt) when the
    report cannot be rendered."""
    env = dict(os.environ if env is None else env)
    meta = authors.project_meta()
    for warning in (authors.placeholder_warning(meta),
                    authors.division_warning(meta)):
        if warning:
            print(f"warning: {warning}", file=sys.stderr)
    names = authors.authors(meta)
    out.mkdir(parents=True, exist_ok=True)
    for old in FILES + ("handin.zip",):
        (out / old).unlink(missing_ok=True)
    record = load_record(cfg) or run(cfg)  # the report's numbers: trained if new
    for name, part in NOTEBOOKS.items():
        cwd = out if part is parta else PROJECT_ROOT
        nb = parta.build(cfg, names) if part is parta else partb.build(cfg, names,
                                                                        record)
        seconds, nb = timed(execute, nb, cwd, env, name)
        nbformat.write(nb, out / name)
        log(f"executed {name} in {seconds:.0f} s")
    (out / "README.txt").write_text(readme(cfg, record, names), encoding="utf-8")
    shutil.copyfile(render_report(env), out / "report.pdf")
    with zipfile.ZipFile(out / "handin.zip", "w", zipfile.ZIP_DEFLATED) as z:
        for name in FILES:
            z.write(out / name, name)
    log(f"wrote {out}/: {', '.join(FILES)} and handin.zip")
    return out / "handin.zip"

"""``make handin``: both notebooks executed, README.txt, report.pdf, handin.zip.

Each setting is trained once per trainer, and for real in the notebook:

1. Both notebooks run, each in a fresh ``python3`` kernel and at once: Part A
   in the output folder (where the course's ``tests_backpropagation.py`` may
   stand), Part B in the project root (where ``data/`` is). Meanwhile this
   process prepares the data as the library does.
2. After Part B's last cell, its kernel hands over each training's losses,
   time and final parameters (:data:`partb.HANDOFF`, run in that kernel but
   not a cell of the notebook). The results record is made from them
   (``experiments.run(..., handed=...)``), scored here as the library scores
   its own; a setting already in the results cache is compared with them
   instead, and must be equal to the last bit.
3. Part B's two written analyses are filled in from the record; the verdicts
   of the course's tests in Part A are recorded for the report
   (:mod:`mlp_lab.book.course`).
4. ``report.pdf`` is ``quarto render --profile report`` (without Quarto the
   rest is still written and the build fails, saying so).

The executed notebooks are kept in the results cache under a key of all they
depend on (their code, the record's key, the course's test file), so a
second ``make handin`` with nothing changed executes nothing, as Quarto's
freeze reuses a chapter.
"""

from __future__ import annotations

import copy
import hashlib
import math
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from .. import cache
from ..book import course
from ..book.bookcheck import ANSI
from ..cache import PROJECT_ROOT
from ..config import Config
from ..results import Results, load_record, record_key
from ..timing import timed
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
    """Run every cell of ``nb`` in a fresh python3 kernel in ``cwd``, in place
    (a cell tagged ``raises-exception`` may fail; any other error stops it)."""
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


def run_part_b(nb: nbformat.NotebookNode, env: dict, handoff: Path) -> None:
    """Execute Part B in the project root, then, in the same kernel, the
    hand-over of its trainings into ``handoff`` (a cell that is run, then
    dropped from the notebook)."""
    nb.cells.append(nbformat.v4.new_code_cell(partb.HANDOFF.format(path=str(handoff))))
    try:
        execute(nb, PROJECT_ROOT, env, "gradient_descent.ipynb")
    finally:
        nb.cells.pop()


def handed_trainings(cfg: Config, handoff: Path, data) -> dict:
    """(setting index, trainer) -> Trained, from Part B's hand-over file:
    its losses and parameters, scored as the library scores its own (the
    notebook does not time its trainings: NaN seconds)."""
    from ..training import from_state

    raw = cache.load_tensors(handoff)
    if not isinstance(raw, dict):
        raise HandinError(f"Part B handed over no trainings ({handoff}).")
    out = {}
    for name, (losses, state) in raw.items():
        i, trainer = name.split("/")
        # the notebook's model names its layers as MyMLP does in the library
        out[(int(i), trainer)] = from_state(cfg, trainer, list(losses), math.nan,
                                            state, data)
    return out


def same_as_cached(cfg: Config, data, handed: dict) -> list[str]:
    """The settings already in the results cache whose trainings differ from
    the notebook's (losses of both trainers, the SGD model's parameters)."""
    import torch

    from ..experiments import cached_entry

    differ = []
    for i, setting in enumerate(cfg.settings):
        entry = cached_entry(cfg, setting, data.provenance["fingerprint"])
        if entry is None or (i, "sgd") not in handed:
            continue
        result, state = entry
        sgd, manual = handed[(i, "sgd")], handed[(i, "manual")]
        if (result.train_loss_sgd != sgd.losses
                or result.train_loss_manual != manual.losses
                or state.keys() != sgd.state.keys()
                or not all(torch.equal(state[k], sgd.state[k]) for k in state)):
            differ.append(f"Model {i + 1}")
    return differ


def record_from_notebook(cfg: Config, handoff: Path, data) -> Results:
    """The results record of ``cfg`` made from Part B's trainings."""
    from ..experiments import run

    handed = handed_trainings(cfg, handoff, data)
    differ = same_as_cached(cfg, data, handed)
    if differ:
        raise HandinError(
            f"the notebook's trainings of {', '.join(differ)} differ from the "
            "results cache's, which should be impossible. Fix: delete data/cache "
            "(or $MLP_LAB_CACHE) and run make handin again.")
    return run(cfg, data=data, handed=handed)


def course_verdicts(nb: nbformat.NotebookNode) -> dict[str, str]:
    """The verdict of each of the course's test cells of executed Part A."""
    cells = [c for c in nb.cells if parta.COURSE_TAG in c.metadata.get("tags", [])]
    out = {}
    for mode, cell in zip(course.MODES, cells):
        printed = "".join(o.get("text", "") for o in cell.outputs)
        error = " ".join(f"{o.get('ename', '')}: {o.get('evalue', '')}"
                         for o in cell.outputs if o.output_type == "error")
        out[mode] = course.verdict(printed, error)
    return out


def reuse_key(cfg: Config, built: dict[str, nbformat.NotebookNode],
              out: Path) -> str:
    """What the executed notebooks depend on: their code and Markdown as
    built, the results record's key (config, data, computing code,
    releases), and the course's test file beside Part A."""
    harness = out / parta.HARNESS
    return cache.stable_hash([  # the cells, not their ids (random in nbformat)
        {name: [(c.cell_type, c.source) for c in nb.cells]
         for name, nb in built.items()},
        record_key(cfg),
        hashlib.sha256(harness.read_bytes()).hexdigest() if harness.is_file() else ""])


def _kept(key: str, name: str) -> Path:
    return cache.cache_dir() / "handin" / f"{Path(name).stem}-{key}.ipynb"


def executed_notebooks(cfg: Config, built: dict, out: Path, env: dict,
                       log) -> tuple[dict, Results]:
    """Both notebooks executed, and the record made from Part B's trainings;
    reused from the cache when nothing they depend on changed."""
    key = reuse_key(cfg, built, out)
    record = load_record(cfg)
    kept = {name: _kept(key, name) for name in built}
    if record is not None and all(p.is_file() for p in kept.values()):
        log("reused the executed notebooks: nothing they depend on changed")
        done = {n: nbformat.read(p, as_version=4) for n, p in kept.items()}
        partb.analyses(done["gradient_descent.ipynb"], record)  # today's words
        return done, record
    from ..data import load_data

    a, b = (copy.deepcopy(built[n]) for n in NOTEBOOKS)
    with tempfile.TemporaryDirectory(prefix="mlp_lab-handin-") as tmp, \
            ThreadPoolExecutor(2) as pool:
        handoff = Path(tmp) / "trainings.pt"
        part_a = pool.submit(timed, execute, a, out, env, "backpropagation.ipynb")
        data = pool.submit(load_data, cfg)
        seconds, _ = timed(run_part_b, b, env, handoff)
        log(f"executed gradient_descent.ipynb in {seconds:.0f} s")
        log(f"executed backpropagation.ipynb in {part_a.result()[0]:.0f} s")
        record = record_from_notebook(cfg, handoff, data.result())
    # the course's verdicts, when its file stood beside Part A (none else)
    course.save(course_verdicts(a) if (out / parta.HARNESS).is_file() else
                dict.fromkeys(course.MODES, course.ABSENT))
    done = {"backpropagation.ipynb": a, "gradient_descent.ipynb": b}
    for name, nb in done.items():  # kept before the analyses: they are words,
        cache.save_text(kept[name], nbformat.writes(nb))  # written anew each time
    partb.analyses(b, record)
    return done, record


FILE_LIST = """\
backpropagation.ipynb   Part A: the course's network class, backpropagation by
                        hand, its check against autograd and finite
                        differences, and the course's two test cells.
gradient_descent.ipynb  Part B, tasks 1 to 10: data, MyMLP, train and
                        train_manual_update, every setting, selection, test.
report.pdf              The report: approach, results, answers (a) to (g).
README.txt              This file."""


def readme(cfg: Config, record: Results, names: list[str]) -> str:
    """README.txt for the grader: the files, what each notebook needs to run,
    where the data comes from, and how the files were made (one line)."""
    d = record.data
    data = ("CIFAR-10 as torchvision downloads it (datasets.CIFAR10, into data/ "
            "on the first run)." if d.source != "imagefolder" else
            f"an ImageFolder copy of CIFAR-10 ({d.n_files:,} "
            f"{'JPEG ' if any(t in ('.jpg', '.jpeg') for t in d.file_types) else ''}"
            "files, read from data/ beside the notebook: this machine had no "
            "internet). With internet, datasets.CIFAR10(\"data\", download=True) "
            "reads the original files; the numbers then differ slightly.")
    paragraphs = [
        "To run them again: Python 3.11 with torch, torchvision and matplotlib. "
        f"backpropagation.ipynb needs the course's {parta.HARNESS} beside it for "
        "its last two cells (they download MNIST into ../data/). "
        "gradient_descent.ipynb runs in the folder that holds data/; it trains "
        f"{2 * len(cfg.settings)} models ({cfg.epochs} epochs each).",
        f"Data: {data}",
        "Made with the mlp_lab project (make handin), which executed both "
        "notebooks and rendered the report from the same code and results."]
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
    built = {"backpropagation.ipynb": parta.build(
                 cfg, names, harness=(out / parta.HARNESS).is_file()),
             "gradient_descent.ipynb": partb.build(cfg, names)}
    done, record = executed_notebooks(cfg, built, out, env, log)
    for name, nb in done.items():
        nbformat.write(nb, out / name)
    (out / "README.txt").write_text(readme(cfg, record, names), encoding="utf-8")
    seconds, pdf = timed(render_report, env)
    log(f"rendered report.pdf in {seconds:.0f} s")
    shutil.copyfile(pdf, out / "report.pdf")
    with zipfile.ZipFile(out / "handin.zip", "w", zipfile.ZIP_DEFLATED) as z:
        for name in FILES:
            z.write(out / name, name)
    log(f"wrote {out}/: {', '.join(FILES)} and handin.zip")
    return out / "handin.zip"

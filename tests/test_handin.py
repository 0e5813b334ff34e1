"""The course hand-in (make handin): both notebooks built from the library's
core and executed in fresh kernels where ``import mlp_lab`` fails; each
training done once, in Part B's kernel, and handed to the results record,
which equals the library's own to the last bit; the notebooks print what the
record holds and what the report shows; a second build executes nothing; the
code is short, pyflakes-clean and free of the library's plumbing on both
shipped configs; Part A ends with the course's two test cells (run by a
stand-in of the course's harness, MNIST served on 127.0.0.1). Where Quarto is
installed, the whole hand-in for real: the report's tables equal what the
notebooks print.

The notebooks run on ``tests/handin_small.toml`` with a temporary cache; they
need the real images (``MLP_LAB_DATA`` or the CIFAR-10 download in ``data/``).
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import dataclasses
import io
import json
import os
import re
import subprocess
import sys
import tempfile
import zipfile
from collections import Counter
from pathlib import Path

import nbformat
import pytest
import torch
from pyflakes.api import check as pyflakes_check
from pyflakes.reporter import Reporter

import render
from cifar_archive import ArchiveServer
from course_harness import mnist_files, standin
from mlp_lab import cli, experiments, gradcheck, pool
from mlp_lab.book import answers, course
from mlp_lab.cache import PROJECT_ROOT
from mlp_lab.config import Config, load_config
from mlp_lab.handin import authors, build, parta, partb, pull
from mlp_lab.results import Results, load_record
from records import results as fake_record, setting as fake_setting
from render import data_env  # the real images, or skip
from test_kernel_log import NOTICE, REAL  # ipykernel's TCP notice; real warnings

SMALL = PROJECT_ROOT / "tests" / "handin_small.toml"
VARIANT = PROJECT_ROOT / "configs" / "airplane-bird-32.toml"
NOTEBOOKS = ("backpropagation.ipynb", "gradient_descent.ipynb")
PAIR = ["Ada Lovelace", "Alan Turing"]
PASSED = course.PASSED

# Every kernel of the build: importing mlp_lab fails, and each backward pass
# (one per training batch) is counted, with the process and its folder.
KERNEL_SITE = '''
import importlib.abc, importlib.machinery, os, sys

class _NoMlpLab(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "mlp_lab" or name.startswith("mlp_lab."):
            raise ImportError("mlp_lab is blocked in this kernel")
        return None

class _CountBackward(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name != "torch":
            return None
        found = importlib.machinery.PathFinder.find_spec(name, path, target)
        run = found.loader.exec_module
        def exec_module(module):
            run(module)
            real = module.autograd.backward
            def backward(*args, **kwargs):
                with open(os.environ["HANDIN_TEST_COUNT"], "a") as f:
                    f.write(f"{os.getpid()} {os.getcwd()}\\n")
                return real(*args, **kwargs)
            module.autograd.backward = backward
        found.loader.exec_module = exec_module
        return found

sys.meta_path[:0] = [_NoMlpLab(), _CountBackward()]
'''


@contextlib.contextmanager
def fd_stderr(into: io.StringIO):
    """Append what this process and its children (the notebooks' kernels) write
    on file descriptor 2 during the block to ``into``."""
    with tempfile.TemporaryFile("w+") as tmp:
        saved = os.dup(2)
        os.dup2(tmp.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            into.write(tmp.read())


def _path_without_quarto() -> str:
    return os.pathsep.join(p for p in os.environ.get("PATH", "").split(os.pathsep)
                           if not (Path(p) / "quarto").exists())


@contextlib.contextmanager
def mnist_mirror():
    """A server on 127.0.0.1 holding a small MNIST; yields (mirror URL, files)."""
    files = mnist_files()
    with ArchiveServer() as srv:
        srv.files.update(files)
        yield srv.url(""), files


def _counted(path: Path) -> Counter:
    """Backward passes by (pid, folder) from the count file."""
    if not path.is_file():
        return Counter()
    return Counter(tuple(line.split(" ", 1)) for line in
                   path.read_text().splitlines())


def _handin(tmp: Path, out: Path, env: dict) -> dict:
    """``python -m mlp_lab handin`` on the small config, in this process
    without Quarto, its kernels unable to import mlp_lab; the backward passes
    of this process and of every kernel counted."""
    err, kernels = io.StringIO(), io.StringIO()
    here = []
    config_before = os.environ.get("MLP_LAB_CONFIG")
    with pytest.MonkeyPatch.context() as mp:
        for k, v in env.items():
            mp.setenv(k, v)
        mp.setattr(authors, "PROJECT_ROOT", tmp / "project")
        # Train here (one worker): a pool's fork server would keep this
        # blocked PYTHONPATH for every later pool of the session.
        mp.setattr(pool, "usable_cores", lambda: 1)
        real = torch.autograd.backward
        mp.setattr(torch.autograd, "backward",
                   lambda *a, **k: here.append(1) or real(*a, **k))
        with contextlib.redirect_stderr(err), fd_stderr(kernels):
            rc = cli.main(["handin", "--config", str(SMALL), "--out", str(out)])
        config_after = os.environ.get("MLP_LAB_CONFIG")
        mp.setenv("MLP_LAB_CONFIG", str(SMALL))  # the record of the small config
        record = load_record(load_config())
        verdicts = course.load()
    nbs = {n: nbformat.read(out / n, as_version=4) for n in NOTEBOOKS
           if (out / n).is_file()}
    return {"rc": rc, "stderr": err.getvalue(), "kernels": kernels.getvalue(),
            "nbs": nbs, "record": record, "verdicts": verdicts, "here": len(here),
            "config_after": config_after, "config_before": config_before}


@pytest.fixture(scope="module")
def handin(tmp_path_factory):
    """The hand-in built twice in the same folders: cold, then with nothing
    changed (the second must execute nothing: ``build.execute`` fails there).
    The course's stand-in beside Part A, MNIST served for it."""
    tmp = tmp_path_factory.mktemp("handin")
    site = tmp / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(KERNEL_SITE)
    out = tmp / "out"
    out.mkdir()
    count = tmp / "backward.txt"
    env = {**data_env(), "MLP_LAB_CACHE": str(tmp / "cache"),
           "PYTHONPATH": str(site), "PATH": _path_without_quarto(),
           "OMP_NUM_THREADS": "1", "HANDIN_TEST_COUNT": str(count)}
    project = tmp / "project"  # a pair of authors who forgot the division
    project.mkdir()
    (project / "_quarto.yml").write_text(
        f"book:\n  author: {PAIR!r}\nhandin:\n  division: ''\n")
    with mnist_mirror() as (mirror, files):
        (out / parta.HARNESS).write_text(standin(mirror, files))
        first = _handin(tmp, out, env)
        first["counted"] = _counted(count)
        count.unlink(missing_ok=True)
        with pytest.MonkeyPatch.context() as mp:
            def executes(*args, **kwargs):
                raise AssertionError("a second make handin executed a notebook")
            mp.setattr(build, "execute", executes)
            second = _handin(tmp, out, env)
        second["counted"] = _counted(count)
    return {**first, "second": second, "out": out, "tmp": tmp,
            "env": {**os.environ, **env}}


def _outputs(nb) -> str:
    return "\n".join(o.get("text", "") + o.get("data", {}).get("text/plain", "")
                     for c in nb.cells if c.cell_type == "code" for o in c.outputs)


def _cell_text(cell) -> str:
    return "".join(o.get("text", "") for o in cell.outputs)


def _sections(nb) -> list[tuple[str, list]]:
    """(## heading, the cells up to the next ## heading) of a notebook."""
    out: list[tuple[str, list]] = []
    for cell in nb.cells:
        heading = (re.match(r"## (.+)", cell.source)
                   if cell.cell_type == "markdown" else None)
        if heading:
            out.append((heading.group(1), []))
        elif out:
            out[-1][1].append(cell)
    return out


def _task(nb, n: int) -> str:
    """What the code cells of task ``n`` printed."""
    return next("".join(_cell_text(c) for c in cells if c.cell_type == "code")
                for h, cells in _sections(nb) if h.startswith(f"Task {n}:"))


# ---------------------------------------------------------------- the build

def test_without_quarto_the_notebooks_and_readme_are_written_and_it_fails(handin):
    assert handin["rc"] == 1
    assert handin["config_after"] == handin["config_before"]  # --config: no leak
    assert "report.pdf needs Quarto" in handin["stderr"]
    assert set(handin["nbs"]) == set(NOTEBOOKS)
    assert not (handin["out"] / "handin.zip").exists()


def test_readme_tells_the_grader_the_files_their_needs_and_the_data(handin):
    readme = (handin["out"] / "README.txt").read_text()
    assert "Ada Lovelace and Alan Turing" in readme
    for name in (*NOTEBOOKS, "report.pdf", parta.HARNESS, "torchvision",
                 "matplotlib", "CIFAR-10"):
        assert name in readme, name
    assert re.search(r"ImageFolder copy of CIFAR-10 \(\d+ JPEG files", readme)
    assert readme.count("make handin") == 1  # one line on how it was made
    assert "MLP_LAB" not in readme and "config" not in readme.lower()


def test_the_kernels_could_not_import_mlp_lab(handin, tmp_path):
    """The notebooks ran where importing mlp_lab fails, and import nothing of it."""
    probe = nbformat.v4.new_notebook()
    probe.cells = [nbformat.v4.new_code_cell("import mlp_lab")]
    with pytest.raises(build.HandinError, match="mlp_lab is blocked"):
        build.execute(probe, tmp_path, handin["env"], "probe")
    for name, nb in handin["nbs"].items():
        text = "\n".join(c.source for c in nb.cells)
        assert not re.search(r"^\s*(import|from) mlp_lab", text, re.MULTILINE), name


def test_each_training_happens_once_in_part_bs_kernel(handin):
    """A cold build trains each (setting, trainer) once: every backward pass of
    the build is in Part B's kernel (the project root), as many as two
    trainers times the settings times their epochs of batches; none in the
    builder, which makes the record from the kernel's trainings."""
    cfg = load_config(SMALL)
    n_train = handin["record"].data.n_train
    batches = -(-n_train // cfg.batch_size)
    by_folder = Counter()
    for (pid, folder), n in handin["counted"].items():
        by_folder[Path(folder).resolve()] += n
    kernels = {pid for pid, folder in handin["counted"]
               if Path(folder).resolve() == PROJECT_ROOT}
    assert len(kernels) == 1
    assert by_folder[PROJECT_ROOT] == 2 * len(cfg.settings) * cfg.epochs * batches
    assert handin["here"] == 0
    # the course's stand-in trains too, in Part A's folder: not a setting's
    assert by_folder[handin["out"].resolve()] > 0


def test_a_second_handin_with_nothing_changed_executes_nothing(handin):
    second = handin["second"]
    assert second["rc"] == 1  # still no Quarto
    assert not second["counted"] and second["here"] == 0
    for name in NOTEBOOKS:
        assert nbformat.writes(second["nbs"][name]) == nbformat.writes(
            handin["nbs"][name])
    assert second["record"] == handin["record"]


def test_the_record_made_from_the_notebook_is_the_librarys_to_the_last_bit(
        handin, tmp_path, monkeypatch):
    """experiments.run, in a fresh cache, trains the same settings itself: every
    number of its record equals the one made from Part B's kernel."""
    monkeypatch.setenv("MLP_LAB_CACHE", str(tmp_path / "cache"))
    for k, v in data_env().items():
        monkeypatch.setenv(k, v)
    own = experiments.run(load_config(SMALL))
    made = handin["record"]

    def numbers(res):
        return [{k: v for k, v in dataclasses.asdict(s).items()
                 if k not in ("seconds_sgd", "seconds_manual", "from_cache")}
                for s in res.settings]
    assert numbers(own) == numbers(made)
    assert own.best == made.best
    assert dataclasses.replace(own.data, cache_file="") == dataclasses.replace(
        made.data, cache_file="")  # the data, wherever its cache file lay


def test_the_kernels_log_no_tcp_notice(handin):
    """The hand-in's log is as quiet as the render's: its kernels use the
    book's IPython profile (test_kernel_log), so no notice per notebook."""
    assert NOTICE not in handin["kernels"] + handin["stderr"]


def test_the_kernels_profile_drops_the_notice_and_nothing_else(tmp_path, capfd,
                                                                 monkeypatch):
    """A notebook whose kernel logs a warning and an error as ipykernel logs
    its notice: both show, the notice does not; with an empty profile in its
    place, the notice shows (so it is the profile that drops it)."""
    probe = nbformat.v4.new_notebook()
    probe.cells = [nbformat.v4.new_code_cell(REAL)]
    build.execute(probe, tmp_path, dict(os.environ), "probe")
    quiet = capfd.readouterr().err
    assert NOTICE not in quiet, quiet
    assert "WARNING | a real warning stays visible" in quiet, quiet
    assert "ERROR | a real error stays visible" in quiet, quiet
    monkeypatch.setattr(build, "KERNEL_PROFILE", tmp_path / "empty-ipythondir")
    build.execute(probe, tmp_path, dict(os.environ), "probe")
    plain = capfd.readouterr().err
    if "a real warning stays visible" in plain and NOTICE not in plain:
        pytest.skip("this ipykernel does not print the TCP notice")
    assert NOTICE in plain, plain


def _only_definitions(source: str) -> bool:
    """A cell that only defines (functions, classes, constants, imports, a
    choice between definitions) or sets torch up (``torch.set_...``)."""
    kinds = (ast.FunctionDef, ast.ClassDef, ast.Assign, ast.Import, ast.ImportFrom)

    def defines(node: ast.AST) -> bool:
        if isinstance(node, ast.If):
            return all(map(defines, node.body + node.orelse))
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
            return ast.unparse(node.value.func).startswith("torch.set_")
        return isinstance(node, kinds)
    return all(map(defines, ast.parse(source).body))


def test_every_code_cell_ran_and_kept_its_output(handin):
    """Every cell ran without error (the course's cells may fail, none did
    here); every cell that does more than define shows an output."""
    for name, nb in handin["nbs"].items():
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert code and all(c.execution_count for c in code), name
        silent = [c.source[:60] for c in code
                  if not c.outputs and not _only_definitions(c.source)]
        assert not silent, (name, silent)
        assert not [o for c in code for o in c.outputs if o.output_type == "error"]
    figures = [o for c in handin["nbs"]["gradient_descent.ipynb"].cells
               if c.cell_type == "code" for o in c.outputs
               if "image/png" in o.get("data", {})]
    assert len(figures) == 3  # samples, normalized samples, losses


# ---------------------------------------------------------------- Part A

def test_part_a_ends_with_the_course_test_cells_and_both_pass(handin):
    """The course's toy and MNIST cells, last and exactly as its notebook has
    them, run by the stand-in (MNIST downloaded from the served mirror into
    ../data/): 4 / 4 each, and the verdicts recorded for the report."""
    nb = handin["nbs"]["backpropagation.ipynb"]
    toy, mnist = nb.cells[-2], nb.cells[-1]
    assert toy.source == ("main_test(backpropagation, MyNet([2, 3, 2]), "
                          "verbose=False, data='toy')")
    assert mnist.source == ("main_test(backpropagation, MyNet([24*24, 16, 10]), "
                            "verbose=False, data='mnist')")
    assert PASSED in _cell_text(toy) and PASSED in _cell_text(mnist)
    assert (handin["tmp"] / "data" / "MNIST" / "raw").is_dir()  # ../data/
    assert handin["verdicts"] == {"toy": "passed", "mnist": "passed"}
    assert "passed all four of its checks on the toy network and on MNIST" in (
        course.sentence(handin["verdicts"]))


def _printed_checks(nb) -> list[tuple[str, int, float, float]]:
    """Part A's check table as printed: network, batch and the two errors."""
    return [(net, int(batch), float(a), float(fd)) for net, batch, a, fd in
            re.findall(r"^([\d-]+)\s+(\d+)\s+(\S+e-\d+)\s+(\S+e-\d+)$",
                       _outputs(nb), re.MULTILINE)]


def test_part_a_prints_the_check_table_the_report_shows(handin):
    """Part A's rows, to the digits it prints, are those of the report's first
    table (gradcheck.check_table), computed apart in this process."""
    printed = _printed_checks(handin["nbs"]["backpropagation.ipynb"])
    table = gradcheck.check_table(load_config(SMALL).sizes)
    assert printed == [(n, b, float(f"{a:.1e}"), float(f"{f:.1e}")) for n, b, a, f
                       in table.itertuples(index=False)]
    assert [n for n, *_ in printed] == ["2-3-2", "2-3-2", "576-16-10", "768-128-32-2"]


def _run_part_a(folder: Path, env: dict, cfg: Config) -> nbformat.NotebookNode:
    """Part A built as make handin builds it for ``folder`` (importing the
    course's file when it is there) and executed in it."""
    nb = parta.build(cfg, ["A"], harness=(folder / parta.HARNESS).is_file())
    return build.execute(nb, folder, env, "backpropagation.ipynb")


def test_part_a_without_the_harness_or_offline_says_why_and_goes_on(handin,
                                                                    tmp_path):
    """No tests_backpropagation.py (here with the variant's network in the
    check): each test cell prints one line saying so. Offline (a mirror that
    refuses): the toy test passes, the MNIST cell keeps the download's error,
    and its verdict is "not run"; neither stops the notebook."""
    absent = tmp_path / "absent" / "nb"
    absent.mkdir(parents=True)
    nb = _run_part_a(absent, handin["env"], load_config(VARIANT))
    assert re.search(r"^3072-512-128-32-2 +32 ", _outputs(nb), re.MULTILINE)
    for cell in nb.cells[-2:]:
        assert _cell_text(cell).strip() == (
            f"Not run: the course's {parta.HARNESS} is not in this folder.")
    assert build.course_verdicts(nb) == {"toy": "not run", "mnist": "not run"}
    offline = tmp_path / "offline" / "nb"
    offline.mkdir(parents=True)
    with ArchiveServer() as gone:
        mirror = gone.url("")
    (offline / parta.HARNESS).write_text(standin(mirror, mnist_files()))
    nb = _run_part_a(offline, handin["env"], Config())
    assert PASSED in _cell_text(nb.cells[-2])
    assert [o.output_type for o in nb.cells[-1].outputs] == ["error"]
    assert nb.cells[-3].source == parta.IMPORT_COURSE  # no stand-in beside the file
    assert build.course_verdicts(nb) == {"toy": "passed", "mnist": "not run"}


# ---------------------------------------------------------------- Part B

def _printed_table(nb) -> list[dict]:
    """Task 8's printed table: one dict per setting."""
    rows = re.findall(r"^\s+(\d+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\d\.\d{5})\s+"
                      r"(\d+\.\d\d)%\s+(\d+\.\d\d)%\s+(yes|NO)$", _task(nb, 8),
                      re.MULTILINE)
    return [{"model": int(m), "lr": float(lr), "momentum": float(mo),
             "weight_decay": float(wd), "final_loss": loss, "train": tr,
             "val": va, "identical": same == "yes"}
            for m, lr, mo, wd, loss, tr, va, same in rows]


def test_part_b_prints_the_records_numbers(handin):
    """Task 8's table: each setting's final loss (5 decimals) and accuracies
    (percent, 2 decimals) as the record holds them; task 9 the record's
    selection; task 10 its test accuracy and confusion matrix."""
    nb, rec = handin["nbs"]["gradient_descent.ipynb"], handin["record"]
    rows = _printed_table(nb)
    assert [r["model"] for r in rows] == list(range(1, len(rec.settings) + 1))
    for r, s in zip(rows, rec.settings):
        assert (r["lr"], r["momentum"], r["weight_decay"]) == (
            s.lr, s.momentum, s.weight_decay)
        assert r["final_loss"] == f"{s.final_loss:.5f}"
        assert (r["train"], r["val"]) == (f"{100 * s.train_acc:.2f}",
                                          f"{100 * s.val_acc:.2f}")
        assert r["identical"]
        assert s.max_abs_diff_loss == s.max_abs_diff_params == 0
    best = rec.best
    assert f"Selected: Model {best.index + 1} " in _task(nb, 9)
    test = _task(nb, 10)
    assert f"accuracy {100 * best.test_acc:.2f}%" in test
    (a, b), (c, d) = best.confusion
    assert re.search(rf"\[\[\s*{a}\s+{b}\]\s*\[\s*{c}\s+{d}\]\]", test), test


def test_tasks_5_to_7_print_every_fifth_epoch_and_a_verdict(handin):
    """Tasks 5, 6 and 7 compare the trainers on plain SGD, weight decay alone
    and momentum alone: both losses at epoch 1 and every fifth epoch, to 5
    decimals, as the record has them, then whether every loss and weight is
    identical."""
    nb, rec = handin["nbs"]["gradient_descent.ipynb"], handin["record"]
    for task, i in ((5, 0), (6, 1), (7, 2)):
        said = _task(nb, task)
        rows = re.findall(r"^\s+(\d+)\s+(\d\.\d{5})\s+(\d\.\d{5})$", said,
                          re.MULTILINE)
        s = rec.settings[i]
        epochs = [e for e in range(1, len(s.train_loss_sgd) + 1)
                  if e == 1 or e % 5 == 0]
        assert [int(e) for e, _, _ in rows] == epochs == [1, 5]
        assert [(a, b) for _, a, b in rows] == [
            (f"{s.train_loss_sgd[e - 1]:.5f}", f"{s.train_loss_manual[e - 1]:.5f}")
            for e in epochs]
        assert (f"All {len(s.train_loss_sgd)} losses and the final weights are "
                "identical: largest difference 0 in the losses, 0 in the "
                "weights.") in said


def test_part_b_has_one_section_per_task_each_with_code_and_output(handin):
    sections = _sections(handin["nbs"]["gradient_descent.ipynb"])
    tasks = [int(m.group(1)) for h, _ in sections
             if (m := re.match(r"Task (\d+):", h))]
    assert tasks == list(range(1, 11)) and len(sections) == 10
    for heading, cells in sections:
        code = [c for c in cells if c.cell_type == "code"]
        assert code, heading
        if not heading.startswith(("Task 3", "Task 4")):  # 3, 4: definitions
            assert any(c.outputs for c in code), heading


def test_the_written_analyses_are_the_reports_sentences(handin):
    """Part B's analyses of tasks 8 to 10 say what the report's (g) and (f)
    say, from the same record (book.answers)."""
    from mlp_lab.book import answers

    text = "\n".join(c.source for c in handin["nbs"]["gradient_descent.ipynb"].cells
                     if c.cell_type == "markdown")
    rec = handin["record"]
    for sentence in answers.g_sentences(rec) + [answers.test_sentence(rec)]:
        assert sentence in text, sentence
    assert "written once the results exist" not in text
    # the second build reuses the executed notebook and writes the analyses anew
    again = "\n".join(c.source for c in
                      handin["second"]["nbs"]["gradient_descent.ipynb"].cells
                      if c.cell_type == "markdown")
    assert again == text


def test_no_output_shows_the_machines_data_folder(handin):
    """A handed-in notebook, or its README, names the data by source and
    count, never by where it lay on the machine that ran it."""
    folder = Path(data_env().get("MLP_LAB_DATA") or PROJECT_ROOT / "data").resolve()
    readme = (handin["out"] / "README.txt").read_text()
    for nb in handin["nbs"].values():
        text = _outputs(nb) + "".join(c.source for c in nb.cells) + readme
        assert str(folder) not in text and str(folder.parent) not in text


def test_first_cells_show_the_authors_and_the_missing_division_warns(handin):
    for nb in handin["nbs"].values():
        assert nb.cells[0].cell_type == "markdown"
        assert "**Authors:** Ada Lovelace and Alan Turing" in nb.cells[0].source
    assert re.search(r"^warning: 2 authors .*no paragraph on how you divided",
                     handin["stderr"], re.MULTILINE)


# ---------------------------------------------------------------- code a grader reads

def _built(config: Path | None) -> dict:
    """Both notebooks of ``config`` (None: the defaults), built, not run."""
    cfg = load_config(config) if config else Config()
    return {"A": parta.build(cfg, ["A"]), "B": partb.build(cfg, ["A"])}


def _code(nb) -> str:
    """The notebook's code cells, joined in order (a script)."""
    return "\n\n".join(c.source for c in nb.cells if c.cell_type == "code")


def _pyflakes(source: str) -> str:
    out, err = io.StringIO(), io.StringIO()
    pyflakes_check(source, "notebook", Reporter(out, err))
    return out.getvalue() + err.getvalue()


def _lines(source: str) -> int:
    return sum(1 for line in source.splitlines() if line.strip())


EDITIONS = pytest.mark.parametrize("config", [None, VARIANT], ids=["default", "2023"])


@EDITIONS
def test_pyflakes_finds_nothing_in_either_notebook(config):
    """Every name is defined or imported in the notebook; no import unused."""
    for part, nb in _built(config).items():
        source = _code(nb)
        assert "from __future__" not in source
        assert _pyflakes(source) == "", (part, _pyflakes(source))
    assert "undefined name 'Config'" in _pyflakes("def f(cfg: Config): pass")


@EDITIONS
def test_the_notebooks_are_as_long_as_a_model_answer(config):
    """Non-blank code lines: Part A at most 100, Part B at most 300 (the
    course's own solutions hold about 76 and 224), lines within 88
    characters."""
    nbs = _built(config)
    assert _lines(_code(nbs["A"])) <= 100
    assert _lines(_code(nbs["B"])) <= 300
    for nb in nbs.values():
        assert max(map(len, _code(nb).splitlines())) <= 88


# What the reader does not need: the library's plumbing around its core, and
# what the graders marked as such.
PLUMBING = {
    "data location": r"data_root|MLP_LAB|data_dir|limit_per_class",
    "device": r"default_device|\.to\(device",
    "hooks": r"on_epoch|progress|update=",
    "divergence": r"isfinite|diverged|nan_to_num",
    "the library's comparisons": r"max_abs_diff|select_best",
    "lazy trainings": r"\brun_of\b|\btrained\s*=\s*\{\}",
    "a predicate for the tasks": r"compare\(lambda",
    "a cell for the tests": r"unrounded|final_loss_sgd",
    "guards of Part A": r"\bTINY\b|1e-30|ACTIVATIONS|ValueError|Fix:",
    "caches and their keys": r"(?i:fingerprint|md5|sha256|cache|pinned|worker)",
    "result classes": r"DataSummary|SettingResult|\bResults\b|Trained\b",
    "PyTorch's own source": r"alpha=1\b|dampening",
    "references to the library": r"\bmlp_lab\b|:func:|:mod:|:data:",
}


@EDITIONS
def test_no_plumbing_and_no_docstring_names_what_the_notebook_lacks(config):
    """Neither notebook shows the plumbing the graders named; every ``name``
    quoted in a docstring or comment is defined, imported or bound in the
    notebook, or a builtin."""
    for part, nb in _built(config).items():
        source = _code(nb)
        found = {k: re.findall(p, source) for k, p in PLUMBING.items()}
        assert not any(found.values()), (part, {k: f for k, f in found.items() if f})
        tree = ast.parse(source)
        bound = set(dir(builtins)) | {
            n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} | {
            a.arg for n in ast.walk(tree) if isinstance(n, ast.arguments)
            for a in n.args + n.kwonlyargs} | {
            n.name for n in ast.walk(tree)
            if isinstance(n, (ast.FunctionDef, ast.ClassDef))} | {
            n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)} | {
            n.arg for n in ast.walk(tree) if isinstance(n, ast.keyword)} | {
            (a.asname or a.name).split(".")[0] for n in ast.walk(tree)
            if isinstance(n, (ast.Import, ast.ImportFrom)) for a in n.names}
        quoted = re.findall(r"``([A-Za-z_]\w*)", source)
        assert not [q for q in quoted if q not in bound], (
            part, sorted({q for q in quoted if q not in bound}))


def test_the_2023_notebook_resizes_nothing_and_names_its_classes_once():
    """Its images are CIFAR-10's 32x32 already: no resize. Its class names are
    CIFAR-10's: one list, not two equal ones."""
    source = _code(_built(VARIANT)["B"])
    assert "Resize" not in source and "PILToTensor()" in source
    assert "CLASS_NAMES" not in source and "CLASSES = ['airplane', 'bird']" in source
    default = _code(_built(None)["B"])
    assert "Resize((16, 16))" in default and "CLASSES = ['automobile', 'cat']" in default


def test_the_2023_notebook_prints_what_its_comparison_with_the_course_says():
    """The comments' sentence on the course's published output (2023 edition
    only) rests on numbers Part B prints: each setting's final loss as a
    multiple of the course's, and the departures of the validation accuracies,
    the largest of which the sentence names."""
    record = Results.from_dict(json.loads(
        (PROJECT_ROOT / "tests" / "data" / "record-2023.json").read_text()))
    cell = next(c.source for c in _built(VARIANT)["B"].cells
                if "COURSE_OUTPUT = " in c.source)
    kernel = {"SETTINGS": [(s.lr, s.momentum, s.weight_decay) for s in record.settings],
              "results": {i: {"sgd": {"losses": s.train_loss_sgd}}
                          for i, s in enumerate(record.settings, 1)},
              "val_acc": {i: s.val_acc for i, s in enumerate(record.settings, 1)}}
    with contextlib.redirect_stdout(io.StringIO()) as out:
        exec(cell, kernel)
    printed = out.getvalue()
    said = answers.reference_sentence(record)
    worst, low, high = re.search(r"at most (\d+\.\d\d) percentage points.* are "
                                 r"(\d\.\d) to (\d\.\d) times", said).groups()
    assert re.search(rf"[+-]{re.escape(worst)} points off", printed), printed
    ratios = re.findall(r"final loss (\d\.\d) times", printed)
    assert len(ratios) == 4 and (min(ratios), max(ratios)) == (low, high)
    assert not any("COURSE_OUTPUT" in c.source for c in _built(None)["B"].cells)


def test_the_manual_update_is_written_as_the_rule_with_one_comment():
    """The step as a person writes the documented rule: the momentum buffer
    as momentum * buf + g, and one comment where the fused form is needed."""
    source = pull.source_text("trainers.sgd_step")
    assert "momentum * buf + g" in source
    assert "g.add(p, alpha=weight_decay)" in source and "add_(g, alpha=-lr)" in source
    assert len(re.findall(r"#", source)) == 2  # one two-line comment


DEFAULT_WORDS = re.compile(r"\b(car|cat|automobile|768|16x16)\b")


def _default_words(text: str) -> list[str]:
    """The default edition's class names and sizes in ``text`` (``torch.cat``
    and decimal numbers such as 0.768 are not)."""
    text = re.sub(r"\.cat\(|\d*\.\d+", " ", text)
    return DEFAULT_WORDS.findall(text)


def test_the_variant_notebooks_name_none_of_the_defaults():
    """The shipped variant builds the same way: its own classes, sizes and
    settings, none of the default edition's."""
    cfg = load_config(VARIANT)
    nbs = _built(VARIANT)
    record = fake_record([fake_setting(lr=s.lr, momentum=s.momentum,
                                       weight_decay=s.weight_decay)
                          for s in cfg.settings], cfg=cfg,
                         class_names=cfg.class_names)
    partb.analyses(nbs["B"], record)
    for part, nb in nbs.items():
        text = "\n".join(c.source for c in nb.cells)
        assert not _default_words(text), (part, _default_words(text))
        assert "3072" in text
    assert "airplane" in text and "bird" in text and "32x32" in text  # Part B
    # SETTINGS, and the course's published output of the same settings
    assert text.count("(0.01, 0.") == 2 * len(cfg.settings) == 8
    assert _default_words("torch.cat(x) 0.768 concatenate") == []
    assert _default_words("car vs cat, 16x16, 768") == ["car", "cat", "16x16", "768"]


# ---------------------------------------------------------------- the pull

def test_a_definition_brings_what_it_uses_once_in_the_order_of_use():
    lib = pull.Library()
    sources, defined = lib.sources("images.prepare")
    assert sorted(defined) == ["channel_stats", "class_indices", "prepare",
                               "split_indices", "two_classes"]
    assert [s.split("(")[0] for s in sources] == [
        "def class_indices", "def two_classes", "def split_indices",
        "def channel_stats", "def prepare"]  # each before its first use
    again, more = lib.sources("images.batches", "images.two_classes")
    assert more == ["batches"]
    # annotations count: a notebook evaluates them
    assert pull.used_names(ast.parse("def f(x: Iterable) -> Any: pass")) == [
        "Iterable", "Any"]
    _, manual = pull.Library().sources("trainers.train_manual_update")
    assert manual == ["train_manual_update", "sgd_step"]
    assert "from __future__" not in lib.import_block()


def test_a_module_of_mlp_lab_cannot_go_into_a_notebook():
    with pytest.raises(pull.PullError, match="module cache"):
        pull.Library().sources("sources.cifar_dir")
    lib = pull.Library(provided=frozenset({"cifar_dir"}))
    assert lib.sources("sources.missing_data")[1] == ["missing_data", "DataError"]


# ---------------------------------------------------------------- authors

def book(author) -> dict:
    """_quarto.yml's metadata with ``book: author: author``."""
    return {"book": {"author": author}}


def test_authors_one_name_a_list_or_quarto_objects():
    assert authors.authors(book("Ada")) == ["Ada"]
    assert authors.authors(book(["Ada", "Alan"])) == ["Ada", "Alan"]
    assert authors.authors(book([{"name": "Ada"}, {"name": "Alan"}])) == [
        "Ada", "Alan"]
    assert authors.authors({"author": "Ada"}) == []  # would head every chapter
    assert authors.author_line(["Ada", "Alan", "Grace"]) == "Ada, Alan and Grace"
    assert authors.authors(authors.project_meta())  # the project names someone


def test_two_authors_without_a_division_paragraph_warn():
    pair = book(["Ada", "Alan"])
    assert "Ada and Alan" in authors.division_warning(pair)
    split = {**pair, "handin": {"division": "Ada wrote Part A;\n Alan Part B."}}
    assert authors.division_warning(split) is None
    assert authors.division_warning(book("Ada")) is None
    section = authors.division_markdown(split)
    assert section == "**Division of work.** Ada wrote Part A; Alan Part B.\n"
    assert authors.division_markdown(pair) == ""


def test_make_handin_warns_about_the_placeholder_author(tmp_path):
    """The project's own placeholder (or no author) warns, naming the key to
    set; the build prints it before anything else (here it then fails on an
    output folder that is a file)."""
    assert authors.authors(authors.project_meta()) == [authors.PLACEHOLDER]
    for meta in (book("mlp-lab"), book([]), {}):
        said = authors.placeholder_warning(meta)
        assert "'book: author:' in _quarto.yml" in said
    assert authors.placeholder_warning(book(["Ada", "Alan"])) is None
    blocker = tmp_path / "out"
    blocker.write_text("a file where the folder goes")
    err = io.StringIO()
    with contextlib.redirect_stderr(err), pytest.raises(FileExistsError):
        build.build(Config(), blocker)
    assert re.match(r"warning: the hand-in names the placeholder 'mlp-lab' as its "
                    r"author\. Fix: put your names under 'book: author:' in "
                    r"_quarto\.yml", err.getvalue())


def test_the_report_prints_the_division_when_one_is_given(tmp_path, monkeypatch):
    """The report's own chunk, run on a project whose _quarto.yml has one."""
    from mlp_lab.book import bookcheck

    chunk = next(c for c in bookcheck.read_chapter(PROJECT_ROOT / "report.qmd").cells
                 if "division" in c.source)
    (tmp_path / "_quarto.yml").write_text(
        f"book:\n  author: {PAIR!r}\nhandin:\n  division: >\n    Ada wrote Part A,\n"
        "    Alan Part B; both wrote the report.\n")
    monkeypatch.setattr(authors, "PROJECT_ROOT", tmp_path)
    shown = io.StringIO()
    with contextlib.redirect_stdout(shown):
        exec(bookcheck.strip_options(chunk.source), {})  # noqa: S102
    assert "Ada wrote Part A, Alan Part B; both wrote the report." in shown.getvalue()
    assert bookcheck.cell_options(chunk.source)["output"] == "asis"
    meta = authors.project_meta(PROJECT_ROOT)
    assert "author" not in meta  # one place: book.author
    assert "division" in meta["handin"]


def test_the_handin_folder_is_ignored_by_git():
    """Its notebooks, report and zip are outputs, never committed."""
    out = subprocess.run(["git", "check-ignore", "-q", "handin/report.pdf"],
                         cwd=PROJECT_ROOT, capture_output=True)
    if out.returncode == 128:
        pytest.skip("not a git checkout")
    assert out.returncode == 0


# ---------------------------------------------------------------- for real

@pytest.fixture(scope="module")
def for_real(tmp_path_factory):
    """make handin in a fresh copy of the project, with Quarto, a pair of
    authors and the course's stand-in beside Part A (MNIST served)."""
    tmp = tmp_path_factory.mktemp("handin-real")
    project = render.project(tmp, SMALL)
    meta = (project.root / "_quarto.yml").read_text()
    (project.root / "_quarto.yml").write_text(meta.replace(
        'author: "mlp-lab"', "author: [Ada Lovelace, Alan Turing]").replace(
        'division: ""', 'division: "Ada wrote Part A, Alan Part B."'))
    out = project.root / "handin"
    out.mkdir()
    with mnist_mirror() as (mirror, files):
        (out / parta.HARNESS).write_text(standin(mirror, files))
        env = {**project.env, "PYTHONPATH": str(project.root)}
        done = subprocess.run([sys.executable, "-m", "mlp_lab", "handin"],
                              cwd=project.root, env=env, text=True,
                              capture_output=True, timeout=3600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    nbs = {n: nbformat.read(out / n, as_version=4) for n in NOTEBOOKS}
    return {"out": out, "nbs": nbs, "pdf": out / "report.pdf",
            "text": render.pages.text(out / "report.pdf"),
            "rows": render.pages.text(out / "report.pdf", layout=True)}


def test_make_handin_for_real_writes_the_four_files(for_real):
    with zipfile.ZipFile(for_real["out"] / "handin.zip") as z:
        assert sorted(z.namelist()) == sorted(build.FILES)
    assert len(render.pages.page_images(for_real["pdf"], 20)) <= 5


def _power(text: str) -> float:
    """A number as the report writes it: '0', '10⁻⁵' or '1.5×10⁻¹⁶'."""
    plain = text.translate(str.maketrans("\u2070\u00b9\u00b2\u00b3\u2074\u2075\u2076"
                                         "\u2077\u2078\u2079\u207b\u2212",
                                         "0123456789--"))
    power = re.fullmatch(r"(?:(.+)\u00d7)?10(-\d+)", plain)
    if power is None:
        return float(plain)
    return float(f"{power.group(1) or 1}e{power.group(2)}")


def test_the_reports_first_table_is_what_part_a_prints(for_real):
    """Table 1 of the report: every row of Part A's printed check table, with
    its values (Part A prints 1.5e-16, the report 1.5×10⁻¹⁶)."""
    printed = _printed_checks(for_real["nbs"]["backpropagation.ipynb"])
    table = for_real["rows"][for_real["rows"].index("Table 1:"):]
    for net, batch, a, fd in printed:
        row = re.search(rf"^\s*{re.escape(net)}\s+{batch}\s+(\S+)\s+(\S+)$", table,
                        re.MULTILINE)
        assert row and (_power(row.group(1)), _power(row.group(2))) == (a, fd), net


def test_the_reports_results_table_is_what_part_b_prints(for_real):
    """Table 2 of the report: each setting's final loss and accuracies as task
    8 prints them; its test sentence the numbers task 10 prints."""
    nb = for_real["nbs"]["gradient_descent.ipynb"]
    table = for_real["rows"][for_real["rows"].index("Table 2:"):]
    printed = _printed_table(nb)
    assert printed
    for r in printed:
        row = re.search(rf"^\s*Model {r['model']}\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)"
                        r"\s+(\S+)\s+(\S+)$", table, re.MULTILINE)
        assert row, r
        assert [float(v) for v in row.group(1, 2, 3)] == [
            r["lr"], r["momentum"], r["weight_decay"]]
        assert row.group(4, 5, 6) == (r["final_loss"], r["train"], r["val"]), r
    test = _task(nb, 10)
    accuracy = re.search(r"accuracy (\d+\.\d\d)%", test).group(1)
    assert f"reaches {accuracy}%" in " ".join(for_real["text"].split())


def test_the_report_says_the_courses_tests_passed(for_real):
    said = " ".join(for_real["text"].replace("\u2019", "'").split())
    assert ("The course's own test of backpropagation (its main_test) passed all "
            "four of its checks on the toy network and on MNIST.") in said
    assert "Ada Lovelace and Alan Turing" in said and "Ada wrote Part A" in said

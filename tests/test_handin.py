"""The course hand-in (make handin): both notebooks built from the library,
executed in a fresh kernel where ``import mlp_lab`` fails, every code cell with
its output, Part B's numbers equal to the results record's, one section per
task, pyflakes-clean and within the line budget, Part A ending with the
course's two test cells (run by a stand-in of the course's harness, both
modes, MNIST served on 127.0.0.1), the config and the authors followed; where
Quarto is installed, the whole hand-in for real.

The notebooks run on ``tests/handin_small.toml`` with a temporary cache; they
need the real images (``MLP_LAB_DATA`` or the CIFAR-10 download in ``data/``).
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import io
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import nbformat
import pytest
from pyflakes.api import check as pyflakes_check
from pyflakes.reporter import Reporter

from cifar_archive import ArchiveServer
from course_harness import mnist_files, standin
from mlp_lab import cli, pool
from mlp_lab.book import bookcheck
from mlp_lab.cache import PROJECT_ROOT
from mlp_lab.config import Config, load_config
from mlp_lab.handin import authors, build, parta, partb, pull
from mlp_lab.results import load_record
from records import results as fake_record, setting as fake_setting
from render import data_env  # the real images, or skip
from test_kernel_log import NOTICE, REAL  # ipykernel's TCP notice; real warnings

SMALL = PROJECT_ROOT / "tests" / "handin_small.toml"
VARIANT = PROJECT_ROOT / "configs" / "airplane-bird-32.toml"
NOTEBOOKS = ("backpropagation.ipynb", "gradient_descent.ipynb")
PAIR = ["Ada Lovelace", "Alan Turing"]
PASSED = "4 / 4: ALL TEST PASSED"

# A kernel in which importing mlp_lab fails, whatever else is installed.
BLOCKER = '''
import sys
class _NoMlpLab:
    def find_spec(self, name, path=None, target=None):
        if name == "mlp_lab" or name.startswith("mlp_lab."):
            raise ImportError("mlp_lab is blocked in this kernel")
        return None
sys.meta_path.insert(0, _NoMlpLab())
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


@pytest.fixture(scope="module")
def handin(tmp_path_factory):
    """``python -m mlp_lab handin`` on the small config, without Quarto, its
    kernels unable to import mlp_lab, the course's stand-in beside Part A with
    MNIST served for it."""
    tmp = tmp_path_factory.mktemp("handin")
    blocker = tmp / "blocker"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text(BLOCKER)
    out = tmp / "out"
    out.mkdir()
    env = {**data_env(), "MLP_LAB_CACHE": str(tmp / "cache"),
           "PYTHONPATH": str(blocker), "PATH": _path_without_quarto(),
           "OMP_NUM_THREADS": "1"}
    project = tmp / "project"  # a pair of authors who forgot the division
    project.mkdir()
    (project / "_quarto.yml").write_text(
        f"book:\n  author: {PAIR!r}\nhandin:\n  division: ''\n")
    err, kernels = io.StringIO(), io.StringIO()
    config_before = os.environ.get("MLP_LAB_CONFIG")
    with pytest.MonkeyPatch.context() as mp, mnist_mirror() as (mirror, files):
        (out / parta.HARNESS).write_text(standin(mirror, files))
        for k, v in env.items():
            mp.setenv(k, v)
        mp.setattr(authors, "PROJECT_ROOT", project)
        # Train the record here: a pool's fork server would keep this blocked
        # PYTHONPATH for every later pool of the session (conftest's default).
        mp.setattr(pool, "usable_cores", lambda: 1)
        with contextlib.redirect_stderr(err), fd_stderr(kernels):
            rc = cli.main(["handin", "--config", str(SMALL), "--out", str(out)])
        config_after = os.environ.get("MLP_LAB_CONFIG")
        mp.setenv("MLP_LAB_CONFIG", str(SMALL))  # the record of the small config
        record = load_record(load_config())
        kernel_env = dict(os.environ)
    nbs = {n: nbformat.read(out / n, as_version=4) for n in NOTEBOOKS
           if (out / n).is_file()}
    return {"rc": rc, "stderr": err.getvalue(), "kernels": kernels.getvalue(),
            "out": out, "nbs": nbs,
            "record": record, "env": kernel_env, "config_after": config_after,
            "config_before": config_before, "tmp": tmp}


def test_without_quarto_the_notebooks_and_readme_are_written_and_it_fails(handin):
    assert handin["rc"] == 1
    assert handin["config_after"] == handin["config_before"]  # --config: no leak
    assert "report.pdf needs Quarto" in handin["stderr"]
    assert set(handin["nbs"]) == set(NOTEBOOKS)
    readme = (handin["out"] / "README.txt").read_text()
    assert "handin_small.toml" in readme and "Ada Lovelace and Alan Turing" in readme
    assert re.search(r"Data: (imagefolder|torchvision-cifar10) ", readme)
    assert not (handin["out"] / "handin.zip").exists()


def test_the_kernels_could_not_import_mlp_lab(handin, tmp_path):
    """The notebooks ran where importing mlp_lab fails, and import nothing of it."""
    probe = nbformat.v4.new_notebook()
    probe.cells = [nbformat.v4.new_code_cell("import mlp_lab")]
    with pytest.raises(build.HandinError, match="mlp_lab is blocked"):
        build.execute(probe, tmp_path, handin["env"], "probe")
    for name, nb in handin["nbs"].items():
        text = "\n".join(c.source for c in nb.cells)
        assert not re.search(r"^\s*(import|from) mlp_lab", text, re.MULTILINE), name


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
    """Every cell ran without error; every cell that does more than define
    shows an output; no cell only says what it defined."""
    for name, nb in handin["nbs"].items():
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert code and all(c.execution_count for c in code), name
        silent = [c.source[:60] for c in code
                  if not c.outputs and not _only_definitions(c.source)]
        assert not silent, (name, silent)
        errors = [o for c in code for o in c.outputs if o.output_type == "error"]
        assert not errors, name
        assert not any("defined:" in c.source for c in code), name
    figures = [o for c in handin["nbs"]["gradient_descent.ipynb"].cells
               if c.cell_type == "code" for o in c.outputs
               if "image/png" in o.get("data", {})]
    assert len(figures) == 5  # samples, normalized, losses, accuracies, confusion


def _outputs(nb) -> str:
    return "\n".join(o.get("text", "") + o.get("data", {}).get("text/plain", "")
                     for c in nb.cells if c.cell_type == "code" for o in c.outputs)


def _cell_text(cell) -> str:
    return "".join(o.get("text", "") for o in cell.outputs)


def test_part_a_ends_with_the_course_test_cells_and_both_pass(handin):
    """The course's toy and MNIST cells, last and exactly as its notebook has
    them, run by the stand-in (MNIST downloaded from the served mirror into
    ../data/): 4 / 4 each; mlp_lab's own checks before them."""
    nb = handin["nbs"]["backpropagation.ipynb"]
    toy, mnist = nb.cells[-2], nb.cells[-1]
    assert toy.source == ("main_test(backpropagation, MyNet([2, 3, 2]), "
                          "verbose=False, data='toy')")
    assert mnist.source == ("main_test(backpropagation, MyNet([24*24, 16, 10]), "
                            "verbose=False, data='mnist')")
    assert PASSED in _cell_text(toy) and PASSED in _cell_text(mnist)
    assert (handin["tmp"] / "data" / "MNIST" / "raw").is_dir()  # ../data/
    assert "All four checks hold in every case." in _outputs(nb)


def _run_part_a(folder: Path, env: dict, cfg: Config) -> nbformat.NotebookNode:
    nb = parta.build(cfg, ["A"])
    return build.execute(nb, folder, env, "backpropagation.ipynb")


def test_part_a_without_the_harness_or_offline_says_why_and_goes_on(handin,
                                                                    tmp_path):
    """No tests_backpropagation.py (here with the variant's network in the
    checks): both cells say so and how to add it. Offline (a mirror that
    refuses): the toy test passes, the MNIST cell says that MNIST could not
    be downloaded; neither stops the notebook."""
    absent = tmp_path / "absent" / "nb"
    absent.mkdir(parents=True)
    nb = _run_part_a(absent, handin["env"], load_config(VARIANT))
    assert re.search(r"^\[3072, 512, 128, 32, 2\] +32 ", _outputs(nb), re.MULTILINE)
    for cell in nb.cells[-2:]:
        said = _cell_text(cell)
        assert "tests_backpropagation.py is not beside this notebook" in said
        assert "Copy it into this folder" in said
    offline = tmp_path / "offline" / "nb"
    offline.mkdir(parents=True)
    with ArchiveServer() as gone:
        mirror = gone.url("")
    (offline / parta.HARNESS).write_text(standin(mirror, mnist_files()))
    nb = _run_part_a(offline, handin["env"], Config())
    assert PASSED in _cell_text(nb.cells[-2])
    said = _cell_text(nb.cells[-1])
    assert "MNIST could not be downloaded" in said and "Go online" in said
    assert PASSED not in said


def test_part_b_numbers_equal_the_record(handin):
    """Final losses of both trainers, accuracies, selection, test accuracy and
    confusion matrix, to the last bit."""
    nb = handin["nbs"]["gradient_descent.ipynb"]
    final = eval(nb.cells[-1].outputs[-1]["data"]["text/plain"],  # noqa: S307
                 {"nan": math.nan, "inf": math.inf})
    rec = handin["record"]
    assert rec is not None
    assert final["final_loss_sgd"] == [s.train_loss_sgd[-1] for s in rec.settings]
    assert final["final_loss_manual"] == [s.train_loss_manual[-1]
                                          for s in rec.settings]
    assert final["train_acc"] == [s.train_acc for s in rec.settings]
    assert final["val_acc"] == [s.val_acc for s in rec.settings]
    assert (final["best"], final["test_acc"], final["confusion"]) == (
        rec.best.index, rec.best.test_acc, rec.best.confusion)
    assert "Data: " in _outputs(nb)


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


def test_tasks_5_to_7_compare_the_trainers_or_say_none_qualifies(handin):
    """The small config has plain SGD but no setting with weight decay alone
    or momentum alone: task 5 shows both trainers' losses epoch by epoch and
    a verdict; tasks 6 and 7 say that no setting qualifies."""
    task = {h.split(":")[0]: "".join(_cell_text(c) for c in cells
                                     if c.cell_type == "code")
            for h, cells in _sections(handin["nbs"]["gradient_descent.ipynb"])}
    losses = handin["record"].settings[0].train_loss_sgd
    rows = re.findall(r"^\s+(\d+)\s+(\S+)\s+(\S+)$", task["Task 5"], re.MULTILINE)
    assert [int(e) for e, _, _ in rows] == list(range(1, len(losses) + 1))
    assert [float(a) for _, a, _ in rows] == pytest.approx(losses, abs=1e-14)
    assert all(a == b for _, a, b in rows)
    assert ("Verdict: identical; the largest difference is 0 between the losses "
            "and 0 between the final weights") in task["Task 5"]
    assert "has weight decay alone: nothing to compare" in task["Task 6"]
    assert "has momentum alone: nothing to compare" in task["Task 7"]
    assert re.search(r"Selected: Model \d .*the highest validation accuracy",
                     task["Task 9"])
    assert "Confusion matrix" in task["Task 10"]


def test_no_output_shows_the_machines_data_folder(handin):
    """A handed-in notebook, or its README, names the data by source, count
    and fingerprint, never by where it lay on the machine that ran it."""
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


# ---------------------------------------------------------------- the config

DEFAULT_WORDS = re.compile(r"\b(car|cat|automobile|768|16x16)\b")


def _default_words(text: str) -> list[str]:
    """The default edition's class names and sizes in ``text`` (``torch.cat``
    and decimal numbers such as 0.768 are not)."""
    text = re.sub(r"\.cat\(|\d*\.\d+", " ", text)
    return DEFAULT_WORDS.findall(text)


def test_the_variant_notebooks_name_none_of_the_defaults(tmp_path, monkeypatch):
    """The shipped variant builds the same way: its own classes, sizes and
    settings, none of the default edition's."""
    monkeypatch.setenv("MLP_LAB_CONFIG", str(VARIANT))
    cfg = load_config()
    record = fake_record([fake_setting(lr=s.lr, momentum=s.momentum,
                                       weight_decay=s.weight_decay)
                          for s in cfg.settings], cfg=cfg)
    for part in (parta, partb):
        nb = parta.build(cfg, ["A"]) if part is parta else partb.build(
            cfg, ["A"], record)
        text = "\n".join(c.source for c in nb.cells)
        assert not _default_words(text), (part.__name__, _default_words(text))
        assert "3072" in text
    assert "airplane" in text and "bird" in text and "32x32" in text  # Part B
    assert text.count("Setting(lr=") == len(cfg.settings) == 4
    assert _default_words("torch.cat(x) 0.768 concatenate") == []
    assert _default_words("car vs cat, 16x16, 768") == ["car", "cat", "16x16", "768"]


# ---------------------------------------------------------------- code a grader reads

def _code(nb) -> str:
    """The notebook's code cells, joined in order (a script)."""
    return "\n\n".join(c.source for c in nb.cells if c.cell_type == "code")


def _pyflakes(source: str) -> str:
    out, err = io.StringIO(), io.StringIO()
    pyflakes_check(source, "notebook", Reporter(out, err))
    return out.getvalue() + err.getvalue()


def _lines(source: str) -> int:
    return sum(1 for line in source.splitlines() if line.strip())


def _built(config: Path | None) -> dict:
    """Both notebooks of ``config`` (None: the defaults), built, not run."""
    cfg = load_config(config) if config else Config()
    record = fake_record([fake_setting(lr=s.lr, momentum=s.momentum,
                                       weight_decay=s.weight_decay)
                          for s in cfg.settings], cfg=cfg)
    return {"A": parta.build(cfg, ["A"]), "B": partb.build(cfg, ["A"], record)}


@pytest.mark.parametrize("config", [None, VARIANT], ids=["default", "variant"])
def test_pyflakes_finds_nothing_in_either_notebook(config):
    """Every name is defined or imported in the notebook; no import unused."""
    for part, nb in _built(config).items():
        source = _code(nb)
        assert "from __future__" not in source
        assert _pyflakes(source) == "", (part, _pyflakes(source))
    assert "undefined name 'Config'" in _pyflakes("def f(cfg: Config): pass")


def test_the_notebooks_fit_the_line_budget_on_the_default_config():
    """Non-blank code lines: Part A at most 150, Part B at most 450 (about
    twice the course's own solutions, 76 and 224)."""
    nbs = _built(None)
    assert _lines(_code(nbs["A"])) <= 150
    assert _lines(_code(nbs["B"])) <= 450


# What the reader does not need: plumbing of the library around its core.
PLUMBING = re.compile(r"(?i:fingerprint|md5|sha256|cache|pinned|worker)|\bTHREADS\b|"
                      r"Progress|DataSummary|SettingResult|\bResults\b|\bmlp_lab\b|"
                      r"download_and_extract|DataError|:func:|:mod:|:data:")


def test_no_plumbing_and_no_docstring_names_what_the_notebook_lacks():
    """Neither notebook shows fault handling, caches, fingerprints or result
    dataclasses; every ``name`` quoted in a docstring or comment is defined,
    imported or bound in the notebook, or a builtin."""
    for part, nb in _built(None).items():
        source = _code(nb)
        assert not PLUMBING.findall(source), (part, PLUMBING.findall(source))
        assert len(re.findall(r"set_num_threads", source)) <= 1
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
        assert quoted and not [q for q in quoted if q not in bound], (
            part, sorted({q for q in quoted if q not in bound}))


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
    _, sgd = pull.Library().sources("trainers.train_manual_update")
    assert sgd == ["train_manual_update", "sgd_update"]  # the default argument
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


def test_make_handin_warns_about_the_placeholder_author(tmp_path, monkeypatch):
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


def test_the_report_prints_the_authors_under_its_title(tmp_path, monkeypatch):
    """The report's byline chunk, run on a project with a pair of authors: a
    centred line in each format, the names quoted as a Typst string."""
    chunk = next(c for c in bookcheck.read_chapter(PROJECT_ROOT / "report.qmd").cells
                 if "byline" in c.source)
    (tmp_path / "_quarto.yml").write_text('book:\n  author: [Ada "A" Lovelace, Alan]\n')
    monkeypatch.setattr(authors, "PROJECT_ROOT", tmp_path)
    shown = io.StringIO()
    with contextlib.redirect_stdout(shown):
        exec(bookcheck.strip_options(chunk.source), {})  # noqa: S102
    out = shown.getvalue()
    assert '#align(center, text(size: 1.1em, "Ada \\"A\\" Lovelace and Alan"))' in out
    assert "Ada &quot;A&quot; Lovelace and Alan</p>" in out
    assert authors.byline_markdown(book([])) == ""


def test_the_handin_folder_is_ignored_by_git():
    """Its notebooks, report and zip are outputs, never committed."""
    out = subprocess.run(["git", "check-ignore", "-q", "handin/report.pdf"],
                         cwd=PROJECT_ROOT, capture_output=True)
    if out.returncode == 128:
        pytest.skip("not a git checkout")
    assert out.returncode == 0


# ---------------------------------------------------------------- for real

def test_make_handin_for_real(tmp_path):
    """Where Quarto is installed: all four files and the zip, report <= 12 pages."""
    quarto = shutil.which("quarto")
    if quarto is None:
        pytest.skip("quarto not on PATH: the notebooks are covered above; install "
                    "Quarto >= 1.10.17 to render the report")
    copy = tmp_path / "project"
    skip = shutil.ignore_patterns(".git", ".venv", "_book", "_report", "_freeze",
                                  ".quarto", "__pycache__", "cache", "handin")
    shutil.copytree(PROJECT_ROOT, copy, ignore=skip)
    env = {**os.environ, **data_env(), "PYTHONPATH": str(copy),
           "MLP_LAB_CACHE": str(tmp_path / "cache")}
    out = subprocess.run([sys.executable, "-m", "mlp_lab", "handin", "--config",
                          str(SMALL)], cwd=copy, env=env, text=True,
                         capture_output=True, timeout=3600)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    folder = copy / "handin"
    with zipfile.ZipFile(folder / "handin.zip") as z:
        assert sorted(z.namelist()) == sorted(build.FILES)
    if shutil.which("pdfinfo"):
        info = subprocess.run(["pdfinfo", str(folder / "report.pdf")],
                              capture_output=True, text=True, check=True).stdout
        assert int(re.search(r"^Pages:\s+(\d+)", info, re.MULTILINE).group(1)) <= 12

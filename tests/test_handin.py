"""The course hand-in (make handin): both notebooks built from the library,
executed in a fresh kernel where ``import mlp_lab`` fails, every code cell with
its output, Part B's numbers equal to the results record's, the config and the
authors followed; where Quarto is installed, the whole hand-in for real.

The notebooks run on ``tests/handin_small.toml`` with a temporary cache; they
need the real images (``MLP_LAB_DATA`` or the CIFAR-10 download in ``data/``).
"""

from __future__ import annotations

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

from mlp_lab import cli, pool
from mlp_lab.book import bookcheck
from mlp_lab.cache import PROJECT_ROOT
from mlp_lab.config import load_config
from mlp_lab.handin import authors, build, parta, partb, prose, pull
from mlp_lab.results import load_record
from test_book import _data_env  # the real images, or skip
from test_kernel_log import NOTICE, REAL  # ipykernel's TCP notice; real warnings

SMALL = PROJECT_ROOT / "tests" / "handin_small.toml"
VARIANT = PROJECT_ROOT / "configs" / "airplane-bird-32.toml"
NOTEBOOKS = ("backpropagation.ipynb", "gradient_descent.ipynb")
PAIR = ["Ada Lovelace", "Alan Turing"]

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

# A stand-in (test double) for the course's tests_backpropagation.py, which the
# course hands out and the hand-in never ships: the same entry point and the
# same closing line when its four checks hold.
COURSE_STANDIN = '''
import torch
from torch import nn

def main_test(backprop_fn, model):
    x, y = torch.randn(4, model.n_l[0]), torch.rand(4, model.n_l[-1])
    y_pred = model(x)
    nn.MSELoss(reduction="none")(y_pred, y).sum().backward()
    backprop_fn(model, y, y_pred)
    fc = [model.fc[str(l)] for l in range(1, model.L + 1)]
    rel = lambda a, b: ((a - b).abs().max() / (a.abs().max() + 1e-30)).item()
    before = [m.weight.detach().clone() for m in fc]
    torch.optim.SGD(model.parameters(), lr=0.1).step()
    ok = [all(rel(m.weight.grad, model.dL_dw[l + 1]) < 1e-3 for l, m in enumerate(fc)),
          all(rel(m.bias.grad, model.dL_db[l + 1]) < 1e-3 for l, m in enumerate(fc)),
          all(not torch.equal(b, m.weight) for b, m in zip(before, fc)),
          all(p.is_leaf and p.requires_grad for p in model.parameters())]
    print(f"{sum(ok)} / 4: " + ("ALL TEST PASSED" if all(ok) else "SOME TESTS FAILED"))
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


@pytest.fixture(scope="module")
def handin(tmp_path_factory):
    """``python -m mlp_lab handin`` on the small config, without Quarto, its
    kernels unable to import mlp_lab, the course's stand-in beside Part A."""
    tmp = tmp_path_factory.mktemp("handin")
    blocker = tmp / "blocker"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text(BLOCKER)
    out = tmp / "out"
    out.mkdir()
    (out / parta.HARNESS).write_text(COURSE_STANDIN)
    env = {**_data_env(), "MLP_LAB_CACHE": str(tmp / "cache"),
           "PYTHONPATH": str(blocker), "PATH": _path_without_quarto(),
           "OMP_NUM_THREADS": "1"}
    project = tmp / "project"  # a pair of authors who forgot the division
    project.mkdir()
    (project / "_quarto.yml").write_text(
        f"book:\n  author: {PAIR!r}\nhandin:\n  division: ''\n")
    err, kernels = io.StringIO(), io.StringIO()
    config_before = os.environ.get("MLP_LAB_CONFIG")
    with pytest.MonkeyPatch.context() as mp:
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
            "config_before": config_before}


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


def test_every_code_cell_ran_and_kept_its_output(handin):
    for name, nb in handin["nbs"].items():
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert code and all(c.execution_count for c in code), name
        silent = [c.source[:60] for c in code if not c.outputs]
        assert not silent, (name, silent)
        errors = [o for c in code for o in c.outputs if o.output_type == "error"]
        assert not errors, name
    figures = [o for c in handin["nbs"]["gradient_descent.ipynb"].cells
               if c.cell_type == "code" for o in c.outputs
               if "image/png" in o.get("data", {})]
    assert len(figures) >= 8  # samples, normalized samples, the six figures


def _outputs(nb) -> str:
    return "\n".join(o.get("text", "") + o.get("data", {}).get("text/plain", "")
                     for c in nb.cells if c.cell_type == "code" for o in c.outputs)


def test_part_a_runs_the_course_harness_and_mlp_labs_checks(handin):
    text = _outputs(handin["nbs"]["backpropagation.ipynb"])
    assert "4 / 4: ALL TEST PASSED" in text
    assert "all four checks hold: True" in text


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
    assert "Data source: " in _outputs(nb)


def test_no_output_shows_the_machines_data_folder(handin):
    """A handed-in notebook names the data by source, count and fingerprint,
    never by where it lay on the machine that ran it."""
    folder = Path(_data_env().get("MLP_LAB_DATA") or PROJECT_ROOT / "data").resolve()
    for nb in handin["nbs"].values():
        text = _outputs(nb) + "".join(c.source for c in nb.cells)
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
    for k, v in _data_env().items():
        monkeypatch.setenv(k, v)
    variant = tmp_path / "variant.toml"  # the shipped variant, on little data
    variant.write_text("limit_per_class = 30\nepochs = 1\n" + VARIANT.read_text())
    monkeypatch.setenv("MLP_LAB_CONFIG", str(variant))
    monkeypatch.setenv("MLP_LAB_CACHE", str(tmp_path / "cache"))
    cfg = load_config()
    ns = prose.namespace()
    for part in (parta, partb):
        nb = part.build(cfg, ["A", "B"], ns)
        text = "\n".join(c.source for c in nb.cells)
        assert not _default_words(text), (part.__name__, _default_words(text))
        assert "3072" in text
    assert "airplane" in text and "bird" in text and "32x32" in text  # Part B
    assert _default_words("torch.cat(x) 0.768 concatenate") == []
    assert _default_words("car vs cat, 16x16, 768") == ["car", "cat", "16x16", "768"]


# ---------------------------------------------------------------- the pull

def test_a_definition_brings_what_it_uses_once():
    lib = pull.Library()
    sources, defined = lib.sources("book.plots.accuracy_bars")
    assert defined[0] == "accuracy_bars" and sources[-1].startswith("@styled")
    assert {"_bars", "percent_limits", "styled", "model_name", "setting_label",
            "FIGSIZE"} <= set(defined)  # same module and other modules
    assert "import numpy as np" in lib.import_block()
    assert "pd" not in lib.imports and "Config" not in defined  # annotation only
    again, more = lib.sources("book.plots.final_loss_bars")
    assert "_bars" not in more and more[0] == "final_loss_bars"
    step, checks = pull.Library().sources("gradcheck.fd_rows")
    assert "FD_STEP" in checks and "STEP = FD_STEP" in step  # imported as STEP


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


def test_a_partial_reference_the_notebook_cannot_resolve_fails():
    with pytest.raises(prose.ProseError, match="tbl-x"):
        prose.markdown("See @tbl-x.", {})
    eq = prose.markdown("$$\na\n$$ {#eq-a}\nby @eq-a.", {})
    assert "\\tag{1}" in eq and "by (1)." in eq


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
    env = {**os.environ, **_data_env(), "PYTHONPATH": str(copy),
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

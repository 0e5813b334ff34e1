"""What a chapter calls first: its setup line, library listings, recorded figures.

Every chapter opens with ``C, R, F = report.setup()``: the config of this
render, its results record and the findings read from it. The record is
loaded as plain data (:func:`mlp_lab.results.load_record`), so a chapter that
only shows results never imports torch; only when there is no record yet does
:func:`results` run the experiments, which train or load each setting and
write the record for the chapters after it. Library code is shown with
:func:`listing`, read from the source file, not imported.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import textwrap
from functools import lru_cache

from ..cache import PACKAGE, PROJECT_ROOT
from ..config import Config, load_config
from ..results import Results, load_record
from .narrative import Findings, findings
from .places import shown_place

BENCHMARKS = PROJECT_ROOT / "benchmarks"


@lru_cache(maxsize=1)
def config() -> Config:
    """The experiment config of this render (``$MLP_LAB_CONFIG`` or defaults)."""
    return load_config()


@lru_cache(maxsize=1)
def results() -> Results:
    """The results of this render's config: the record when there is one,
    else trained (or loaded setting by setting) by ``experiments.run``."""
    cfg = config()
    record = load_record(cfg)
    if record is not None:
        return record
    from ..experiments import run  # torch: only when there is no record yet

    return run(cfg)


def setup() -> tuple[Config, Results, Findings]:
    """``C, R, F``: the config, the results and their findings (each chapter's
    first line)."""
    return config(), results(), findings(results())


def config_source() -> str:
    """The config file of this render as the book prints it (relative to the
    project or to ~, :func:`~.places.shown_place`), or "defaults"."""
    return shown_place(os.environ.get("MLP_LAB_CONFIG") or "defaults")


def _definition(tree: ast.Module, qualname: str) -> ast.AST:
    """The class, function or module-level assignment named ``qualname``."""
    node: ast.AST = tree
    for part in qualname.split("."):
        node = next(n for n in ast.iter_child_nodes(node)
                    if isinstance(n, (ast.FunctionDef, ast.ClassDef))
                    and n.name == part
                    or isinstance(n, (ast.Assign, ast.AnnAssign))
                    and part in _assigned(n))
    return node


def _assigned(node: ast.Assign | ast.AnnAssign) -> list[str]:
    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
    return [t.id for t in targets if isinstance(t, ast.Name)]


def _module_file(name: str) -> tuple[str, str]:
    """(file of the longest module prefix of ``name``, the qualname after it)."""
    parts = name.split(".")
    for i in range(len(parts) - 1, 0, -1):
        path = PACKAGE.joinpath(*parts[:i]).with_suffix(".py")
        if path.is_file():
            return path.read_text(encoding="utf-8"), ".".join(parts[i:])
    raise FileNotFoundError(f"no module of mlp_lab in {name!r}")


def source_text(name: str) -> str:
    """The source of ``module.qualname`` of mlp_lab (e.g. ``trainers.train``,
    ``backprop.MyNet.forward``, ``book.plots.sample_grid``, or a module-level
    constant such as ``backprop.TINY``), decorators and trailing comment
    included, dedented: read from the module's file, so showing it imports
    nothing."""
    text, qualname = _module_file(name)
    node = _definition(ast.parse(text), qualname)
    first = min([node.lineno] + [d.lineno for d in
                                 getattr(node, "decorator_list", [])])
    lines = text.splitlines(keepends=True)[first - 1:node.end_lineno]
    return textwrap.dedent("".join(lines))


def listing(name: str):
    """:func:`source_text` of ``name`` as a Python code block (never pasted)."""
    from IPython.display import Markdown

    return Markdown(f"```python\n{source_text(name)}```")


def benchmark(name: str = "recorded") -> dict | None:
    """The benchmark record ``benchmarks/<name>.json``, or None if not recorded."""
    path = BENCHMARKS / f"{name}.json"
    return json.loads(path.read_text()) if path.is_file() else None


def quarto_version() -> str:
    """``quarto --version`` when Quarto is on PATH, else a note saying it is not."""
    exe = shutil.which("quarto")
    if exe is None:
        return "not on PATH (executed without Quarto)"
    try:
        out = subprocess.run([exe, "--version"], capture_output=True, text=True,
                             timeout=30)
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"

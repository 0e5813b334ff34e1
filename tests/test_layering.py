"""The architecture, as imports: the core never reaches into the speed study or
the book tooling, the reporting layer imports no torch, and the table of
imports in docs/architecture.md is the code's."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "mlp_lab"
# The reporting layer: works on the results record, imports no torch.
REPORTING = ("book.fmt", "book.noise", "book.effects", "book.narrative",
             "book.comments", "book.checktext", "book.datatext", "book.original",
             "book.compare",
             "book.speedtext", "book.tables", "book.plots", "book.report",
             "book.places", "book.pages")
ENTRY_POINTS = ("cli", "__main__")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imports(path: Path) -> tuple[set[str], set[str]]:
    """(mlp_lab modules, other top-level packages) that ``path`` imports,
    anywhere in the file (module level or inside functions)."""
    package = module_name(path).split(".")[:-1] if path.stem != "__init__" else \
        module_name(path).split(".")
    ours, others = set(), set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package[:len(package) - node.level + 1]
            if node.module:
                ours.add(".".join(base + node.module.split(".")))
            else:
                ours.update(".".join(base + [a.name]) for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            top, _, rest = node.module.partition(".")
            (ours.add(rest) if top == "mlp_lab" else others.add(top))
        elif isinstance(node, ast.Import):
            for a in node.names:
                top, _, rest = a.name.partition(".")
                (ours.add(rest) if top == "mlp_lab" else others.add(top))
    return {m for m in ours if m}, others


def part(module: str) -> str:
    top = module.split(".")[0]
    return top if top in ("speed", "book", "handin") else "core"


@pytest.mark.parametrize("module", [m for m in MODULES if part(m) == "core"
                                    and m not in ENTRY_POINTS])
def test_the_core_imports_neither_speed_nor_book(module):
    ours, _ = imports(MODULES[module])
    assert not [m for m in ours if part(m) != "core"], ours


@pytest.mark.parametrize("module", [m for m in MODULES if part(m) == "speed"])
def test_the_speed_study_does_not_import_the_book(module):
    ours, _ = imports(MODULES[module])
    assert not [m for m in ours if part(m) == "book"], ours


@pytest.mark.parametrize("module", REPORTING)
def test_the_reporting_layer_imports_no_torch_and_no_benchmark_code(module):
    ours, others = imports(MODULES[module])
    assert not others & {"torch", "torchvision"}
    assert not [m for m in ours if part(m) == "speed"]
    # only what is torch-free itself, or (report) the fallback when no record
    torch_free = {"config", "errors", "cache", "sources", "results", "timing",
                  "figures"}
    allowed = torch_free | {f"book.{m}" for m in (
        "fmt", "noise", "effects", "narrative", "checktext", "datatext", "original",
        "places", "compare")} | (
        {"experiments"} if module == "book.report" else set())
    assert ours <= allowed, ours - allowed


def readme_table() -> dict[str, set[str]]:
    """docs/architecture.md's "module / imports from mlp_lab" table."""
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    block = re.search(r"```text\nmodule +imports from mlp_lab\n(.*?)```", text,
                      re.DOTALL).group(1)
    table, last = {}, None
    for line in block.splitlines():
        if line.startswith(" "):  # a continued list of imports
            table[last] |= {m.strip() for m in line.split(",") if m.strip()}
            continue
        last, deps = line.split(None, 1)
        table[last] = {m.strip() for m in deps.split(",")} - {"-", ""}
    return table


def test_readme_table_is_the_code():
    actual = {m: imports(p)[0] for m, p in MODULES.items()
              if m and not m.endswith("__main__")
              and m not in ("speed", "book", "handin")}
    assert readme_table() == actual


def test_reporting_layer_and_a_record_leave_torch_unloaded(tmp_path, image_tree):
    """A chapter that shows results (setup, tables, narrative, figures) runs
    without PyTorch when the results record exists."""
    data = image_tree(classes=("automobile", "cat"), n_train=4, n_test=2)
    config = tmp_path / "c.toml"
    config.write_text("epochs = 3\nlimit_per_class = 4\n")
    env = {"MLP_LAB_DATA": str(data), "MLP_LAB_CONFIG": str(config)}
    code = f"""
import sys
sys.path.insert(0, {str(ROOT / "tests")!r})
import records
from mlp_lab.config import load_config
from mlp_lab.device import device_type
from mlp_lab.results import save_record
save_record(load_config(), records.results(
    [records.setting(), records.setting(momentum=0.9, val_acc=0.91)],
    cfg=load_config(), device=device_type()))
from mlp_lab.book import (checktext, comments, compare, datatext, effects, fmt,
                          noise, original, plots, report, speedtext, tables)
C, R, F = report.setup()
assert R.best.index == 1, R.best
fmt.markdown_table(original.results_table(R))
compare.departures_sentence(R)
noise.lead_sentence(R)
effects.effect_sentence(R, "momentum")
datatext.reproducibility_sentence(R, "defaults")
fmt.markdown_table(tables.equality_table(R))
comments.stability_sentence(R, F)
plots.accuracy_bars(R).savefig({str(tmp_path / "a.png")!r})
plots.normalized_grid(R.data)
speedtext.speedup_sentence(report.benchmark())
print(sorted(m for m in sys.modules if m.split(".")[0] in ("torch", "torchvision")))
"""
    out = subprocess.run([sys.executable, "-c", code], env={
        **_base_env(), **env}, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def _base_env() -> dict:
    import os
    keep = ("PATH", "HOME", "MLP_LAB_CACHE", "MPLBACKEND")
    return {k: os.environ[k] for k in keep if k in os.environ} | {
        "PYTHONPATH": str(ROOT)}


def test_every_subpackage_is_installed():
    """pyproject's package discovery finds every folder of mlp_lab with an
    __init__.py (a hand-written list missed mlp_lab.handin once)."""
    import tomllib

    from setuptools import find_packages

    find = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"][
        "setuptools"]["packages"]["find"]
    found = set(find_packages(where=ROOT, include=find["include"]))
    on_disk = {".".join(p.parent.relative_to(ROOT).parts)
               for p in PACKAGE.rglob("__init__.py")}
    assert found == on_disk and "mlp_lab.handin" in found

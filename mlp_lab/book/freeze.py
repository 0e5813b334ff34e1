"""Quarto's freeze, made aware of what the book depends on.

``execute: freeze: auto`` re-executes a chapter only when its own ``.qmd``
changes; it never notices a change in the library, the experiment config or
the data. Before each render (Quarto's ``pre-render`` step) we therefore take
a fingerprint

    fp = (source hash of mlp_lab, config as loaded, data source key,
          recorded benchmarks, shared partials the chapters include,
          _quarto.yml, which holds the authors and their division of work)

compare it with the one recorded at the previous render, and when it differs
delete the frozen outputs ``_freeze/<dir>/<chapter>/`` of every chapter that
has ```` ```{python} ```` cells, so that Quarto executes them again. Prose-only
chapters keep theirs. The functions take the project root and the fingerprint
as arguments, so tests run them on a temporary tree.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from .. import cache

FREEZE_DIR = "_freeze"
# The shared prose that chapters (and the report) include: Quarto's freeze
# looks at a chapter's own file, so an edited partial must unfreeze them too.
PARTIALS = "book/parts"
FINGERPRINT_FILE = "mlp_lab-fingerprint.json"
_CODE_CELL = re.compile(r"^\s*`{3,}\s*\{python[\s},]", re.MULTILINE)


def fingerprint(cfg=None) -> dict:
    """What the book's computed results depend on, as a JSON-able dict.

    ``cfg`` defaults to ``load_config()`` ($MLP_LAB_CONFIG or the defaults);
    a missing data tree is recorded as such rather than raising, so the render
    itself reports the data error.
    """
    from ..config import load_config
    from ..errors import DataError
    from ..sources import source_key
    from . import course

    cfg = cfg or load_config()
    try:
        data = source_key(cfg)
    except DataError:
        data = "unavailable"
    return {"source": cache.source_hash(), "config": cfg.to_dict(), "data": data,
            "benchmarks": _files_hash("benchmarks/*.json"),
            "partials": _files_hash(f"{PARTIALS}/_*.qmd"),
            "authors": _files_hash("_quarto.yml"),
            "course tests": course.fingerprint()}  # make handin's verdicts


def _files_hash(pattern: str) -> str:
    """Hash of the names and contents of the project files ``pattern`` matches."""
    files = sorted(cache.PROJECT_ROOT.glob(pattern))
    return cache.stable_hash([(p.name, p.read_text(encoding="utf-8"))
                              for p in files])


def has_code(qmd: Path) -> bool:
    """True if the chapter has executable python cells (or no longer exists)."""
    try:
        return bool(_CODE_CELL.search(qmd.read_text(encoding="utf-8")))
    except FileNotFoundError:
        return True  # its frozen output is an orphan: stale by definition


def frozen_chapters(root: Path) -> list[Path]:
    """Frozen output folders under ``_freeze``, relative to it, e.g. ``book/sgd``."""
    base = Path(root) / FREEZE_DIR
    if not base.is_dir():
        return []
    return sorted(p.parent.relative_to(base) for p in base.rglob("execute-results")
                  if p.is_dir())


def stale_outputs(root: Path) -> list[Path]:
    """Frozen folders of chapters that run library code (``.qmd`` with python)."""
    root = Path(root)
    return [rel for rel in frozen_chapters(root)
            if has_code(root / f"{rel}.qmd")]


def refreeze(root: Path, fp: dict) -> dict:
    """Drop stale frozen outputs if ``fp`` differs from the recorded fingerprint.

    Returns ``{"changed": bool, "why": [keys that differ], "removed": [paths]}``.
    A missing record counts as a change: the outputs' provenance is unknown.
    """
    root = Path(root)
    fp = json.loads(json.dumps(fp))  # compare as stored: tuples become lists
    record = root / FREEZE_DIR / FINGERPRINT_FILE
    old = cache.load_json(record)
    if old == fp:
        return {"changed": False, "why": [], "removed": []}
    why = (sorted(k for k in set(fp) | set(old) if fp.get(k) != old.get(k))
           if isinstance(old, dict) else ["no previous fingerprint"])
    removed = stale_outputs(root)
    for rel in removed:
        shutil.rmtree(root / FREEZE_DIR / rel)
    cache.save_json(record, fp)
    return {"changed": True, "why": why, "removed": [str(r) for r in removed]}


def report(result: dict) -> str:
    """One or two human-readable lines describing ``refreeze``'s result."""
    if not result["changed"]:
        return "mlp_lab freeze: library, config and data unchanged; frozen outputs kept"
    lines = [f"mlp_lab freeze: changed ({', '.join(result['why'])}); "
             f"removed {len(result['removed'])} frozen chapter output(s)"]
    if result["removed"]:
        lines.append("  re-executed on the next full render: "
                     + ", ".join(result["removed"]))
    return "\n".join(lines)


def main(root: Path | None = None) -> int:
    """Pre-render entry point: refreeze the project at ``root`` and print why."""
    root = Path(root or cache.PROJECT_ROOT)
    print(report(refreeze(root, fingerprint())), flush=True)
    return 0

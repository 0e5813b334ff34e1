"""How long the book takes to execute: each chapter in a fresh kernel, as a
render runs it, timed with the book test's runner (``bookcheck``).

``python -m mlp_lab book-bench`` first makes sure the results record of the
config exists (training or loading it), so every chapter finds the cache
warm, as in a render after the first chapter; then it runs the chapters of
``_quarto.yml`` one by one. A render executes them once per format.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from ..cache import PROJECT_ROOT
from . import bookcheck


def time_chapter(path: Path, root: Path, env: dict) -> float:
    """Wall seconds to execute one chapter in a fresh kernel (start included)."""
    nb = bookcheck.read_chapter(path)
    start = time.perf_counter()
    bookcheck.execute(nb, root, env, name=str(path.relative_to(root)))
    return time.perf_counter() - start


def book_timing(root: Path = PROJECT_ROOT, env: dict | None = None) -> dict:
    """Seconds per chapter (a list, in book order) and in total, for one format."""
    env = dict(os.environ if env is None else env)
    chapters = [{"chapter": c, "seconds": time_chapter(root / c, root, env)}
                for c in bookcheck.book_chapters(root)]
    return {"chapters": chapters, "total_s": sum(c["seconds"] for c in chapters),
            "cores": len(os.sched_getaffinity(0)),
            "config": env.get("MLP_LAB_CONFIG") or "defaults"}


def format_timing(t: dict) -> str:
    """The timing as lines: one per chapter, then the total."""
    width = max(len(c["chapter"]) for c in t["chapters"])
    lines = [f"  {c['chapter']:<{width}}  {c['seconds']:6.1f} s"
             for c in t["chapters"]]
    return "\n".join(lines + [f"  {'all chapters (one format)':<{width}}  "
                              f"{t['total_s']:6.1f} s"])

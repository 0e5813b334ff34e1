"""On-disk cache: project paths, content keys, atomic writes, safe loads.

Every cache file is written to a temporary file in the same folder and moved
into place with ``os.replace`` (atomic on POSIX), so a reader sees either the
old complete file or the new complete file, never a partial one, even if the
writer is killed. Files are JSON or ``torch.save`` archives loaded with
``weights_only=True``; nothing is ever unpickled.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Callable

import torch

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class CacheError(OSError):
    """The cache folder cannot be created or written."""


def cache_dir() -> Path:
    """``$MLP_LAB_CACHE`` if set, else ``<project>/data/cache``; created if needed."""
    path = Path(os.environ.get("MLP_LAB_CACHE") or PROJECT_ROOT / "data" / "cache")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CacheError(
            f"cannot create the cache folder {path}: {exc.strerror}. Fix: make it "
            "writable, or set MLP_LAB_CACHE to a writable folder.") from exc
    if not os.access(path, os.W_OK):
        raise CacheError(
            f"the cache folder {path} is not writable. Fix: make it writable, "
            "or set MLP_LAB_CACHE to a writable folder.")
    return path


def stable_hash(obj: Any, n: int = 16) -> str:
    """First ``n`` hex digits of the SHA-256 of ``obj``'s canonical JSON."""
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:n]


# The modules whose code determines the numbers (not how they are shown).
COMPUTE_MODULES = ("cache", "config", "data", "models", "trainers", "experiments")


def source_hash(modules: tuple[str, ...] | None = None) -> str:
    """SHA-256 (16 hex digits) of mlp_lab's ``.py`` files (all, or ``modules``)."""
    h = hashlib.sha256()
    paths = sorted(Path(__file__).parent.glob("*.py"))
    if modules is not None:
        paths = [p for p in paths if p.stem in modules]
    for path in paths:
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def _atomic_write(path: Path, write: Callable[[Any], None]) -> None:
    """Call ``write(fileobj)`` on a temp file beside ``path``, then rename it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_json(path: Path, obj: Any) -> None:
    """Write ``obj`` as JSON, atomically."""
    data = json.dumps(obj, indent=1, sort_keys=True).encode()
    _atomic_write(path, lambda f: f.write(data))


def load_json(path: Path) -> Any | None:
    """The JSON in ``path``, or None if it is missing or unreadable (corrupt)."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def save_tensors(path: Path, obj: dict) -> None:
    """``torch.save`` a dict of tensors and plain values, atomically."""
    _atomic_write(path, lambda f: torch.save(obj, f))


def load_tensors(path: Path) -> dict | None:
    """The dict in ``path`` (``weights_only=True``), or None if missing or corrupt."""
    if not path.is_file():
        return None
    try:
        return torch.load(path, weights_only=True, map_location="cpu")
    except Exception:  # truncated zip, bad pickle opcode, ...: treat as a miss
        return None

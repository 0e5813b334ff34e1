"""On-disk cache: project paths, content keys, atomic writes, safe loads.

Every cache file is written to a temporary file in the same folder, synced,
and moved into place with ``os.replace`` (atomic on POSIX), so a reader sees
either the old complete file or the new complete file, never a partial one,
even if the writer is killed; the folder is synced after the rename, so a
finished entry also survives a power cut. A killed writer can leave its
``.<name>.*.tmp`` behind: readers never open those, and the next write into
the folder deletes any that are older than ``STALE_TMP_SECONDS`` (younger
ones may belong to a live writer). Files are JSON or ``torch.save`` archives loaded with
``weights_only=True``; nothing is ever unpickled. Only the two tensor functions
import torch, so the book can read JSON records through this module without it.
A file that exists but does not load (truncated, garbled) is a cache miss,
announced with a :class:`CacheWarning`.
"""

from __future__ import annotations

import errno
import hashlib
import json
from importlib import metadata
import os
import re
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any, Callable

from .errors import CacheError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
STALE_TMP_SECONDS = 600  # a leftover temp file older than this is a dead writer's
_TMP_NAME = re.compile(r"\..+\.[a-z0-9_]{8}\.tmp")  # what _atomic_write's mkstemp makes



class CacheWarning(UserWarning):
    """A cache file exists but is damaged; it is recomputed."""


def _damaged(path: Path, exc: Exception) -> None:
    # one line and one sentence, however torch words it
    reason = " ".join(str(exc).split()).split(". ")[0][:120]
    warnings.warn(f"cache file {path} is damaged ({type(exc).__name__}: {reason});"
                  " recomputing it (nothing to fix)", CacheWarning, stacklevel=3)


def cache_dir() -> Path:
    """``$MLP_LAB_CACHE`` if set, else ``<project>/data/cache``; created if needed."""
    path = Path(os.environ.get("MLP_LAB_CACHE") or PROJECT_ROOT / "data" / "cache")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CacheError(
            f"cannot create the cache folder {path}: {exc.strerror}. Fix: make "
            "every folder above it a writable folder (not a file), or set "
            "MLP_LAB_CACHE to a writable folder.") from exc
    if not os.access(path, os.W_OK):
        raise CacheError(
            f"the cache folder {path} is not writable. Fix: make it writable, "
            "or set MLP_LAB_CACHE to a writable folder.")
    return path


def stable_hash(obj: Any, n: int = 16) -> str:
    """First ``n`` hex digits of the SHA-256 of ``obj``'s canonical JSON."""
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:n]


# The modules whose code determines the numbers (not how they are shown): all
# that experiments.run executes, the environment and wall times it records
# included, and the pool and cluster that hand each result back to its
# setting; not errors, whose messages change no result.
COMPUTE_MODULES = ("cache", "config", "data", "device", "download", "sources",
                   "images", "models", "trainers", "experiments", "results",
                   "environment", "timing", "threads", "training", "pool",
                   "cluster")
PACKAGE = Path(__file__).resolve().parent
# The installed releases whose code computes the numbers too (torchvision
# resizes the images): read from their metadata, without importing them.
RELEASES = ("torch", "torchvision")


def releases() -> list[str]:
    """``name==version`` of each package of ``RELEASES`` as installed."""
    return [f"{name}=={metadata.version(name)}" for name in RELEASES]


def source_hash(modules: tuple[str, ...] | None = None) -> str:
    """SHA-256 (16 hex digits) of mlp_lab's ``.py`` files: all of them,
    subpackages included, or the top-level ``modules`` named."""
    h = hashlib.sha256()
    if modules is None:
        paths = sorted(PACKAGE.rglob("*.py"))
    else:
        paths = sorted(p for p in PACKAGE.glob("*.py") if p.stem in modules)
    for path in paths:
        h.update(path.relative_to(PACKAGE).as_posix().encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def remove_stale_tmp(folder: Path, age: float = STALE_TMP_SECONDS) -> list[Path]:
    """Delete our temp files (``.<name>.<8 random>.tmp``) in ``folder`` older
    than ``age`` seconds.

    They are what a writer killed mid-write leaves; a younger one may still be
    written by a live process, so it is left alone. Returns the deleted paths.
    """
    gone, now = [], time.time()
    for tmp in Path(folder).glob(".*.tmp"):
        if not _TMP_NAME.fullmatch(tmp.name):  # not one of ours: not ours to delete
            continue
        try:
            if now - tmp.stat().st_mtime > age:
                tmp.unlink()
                gone.append(tmp)
        except OSError:  # another writer removed or renamed it first
            pass
    return gone


def sync_folder(folder: Path) -> None:
    """fsync ``folder`` itself, so that a rename into it survives a power cut.

    ``os.replace`` changes the folder, not the file: until the folder's entry
    reaches the disk, a crash may lose the new name (or bring back the old one)
    although the file's bytes were synced.
    """
    fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    except OSError as exc:  # a file system that cannot sync folders: nothing to do
        if exc.errno not in (errno.EINVAL, errno.ENOTSUP):
            raise
    finally:
        os.close(fd)


def _atomic_write(path: Path, write: Callable[[Any], None]) -> None:
    """Call ``write(fileobj)`` on a temp file beside ``path``, then rename it.

    Raises CacheError when the folder cannot be created or written.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_tmp(path.parent)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.",
                                   suffix=".tmp")
    except OSError as exc:
        raise CacheError(
            f"cannot write {path}: {exc.strerror or exc}. Fix: make "
            f"{path.parent} writable, or set MLP_LAB_CACHE to a writable "
            "folder.") from exc
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        sync_folder(path.parent)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError) and not isinstance(exc, CacheError):
            raise CacheError(f"cannot write {path}: {exc.strerror or exc}. Fix: "
                             "free disk space or make the folder writable, or "
                             "set MLP_LAB_CACHE to another folder.") from exc
        raise


def save_text(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8), atomically."""
    data = text.encode("utf-8")
    _atomic_write(path, lambda f: f.write(data))


def save_json(path: Path, obj: Any) -> None:
    """Write ``obj`` as JSON, atomically."""
    data = json.dumps(obj, indent=1, sort_keys=True).encode()
    _atomic_write(path, lambda f: f.write(data))


def load_json(path: Path) -> Any | None:
    """The JSON in ``path``, or None if it is missing or unreadable (corrupt)."""
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        _damaged(path, exc)
        return None


def save_tensors(path: Path, obj: dict) -> None:
    """``torch.save`` a dict of tensors and plain values, atomically."""
    import torch

    _atomic_write(path, lambda f: torch.save(obj, f))


def load_tensors(path: Path) -> dict | None:
    """The dict in ``path`` (``weights_only=True``), or None if missing or corrupt."""
    import torch

    if not path.is_file():
        return None
    try:
        return torch.load(path, weights_only=True, map_location="cpu")
    except Exception as exc:  # truncated zip, bad pickle opcode, ...: a miss
        _damaged(path, exc)
        return None

"""Where the images are: canonical CIFAR-10 or an ImageFolder tree (no torch).

``data_root`` says which source a config reads, ``folder_listing`` lists an
ImageFolder tree's image files of the two classes, and ``source_key`` is a
cheap hash of that listing (names, sizes, modification times) that changes
when the files do, without reading them. Reading and decoding the images is
:mod:`mlp_lab.images`' job; this module needs no torch, so the book can key
its results record without importing it.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from . import cache
from .config import Config
from .errors import DataError

# The files torchvision's ImageFolder reads (its IMG_EXTENSIONS), so that the
# listing (and the key made of it) covers exactly the images the core decodes.
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff",
                  ".webp")


def data_root(cfg) -> Path | None:
    """The ImageFolder root (config, then ``$MLP_LAB_DATA``), or None."""
    root = cfg.data_dir or os.environ.get("MLP_LAB_DATA", "")
    return Path(root).expanduser().resolve() if root else None


def missing_data(path: Path, what: str) -> DataError:
    """The error for data that is not there: both ways to provide it."""
    return DataError(
        f"no data: {what} ({path}). Fix: either go online and unset "
        f"MLP_LAB_DATA so torchvision downloads CIFAR-10 into "
        f"{cifar_dir()}, or set MLP_LAB_DATA (or data_dir in "
        "the config) to an ImageFolder tree ROOT/{train,test}/<class>/<image>.")


def _class_files(root: Path, split: str, cls: str, limit: int) -> list[str]:
    """Sorted image file paths (plain strings: 12,000 Path objects cost 0.2 s)."""
    folder = root / split / cls
    if not folder.is_dir():
        raise DataError(
            f"class folder missing: {folder} (class {cls!r}, split {split!r}). "
            f"Fix: add it, or choose classes present in {root / split}.")
    with os.scandir(folder) as entries:  # DirEntry.is_file() needs no extra stat
        names = sorted(e.name for e in entries if e.is_file()
                       and os.path.splitext(e.name)[1].lower() in IMAGE_SUFFIXES)
    files = [os.path.join(folder, name) for name in names]
    if not files:
        raise DataError(
            f"class folder empty: {folder} has no images (class {cls!r}). "
            f"Fix: add images ({', '.join(IMAGE_SUFFIXES)}) or choose another class.")
    return files[:limit] if limit else files


def folder_listing(cfg: Config, root: Path) -> dict[str, list[tuple[str, int]]]:
    """split -> [(image path, label 0/1)] of ``cfg``'s two classes in ``root``."""
    if not root.is_dir():
        raise missing_data(root, "the data folder does not exist")
    for split in ("train", "test"):
        if not (root / split).is_dir():
            raise missing_data(root / split, f"the folder has no '{split}' subfolder")
    return {split: [(p, label)
                    for label, cls in enumerate(cfg.classes)
                    for p in _class_files(root, split, cls, cfg.limit_per_class)]
            for split in ("train", "test")}


def file_types(listing: dict[str, list[tuple[str, int]]]) -> list[str]:
    """The image files' suffixes in ``listing`` (lower case, sorted): whether
    a copy is JPEG (lossy) or lossless, as the report says."""
    return sorted({os.path.splitext(p)[1].lower()
                   for items in listing.values() for p, _ in items})


def _stat_key(listing: dict[str, list[tuple[str, int]]]) -> str:
    h = hashlib.sha256()
    for split, items in listing.items():
        for p, label in items:
            st = os.stat(p)
            h.update(f"{split}|{p}|{label}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:16]


def cifar_dir() -> Path:
    """Where torchvision downloads the canonical CIFAR-10 (``data/``)."""
    return cache.PROJECT_ROOT / "data"


def _source_key(cfg: Config, root: Path | None) -> str:
    if root is not None:
        return _stat_key(folder_listing(cfg, root))
    batches = cifar_dir() / "cifar-10-batches-py"
    # every file: batches.meta names the classes, so it decides the selection too
    files = sorted(batches.iterdir()) if batches.is_dir() else []
    if not files:
        return "cifar10-not-downloaded"
    return cache.stable_hash([(f.name, f.stat().st_size, f.stat().st_mtime_ns)
                              for f in files])


def source_key(cfg: Config) -> str:
    """Cheap key of the data ``cfg`` reads: names, sizes and mtimes, no decoding.

    It changes when the data files (or their location) change; the book's
    freeze check (``mlp_lab.book.freeze``) and the results record use it.
    Raises DataError when the ImageFolder tree is missing.
    """
    return _source_key(cfg, data_root(cfg))

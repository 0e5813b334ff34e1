"""Where the images come from: canonical CIFAR-10 or an ImageFolder tree.

Both sources give, for the two configured classes, uint8 images resized to
S x S (antialiased bilinear, as PIL resizes), integer labels 0/1 in config
order, and a provenance record with a SHA-256 fingerprint of the image bytes.
``source_key`` is a cheap listing hash (names, sizes, modification times) that
changes when the files do, without decoding them.
"""

from __future__ import annotations

import hashlib
import os
import warnings
from pathlib import Path

import torch

from . import cache
from .config import Config
from .errors import DataError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".ppm", ".gif", ".webp")
CIFAR_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"


def data_root(cfg: Config) -> Path | None:
    """The ImageFolder root (config, then ``$MLP_LAB_DATA``), or None."""
    root = cfg.data_dir or os.environ.get("MLP_LAB_DATA", "")
    return Path(root).expanduser().resolve() if root else None


def _missing_data(path: Path, what: str) -> DataError:
    return DataError(
        f"no data: {what} ({path}). Fix: either go online and unset "
        f"MLP_LAB_DATA so torchvision downloads CIFAR-10 into "
        f"{cache.PROJECT_ROOT / 'data'}, or set MLP_LAB_DATA (or data_dir in "
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


def _folder_listing(cfg: Config, root: Path) -> dict[str, list[tuple[str, int]]]:
    if not root.is_dir():
        raise _missing_data(root, "the data folder does not exist")
    for split in ("train", "test"):
        if not (root / split).is_dir():
            raise _missing_data(root / split, f"the folder has no '{split}' subfolder")
    return {split: [(p, label)
                    for label, cls in enumerate(cfg.classes)
                    for p in _class_files(root, split, cls, cfg.limit_per_class)]
            for split in ("train", "test")}


def _stat_key(listing: dict[str, list[tuple[str, int]]]) -> str:
    h = hashlib.sha256()
    for split, items in listing.items():
        for p, label in items:
            st = os.stat(p)
            h.update(f"{split}|{p}|{label}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:16]


def _resize(images: torch.Tensor, size: int) -> torch.Tensor:
    """(N, 3, H, W) uint8 -> (N, 3, size, size) uint8, antialiased bilinear."""
    from torchvision.transforms.v2 import functional as TF  # slow import: lazy

    return TF.resize(images, [size, size], antialias=True)


def _decode_one(path: str, raw: torch.Tensor) -> torch.Tensor:
    """Decode one image file's bytes to (3, H, W) uint8 RGB, naming it on failure."""
    from torchvision.io import ImageReadMode, decode_image

    try:
        return decode_image(raw, mode=ImageReadMode.RGB)
    except Exception as exc:
        raise DataError(f"unreadable image: {path} ({exc}). Fix: replace or "
                        "delete this file.") from exc


def _decode_all(paths: list[str], digest) -> list[torch.Tensor]:
    """Decode image files (JPEGs in one batched call), hashing their bytes."""
    from torchvision.io import ImageReadMode, decode_jpeg

    raws = []
    for p in paths:
        with open(p, "rb") as f:
            data = f.read()
        digest.update(data)
        raws.append(torch.frombuffer(bytearray(data), dtype=torch.uint8))
    with warnings.catch_warnings():
        # torchvision 0.29 (pinned) deprecates its decoders in favour of
        # torchcodec; they are still the fastest here (batched libjpeg).
        warnings.simplefilter("ignore", DeprecationWarning)
        if all(os.path.splitext(p)[1].lower() in (".jpg", ".jpeg") for p in paths):
            try:
                return decode_jpeg(raws, mode=ImageReadMode.RGB)
            except Exception:  # some file is bad: decode one by one to name it
                pass
        return [_decode_one(p, raw) for p, raw in zip(paths, raws)]


def _read_folder(listing, size: int) -> tuple[dict, dict, str]:
    digest = hashlib.sha256()
    images, labels = {}, {}
    for split, items in listing.items():
        imgs = _decode_all([p for p, _ in items], digest)
        if len({im.shape for im in imgs}) == 1:
            images[split] = _resize(torch.stack(imgs), size)
        else:  # mixed sizes: resize one by one
            images[split] = torch.cat([_resize(im[None], size) for im in imgs])
        labels[split] = torch.tensor([lab for _, lab in items], dtype=torch.int64)
    return images, labels, digest.hexdigest()[:16]


def _cifar_dir() -> Path:
    return cache.PROJECT_ROOT / "data"


def _read_cifar(cfg: Config, size: int) -> tuple[dict, dict, str]:
    from torchvision.datasets import CIFAR10

    images, labels = {}, {}
    digest = hashlib.sha256()
    for split, train in (("train", True), ("test", False)):
        try:
            ds = CIFAR10(root=str(_cifar_dir()), train=train, download=True)
        except Exception as exc:  # offline: URLError, socket errors, ...
            raise _missing_data(_cifar_dir() / "cifar-10-batches-py",
                                f"downloading CIFAR-10 failed ({exc})") from exc
        targets = torch.tensor(ds.targets)
        x = torch.from_numpy(ds.data).permute(0, 3, 1, 2)  # (N, 3, 32, 32)
        keep, lab = [], []
        for label, cls in enumerate(cfg.classes):
            idx = (targets == ds.class_to_idx[cls]).nonzero().flatten()
            idx = idx[:cfg.limit_per_class] if cfg.limit_per_class else idx
            keep.append(idx)
            lab.append(torch.full((len(idx),), label, dtype=torch.int64))
        order = torch.cat(keep)
        images[split] = _resize(x[order].contiguous(), size)
        labels[split] = torch.cat(lab)
        digest.update(x[order].numpy().tobytes())
    return images, labels, digest.hexdigest()[:16]


def read_images(cfg: Config, root: Path | None) -> tuple[dict, dict, dict]:
    """(images, labels, provenance) of the train and test splits of ``cfg``."""
    if root is not None:
        listing = _folder_listing(cfg, root)
        images, labels, fp = _read_folder(listing, cfg.image_size)
        prov = {"source": "imagefolder", "location": str(root),
                "n_files": sum(len(v) for v in listing.values())}
    else:
        images, labels, fp = _read_cifar(cfg, cfg.image_size)
        prov = {"source": "torchvision-cifar10", "location": CIFAR_URL,
                "n_files": sum(len(v) for v in labels.values())}
    return images, labels, dict(prov, fingerprint=fp)


def _source_key(cfg: Config, root: Path | None) -> str:
    if root is not None:
        return _stat_key(_folder_listing(cfg, root))
    batches = _cifar_dir() / "cifar-10-batches-py"
    files = sorted(batches.glob("*_batch*")) if batches.is_dir() else []
    if not files:
        return "cifar10-not-downloaded"
    return cache.stable_hash([(f.name, f.stat().st_size, f.stat().st_mtime_ns)
                              for f in files])


def source_key(cfg: Config) -> str:
    """Cheap key of the data ``cfg`` reads: names, sizes and mtimes, no decoding.

    It changes when the data files (or their location) change; the book's
    freeze check (``mlp_lab.freeze``) uses it. Raises DataError when the
    ImageFolder tree is missing.
    """
    return _source_key(cfg, data_root(cfg))

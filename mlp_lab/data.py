"""The prepared data of a config: the core of :mod:`mlp_lab.images`, wrapped.

:func:`load_data` opens torchvision's datasets (each image resized to the
config's size, antialiased), runs
:func:`mlp_lab.images.prepare` on them (keep two classes, split, statistics)
and wraps it:

- the source: the ImageFolder tree of ``config.data_dir`` or ``$MLP_LAB_DATA``
  (checked first, so that a missing class folder is named), else the
  canonical CIFAR-10, downloaded with every MD5 checked
  (:func:`mlp_lab.download.fetch_cifar`);
- errors that name the problem and the fix (an unreadable image by its path,
  a split left empty);
- ``limit_per_class``: the first N images of each class only (small test
  and draft configs);
- provenance: the source, the number of files and a SHA-256 fingerprint of
  the image bytes;
- one intra-op thread (:mod:`mlp_lab.threads`), so that the statistics'
  last bits do not depend on the machine;
- a cache: the resized uint8 images, labels and statistics in one
  ``torch.save`` file keyed by the config's data fields, a listing of the
  source files (names, sizes, modification times) and the source of the
  modules that build it.
"""

from __future__ import annotations

import collections
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torchvision import datasets, transforms

from . import cache
from .config import Config
from .download import fetch_cifar
from .errors import DataError
from .images import (channel_stats, class_indices, normalize, prepare,
                     split_indices)
from .sources import cifar_dir, data_root, file_types, folder_listing, source_key
from .threads import pinned

__all__ = ["DataError", "PreparedData", "channel_stats", "data_root", "load_cached",
           "load_data", "source_key", "split_indices"]

SPLITS = ("train", "val", "test")
_FORMAT = 2  # bump when the cache file layout changes
# The modules whose code builds the cached data: a change to any of them (a
# fixed resize, split or statistic) must not be served the old data.
PIPELINE_MODULES = ("data", "download", "images", "sources", "threads")


@dataclass
class PreparedData:
    """The three splits as resized uint8 images, with labels and statistics."""

    images: dict[str, torch.Tensor]   # split -> (N, 3, S, S) uint8
    labels: dict[str, torch.Tensor]   # split -> (N,) int64 in {0, 1}
    mean: torch.Tensor                # (3,) float64, of train images in [0, 1]
    std: torch.Tensor                 # (3,) float64
    class_names: tuple[str, str]
    provenance: dict = field(default_factory=dict)

    def normalized(self, split: str, dtype=torch.float64) -> torch.Tensor:
        """(N, 3, S, S) tensor ((x / 255) - mean) / std in ``dtype``."""
        return normalize(self.images[split], self.mean, self.std).to(dtype)

    def batches(self, split: str, batch_size: int, dtype=torch.float64,
                device: str | torch.device = "cpu") -> list:
        """Flattened, normalized mini-batches of ``split`` on ``device``: the
        batches of :func:`~.images.batches` (tested), cut as slices rather
        than gathered image by image by a DataLoader."""
        x = self.normalized(split, dtype).flatten(1).to(device)
        return list(zip(x.split(batch_size), self.labels[split].to(device).split(
            batch_size)))

    def samples(self, n: int, split: str = "train") -> torch.Tensor:
        """The first ``n`` images of each class of ``split``: (2, n, 3, S, S)
        uint8 (fewer per class when a class has fewer images)."""
        y = self.labels[split]
        k = min(n, *torch.bincount(y, minlength=2).tolist())
        return torch.stack([self.images[split][y == c][:k] for c in (0, 1)])

    def normalized_moments(self, split: str) -> tuple[list[float], list[float]]:
        """Per-channel mean and standard deviation of ``normalized(split)``:
        0 and 1 on the training split, up to rounding."""
        x = self.normalized(split)
        return x.mean(dim=(0, 2, 3)).tolist(), x.std(dim=(0, 2, 3)).tolist()

    def counts(self) -> dict[str, list[int]]:
        """split -> [count of class 0, count of class 1]."""
        return {s: torch.bincount(self.labels[s], minlength=2).tolist()
                for s in SPLITS}

    def sizes(self) -> dict[str, int]:
        """split -> number of images."""
        return {s: len(self.labels[s]) for s in SPLITS}


# ---------------------------------------------------------------- around the core

def image_transform(size: int):
    """PIL image -> (3, size, size) uint8 tensor, resized (antialiased
    bilinear). An image of that size already is left as it is (PIL copies
    it), so CIFAR-10 at 32 x 32 reads as Part B reads it, without a resize."""
    return transforms.Compose([transforms.Resize((size, size)),
                               transforms.PILToTensor()])


def open_datasets(root: Path | None, size: int, download_dir: Path) -> tuple:
    """The training and test sets: the ImageFolder trees root/train and
    root/test, else the canonical CIFAR-10 in ``download_dir``."""
    transform = image_transform(size)
    if root is not None:
        return (datasets.ImageFolder(f"{root}/train", transform=transform),
                datasets.ImageFolder(f"{root}/test", transform=transform))
    return tuple(datasets.CIFAR10(str(download_dir), train=train, download=False,
                                  transform=transform) for train in (True, False))


class FirstPerClass:
    """A dataset seen through the first limit images of each class: the
    others' targets read -1, which names no class."""

    def __init__(self, dataset, limit: int) -> None:
        self.dataset, self.class_to_idx = dataset, dataset.class_to_idx
        seen: collections.Counter = collections.Counter()
        self.targets = []
        for t in dataset.targets:
            seen[t] += 1
            self.targets.append(t if seen[t] <= limit else -1)

    def __getitem__(self, i: int):
        return self.dataset[i]


def _limited(sets: tuple, cfg: Config) -> tuple:
    return tuple(FirstPerClass(ds, cfg.limit_per_class) if cfg.limit_per_class
                 else ds for ds in sets)


def _check_split(n: int, cfg: Config) -> None:
    n_train = round(n * cfg.train_fraction)
    if not 0 < n_train < n:
        raise DataError(f"cannot split {n} training images with train_fraction "
                        f"{cfg.train_fraction}: one split would be empty. Fix: use "
                        "more images (limit_per_class) or another fraction.")


def _selected(dataset, cfg: Config) -> list[int]:
    return [i for name in cfg.classes for i in class_indices(dataset, name)]


def _fingerprint(sets: tuple, cfg: Config) -> str:
    """SHA-256 (16 hex) of the selected images, training then test set: the
    files' bytes of an ImageFolder tree, the 32 x 32 pixels of CIFAR-10."""
    digest = hashlib.sha256()
    for ds in sets:
        chosen, raw = _selected(ds, cfg), getattr(ds, "dataset", ds)
        if hasattr(raw, "samples"):  # ImageFolder: (path, class index) pairs
            for i in chosen:
                with open(raw.samples[i][0], "rb") as f:
                    digest.update(f.read())
        else:
            digest.update(raw.data[chosen].transpose(0, 3, 1, 2).tobytes())
    return digest.hexdigest()[:16]


def _unreadable(sets: tuple, cfg: Config, exc: Exception) -> DataError:
    """The error for ``exc``, raised while decoding: names the first file
    that PIL cannot read, when the images are files."""
    for ds in sets:
        raw = getattr(ds, "dataset", ds)
        for i in _selected(ds, cfg) if hasattr(raw, "samples") else ():
            path = raw.samples[i][0]
            try:
                raw.loader(path)
            except Exception as bad:  # PIL's errors have no common base
                return DataError(f"unreadable image: {path} ({bad}). Fix: replace "
                                 "or delete this file.")
    return DataError(f"the images could not be read ({type(exc).__name__}: {exc}). "
                     "Fix: check the data folder, or delete it and download again.")


def _build(cfg: Config, root: Path | None) -> dict:
    """The core's prepared splits of ``cfg`` and their provenance."""
    if root is not None:
        listing = folder_listing(cfg, root)  # names a missing or empty folder
        sets = _limited(open_datasets(root, cfg.image_size, cifar_dir()), cfg)
        prov = {"source": "imagefolder", "location": str(root),
                "n_files": sum(len(v) for v in listing.values()),
                "file_types": file_types(listing)}
    else:
        url = fetch_cifar(cifar_dir())  # every file's MD5 checked before reading
        sets = _limited(open_datasets(None, cfg.image_size, cifar_dir()), cfg)
        prov = {"source": "torchvision-cifar10", "location": url,
                "n_files": sum(len(_selected(ds, cfg)) for ds in sets)}
    _check_split(len(_selected(sets[0], cfg)), cfg)
    try:
        images, labels, mean, std = prepare(*sets, cfg.classes, cfg.train_fraction,
                                            cfg.split_seed)
    except Exception as exc:  # a bad file: PIL raises one of several errors
        raise _unreadable(sets, cfg, exc) from exc
    return {"images": images, "labels": labels, "mean": mean, "std": std,
            "provenance": dict(prov, fingerprint=_fingerprint(sets, cfg))}


def _valid(entry: dict | None, key: str) -> bool:
    try:
        return (entry["key"] == key and entry["format"] == _FORMAT
                and all(len(entry["images"][s]) == len(entry["labels"][s])
                        for s in SPLITS))
    except (TypeError, KeyError):
        return False


def load_data(cfg: Config) -> PreparedData:
    """Prepare (or load from cache) the two-class data set of ``cfg``."""
    root = data_root(cfg)

    def cache_path() -> tuple[str, Path]:
        key = cache.stable_hash([_FORMAT, cfg.data_dict(), str(root),
                                 source_key(cfg),
                                 cache.source_hash(PIPELINE_MODULES),
                                 cache.releases()])
        return key, cache.cache_dir() / f"data-{key}.pt"

    key, path = cache_path()
    entry = cache.load_tensors(path)
    if not _valid(entry, key):
        with pinned():  # the statistics' last bits must not depend on cores
            entry = _build(cfg, root)
        if root is None:  # a first download changes the source listing
            key, path = cache_path()
        entry.update(key=key, format=_FORMAT)
        cache.save_tensors(path, entry)
    return _prepared(entry, path, cfg)


def _prepared(entry: dict, path: Path, cfg: Config) -> PreparedData:
    prov = dict(entry["provenance"], cache_file=str(path))
    return PreparedData(entry["images"], entry["labels"], entry["mean"],
                        entry["std"], tuple(cfg.class_names), prov)


def load_cached(path: str | Path, cfg: Config) -> PreparedData:
    """The prepared data in the data cache file ``path`` that ``load_data(cfg)``
    wrote: what a worker process reads instead of building the data again."""
    path = Path(path)
    entry = cache.load_tensors(path)
    if not isinstance(entry, dict) or not _valid(entry, entry.get("key")):
        raise DataError(f"the data cache file {path} is missing or damaged. Fix: "
                        "run again; it is rebuilt from the images.")
    return _prepared(entry, path, cfg)

"""Two-class CIFAR-10 data: read, resize, split, normalize, cache, batch.

Pipeline (assignment, Part B step 1), for classes (c0, c1) -> labels (0, 1):

1. read the training and test images of the two classes, either from the
   canonical CIFAR-10 (``torchvision.datasets.CIFAR10``, downloaded into
   ``data/``) or from an ImageFolder tree ``ROOT/{train,test}/<class>/*``
   named by ``config.data_dir`` or ``$MLP_LAB_DATA``;
2. resize every image to S x S (antialiased bilinear, uint8 as PIL does);
3. split the training images into train/validation with
   ``randperm(n, generator=Generator().manual_seed(split_seed))``
   (what ``random_split`` does): the first round(n * train_fraction)
   permuted indices are the training split;
4. normalize x' = (x / 255 - mu_c) / sigma_c with the per-channel mean mu_c
   and standard deviation sigma_c of the TRAINING split only.

The resized uint8 images, labels and statistics are cached in one
``torch.save`` file keyed by the config fields, a listing of the source
files (names, sizes, modification times) and the source of the modules that
build it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import torch

from . import cache
from .config import Config
from .errors import DataError
from .images import read_images
from .sources import data_root, source_key
from .threads import pinned

__all__ = ["Batches", "DataError", "PreparedData", "channel_stats", "data_root",
           "load_cached", "load_data", "source_key", "split_indices"]

SPLITS = ("train", "val", "test")
_FORMAT = 1  # bump when the cache file layout changes
# The modules whose code builds the cached data: a change to any of them (a
# fixed resize, split or statistic) must not be served the old data.
PIPELINE_MODULES = ("data", "download", "images", "sources", "threads")


@dataclass
class Batches:
    """Mini-batches (x[i:i+B], y[i:i+B]) of in-memory tensors, in a fixed order.

    The same order every epoch, as ``DataLoader(shuffle=False)``.
    """

    x: torch.Tensor
    y: torch.Tensor
    batch_size: int

    def __iter__(self):
        for i in range(0, len(self.y), self.batch_size):
            yield self.x[i:i + self.batch_size], self.y[i:i + self.batch_size]

    def __len__(self) -> int:
        return math.ceil(len(self.y) / self.batch_size)


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
        x = self.images[split].to(torch.float64) / 255.0
        x = (x - self.mean[:, None, None]) / self.std[:, None, None]
        return x.to(dtype)

    def batches(self, split: str, batch_size: int, dtype=torch.float64,
                device: str | torch.device = "cpu") -> Batches:
        """Flattened, normalized mini-batches of ``split`` on ``device``."""
        x = self.normalized(split, dtype).flatten(1).to(device)
        return Batches(x, self.labels[split].to(device), batch_size)

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


# ---------------------------------------------------------------- pipeline

def split_indices(n: int, train_fraction: float, seed: int) -> tuple[torch.Tensor,
                                                                     torch.Tensor]:
    """Seeded train/validation split of range(n), as ``random_split`` draws it."""
    n_train = round(n * train_fraction)
    if not 0 < n_train < n:
        raise DataError(f"cannot split {n} training images with train_fraction "
                        f"{train_fraction}: one split would be empty. Fix: use more "
                        "images (limit_per_class) or another fraction.")
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    return perm[:n_train], perm[n_train:]


def channel_stats(images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean and std (N-1) of uint8 images (N, 3, S, S) scaled to [0, 1]."""
    x = images.to(torch.float64).div_(255.0).transpose(0, 1).flatten(1)
    return x.mean(dim=1), x.std(dim=1)


def _build(cfg: Config, root: Path | None) -> dict:
    images, labels, prov = read_images(cfg, root)
    tr, va = split_indices(len(labels["train"]), cfg.train_fraction, cfg.split_seed)
    out = {"images": {"train": images["train"][tr], "val": images["train"][va],
                      "test": images["test"]},
           "labels": {"train": labels["train"][tr], "val": labels["train"][va],
                      "test": labels["test"]}}
    out["mean"], out["std"] = channel_stats(out["images"]["train"])
    out["provenance"] = prov
    return out


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

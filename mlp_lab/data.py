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
``torch.save`` file keyed by the config fields and a listing of the source
files (names, sizes, modification times).
"""

from __future__ import annotations

import hashlib
import math
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import torch

from . import cache
from .config import Config

SPLITS = ("train", "val", "test")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".ppm", ".gif", ".webp")
CIFAR_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
_FORMAT = 1  # bump when the cache file layout changes


class DataError(RuntimeError):
    """The data cannot be found or read; the message says how to fix it."""


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

    def counts(self) -> dict[str, list[int]]:
        """split -> [count of class 0, count of class 1]."""
        return {s: torch.bincount(self.labels[s], minlength=2).tolist()
                for s in SPLITS}

    def sizes(self) -> dict[str, int]:
        """split -> number of images."""
        return {s: len(self.labels[s]) for s in SPLITS}


# ---------------------------------------------------------------- sources

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
    if root is not None:
        listing = _folder_listing(cfg, root)
        images, labels, fp = _read_folder(listing, cfg.image_size)
        prov = {"source": "imagefolder", "location": str(root),
                "n_files": sum(len(v) for v in listing.values())}
    else:
        images, labels, fp = _read_cifar(cfg, cfg.image_size)
        prov = {"source": "torchvision-cifar10", "location": CIFAR_URL,
                "n_files": sum(len(v) for v in labels.values())}
    prov["fingerprint"] = fp
    tr, va = split_indices(len(labels["train"]), cfg.train_fraction, cfg.split_seed)
    out = {"images": {"train": images["train"][tr], "val": images["train"][va],
                      "test": images["test"]},
           "labels": {"train": labels["train"][tr], "val": labels["train"][va],
                      "test": labels["test"]}}
    out["mean"], out["std"] = channel_stats(out["images"]["train"])
    out["provenance"] = prov
    return out


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
                                 _source_key(cfg, root)])
        return key, cache.cache_dir() / f"data-{key}.pt"

    key, path = cache_path()
    entry = cache.load_tensors(path)
    if not _valid(entry, key):
        entry = _build(cfg, root)
        if root is None:  # a first download changes the source listing
            key, path = cache_path()
        entry.update(key=key, format=_FORMAT)
        cache.save_tensors(path, entry)
    prov = dict(entry["provenance"], cache_file=str(path))
    return PreparedData(entry["images"], entry["labels"], entry["mean"],
                        entry["std"], tuple(cfg.class_names), prov)

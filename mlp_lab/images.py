"""Reading the images: decode, resize, label (torch and torchvision).

Both sources give, for the two configured classes, uint8 images resized to
S x S (antialiased bilinear, as PIL resizes), integer labels 0/1 in config
order, and a provenance record with a SHA-256 fingerprint of the image bytes.
Where the files are is :mod:`mlp_lab.sources`' job.
"""

from __future__ import annotations

import hashlib
import os
import warnings
from pathlib import Path

import torch

from .config import Config
from .errors import DataError
from .download import fetch_cifar
from .sources import cifar_dir, file_types, folder_listing


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


def _read_cifar(cfg: Config, size: int) -> tuple[dict, dict, str, str]:
    """(images, labels, fingerprint, URL) of the canonical CIFAR-10: the SHA-256
    of the selected 32 x 32 pixels, train then test, in the order kept."""
    from torchvision.datasets import CIFAR10

    url = fetch_cifar(cifar_dir())  # every file's MD5 checked before CIFAR10 reads it
    images, labels = {}, {}
    digest = hashlib.sha256()
    for split, train in (("train", True), ("test", False)):
        ds = CIFAR10(root=str(cifar_dir()), train=train)
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
    return images, labels, digest.hexdigest()[:16], url


def read_images(cfg: Config, root: Path | None) -> tuple[dict, dict, dict]:
    """(images, labels, provenance) of the train and test splits of ``cfg``."""
    if root is not None:
        listing = folder_listing(cfg, root)
        images, labels, fp = _read_folder(listing, cfg.image_size)
        prov = {"source": "imagefolder", "location": str(root),
                "n_files": sum(len(v) for v in listing.values()),
                "file_types": file_types(listing)}
    else:
        images, labels, fp, url = _read_cifar(cfg, cfg.image_size)
        prov = {"source": "torchvision-cifar10", "location": url,
                "n_files": sum(len(v) for v in labels.values())}
    return images, labels, dict(prov, fingerprint=fp)

"""Sentences on the data and on what a render was computed from (no torch).

Where the images came from is read from the record (``DataSummary``): its
source ("imagefolder" or "torchvision-cifar10") and the files' types. A
local copy in JPEG files is a lossy re-encoding of CIFAR-10, and the text
says so plainly; the canonical files are named as the canonical download.
"""

from __future__ import annotations

from .. import cache
from ..config import CIFAR_SIZE, Config
from ..results import DataSummary, Results
from .checktext import device_words
from .fmt import count, size
from .places import shown_place

CANONICAL = "torchvision-cifar10"
LOSSY = (".jpg", ".jpeg", ".webp")


def is_jpeg(data: DataSummary) -> bool:
    """Whether the images are a local copy in lossy (JPEG) files."""
    return data.source != CANONICAL and any(t in LOSSY for t in data.file_types)


def files_words(data: DataSummary) -> str:
    """'12,000 JPEG files', '12,000 PNG files' or '12,000 image files'."""
    kinds = {"JPEG" if t in (".jpg", ".jpeg") else t.lstrip(".").upper()
             for t in data.file_types}
    kind = kinds.pop() if len(kinds) == 1 else "image"
    return f"{count(data.n_files)} {kind} files"


def classes_phrase(cfg: Config) -> str:
    """'automobile (called car here, label 0) and cat (label 1)': the CIFAR-10
    class names, with the name used here only where it differs."""
    parts = []
    for label, (cls, name) in enumerate(zip(cfg.classes, cfg.class_names)):
        alias = f"called {name} here, " if name != cls else ""
        parts.append(f"{cls} ({alias}label {label})")
    return " and ".join(parts)


def size_phrase(cfg: Config) -> str:
    """How the images reach the network's size: 'resized to 16×16 pixels
    (antialiased)', or 'kept at their 32×32 pixels'."""
    if cfg.image_size == CIFAR_SIZE:
        return f"kept at their {size(cfg.image_size)} pixels"
    return f"resized to {size(cfg.image_size)} pixels (antialiased)"


def data_sentence(res: Results) -> str:
    """Whether the images are the canonical CIFAR-10 or a local copy (and a
    lossy one), and the three split sizes."""
    d = res.data
    if d.source == CANONICAL:
        source = ("The images are the canonical CIFAR-10 files, as torchvision "
                  "downloads them.")
    elif is_jpeg(d):
        source = (f"The images are a lossy JPEG copy of CIFAR-10 ({files_words(d)}), "
                  "so every number here may differ a little from one computed "
                  "on the canonical files.")
    else:
        source = (f"The images are a local copy of CIFAR-10 ({files_words(d)}), "
                  "not the canonical download.")
    return (f"{source} The splits hold {count(d.n_train)} training, "
            f"{count(d.n_val)} validation and {count(d.n_test)} test images.")


def provenance_note(res: Results) -> str:
    """Where this render's images came from, in words (the book)."""
    if res.data.source == CANONICAL:
        return ("These are the canonical CIFAR-10 files, downloaded by "
                "torchvision.datasets.CIFAR10.")
    lossy = ("a lossy JPEG re-encoding, so pixel values and hence every number "
             "differ slightly from a render on the canonical files."
             if is_jpeg(res.data) else "of the files named there.")
    return ("This is a local ImageFolder copy (named by MLP_LAB_DATA), not the "
            f"canonical download: {lossy}")


def balance_sentence(res: Results, balanced: float = 0.9) -> str:
    """The training split's images per class, and what that means for accuracy."""
    counts, names = res.data.counts["train"], res.data.class_names
    ratio = min(counts) / max(counts)
    verdict = ("the classes are balanced, so accuracy is a fair summary"
               if ratio > balanced else "the classes are imbalanced: read accuracy "
               "together with the confusion matrix")
    return (f"The training split holds {count(counts[0])} {names[0]} and "
            f"{count(counts[1])} {names[1]} images: {verdict}.")


def normalization_values(data: DataSummary) -> str:
    """The training split's per-channel means and standard deviations."""
    def three(v):
        return f"{v[0]:.3f}, {v[1]:.3f} and {v[2]:.3f}"
    return (f"means {three(data.mean)} and standard deviations {three(data.std)} "
            "for red, green and blue, on pixel values scaled to [0, 1]")


def normalization_sentence(means: list[float], stds: list[float]) -> str:
    """The per-channel moments of the normalized training images."""
    return (f"the training images have per-channel means between "
            f"{min(means):+.1e} and {max(means):+.1e} and standard deviations "
            f"between {min(stds):.4f} and {max(stds):.4f}.")


def source_words(data: DataSummary) -> str:
    """What the images are and where they were, for the closing paragraph."""
    place = shown_place(data.location)
    fingerprint = f"fingerprint of their contents {data.fingerprint}"
    if data.source == CANONICAL:
        return (f"the canonical CIFAR-10 files, downloaded by torchvision from "
                f"{place} ({count(data.n_files)} images used; {fingerprint})")
    return (f"a local ImageFolder copy of CIFAR-10 at {place} "
            f"({files_words(data)}; {fingerprint})")


def reproducibility_sentence(res: Results, config_file: str, full: bool = True) -> str:
    """What a render's numbers depend on, in one paragraph: the data, config,
    seeds and versions; with ``full`` (the book) also the device, the data's
    place and fingerprint and the library's code hash. The data's place is printed
    as :func:`~.places.shown_place` gives it."""
    e, c = res.env, res.config
    config = ("the default configuration" if config_file == "defaults" else
              f"the configuration of {config_file}")
    a, b = c.class_names
    data = (source_words(res.data) if full else
            "the canonical CIFAR-10 files" if res.data.source == CANONICAL else
            f"a local copy of CIFAR-10 ({files_words(res.data)})")
    head = (f"Every number here was computed from {data}, with {config} "
            f"({a} vs {b}, {size(c.image_size)}), split seed {c.split_seed} and "
            f"model seed {e.seed}, in {e.dtype}")
    if not full:  # the report: what its notebooks print, and where both come from
        return (f"{head}, with PyTorch {e.torch} and torchvision {e.torchvision}. "
                "The notebooks and this report come from one source, the mlp_lab "
                "project.")
    return (f"{head} on {device_words(e)}, with Python {e.python}, PyTorch "
            f"{e.torch} and torchvision {e.torchvision}, by the mlp_lab library, "
            "whose computing code has the hash "
            f"{cache.source_hash(cache.COMPUTE_MODULES)}.")

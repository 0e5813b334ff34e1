"""The results record: everything the report shows about the trainings, as
plain data (no torch).

:func:`mlp_lab.experiments.run` computes a :class:`Results` and writes it to
``<cache>/results/record-<key>.json``; the book reads it back through
:func:`load_record` without importing torch. The key is a hash of everything
the numbers depend on (:func:`record_key`): the config, the device type,
the data files' listing, the source of the computing modules and the
installed PyTorch release. A record that is missing, damaged or of another
key is a miss, and the caller computes the results again.

Confusion matrices are ``[[n00, n01], [n10, n11]]`` with rows the true class
and columns the predicted class, as ``trainers.confusion_matrix`` counts them.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path

from . import cache
from .config import Config, config_from_dict
from .device import device_type
from .errors import ConfigError
from .sources import source_key

RECORD_FORMAT = 4  # bump when the record's layout changes


@dataclass
class SettingResult:
    """Outcome of one setting trained with both trainers.

    ``train_acc``/``val_acc`` are the ``torch.optim.SGD`` model's, the ones
    selection and the tables use; ``*_manual`` are measured on the manual
    model. ``max_abs_diff_*`` compare the two trainers. ``val_correct`` holds,
    for each validation image in validation order, 1 where the
    ``torch.optim.SGD`` model classifies it correctly, else 0 (its mean is
    ``val_acc``): two settings scored on the same images are compared image
    by image (a paired comparison)."""

    lr: float
    momentum: float
    weight_decay: float
    train_loss_sgd: list[float]
    train_loss_manual: list[float]
    train_acc: float
    val_acc: float
    train_acc_manual: float
    val_acc_manual: float
    max_abs_diff_loss: float
    max_abs_diff_params: float
    seconds_sgd: float
    seconds_manual: float
    diverged: bool
    val_correct: list[int] = field(default_factory=list)
    from_cache: bool = field(default=False, compare=False)

    @property
    def seconds(self) -> float:
        """Wall time of both trainings of this setting."""
        return self.seconds_sgd + self.seconds_manual

    @property
    def final_loss(self) -> float:
        """Mean training loss of the last epoch (``torch.optim.SGD`` run)."""
        return self.train_loss_sgd[-1]

    @property
    def identical(self) -> bool:
        """Whether the two trainers agreed to the last bit: every epoch's loss
        and every final parameter equal (largest absolute difference 0)."""
        return self.max_abs_diff_loss == 0 and self.max_abs_diff_params == 0


@dataclass(frozen=True)
class DataSummary:
    """Where the images came from, the split sizes and the training statistics."""

    source: str                     # "imagefolder" or "torchvision-cifar10"
    location: str                   # the folder, or the download's URL
    n_files: int
    fingerprint: str                # SHA-256 (16 hex) of the image bytes
    n_train: int
    n_val: int
    n_test: int
    counts: dict[str, list[int]]    # split -> [class 0, class 1]
    class_names: list[str]
    mean: list[float]               # per channel, training split, in [0, 1]
    std: list[float]
    normalized_mean: list[float]    # per channel, training split, normalized
    normalized_std: list[float]
    samples: list                   # (2, n, 3, S, S) uint8: first n per class
    cache_file: str = ""
    file_types: list[str] = field(default_factory=list)  # ".jpg", ... ([]: download)


@dataclass(frozen=True)
class BestModel:
    """The selected setting (index into ``Results.settings``) and its test."""

    index: int
    test_acc: float
    confusion: list[list[int]]      # rows: true class, columns: predicted
    train_acc: float
    val_acc: float

    @property
    def errors(self) -> tuple[int, int]:
        """(class 0 predicted as class 1, class 1 predicted as class 0)."""
        return self.confusion[0][1], self.confusion[1][0]

    @property
    def error_rates(self) -> tuple[float, float]:
        """Each class's errors over its test images (its row of the matrix)."""
        rows = [sum(r) for r in self.confusion]
        return tuple(e / n if n else math.nan for e, n in zip(self.errors, rows))


@dataclass(frozen=True)
class Environment:
    """What the results were computed on."""

    python: str
    torch: str
    torchvision: str
    device: str                     # "cpu" or "cuda"
    device_name: str
    dtype: str
    seed: int
    sgd_path: str                   # the torch.optim.SGD code path used


@dataclass
class Results:
    """Everything the report shows about the trainings of one config."""

    config: Config
    data: DataSummary
    settings: list[SettingResult]
    best: BestModel | None
    env: Environment

    @property
    def n_identical(self) -> int:
        """How many settings' two trainers agreed to the last bit."""
        return sum(s.identical for s in self.settings)

    @property
    def losses_identical(self) -> bool:
        """Whether every epoch's loss agreed between the trainers in every
        setting (the loss curves coincide; the weights may still differ)."""
        return all(s.max_abs_diff_loss == 0 for s in self.settings)

    @property
    def all_identical(self) -> bool:
        """Whether the trainers agreed to the last bit in every setting."""
        return self.n_identical == len(self.settings)

    def to_dict(self) -> dict:
        """JSON-able dict (the CLI's ``--json`` layout): each setting also
        carries its ``seconds``, not its ``from_cache``."""
        out = {"config": self.config.to_dict(),
               "data": dataclasses.asdict(self.data),
               "settings": [], "best": None if self.best is None
               else dataclasses.asdict(self.best),
               "env": dataclasses.asdict(self.env)}
        for s in self.settings:
            d = dataclasses.asdict(s)
            del d["from_cache"]
            out["settings"].append(dict(d, seconds=s.seconds))
        return out

    @classmethod
    def from_dict(cls, d: dict, from_cache: bool = True) -> Results:
        """The inverse of :meth:`to_dict`; raises KeyError, TypeError or
        ConfigError when ``d`` is not such a dict."""
        settings = [SettingResult(**{k: v for k, v in s.items() if k != "seconds"},
                                  from_cache=from_cache) for s in d["settings"]]
        best = None if d["best"] is None else BestModel(**d["best"])
        return cls(config_from_dict(d["config"]), DataSummary(**d["data"]),
                   settings, best, Environment(**d["env"]))


def json_safe(obj):
    """``obj`` with NaN and infinite floats replaced by None (strict JSON)."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    return obj


# ------------------------------------------------------------------ the record

def record_key(cfg: Config, device: str | None = None) -> str:
    """Hash of what ``cfg``'s results depend on: the record format, the config,
    the device type (``device``, by default :func:`mlp_lab.device.device_type`:
    a GPU's record is never served on a CPU), the data files' listing
    (``sources.source_key``), the computing modules' source
    (``cache.COMPUTE_MODULES``) and the installed PyTorch and torchvision
    releases (``cache.releases``).

    Raises DataError when the configured data folder is missing."""
    return cache.stable_hash([RECORD_FORMAT, cfg.to_dict(), device or device_type(),
                              source_key(cfg),
                              cache.source_hash(cache.COMPUTE_MODULES),
                              cache.releases()])


def record_path(key: str) -> Path:
    """The record file of ``key`` in the results cache."""
    return cache.cache_dir() / "results" / f"record-{key}.json"


def save_record(cfg: Config, results: Results) -> Path:
    """Write ``results`` as the record of ``cfg`` (atomically), keyed by the
    device that computed them; its path."""
    key = record_key(cfg, results.env.device)
    path = record_path(key)
    cache.save_json(path, {"key": key, "results": results.to_dict()})
    return path


def load_record(cfg: Config) -> Results | None:
    """The recorded results of ``cfg``, or None when there is no valid record."""
    key = record_key(cfg)
    raw = cache.load_json(record_path(key))
    if not isinstance(raw, dict) or raw.get("key") != key:
        return None
    try:
        return Results.from_dict(raw["results"])
    except (KeyError, TypeError, ValueError, ConfigError):
        return None  # a record of another layout: computed again

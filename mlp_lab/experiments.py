"""The experiments of Part B: every setting with both trainers, cached on disk.

For each hyper-parameter setting s: ``torch.manual_seed(seed)``, create the
MLP, train it with ``torch.optim.SGD``; again ``torch.manual_seed(seed)``,
create it, train it with ``train_manual_update``; compare losses and final
parameters; record accuracies. The best setting is the one of highest
validation accuracy (ties: the first; diverged settings never), evaluated once
on the test set.

Each setting's outcome is cached in ``<cache>/results/`` under a key made of
everything that determines it (data, model, training fields, the setting, the
data fingerprint, a hash of mlp_lab's source, the torch version, the device
type), so changing one setting retrains only that setting.
"""

from __future__ import annotations

import dataclasses
import math
import time
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Callable

import torch
from torch import nn

from . import cache
from .config import Config, Setting, load_config
from .data import PreparedData, load_data
from .environment import environment
from .models import make_model
from .trainers import (accuracy, confusion_matrix, default_device, sgd_optimizer,
                       train, train_manual_update)

Progress = Callable[[str, int], AbstractContextManager]


@dataclass
class SettingResult:
    """Outcome of one setting trained with both trainers."""

    lr: float
    momentum: float
    weight_decay: float
    train_loss_sgd: list[float]
    train_loss_manual: list[float]
    val_acc_per_epoch: list[float]
    train_acc: float
    val_acc: float
    max_abs_diff_loss: float
    max_abs_diff_params: float
    seconds_sgd: float
    seconds_manual: float
    diverged: bool
    from_cache: bool = field(default=False, compare=False)

    @property
    def seconds(self) -> float:
        """Wall time of both trainings of this setting."""
        return self.seconds_sgd + self.seconds_manual

    @property
    def final_loss(self) -> float:
        """Mean training loss of the last epoch (``torch.optim.SGD`` run)."""
        return self.train_loss_sgd[-1]


@dataclass
class Results:
    """Everything the report shows about the trainings."""

    config: dict
    data: dict
    settings: list[SettingResult]
    best: dict | None
    env: dict

    def to_dict(self) -> dict:
        """JSON-able dict in the CLI's ``--json`` layout (plus extra fields)."""
        out = dataclasses.asdict(self)
        for s, d in zip(self.settings, out["settings"]):
            d["seconds"] = s.seconds
            del d["from_cache"]
        return out


def _key(cfg: Config, setting: Setting, fingerprint: str, device: torch.device) -> str:
    fields = {k: v for k, v in cfg.to_dict().items()
              if k not in ("name", "class_names", "data_dir", "settings")}
    code = cache.source_hash(cache.COMPUTE_MODULES)
    return cache.stable_hash([fields, dataclasses.asdict(setting), fingerprint,
                              code, torch.__version__, device.type])


def _max_abs_diff(a, b) -> float:
    """max |a_i - b_i| over lists of floats or of tensors (inf if lengths differ).

    Equal entries count 0 even when not finite (both NaN, or the same inf): a
    diverged setting whose trainers hit the same NaNs is still identical. A
    NaN on one side only counts inf.
    """
    if len(a) != len(b):
        return math.inf
    if not a:
        return 0.0
    if not isinstance(a[0], torch.Tensor):
        a, b = ([torch.tensor(v, dtype=torch.float64)] for v in (a, b))
    out = 0.0
    for x, y in zip(a, b):
        x, y = x.detach(), y.detach()
        same = (x == y) | (x.isnan() & y.isnan())
        diff = (x - y).abs().nan_to_num(nan=math.inf)
        out = max(out, torch.where(same, 0.0, diff).max().item())
    return out


def _timed(fn: Callable[[], list[float]]) -> tuple[list[float], float]:
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def train_setting(cfg: Config, setting: Setting, data: PreparedData,
                  progress: Progress | None = None) -> tuple[SettingResult, dict]:
    """Train ``setting`` with both trainers; return its result and SGD weights."""
    dtype, device = getattr(torch, cfg.dtype), default_device()
    loaders = {s: data.batches(s, cfg.batch_size, dtype, device)
               for s in ("train", "val")}
    loss_fn = nn.CrossEntropyLoss()
    tag = f"lr={setting.lr} m={setting.momentum} wd={setting.weight_decay}"
    progress = progress or (lambda desc, total: nullcontext())

    model = make_model(cfg.sizes, cfg.seed, dtype, device)
    opt = sgd_optimizer(model.parameters(), setting.lr, setting.momentum,
                        setting.weight_decay)
    val_curve: list[float] = []
    with progress(f"SGD    {tag}", cfg.epochs) as bar:
        def on_epoch(epoch: int, loss: float) -> None:
            val_curve.append(accuracy(model, loaders["val"]))
            if bar is not None:
                bar(epoch, loss)
        loss_sgd, t_sgd = _timed(lambda: train(
            cfg.epochs, opt, model, loss_fn, loaders["train"], on_epoch=on_epoch))

    manual = make_model(cfg.sizes, cfg.seed, dtype, device)
    with progress(f"manual {tag}", cfg.epochs) as bar:
        loss_man, t_man = _timed(lambda: train_manual_update(
            cfg.epochs, manual, loss_fn, loaders["train"], setting.lr,
            setting.momentum, setting.weight_decay, on_epoch=bar))

    result = SettingResult(
        lr=setting.lr, momentum=setting.momentum, weight_decay=setting.weight_decay,
        train_loss_sgd=loss_sgd, train_loss_manual=loss_man,
        val_acc_per_epoch=val_curve,
        train_acc=accuracy(model, loaders["train"]),
        val_acc=accuracy(model, loaders["val"]),
        max_abs_diff_loss=_max_abs_diff(loss_sgd, loss_man),
        max_abs_diff_params=_max_abs_diff(list(model.parameters()),
                                          list(manual.parameters())),
        seconds_sgd=t_sgd, seconds_manual=t_man,
        diverged=not all(math.isfinite(v) for v in loss_sgd + loss_man))
    return result, {k: v.cpu() for k, v in model.state_dict().items()}


def _cached_entry(folder, key: str) -> tuple[SettingResult, dict] | None:
    """The valid entry ``key`` of the results cache, or None (missing or malformed).

    Valid: the JSON is an object of exactly SettingResult's fields plus ``key``,
    and the weights file is a dict with the same key and a state dict.
    """
    meta = cache.load_json(folder / f"setting-{key}.json")
    weights = cache.load_tensors(folder / f"setting-{key}.pt")
    fields = {f.name for f in dataclasses.fields(SettingResult)} - {"from_cache"}
    if not (isinstance(meta, dict) and isinstance(weights, dict)
            and meta.get("key") == key and weights.get("key") == key
            and set(meta) == fields | {"key"}
            and isinstance(weights.get("state"), dict)):
        return None
    meta.pop("key")
    return SettingResult(**meta, from_cache=True), weights["state"]


def cached_setting(cfg: Config, setting: Setting, data: PreparedData,
                   progress: Progress | None = None) -> tuple[SettingResult, dict]:
    """``train_setting`` served from the results cache when a valid entry exists.

    The weights file is written before the JSON file, and an entry counts only
    when both load and carry the same key: a run killed between (or during) the
    two writes leaves no entry that would be read as valid.
    """
    key = _key(cfg, setting, data.provenance["fingerprint"], default_device())
    folder = cache.cache_dir() / "results"
    hit = _cached_entry(folder, key)
    if hit is not None:
        return hit
    result, state = train_setting(cfg, setting, data, progress)
    cache.save_tensors(folder / f"setting-{key}.pt", {"key": key, "state": state})
    record = dataclasses.asdict(result)
    del record["from_cache"]
    cache.save_json(folder / f"setting-{key}.json", dict(record, key=key))
    return result, state


def select_best(settings: list[SettingResult]) -> int | None:
    """Index of the highest validation accuracy (first on ties), diverged excluded."""
    candidates = [i for i, s in enumerate(settings) if not s.diverged]
    if not candidates:
        return None
    return max(candidates, key=lambda i: (settings[i].val_acc, -i))


def evaluate_best(cfg: Config, index: int, state: dict, result: SettingResult,
                  data: PreparedData) -> dict:
    """Test accuracy and confusion matrix of the best setting's SGD model."""
    dtype, device = getattr(torch, cfg.dtype), default_device()
    model = make_model(cfg.sizes, cfg.seed, dtype, device)
    model.load_state_dict(state)
    test = data.batches("test", cfg.batch_size, dtype, device)
    return {"index": index, "test_acc": accuracy(model, test),
            "confusion": confusion_matrix(model, test).tolist(),
            "train_acc": result.train_acc, "val_acc": result.val_acc}


def data_summary(data: PreparedData) -> dict:
    """Source, split sizes, class counts and statistics of the data."""
    sizes = data.sizes()
    return {**data.provenance, "n_train": sizes["train"], "n_val": sizes["val"],
            "n_test": sizes["test"], "counts": data.counts(),
            "class_names": list(data.class_names),
            "mean": data.mean.tolist(), "std": data.std.tolist()}


def run(cfg: Config | None = None, progress: Progress | None = None,
        data: PreparedData | None = None) -> Results:
    """Train (or load) every setting of ``cfg``, select the best, test it."""
    cfg = cfg or load_config()
    data = data or load_data(cfg)
    outcomes = [cached_setting(cfg, s, data, progress) for s in cfg.settings]
    settings = [r for r, _ in outcomes]
    best = select_best(settings)
    best_eval = (None if best is None else
                 evaluate_best(cfg, best, outcomes[best][1], settings[best], data))
    return Results(cfg.to_dict(), data_summary(data), settings, best_eval,
                   environment(cfg))

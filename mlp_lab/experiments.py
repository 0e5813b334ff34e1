"""The experiments of Part B: every setting with both trainers, cached on disk.

For each hyper-parameter setting s: ``torch.manual_seed(seed)``, create the
MLP, train it with ``torch.optim.SGD``; again ``torch.manual_seed(seed)``,
create it, train it with ``train_manual_update``; compare losses and final
parameters; record accuracies. The best setting is the one of highest
validation accuracy (ties: the first; diverged settings never), evaluated once
on the test set.

Each setting's outcome is cached in ``<cache>/results/`` under a key made of
everything that determines it (data, model, training fields, the setting, the
data fingerprint, a hash of mlp_lab's computing source, the torch version, the
device type), so changing one setting retrains only that setting. ``run``
also writes the whole outcome as the results record
(:mod:`mlp_lab.results`), which the book reads without torch.
"""

from __future__ import annotations

import dataclasses
import math
from contextlib import AbstractContextManager, nullcontext
from typing import Callable

import torch
from torch import nn

from . import cache
from .config import Config, Setting, load_config, setting_label
from .data import PreparedData, load_data
from .environment import environment
from .models import make_model
from .threads import pinned
from .results import BestModel, DataSummary, Results, SettingResult, save_record
from .timing import timed
from .trainers import (accuracy, confusion_matrix, default_device, sgd_optimizer,
                       train, train_manual_update)

Progress = Callable[[str, int], AbstractContextManager]


def _key(cfg: Config, setting: Setting, fingerprint: str, device: torch.device) -> str:
    fields = {k: v for k, v in cfg.to_dict().items()
              if k not in ("name", "class_names", "data_dir", "settings")}
    code = cache.source_hash(cache.COMPUTE_MODULES)
    return cache.stable_hash([fields, dataclasses.asdict(setting), fingerprint,
                              code, torch.__version__, cache.releases(),
                              device.type])


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


def train_setting(cfg: Config, setting: Setting, data: PreparedData,
                  progress: Progress | None = None) -> tuple[SettingResult, dict]:
    """Train ``setting`` with both trainers; return its result and SGD weights.

    Runs with one intra-op thread (:mod:`mlp_lab.threads`), so its numbers do
    not depend on the machine's core count."""
    with pinned():
        return _train_setting(cfg, setting, data, progress)


def _train_setting(cfg: Config, setting: Setting, data: PreparedData,
                   progress: Progress | None) -> tuple[SettingResult, dict]:
    dtype, device = getattr(torch, cfg.dtype), default_device()
    loaders = {s: data.batches(s, cfg.batch_size, dtype, device)
               for s in ("train", "val")}
    loss_fn = nn.CrossEntropyLoss()
    tag = setting_label(setting)
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
        t_sgd, loss_sgd = timed(train, cfg.epochs, opt, model, loss_fn,
                                loaders["train"], on_epoch=on_epoch)

    manual = make_model(cfg.sizes, cfg.seed, dtype, device)
    with progress(f"manual {tag}", cfg.epochs) as bar:
        t_man, loss_man = timed(train_manual_update, cfg.epochs, manual, loss_fn,
                                loaders["train"], setting.lr, setting.momentum,
                                setting.weight_decay, on_epoch=bar)

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
                  data: PreparedData) -> BestModel:
    """Test accuracy and confusion matrix of the best setting's SGD model
    (one intra-op thread, as the training)."""
    dtype, device = getattr(torch, cfg.dtype), default_device()
    with pinned():
        model = make_model(cfg.sizes, cfg.seed, dtype, device)
        model.load_state_dict(state)
        test = data.batches("test", cfg.batch_size, dtype, device)
        return BestModel(index=index, test_acc=accuracy(model, test),
                         confusion=confusion_matrix(model, test).tolist(),
                         train_acc=result.train_acc, val_acc=result.val_acc)


SAMPLES_PER_CLASS = 8  # training images per class the report shows


def data_summary(data: PreparedData) -> DataSummary:
    """Source, split sizes, class counts, statistics and sample images."""
    sizes = data.sizes()
    mean, std = data.normalized_moments("train")
    return DataSummary(**data.provenance, n_train=sizes["train"], n_val=sizes["val"],
                       n_test=sizes["test"], counts=data.counts(),
                       class_names=list(data.class_names),
                       mean=data.mean.tolist(), std=data.std.tolist(),
                       normalized_mean=mean, normalized_std=std,
                       samples=data.samples(SAMPLES_PER_CLASS).tolist())


def run(cfg: Config | None = None, progress: Progress | None = None,
        data: PreparedData | None = None) -> Results:
    """Train (or load) every setting of ``cfg``, select the best, test it,
    and write the results record the book reads (``results.save_record``)."""
    cfg = cfg or load_config()
    data = data or load_data(cfg)
    outcomes = [cached_setting(cfg, s, data, progress) for s in cfg.settings]
    settings = [r for r, _ in outcomes]
    best = select_best(settings)
    best_eval = (None if best is None else
                 evaluate_best(cfg, best, outcomes[best][1], settings[best], data))
    res = Results(cfg, data_summary(data), settings, best_eval, environment(cfg))
    save_record(cfg, res)
    return res

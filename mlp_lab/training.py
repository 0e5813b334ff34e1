"""One training, the unit of work, and a setting's result from its two trainings.

A setting is trained three times from the same seed and data: with
``torch.optim.SGD`` (recording the validation accuracy after each epoch), with
``train_manual_update`` (the hand-written SGD), and with the textbook formula
``theta - lr * g`` (``trainers.textbook_update``), to measure how far plain
arithmetic drifts from the optimizer. :func:`train_one` is one of the three,
and what a worker process (:mod:`mlp_lab.pool`) or a cluster worker
(:mod:`mlp_lab.cluster`) runs; :func:`setting_result` compares the trainings'
losses and final parameters, wherever each ran.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from contextlib import AbstractContextManager, nullcontext
from typing import Callable

import torch
from torch import nn

from .config import Config, Setting, setting_label
from .data import PreparedData, load_cached
from .models import make_model
from .results import SettingResult
from .threads import pinned
from .timing import timed
from .trainers import (accuracy, default_device, predict, sgd_optimizer,
                       textbook_update, train, train_manual_update)

Progress = Callable[[str, int], AbstractContextManager]


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


# torch.optim.SGD, train_manual_update, then the textbook update's drift
TRAINERS = ("sgd", "manual", "textbook")
TRAINER_NAMES = {"sgd": "SGD", "manual": "manual", "textbook": "textbook"}


@dataclasses.dataclass
class Trained:
    """One training's outcome: per-epoch mean losses, wall seconds, the final
    parameters (on the CPU), the accuracies of the SGD and manual models and,
    for the SGD trainer, the validation accuracy after each epoch."""

    losses: list[float]
    seconds: float
    state: dict
    val_curve: list[float] | None = None
    train_acc: float | None = None
    val_acc: float | None = None
    val_correct: list[int] | None = None  # SGD: 1/0 per validation image


def train_one(cfg: Config, setting: Setting, trainer: str, data: PreparedData,
              progress: Progress | None = None) -> Trained:
    """Train a fresh model (``torch.manual_seed(cfg.seed)``) on ``setting`` with
    ``trainer`` ("sgd" or "manual"): the unit of work of every worker.

    Runs with one intra-op thread (:mod:`mlp_lab.threads`), so its numbers do
    not depend on the machine's core count or on the process."""
    with pinned():
        return _train_one(cfg, setting, trainer, data, progress)


def train_from_cache(cfg: Config, setting: Setting, trainer: str, path: str,
                     progress: Progress | None = None) -> Trained:
    """:func:`train_one` on the prepared data of the data cache file ``path``,
    read once per worker process (a pool's workers share no memory)."""
    return train_one(cfg, setting, trainer, _data_from_cache(path, cfg), progress)


@functools.lru_cache(maxsize=2)
def _data_from_cache(path: str, cfg: Config) -> PreparedData:
    return load_cached(path, cfg)


def _train_one(cfg: Config, setting: Setting, trainer: str, data: PreparedData,
               progress: Progress | None) -> Trained:
    dtype, device = getattr(torch, cfg.dtype), default_device()
    loaders = {s: data.batches(s, cfg.batch_size, dtype, device)
               for s in ("train", "val")}
    loss_fn = nn.CrossEntropyLoss()
    progress = progress or (lambda desc, total: nullcontext())
    model = make_model(cfg.sizes, cfg.seed, dtype, device)
    desc = f"{TRAINER_NAMES[trainer]:<6} {setting_label(setting)}"
    with progress(desc, cfg.epochs) as bar:
        if trainer == "textbook":
            seconds, losses = timed(train_manual_update, cfg.epochs, model, loss_fn,
                                    loaders["train"], setting.lr, setting.momentum,
                                    setting.weight_decay, on_epoch=bar,
                                    update=textbook_update)
            return Trained(losses, seconds, _cpu_state(model))
        if trainer == "manual":
            seconds, losses = timed(train_manual_update, cfg.epochs, model, loss_fn,
                                    loaders["train"], setting.lr, setting.momentum,
                                    setting.weight_decay, on_epoch=bar)
            return Trained(losses, seconds, _cpu_state(model), None,
                           accuracy(model, loaders["train"]),
                           accuracy(model, loaders["val"]))
        opt = sgd_optimizer(model.parameters(), setting.lr, setting.momentum,
                            setting.weight_decay)
        val_curve: list[float] = []

        def on_epoch(epoch: int, loss: float) -> None:
            val_curve.append(accuracy(model, loaders["val"]))
            if bar is not None:
                bar(epoch, loss)
        seconds, losses = timed(train, cfg.epochs, opt, model, loss_fn,
                                loaders["train"], on_epoch=on_epoch)
    y, pred = predict(model, loaders["val"])
    return Trained(losses, seconds, _cpu_state(model), val_curve,
                   accuracy(model, loaders["train"]), accuracy(model, loaders["val"]),
                   (y == pred).int().tolist())


def _cpu_state(model: nn.Module) -> dict:
    return {k: v.cpu() for k, v in model.state_dict().items()}


def setting_result(setting: Setting, sgd: Trained, manual: Trained,
                   textbook: Trained) -> SettingResult:
    """A setting's result from its three trainings: both trainers' accuracies
    and loss curves, max |difference| of their losses and final parameters,
    and max |difference| between the textbook update's final parameters and
    the SGD model's."""
    return SettingResult(
        lr=setting.lr, momentum=setting.momentum, weight_decay=setting.weight_decay,
        train_loss_sgd=sgd.losses, train_loss_manual=manual.losses,
        val_acc_per_epoch=sgd.val_curve, train_acc=sgd.train_acc,
        val_acc=sgd.val_acc, train_acc_manual=manual.train_acc,
        val_acc_manual=manual.val_acc,
        max_abs_diff_loss=_max_abs_diff(sgd.losses, manual.losses),
        max_abs_diff_params=_max_abs_diff(list(sgd.state.values()),
                                          list(manual.state.values())),
        max_abs_diff_params_textbook=_max_abs_diff(
            list(sgd.state.values()), list(textbook.state.values())),
        seconds_sgd=sgd.seconds, seconds_manual=manual.seconds,
        diverged=not all(math.isfinite(v) for v in sgd.losses + manual.losses),
        val_correct=sgd.val_correct or [])


def train_setting(cfg: Config, setting: Setting, data: PreparedData,
                  progress: Progress | None = None) -> tuple[SettingResult, dict]:
    """Train ``setting`` with every trainer here; return its result and the
    SGD model's weights."""
    trained = [train_one(cfg, setting, t, data, progress) for t in TRAINERS]
    return setting_result(setting, *trained), trained[0].state

"""One training, the unit of work, and a setting's result from its trainings.

The core, which the hand-in notebook shows: :func:`train_model` trains a
model with one of the two trainers, and :func:`max_abs_diff` measures how far
two trainings' losses or weights lie apart.

Around it, :func:`train_one` is the unit of work of every worker process
(:mod:`mlp_lab.pool`) or cluster worker (:mod:`mlp_lab.cluster`): a fresh
model from the seed, in the config's dtype, on one intra-op thread, timed,
with a progress bar and the validation accuracy after each epoch. A setting
is trained three times from the same seed and data: with ``torch.optim.SGD``,
with ``train_manual_update`` (the hand-written SGD), and with the textbook
formula ``theta - lr * g`` (``trainers.textbook_update``), to measure how far
plain arithmetic drifts from the optimizer; :func:`setting_result` compares
the trainings, wherever each ran.
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
                       sgd_update, textbook_update, train, train_manual_update)

Progress = Callable[[str, int], AbstractContextManager]


def train_model(cfg, setting, trainer: str, model: nn.Module, train_loader,
                on_epoch=None, update=sgd_update) -> list[float]:
    """Train ``model`` for ``cfg.epochs`` epochs on the cross-entropy loss
    with the ``setting``'s lr, momentum and weight decay: by ``train`` with
    ``torch.optim.SGD`` when ``trainer`` is "sgd", else by
    ``train_manual_update`` (with ``update``). The mean loss of each epoch."""
    loss_fn = nn.CrossEntropyLoss()
    if trainer == "sgd":
        optimizer = sgd_optimizer(model.parameters(), setting.lr, setting.momentum,
                                  setting.weight_decay)
        return train(cfg.epochs, optimizer, model, loss_fn, train_loader, on_epoch)
    return train_manual_update(cfg.epochs, model, loss_fn, train_loader, setting.lr,
                               setting.momentum, setting.weight_decay, on_epoch,
                               update)


def max_abs_diff(a: list, b: list) -> float:
    """max |a_i - b_i| over two lists of numbers or of tensors; 0 means
    identical. Entries equal on both sides count 0, even both NaN (a
    diverged training that both trainers followed); lists of different
    lengths (one stopped earlier) and a NaN on one side only count inf."""
    if len(a) != len(b):
        return math.inf
    out = 0.0
    for x, y in zip(a, b):
        x, y = (torch.as_tensor(v, dtype=torch.float64).detach() for v in (x, y))
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
    ``trainer`` (one of :data:`TRAINERS`): the unit of work of every worker.

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
    model = make_model(cfg.sizes, cfg.seed, dtype, device)
    progress = progress or (lambda desc, total: nullcontext())
    val_curve: list[float] = []

    def on_epoch(epoch: int, loss: float) -> None:
        if trainer == "sgd":  # the model selection's curve
            val_curve.append(accuracy(model, loaders["val"]))
        if bar is not None:
            bar(epoch, loss)
    update = textbook_update if trainer == "textbook" else sgd_update
    with progress(f"{TRAINER_NAMES[trainer]:<6} {setting_label(setting)}",
                  cfg.epochs) as bar:
        seconds, losses = timed(train_model, cfg, setting, trainer, model,
                                loaders["train"], on_epoch, update)
    if trainer == "textbook":
        return Trained(losses, seconds, _cpu_state(model))
    if trainer == "manual":
        return Trained(losses, seconds, _cpu_state(model), None,
                       accuracy(model, loaders["train"]),
                       accuracy(model, loaders["val"]))
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
        max_abs_diff_loss=max_abs_diff(sgd.losses, manual.losses),
        max_abs_diff_params=max_abs_diff(list(sgd.state.values()),
                                          list(manual.state.values())),
        max_abs_diff_params_textbook=max_abs_diff(
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

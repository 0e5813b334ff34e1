"""One training, the unit of work, around the core trainers; a setting's result.

The core (:mod:`mlp_lab.trainers`) trains a model and returns its losses.
:func:`train_one` wraps it for every worker process (:mod:`mlp_lab.pool`) or
cluster worker (:mod:`mlp_lab.cluster`): a fresh model from the seed, in the
config's dtype, on the device, on one intra-op thread, timed, with a
progress hook that counts the epochs by watching the loader, then scored
(:func:`scored`). A setting is trained twice from the same seed and data,
with ``torch.optim.SGD`` and with ``train_manual_update``; wherever each
ran, :func:`setting_result` compares them and reads the divergence from
their losses.
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
from .device import device_type
from .models import make_model
from .results import SettingResult
from .threads import pinned
from .timing import timed
from .trainers import accuracy, predict, train, train_manual_update

# Progress: progress(description, steps) is a context manager that yields a
# tick(loss=None) to call after each step (a training's epoch), or None.
Progress = Callable[[str, int], AbstractContextManager]

TRAINERS = ("sgd", "manual")  # torch.optim.SGD, then train_manual_update
TRAINER_NAMES = {"sgd": "SGD", "manual": "manual"}


def device() -> torch.device:
    """The device the trainings run on: CUDA when PyTorch sees a GPU."""
    return torch.device(device_type())


def optimizer(model: nn.Module, setting: Setting) -> torch.optim.SGD:
    """``torch.optim.SGD`` of ``setting`` on its single-tensor code path
    (``foreach=False``, the CPU's default), the one ``sgd_step`` repeats call
    for call: CUDA's default multi-tensor kernels need not round alike."""
    return torch.optim.SGD(model.parameters(), lr=setting.lr,
                           momentum=setting.momentum,
                           weight_decay=setting.weight_decay, foreach=False)


def fit(cfg: Config, setting: Setting, trainer: str, model: nn.Module,
        train_loader) -> list[float]:
    """Train ``model`` for ``cfg.epochs`` epochs on the cross-entropy loss with
    ``trainer``: "sgd" (``train`` with :func:`optimizer`) or "manual"
    (``train_manual_update``); the mean loss of each epoch."""
    loss_fn = nn.CrossEntropyLoss()
    if trainer == "sgd":
        return train(cfg.epochs, optimizer(model, setting), model, loss_fn,
                     train_loader)
    return train_manual_update(cfg.epochs, model, loss_fn, train_loader, setting.lr,
                               setting.momentum, setting.weight_decay)


class Epochs:
    """The training batches, calling ``tick()`` after each full pass over them
    (an epoch ends where the trainer asks for the batch after the last)."""

    def __init__(self, batches: list, tick: Callable[[], None]) -> None:
        self.batches, self.tick = batches, tick

    def __len__(self) -> int:
        return len(self.batches)

    def __iter__(self):
        yield from self.batches
        self.tick()


def max_abs_diff(a: list, b: list) -> float:
    """max |a_i - b_i| over two lists of numbers or of tensors; 0 means
    identical. Entries equal on both sides count 0, even both NaN (a
    diverged training that both trainers followed); lists of different
    lengths and a NaN on one side only count inf."""
    if len(a) != len(b):
        return math.inf
    out = 0.0
    for x, y in zip(a, b):
        x, y = (torch.as_tensor(v, dtype=torch.float64).detach() for v in (x, y))
        same = (x == y) | (x.isnan() & y.isnan())
        diff = (x - y).abs().nan_to_num(nan=math.inf)
        out = max(out, torch.where(same, 0.0, diff).max().item())
    return out


@dataclasses.dataclass
class Trained:
    """One training's outcome: per-epoch mean losses, wall seconds, the final
    parameters (on the CPU), the model's training and validation accuracy
    and, for the SGD trainer, which validation images it gets right."""

    losses: list[float]
    seconds: float
    state: dict
    train_acc: float
    val_acc: float
    val_correct: list[int] | None = None  # SGD: 1/0 per validation image


def loaders(cfg: Config, data: PreparedData) -> dict[str, list]:
    """The training and validation batches in the config's dtype, on the device."""
    dtype = getattr(torch, cfg.dtype)
    return {s: data.batches(s, cfg.batch_size, dtype, device())
            for s in ("train", "val")}


def scored(trainer: str, losses: list[float], seconds: float, model: nn.Module,
           batches: dict[str, list]) -> Trained:
    """A trained model's outcome: its accuracies on ``batches`` "train" and
    "val" and, for "sgd", its right (1) and wrong (0) validation images."""
    correct = None
    if trainer == "sgd":
        y, pred = predict(model, batches["val"])
        correct = (y == pred).int().tolist()
    state = {k: v.cpu() for k, v in model.state_dict().items()}
    return Trained(losses, seconds, state, accuracy(model, batches["train"]),
                   accuracy(model, batches["val"]), correct)


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
    batches = loaders(cfg, data)
    model = make_model(cfg.sizes, cfg.seed, getattr(torch, cfg.dtype), device())
    progress = progress or (lambda desc, total: nullcontext())
    with progress(f"{TRAINER_NAMES[trainer]:<6} {setting_label(setting)}",
                  cfg.epochs) as tick:
        train_loader = batches["train"] if tick is None else Epochs(batches["train"],
                                                                     tick)
        seconds, losses = timed(fit, cfg, setting, trainer, model, train_loader)
    return scored(trainer, losses, seconds, model, batches)


def from_state(cfg: Config, trainer: str, losses: list[float], seconds: float,
               state: dict, data: PreparedData) -> Trained:
    """The outcome of a training done elsewhere (the hand-in's notebook), from
    its losses, time and final parameters: scored here as :func:`train_one`
    scores its own, on one intra-op thread."""
    with pinned():
        model = make_model(cfg.sizes, cfg.seed, getattr(torch, cfg.dtype), device())
        model.load_state_dict(state)
        return scored(trainer, losses, seconds, model, loaders(cfg, data))


def setting_result(setting: Setting, sgd: Trained, manual: Trained) -> SettingResult:
    """A setting's result from its two trainings: both trainers' accuracies
    and loss curves, the largest difference between their losses and between
    their final parameters, and whether a loss became NaN or infinite."""
    return SettingResult(
        lr=setting.lr, momentum=setting.momentum, weight_decay=setting.weight_decay,
        train_loss_sgd=sgd.losses, train_loss_manual=manual.losses,
        train_acc=sgd.train_acc, val_acc=sgd.val_acc,
        train_acc_manual=manual.train_acc, val_acc_manual=manual.val_acc,
        max_abs_diff_loss=max_abs_diff(sgd.losses, manual.losses),
        max_abs_diff_params=max_abs_diff(list(sgd.state.values()),
                                          list(manual.state.values())),
        seconds_sgd=sgd.seconds, seconds_manual=manual.seconds,
        diverged=not all(math.isfinite(v) for v in sgd.losses + manual.losses),
        val_correct=sgd.val_correct or [])

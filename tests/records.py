"""Hand-made results records for the tests of the reporting layer (no torch).

``results(...)`` builds a :class:`mlp_lab.results.Results` from a few
settings, so narrative, tables and plots are tested on outcomes chosen to
exercise each branch: diverged settings, no momentum pair, asymmetric errors,
trainers that agree and trainers that do not.
"""

from __future__ import annotations

import dataclasses
import math

from mlp_lab.config import Config, Setting
from mlp_lab.results import BestModel, DataSummary, Environment, Results, SettingResult


def correct(n: int, k: int, start: int = 0) -> list[int]:
    """Per-image correctness of ``n`` validation images: ``k`` right, the
    images ``start``, ``start + 1``, ... (wrapping around). Two settings'
    windows overlap as far as their starts allow: the paired comparison's
    b and c follow from the starts."""
    right = {(start + j) % n for j in range(k)}
    return [int(i in right) for i in range(n)]


def setting(lr=0.01, momentum=0.0, weight_decay=0.0, train_acc=0.9, val_acc=0.88,
            losses=(0.69, 0.5, 0.4), diff=0.0, diverged=False,
            val_correct=None) -> SettingResult:
    """One setting's outcome; ``diff`` is the trainers' largest difference.
    Without ``val_correct``, :func:`results` fills it in: the first
    round(val_acc * n) validation images right."""
    losses = list(losses)
    return SettingResult(
        lr=lr, momentum=momentum, weight_decay=weight_decay,
        train_loss_sgd=losses, train_loss_manual=[v + diff for v in losses],
        train_acc=train_acc, val_acc=val_acc, train_acc_manual=train_acc,
        val_acc_manual=val_acc, max_abs_diff_loss=diff, max_abs_diff_params=diff,
        seconds_sgd=1.0, seconds_manual=1.5,
        diverged=diverged, val_correct=list(val_correct or []))


def diverged(lr=10.0, epoch=2, epochs=3) -> SettingResult:
    """A setting whose loss became NaN in ``epoch`` and stayed NaN to the last
    of ``epochs``."""
    losses = [0.7] * (epoch - 1) + [math.nan] * (epochs - epoch + 1)
    return setting(lr=lr, train_acc=0.5, val_acc=0.5, losses=losses,
                   diff=0.0, diverged=True)


def data(class_names=("car", "cat"), counts=None, size=4, n=3) -> DataSummary:
    counts = counts or {"train": [450, 450], "val": [50, 50], "test": [100, 100]}
    return DataSummary(
        source="imagefolder", location="/data/cifar10-jpg", n_files=1200,
        fingerprint="abcd", file_types=[".jpg"], n_train=sum(counts["train"]),
        n_val=sum(counts["val"]), n_test=sum(counts["test"]), counts=counts,
        class_names=list(class_names),
        mean=[0.5, 0.4, 0.3], std=[0.25, 0.2, 0.2],
        normalized_mean=[1e-17, -2e-17, 0.0], normalized_std=[1.0, 1.0, 1.0],
        samples=[[[[[(17 * c + 5 * j + 3 * k + i) % 256 for i in range(size)]
                    for _ in range(size)] for k in range(3)] for j in range(n)]
                 for c in range(2)])


ENV = Environment(python="3.11.7", torch="2.14.1", torchvision="0.29.1",
                  device="cpu", device_name="AMD EPYC, 2 cores", dtype="float64",
                  seed=265, sgd_path="single-tensor")


def results(settings=None, confusion=((90, 10), (30, 70)), best="auto",
            test_acc=0.8, cfg: Config | None = None, device: str = "cpu",
            **data_kw) -> Results:
    """A record of ``settings`` computed on ``device`` (the record key names it:
    a record to be loaded on this machine gives ``device.device_type()``); the
    best is chosen as experiments does (highest validation accuracy, first on
    ties, diverged never) unless given."""
    settings = settings if settings is not None else [setting()]
    d = data(**data_kw)
    for s in settings:
        if not s.val_correct and not s.diverged:
            s.val_correct = correct(d.n_val, round(s.val_acc * d.n_val))
    if best == "auto":
        ok = [i for i, s in enumerate(settings) if not s.diverged]
        best = max(ok, key=lambda i: (settings[i].val_acc, -i)) if ok else None
    b = None if best is None else BestModel(
        index=best, test_acc=test_acc, confusion=[list(r) for r in confusion],
        train_acc=settings[best].train_acc, val_acc=settings[best].val_acc)
    cfg = cfg or Config(epochs=len(settings[0].train_loss_sgd), settings=tuple(
        Setting(s.lr, s.momentum, s.weight_decay) for s in settings))
    return Results(cfg, d, settings, b,
                   dataclasses.replace(ENV, device=device))


def curve(start: float, end: float, epochs: int, wiggle: float = 0.0) -> list[float]:
    """A loss curve from ``start`` to ``end`` over ``epochs``, decaying
    geometrically, with an alternating ``wiggle`` (relative) for a noisy one."""
    rate = (end / start) ** (1 / max(epochs - 1, 1))
    return [start * rate ** e * (1 + wiggle * (-1) ** e * (e > 0))
            for e in range(epochs)]


def of_config(cfg: Config, diverge: int | None = None) -> Results:
    """A record of every setting of ``cfg`` over its epochs, with outcomes like
    a real render's (momentum fits closer; larger steps are noisier); setting
    ``diverge`` (an index) diverges in epoch 3. The best is chosen as
    experiments does."""
    out = []
    for i, s in enumerate(cfg.settings):
        if i == diverge:
            out.append(diverged(lr=s.lr, epoch=3))
            out[-1].momentum, out[-1].weight_decay = s.momentum, s.weight_decay
            continue
        fit = s.momentum + 2 * s.lr
        out.append(setting(
            s.lr, s.momentum, s.weight_decay,
            train_acc=0.88 + 0.1 * fit - s.weight_decay,
            val_acc=0.87 + 0.04 * fit + 0.0013 * i,
            losses=curve(0.69, 0.3 * (1 - 0.8 * s.momentum) / (1 + 20 * s.lr)
                         + 2 * s.weight_decay, cfg.epochs,
                         wiggle=s.lr * 2)))
    return results(out, confusion=((913, 87), (79, 921)), test_acc=0.917, cfg=cfg,
                   class_names=cfg.class_names)

"""The two trainers of Part B (optimizer vs hand-written SGD) and evaluation.

``train_manual_update`` implements the update documented for
``torch.optim.SGD`` (dampening 0, no Nesterov), for each parameter theta with
gradient g at step t:

    g   <- g + lambda * theta                     (weight decay lambda)
    b_t <- g                         if t = 1     (momentum mu > 0)
    b_t <- mu * b_{t-1} + g          otherwise
    g   <- b_t
    theta <- theta - lr * g

It issues the same tensor operations, in the same order, as PyTorch's
single-tensor SGD step, so both trainers produce bit-identical losses and
parameters from the same seed, data and dtype.
"""

from __future__ import annotations

import math
from typing import Callable, Iterable

import torch
from torch import nn

EpochHook = Callable[[int, float], None]


def default_device() -> torch.device:
    """CUDA when available, else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def run_epoch(model: nn.Module, loss_fn, loader: Iterable,
              step: Callable[[torch.Tensor], None]) -> float:
    """One pass over ``loader``: per batch, ``step(loss_fn(model(x), y))``.

    Returns the mean of the per-batch losses (accumulated as a tensor, so that
    no batch waits for the device)."""
    total, n = None, 0
    for x, y in loader:
        loss = loss_fn(model(x), y)
        step_loss = loss.detach().to(torch.float64)
        total = step_loss if total is None else total + step_loss
        n += 1
        step(loss)
    return total.item() / n


def _loop(n_epochs: int, model: nn.Module, loss_fn, loader, step,
          on_epoch: EpochHook | None) -> list[float]:
    """Run epochs, stopping early once the mean loss is NaN or infinite."""
    losses: list[float] = []
    for epoch in range(n_epochs):
        model.train()
        losses.append(run_epoch(model, loss_fn, loader, step))
        if on_epoch is not None:
            on_epoch(epoch, losses[-1])
        if not math.isfinite(losses[-1]):
            break
    return losses


def train(n_epochs: int, optimizer: torch.optim.Optimizer, model: nn.Module,
          loss_fn, train_loader: Iterable, *, on_epoch: EpochHook | None = None,
          ) -> list[float]:
    """Train with ``optimizer``; return the mean training loss of each epoch.

    Per batch: zero the gradients, back-propagate the loss, ``optimizer.step()``.
    ``on_epoch(epoch, mean_loss)`` is called after every epoch. Training stops
    early (a shorter list) if an epoch's mean loss is not finite (divergence).
    """
    def step(loss: torch.Tensor) -> None:
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    return _loop(n_epochs, model, loss_fn, train_loader, step, on_epoch)


def sgd_optimizer(params, lr: float, momentum: float = 0.0,
                  weight_decay: float = 0.0) -> torch.optim.SGD:
    """``torch.optim.SGD`` pinned to its single-tensor code path (``foreach=False``).

    PyTorch picks the multi-tensor (foreach) path by default on CUDA, whose
    kernels need not round as the single-tensor ops do; pinning the path makes
    :func:`sgd_update`, which issues the single-tensor ops, bit-identical to
    the optimizer on every device, not only on the CPU (where it is the default).
    """
    return torch.optim.SGD(params, lr=lr, momentum=momentum,
                           weight_decay=weight_decay, foreach=False)


@torch.no_grad()
def sgd_update(params: list[torch.Tensor], buffers: list[torch.Tensor | None],
               lr: float, momentum: float, weight_decay: float) -> None:
    """One SGD step on ``params`` in place, then drop their gradients.

    ``buffers`` holds the momentum buffer b of each parameter (None before the
    first step) and is updated in place. Call for call as PyTorch's CPU path:
    ``add(alpha=...)`` fuses the multiply-add, ``theta - lr * g`` would round
    twice and drift from ``torch.optim.SGD``.
    """
    for i, p in enumerate(params):
        g = p.grad
        if weight_decay != 0:
            g = g.add(p, alpha=weight_decay)
        if momentum != 0:
            if buffers[i] is None:
                buffers[i] = torch.clone(g).detach()
            else:
                buffers[i].mul_(momentum).add_(g, alpha=1)
            g = buffers[i]
        p.add_(g, alpha=-lr)
        p.grad = None


@torch.no_grad()
def textbook_update(params: list[torch.Tensor], buffers: list[torch.Tensor | None],
                    lr: float, momentum: float, weight_decay: float) -> None:
    """The same SGD step as :func:`sgd_update`, written as the textbook formula
    with plain arithmetic: g = grad + lambda * theta, b = mu * b + g,
    theta = theta - lr * g. Each product is rounded before its sum, so after
    many steps the parameters drift (by a few ulps) from ``torch.optim.SGD``'s.
    """
    for i, p in enumerate(params):
        g = p.grad + weight_decay * p
        if momentum != 0:
            b = buffers[i]
            buffers[i] = g.clone() if b is None else momentum * b + g
            g = buffers[i]
        p.copy_(p - lr * g)
        p.grad = None


def train_manual_update(n_epochs: int, model: nn.Module, loss_fn,
                        train_loader: Iterable, lr: float, momentum: float = 0.0,
                        weight_decay: float = 0.0, *,
                        on_epoch: EpochHook | None = None,
                        update: Callable = sgd_update) -> list[float]:
    """Train with hand-written SGD (no ``torch.optim``); same contract as ``train``.

    Per batch: back-propagate the loss, then ``update`` every parameter
    (:func:`sgd_update`, or :func:`textbook_update` to measure its drift) and
    zero (drop) its gradient.
    """
    params = [p for p in model.parameters() if p.requires_grad]
    buffers: list[torch.Tensor | None] = [None] * len(params)

    def step(loss: torch.Tensor) -> None:
        loss.backward()
        update(params, buffers, lr, momentum, weight_decay)

    return _loop(n_epochs, model, loss_fn, train_loader, step, on_epoch)


@torch.no_grad()
def predict(model: nn.Module, loader: Iterable) -> tuple[torch.Tensor, torch.Tensor]:
    """(true labels, predicted labels = argmax of the logits) over ``loader``."""
    model.eval()
    ys, preds = [], []
    for x, y in loader:
        ys.append(y)
        preds.append(model(x).argmax(dim=1))
    return torch.cat(ys).cpu(), torch.cat(preds).cpu()


def accuracy(model: nn.Module, loader: Iterable) -> float:
    """Fraction of samples whose predicted class equals the true class."""
    y, pred = predict(model, loader)
    return (y == pred).double().mean().item()


def confusion_matrix(model: nn.Module, loader: Iterable,
                     n_classes: int = 2) -> torch.Tensor:
    """(C, C) int64 counts: row = true class, column = predicted class."""
    y, pred = predict(model, loader)
    return torch.bincount(y * n_classes + pred,
                          minlength=n_classes ** 2).view(n_classes, n_classes)

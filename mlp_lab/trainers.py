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

import torch
from torch import nn


def default_device() -> torch.device:
    """CUDA when available, else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def train(n_epochs: int, optimizer, model: nn.Module, loss_fn, train_loader,
          on_epoch=None) -> list[float]:
    """Train ``model`` with ``optimizer``; return the mean training loss of each epoch.

    Per batch: the loss, its gradients (``loss.backward()``), one optimizer
    step, then the gradients cleared. ``on_epoch(epoch, mean_loss)``, if
    given, is called after each epoch. A loss that is no longer finite ends
    the training early (it diverged).
    """
    losses = []
    for epoch in range(n_epochs):
        model.train()
        total = 0.0
        for x, y in train_loader:
            loss = loss_fn(model(x), y)
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
            total += loss.item()
        losses.append(total / len(train_loader))
        if on_epoch is not None:
            on_epoch(epoch, losses[-1])
        if not math.isfinite(losses[-1]):
            break
    return losses


def sgd_optimizer(params, lr: float, momentum: float = 0.0,
                  weight_decay: float = 0.0) -> torch.optim.SGD:
    """``torch.optim.SGD`` on its single-tensor code path (``foreach=False``),
    the one that ``sgd_update`` repeats call for call: by default CUDA takes
    the multi-tensor path, whose kernels need not round alike."""
    return torch.optim.SGD(params, lr=lr, momentum=momentum,
                           weight_decay=weight_decay, foreach=False)


@torch.no_grad()
def sgd_update(params: list[torch.Tensor], buffers: list[torch.Tensor | None],
               lr: float, momentum: float, weight_decay: float) -> None:
    """One SGD step of every parameter theta with gradient g, in place, as
    documented for ``torch.optim.SGD`` (dampening 0, no Nesterov):

        g <- g + weight_decay * theta
        b <- g at the first step, else momentum * b + g;  g <- b   (momentum > 0)
        theta <- theta - lr * g

    then its gradient is cleared. ``buffers`` holds each momentum buffer b
    (None before the first step). The tensor calls are PyTorch's own, in its
    order, so every rounding is the optimizer's and the result bit-identical;
    theta - lr * g need not be (``add(alpha=...)`` may round only once).
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
    """The same SGD step as ``sgd_update``, written as the textbook formula
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


def train_manual_update(n_epochs: int, model: nn.Module, loss_fn, train_loader,
                        lr: float, momentum: float = 0.0, weight_decay: float = 0.0,
                        on_epoch=None, update=sgd_update) -> list[float]:
    """Train ``model`` with a hand-written SGD step, no ``torch.optim``: the
    same losses as ``train`` with ``torch.optim.SGD`` and the same settings.

    Per batch: the loss, its gradients, then ``update`` (``sgd_update``) of
    every parameter, which also clears its gradient. ``on_epoch`` and the
    early end are those of ``train``.
    """
    params = list(model.parameters())
    buffers = [None] * len(params)  # the momentum buffer of each parameter
    losses = []
    for epoch in range(n_epochs):
        model.train()
        total = 0.0
        for x, y in train_loader:
            loss = loss_fn(model(x), y)
            loss.backward()
            update(params, buffers, lr, momentum, weight_decay)
            total += loss.item()
        losses.append(total / len(train_loader))
        if on_epoch is not None:
            on_epoch(epoch, losses[-1])
        if not math.isfinite(losses[-1]):
            break
    return losses


@torch.no_grad()
def predict(model: nn.Module, loader) -> tuple[torch.Tensor, torch.Tensor]:
    """(true labels, predicted labels = argmax of the logits) over ``loader``."""
    model.eval()
    ys, preds = [], []
    for x, y in loader:
        ys.append(y)
        preds.append(model(x).argmax(dim=1))
    return torch.cat(ys).cpu(), torch.cat(preds).cpu()


def accuracy(model: nn.Module, loader) -> float:
    """Fraction of samples whose predicted class equals the true class."""
    y, pred = predict(model, loader)
    return (y == pred).double().mean().item()


def confusion_matrix(model: nn.Module, loader,
                     n_classes: int = 2) -> torch.Tensor:
    """(C, C) int64 counts: row = true class, column = predicted class."""
    y, pred = predict(model, loader)
    return torch.bincount(y * n_classes + pred,
                          minlength=n_classes ** 2).view(n_classes, n_classes)

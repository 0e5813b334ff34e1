"""Part A: the course's network contract and backpropagation by hand.

Row-batch notation: a batch of B samples is a matrix with one sample per row,
so layer l maps a^[l-1] of shape (B, n_{l-1}) to
z^[l] = a^[l-1] W^[l]^T + b^[l] (B, n_l) and a^[l] = f^[l](z^[l]) (B, n_l),
with W^[l] of shape (n_l, n_{l-1}) as in ``nn.Linear``.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

Grads = dict[int, torch.Tensor]

TINY = 1e-30  # guards 0/0 in relative errors; representable in float32 too


def _dtanh(z: torch.Tensor) -> torch.Tensor:
    return 1.0 / torch.cosh(z) ** 2


def _drelu(z: torch.Tensor) -> torch.Tensor:
    return (z > 0).to(z.dtype)


ACTIVATIONS: dict[str, tuple[Callable, Callable]] = {
    "tanh": (torch.tanh, _dtanh),
    "relu": (torch.relu, _drelu),
}


class MyNet(nn.Module):
    """The course's fully connected network, ``n_l[0] -> ... -> n_l[L]``.

    ``fc[str(l)]`` is ``nn.Linear(n_l[l-1], n_l[l])``; ``f[l]``/``df[l]`` are
    the activation of layer l and its derivative as functions of z, the same on
    every layer including the output (tanh, 1/cosh^2 by default; or ReLU and
    the step 1[z > 0]). ``forward`` records ``a[l]`` and ``z[l]`` for
    backpropagation; ``dL_dw[l]``/``dL_db[l]`` start as None.
    """

    def __init__(self, n_l: list[int], activation: str = "tanh") -> None:
        super().__init__()
        self.n_l = list(n_l)
        self.L = len(n_l) - 1
        f, df = ACTIVATIONS[activation]
        layers = range(1, self.L + 1)
        self.fc = nn.ModuleDict({str(l): nn.Linear(n_l[l - 1], n_l[l]) for l in layers})
        self.f = {l: f for l in layers}
        self.df = {l: df for l in layers}
        self.a: Grads = {}
        self.z: Grads = {}
        self.dL_dw: dict[int, torch.Tensor | None] = {l: None for l in layers}
        self.dL_db: dict[int, torch.Tensor | None] = {l: None for l in layers}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return a^[L] (B, n_L) for x of shape (B, ...) with n_0 values per row."""
        self.a[0] = torch.flatten(x, 1)
        for l in range(1, self.L + 1):
            self.z[l] = self.fc[str(l)](self.a[l - 1])
            self.a[l] = self.f[l](self.z[l])
        return self.a[self.L]


def course_loss(y_pred: torch.Tensor, y_true: torch.Tensor) -> torch.Tensor:
    """L = sum_{i,j} (y_ij - yhat_ij)^2 over batch and outputs, as the course."""
    return nn.MSELoss(reduction="none")(y_pred, y_true).sum()


def backpropagation(model: nn.Module, y_true: torch.Tensor,
                    y_pred: torch.Tensor) -> None:
    """Fill ``model.dL_dw[l]``, ``model.dL_db[l]`` for L = sum (y - yhat)^2.

    Uses only the contract (``fc``, ``f``, ``df``, ``a``, ``z``, ``dL_dw``,
    ``dL_db``) after a forward pass that produced ``y_pred`` = a^[L], shape
    (B, n_L); ``y_true`` has the same number of values. With delta^[l] the
    (B, n_l) matrix of dL/dz^[l]:

        delta^[L] = -2 (y - yhat) * f'^[L](z^[L])
        delta^[l] = (delta^[l+1] W^[l+1]) * f'^[l](z^[l])        l = L-1..1
        dL/dW^[l] = delta^[l]^T a^[l-1]    (n_l, n_{l-1}), summed over the batch
        dL/db^[l] = sum_b delta^[l]_b      (n_l,)

    (the course's column form W^T delta, delta a^T, transposed). Runs under
    ``torch.no_grad()``: no graph is built and no ``.grad`` is read or written.
    """
    L = len(model.fc)
    with torch.no_grad():
        y = y_true.reshape_as(y_pred)
        delta = -2.0 * (y - y_pred) * model.df[L](model.z[L])
        for l in range(L, 0, -1):
            model.dL_dw[l] = delta.T @ model.a[l - 1]
            model.dL_db[l] = delta.sum(dim=0)
            if l > 1:
                W = model.fc[str(l)].weight
                delta = (delta @ W) * model.df[l - 1](model.z[l - 1])


def autograd_gradients(model: nn.Module, x: torch.Tensor,
                       y_true: torch.Tensor) -> tuple[Grads, Grads]:
    """Autograd's dL/dW^[l], dL/db^[l] (l = 1..L) for ``course_loss``.

    Same numbers as the course's ``loss.backward()``, but through
    ``torch.autograd.grad`` so that no ``.grad`` field is touched. Runs a
    forward pass (overwriting ``model.a``/``model.z`` with the same values).
    """
    L = len(model.fc)
    params = []
    for l in range(1, L + 1):
        params += [model.fc[str(l)].weight, model.fc[str(l)].bias]
    with torch.enable_grad():
        y_pred = model(x)
        loss = course_loss(y_pred, y_true.reshape_as(y_pred))
        grads = torch.autograd.grad(loss, params)
    dw = {l: grads[2 * (l - 1)] for l in range(1, L + 1)}
    db = {l: grads[2 * (l - 1) + 1] for l in range(1, L + 1)}
    return dw, db


def named_gradients(dL_dw: Grads, dL_db: Grads) -> dict[str, torch.Tensor]:
    """Key per-layer gradients by ``named_parameters`` names (``fc.l.weight``)."""
    named = {}
    for l in dL_dw:
        named[f"fc.{l}.weight"] = dL_dw[l]
        named[f"fc.{l}.bias"] = dL_db[l]
    return named


def relative_error(a: torch.Tensor, b: torch.Tensor) -> float:
    """max|a - b| / max(max|a| + max|b|, tiny): one number per tensor pair.

    Scaled by the tensors' largest entries rather than entry by entry, so
    entries that are (nearly) zero in both do not blow the ratio up with
    round-off; 0 means identical, about 1 means unrelated.
    """
    a, b = a.detach(), b.detach()
    if a.numel() == 0:
        return 0.0
    scale = (a.abs().max() + b.abs().max()).item()
    return (a - b).abs().max().item() / max(scale, TINY)

"""Part A: the course's network contract and backpropagation by hand.

Row-batch notation: a batch of B samples is a matrix with one sample per row,
so layer l maps a^[l-1] of shape (B, n_{l-1}) to
z^[l] = a^[l-1] W^[l]^T + b^[l] (B, n_l) and a^[l] = f^[l](z^[l]) (B, n_l),
with W^[l] of shape (n_l, n_{l-1}) as in ``nn.Linear``.
"""

from __future__ import annotations

import torch
from torch import nn

Grads = dict[int, torch.Tensor]  # layer l -> its gradient

TINY = 1e-30  # guards 0/0 in relative errors; representable in float32 too


def dtanh(z: torch.Tensor) -> torch.Tensor:
    """tanh'(z) = 1 / cosh(z)^2."""
    return 1.0 / torch.cosh(z) ** 2


def drelu(z: torch.Tensor) -> torch.Tensor:
    """ReLU'(z) = 1 where z > 0, else 0."""
    return (z > 0).to(z.dtype)


# each activation f and its derivative f', as functions of z
ACTIVATIONS = {"tanh": (torch.tanh, dtanh), "relu": (torch.relu, drelu)}


class MyNet(nn.Module):
    """The course's fully connected network ``n_l[0] -> ... -> n_l[L]``:
    ``fc[str(l)]`` is ``nn.Linear(n_l[l-1], n_l[l])``, ``f[l]``/``df[l]`` the
    activation of layer l and its derivative (tanh, or ReLU, on every layer).
    ``forward`` keeps ``a[l]`` and ``z[l]`` for backpropagation."""

    def __init__(self, n_l: list[int], activation: str = "tanh") -> None:
        super().__init__()
        self.n_l = list(n_l)
        self.L = len(n_l) - 1
        f, df = ACTIVATIONS[activation]
        layers = range(1, self.L + 1)
        self.fc = nn.ModuleDict({str(l): nn.Linear(n_l[l - 1], n_l[l]) for l in layers})
        self.f = {l: f for l in layers}
        self.df = {l: df for l in layers}
        self.a, self.z = {}, {}  # a[l], z[l] of the last forward pass
        self.dL_dw = {l: None for l in layers}  # filled by backpropagation
        self.dL_db = {l: None for l in layers}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return a^[L] (B, n_L) for x of shape (B, ...) with n_0 values per row."""
        self.a[0] = torch.flatten(x, 1)
        for l in range(1, self.L + 1):
            self.z[l] = self.fc[str(l)](self.a[l - 1])
            self.a[l] = self.f[l](self.z[l])
        return self.a[self.L]


def course_loss(y_pred: torch.Tensor, y_true: torch.Tensor) -> torch.Tensor:
    """L = sum (y - yhat)^2 over every entry, the course's
    ``nn.MSELoss(reduction="none")(y_pred, y_true).sum()``, with y broadcast
    against yhat as that loss broadcasts it (without its warning)."""
    y_pred, y_true = torch.broadcast_tensors(y_pred, y_true)
    return nn.MSELoss(reduction="none")(y_pred, y_true).sum()


def backpropagation(model: nn.Module, y_true: torch.Tensor,
                    y_pred: torch.Tensor) -> None:
    """Fill ``model.dL_dw[l]``, ``model.dL_db[l]`` for L = sum (y - yhat)^2,
    from the contract only, after the forward pass that gave ``y_pred`` (B, n_L).
    With delta^[l] = dL/dz^[l] (B, n_l), one row per sample:

        delta^[L] = -2 (y - yhat) * f'^[L](z^[L])
        delta^[l] = (delta^[l+1] W^[l+1]) * f'^[l](z^[l])        l = L-1..1
        dL/dW^[l] = delta^[l]^T a^[l-1],   dL/db^[l] = sum over rows of delta^[l]

    ``y_true`` is broadcast against ``y_pred`` as ``nn.MSELoss`` does (one
    target per sample, (B, 1), counts for every output): the gradient is that
    of the broadcast loss. Under ``torch.no_grad()``: no graph, no ``.grad``.
    """
    try:
        torch.broadcast_shapes(y_true.shape, y_pred.shape)
    except RuntimeError:
        raise ValueError(f"y_true of shape {tuple(y_true.shape)} cannot be broadcast "
                         f"against y_pred of shape {tuple(y_pred.shape)}, as the "
                         "loss nn.MSELoss would need. Fix: give one target per "
                         "output, (B, n), or one per sample, (B, 1).") from None
    L = len(model.fc)
    with torch.no_grad():
        dL_dyhat = (-2.0 * (y_true - y_pred)).sum_to_size(y_pred.shape)
        delta = dL_dyhat * model.df[L](model.z[L])
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
        loss = course_loss(y_pred, y_true)
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
    """max|a - b| / (max|a| + max|b|): 0 when identical, about 1 when unrelated
    (scaled by the largest entries, so near-zero entries add no noise)."""
    scale = (a.abs().max() + b.abs().max()).item()
    return (a - b).abs().max().item() / max(scale, TINY)

"""Part A: the course's network class and backpropagation by hand.

A batch holds one sample per row: layer l maps a[l-1] (B, n_{l-1}) to
z[l] = a[l-1] W[l]^T + b[l] and a[l] = f[l](z[l]), both (B, n_l), with W[l]
of shape (n_l, n_{l-1}) as in ``nn.Linear``.
"""

from __future__ import annotations

import torch
from torch import nn


class MyNet(nn.Module):
    """The course's network n_l[0] -> ... -> n_l[L]: tanh on every layer."""

    def __init__(self, n_l):
        super().__init__()
        self.n_l = n_l
        self.L = len(n_l) - 1
        layers = range(1, self.L + 1)
        self.fc = nn.ModuleDict({str(l): nn.Linear(n_l[l - 1], n_l[l]) for l in layers})
        self.f = {l: torch.tanh for l in layers}
        self.df = {l: lambda z: 1 / torch.cosh(z) ** 2 for l in layers}  # tanh'
        self.a, self.z = {}, {}
        self.dL_dw = {l: None for l in layers}
        self.dL_db = {l: None for l in layers}

    def forward(self, x):
        self.a[0] = torch.flatten(x, 1)
        for l in range(1, self.L + 1):
            self.z[l] = self.fc[str(l)](self.a[l - 1])
            self.a[l] = self.f[l](self.z[l])
        return self.a[self.L]


def backpropagation(model, y_true, y_pred):
    """Fill model.dL_dw[l] and model.dL_db[l] with the gradients of the loss
    sum (y_true - y_pred)^2, by the equations above. A target of one value per
    sample, (B, 1), is broadcast over the outputs, as nn.MSELoss does."""
    with torch.no_grad():
        L = len(model.fc)
        delta = -2 * (y_true - y_pred) * model.df[L](model.z[L])
        for l in range(L, 0, -1):
            model.dL_dw[l] = delta.T @ model.a[l - 1]
            model.dL_db[l] = delta.sum(dim=0)
            if l > 1:
                W = model.fc[str(l)].weight
                delta = (delta @ W) * model.df[l - 1](model.z[l - 1])

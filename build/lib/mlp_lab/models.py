"""The classifier of Part B: a multi-layer perceptron for flattened images."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn


@contextmanager
def default_dtype(dtype: torch.dtype) -> Iterator[None]:
    """``torch.set_default_dtype(dtype)`` for the block, restored afterwards
    (also when the block raises): parameters created inside are drawn in it."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        yield
    finally:
        torch.set_default_dtype(previous)


class MyMLP(nn.Module):
    """Fully connected network ``sizes[0] -> ... -> sizes[-1]``.

    For layer widths n_0, ..., n_L: h_0 = flatten(x),
    h_l = ReLU(W_l h_{l-1} + b_l) for l < L, and the logits
    h_L = W_L h_{L-1} + b_L (no activation: cross-entropy applies the softmax).
    Parameters are created in the current default dtype, layer by layer,
    so ``torch.manual_seed(s)`` right before construction fixes them.
    """

    def __init__(self, sizes: tuple[int, ...]) -> None:
        super().__init__()
        self.sizes = tuple(sizes)
        layers: list[nn.Module] = [nn.Flatten()]
        for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            layers.append(nn.Linear(n_in, n_out))
            if i < len(sizes) - 2:
                layers.append(nn.ReLU())
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits of shape (B, sizes[-1]) for inputs (B, ...) of sizes[0] values."""
        return self.net(x)


def make_model(sizes: tuple[int, ...], seed: int, dtype: torch.dtype,
               device: str | torch.device = "cpu") -> MyMLP:
    """``MyMLP(sizes)`` created right after ``torch.manual_seed(seed)``.

    Parameters are drawn directly in ``dtype`` (as under
    ``torch.set_default_dtype``), not drawn in float32 and converted, so the
    initial weights are those the course's float64 notebook gets.
    """
    with default_dtype(dtype):
        torch.manual_seed(seed)
        model = MyMLP(sizes)
    return model.to(device)

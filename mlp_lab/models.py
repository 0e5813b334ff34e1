"""Part B, task 2: a multi-layer perceptron for flattened images."""

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
    """Images flattened, then linear layers sizes[0] -> ... -> sizes[-1] with
    ReLU between them; the logits go to the loss."""

    def __init__(self, sizes):
        super().__init__()
        layers = [nn.Flatten()]
        for n_in, n_out in zip(sizes[:-2], sizes[1:-1]):
            layers += [nn.Linear(n_in, n_out), nn.ReLU()]
        layers.append(nn.Linear(sizes[-2], sizes[-1]))
        self.net = nn.Sequential(*layers)

    def forward(self, x):
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

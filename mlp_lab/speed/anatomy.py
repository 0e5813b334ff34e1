"""Where the time of one training batch goes, measured against the bound.

The bound (:mod:`mlp_lab.speed.bound`) counts only the matrix products of a batch,
each timed hot in a loop. This module times, per batch, on the first ``n``
batches of the real training split that have all ``batch_size`` rows (or all
of it when it is smaller):

    bound     sum of t(shape) over the batch's products: ``bound.matmuls``
    products  the same products, called in turn on the real batches, the
              first layer's product reading the batch itself
    forward   model(x) and the loss, building the autograd graph
    backward  forward, then ``loss.backward()`` into fresh gradients
    sgd       a step of ``trainers.train`` (``training.optimizer``): zero_grad,
              forward, backward, step
    manual    a step of ``trainers.train_manual_update``

One round runs the five timed stages back to back over the ``n`` batches;
each figure is the median over ``rounds`` rounds, so load changes on a shared
machine hit every stage alike. A stage minus the one before it is what it
adds: ``backward - forward`` is the backward pass, ``sgd - backward`` the
optimizer step. The steps use the config's setting with the most terms
(momentum and weight decay), the first such one.
"""

from __future__ import annotations

import itertools
import statistics
import time
from typing import Callable

import torch
from torch import nn

from ..config import Config, Setting
from ..data import PreparedData
from ..models import make_model
from ..trainers import train, train_manual_update
from ..training import optimizer
from .bound import matmuls, measure, random_tensors, synchronizer

STAGES = ("products", "forward", "backward", "sgd", "manual")


def heaviest(settings: tuple[Setting, ...]) -> Setting:
    """The first setting with the most non-zero terms (momentum, weight decay)."""
    return max(settings, key=lambda s: (s.momentum != 0) + (s.weight_decay != 0))


def product_calls(sizes, rows: int, dtype, device) -> Callable[[torch.Tensor], None]:
    """f(x): the products of ``bound.matmuls(sizes, rows, True)``, in training order.

    Layer l's weight W_l, bias b_l, input A_{l-1} (l >= 2) and output
    gradient dZ_l are fixed random tensors; A_0 is ``x`` flattened. Operand
    layouts are autograd's: addmm(b, A, W^T), mm(dZ^T, A), mm(dZ, W).
    """
    rnd = random_tensors(dtype, device)
    layers = [(rnd(n, k), rnd(n), rnd(rows, k), rnd(rows, n))
              for k, n in zip(sizes, sizes[1:])]

    def call(x: torch.Tensor) -> None:
        inputs = [x.flatten(1)] + [a for _, _, a, _ in layers[1:]]
        for (w, b, _, _), a in zip(layers, inputs):
            torch.addmm(b, a, w.t())
        for l in reversed(range(len(layers))):
            w, _, _, dz = layers[l]
            torch.mm(dz.t(), inputs[l])
            if l > 0:
                torch.mm(dz, w)

    return call


def stages(cfg: Config, batches: list, dtype, device) -> dict[str, Callable[[], None]]:
    """The five timed stages, each a pass over ``batches`` (see the module doc)."""
    s, loss_fn = heaviest(cfg.settings), nn.CrossEntropyLoss()
    products = product_calls(cfg.sizes, len(batches[0][1]), dtype, device)
    model, sgd_model, manual_model = (make_model(cfg.sizes, cfg.seed, dtype, device)
                                      for _ in range(3))
    opt = optimizer(sgd_model, s)

    def epoch(backward: bool) -> None:  # a trainer's pass, without its step
        for x, y in batches:
            loss = loss_fn(model(x), y)
            if backward:
                model.zero_grad()
                loss.backward()
            loss.item()

    return {
        "products": lambda: [products(x) for x, _ in batches],
        "forward": lambda: epoch(backward=False),
        "backward": lambda: epoch(backward=True),
        "sgd": lambda: train(1, opt, sgd_model, loss_fn, batches),
        "manual": lambda: train_manual_update(1, manual_model, loss_fn, batches,
                                              s.lr, s.momentum, s.weight_decay),
    }


def full_batches(data: PreparedData, batch_size: int, n: int, dtype, device) -> list:
    """The first ``n`` training batches of r = min(batch_size, N_train) rows each."""
    loader = data.batches("train", batch_size, dtype, device)
    rows = min(batch_size, len(data.labels["train"]))
    return list(itertools.islice((b for b in loader if len(b[1]) == rows), n))


def anatomy(cfg: Config, data: PreparedData, dtype, device, n_batches: int = 35,
            rounds: int = 9, rates: dict | None = None) -> dict:
    """Seconds per batch of ``bound`` and of each stage (medians over rounds).

    Batches have ``batch_size`` rows, or all training images when there are
    fewer (``rows`` in the result)."""
    sync = synchronizer(device)
    batches = full_batches(data, cfg.batch_size, n_batches, dtype, device)
    fns = stages(cfg, batches, dtype, device)
    times: dict[str, list[float]] = {k: [] for k in STAGES}
    for r in range(rounds + 1):  # round 0 warms up, untimed
        for name in STAGES:
            sync()
            start = time.perf_counter()
            fns[name]()
            sync()
            if r:
                times[name].append((time.perf_counter() - start) / len(batches))
    shapes = matmuls(cfg.sizes, len(batches[0][1]), True)
    table = measure(shapes, dtype, device, rates)
    out = {"rows": len(batches[0][1]), "bound": sum(table[s] for s in shapes)}
    out.update({k: statistics.median(v) for k, v in times.items()})
    return out

"""Part A's check of backpropagation: against autograd and central differences.

For the loss L(theta) and entry i of a parameter, the central difference

    (L(theta + h e_i) - L(theta - h e_i)) / (2 h)

approximates dL/dtheta_i with an error of order h^2 (plus rounding of order
eps L / h). Two gradients a and b are compared entry by entry by their
relative error |a - b| / (|a| + |b|): 0 when equal, about 1 when unrelated.
"""

from __future__ import annotations

import pandas as pd
import torch

from .backprop import MyNet, backpropagation
from .config import CHECK_BATCHES, CHECK_ENTRIES, FD_STEP
from .models import default_dtype


def check_gradients(model, x, y, h=1e-5, entries=20):
    """The relative error max|a - b| / (max|a| + max|b|) of backpropagation's
    gradients a against autograd's, and against central differences
    (L(w + h) - L(w - h)) / 2h on a few random entries; the worst of each."""
    def loss():
        return ((y - model(x)) ** 2).sum()

    def error(a, b):
        return ((a - b).abs().max() / (a.abs().max() + b.abs().max())).item()

    backpropagation(model, y, model(x))
    params, grads = [], []
    for l in range(1, model.L + 1):  # each layer's weight and bias
        params += [model.fc[str(l)].weight, model.fc[str(l)].bias]
        grads += [model.dL_dw[l], model.dL_db[l]]
    autograd = torch.autograd.grad(loss(), params)
    vs_autograd = max(error(g, a) for g, a in zip(grads, autograd))

    vs_fd = 0.0
    with torch.no_grad():
        for p, g in zip(params, grads):
            w = p.view(-1)  # the same entries as p: moving w[i] moves p
            picked = torch.randperm(w.numel())[:entries].tolist()
            fd = []
            for i in picked:
                old = w[i].item()
                w[i] = old + h
                plus = loss().item()
                w[i] = old - h
                fd.append((plus - loss().item()) / (2 * h))
                w[i] = old
            fd = torch.tensor(fd, dtype=g.dtype)
            vs_fd = max(vs_fd, error(g.view(-1)[picked], fd))
    return vs_autograd, vs_fd


def gradient_checks(cases, seed=0):
    """check_gradients on a new MyNet(n_l) and a random batch of targets of
    width n_y (1: one value per sample, broadcast over the outputs) for each
    (n_l, batch, n_y) in cases, after torch.manual_seed(seed)."""
    torch.manual_seed(seed)
    rows = []
    for n_l, batch, n_y in cases:
        x, y = torch.randn(batch, n_l[0]), torch.rand(batch, n_y)
        rows.append((n_l, batch, *check_gradients(MyNet(n_l), x, y)))
    return rows


# ---------------------------------------------------------------- around the core

def part_a_cases(sizes: tuple[int, ...]) -> list[tuple[list[int], int, int]]:
    """The checks Part A runs, (network, batch, target width): the course's
    toy network on one sample and on a batch of 10; its MNIST network on 5
    samples with one target each, broadcast over the 10 outputs as its test
    does; and a network of Part B's layer widths (``sizes``) on 32."""
    return [([2, 3, 2], 1, 2), ([2, 3, 2], 10, 2), ([576, 16, 10], 5, 1),
            (list(sizes), 32, sizes[-1])]


def check_table(sizes: tuple[int, ...]) -> pd.DataFrame:
    """:func:`gradient_checks` of :func:`part_a_cases`, in float64 on one
    thread as Part A runs them (the same numbers): network, batch and the two
    relative errors."""
    from .threads import pinned

    with default_dtype(torch.float64), pinned():
        rows = gradient_checks(part_a_cases(sizes))
    return pd.DataFrame([{"network": "-".join(map(str, n_l)), "batch": batch,
                          "vs autograd": a, "vs finite differences": fd}
                         for n_l, batch, a, fd in rows])


def check_step(model, lr=0.1):
    """After backpropagation: does one SGD step with its gradients change every
    parameter, and is every parameter still a leaf that requires grad? (The
    course's last two checks, which its own test file runs in Part A.)"""
    params = [p for l in range(1, model.L + 1) for p in model.fc[str(l)].parameters()]
    grads = [g for l in range(1, model.L + 1) for g in (model.dL_dw[l], model.dL_db[l])]
    before = [p.detach().clone() for p in params]
    for p, g in zip(params, grads):
        p.grad = g.clone()
    torch.optim.SGD(params, lr=lr).step()
    updated = all(not torch.equal(p, b) for p, b in zip(params, before))
    intact = all(p.is_leaf and p.requires_grad for p in params)
    return updated, intact


def relu(net: MyNet) -> MyNet:
    """``net`` with ReLU on every layer instead of tanh (the contract lets
    backpropagation take any f and f')."""
    for l in net.f:
        net.f[l] = torch.relu
        net.df[l] = lambda z: (z > 0).to(z.dtype)
    return net


def live_net(n_l: list[int], activation: str, batch: int, seed: int):
    """A MyNet (tanh or ReLU), inputs and targets whose loss gradient is not
    all zero (a tiny ReLU net is often dead: every gradient 0 proves
    nothing): the first seed from ``seed`` on that gives one."""
    for s in range(seed, seed + 1000):
        torch.manual_seed(s)
        net = MyNet(n_l)
        net = relu(net) if activation == "relu" else net
        x, y = torch.randn(batch, n_l[0]), torch.rand(batch, n_l[-1])
        grads = torch.autograd.grad(((y - net(x)) ** 2).sum(), list(net.parameters()))
        if all(g.abs().sum() > 0 for g in grads):
            return net, x, y
    raise RuntimeError(f"no live {activation} net {n_l} found")


def four_checks(net: MyNet, x, y, entries: int = CHECK_ENTRIES,
                lr: float = 0.1) -> dict:
    """The course's four checks of backpropagation, as the book runs them:
    the relative errors against autograd and against central differences
    (:func:`check_gradients`), whether an SGD step with the gradients changes
    every parameter, and whether each is still a leaf that requires grad
    (:func:`check_step`)."""
    vs_autograd, vs_fd = check_gradients(net, x, y, FD_STEP, entries)
    updated, intact = check_step(net, lr)
    return {"vs autograd": vs_autograd, "vs finite diff.": vs_fd,
            "SGD step changed weights": updated, "leaves requiring grad": intact}


# The columns of the book's table of the four checks.
SHOWN = ("net", "activation", "batch", "vs autograd", "vs finite diff.",
         "SGD step changed weights", "leaves requiring grad")


def four_checks_table(sizes: tuple[int, ...], seed: int = 0) -> pd.DataFrame:
    """The book's table: :func:`four_checks` on the toy MyNet 2-3-2 and on
    ``sizes``, with tanh and with ReLU, for each batch size of
    ``CHECK_BATCHES``, in float64."""
    rows = []
    with default_dtype(torch.float64):
        for n_l in ([2, 3, 2], list(sizes)):
            for activation in ("tanh", "relu"):
                for batch in CHECK_BATCHES:
                    net, x, y = live_net(n_l, activation, batch, seed)
                    rows.append({"net": "-".join(map(str, n_l)),
                                 "activation": activation, "batch": batch,
                                 **four_checks(net, x, y)})
    return pd.DataFrame(rows)

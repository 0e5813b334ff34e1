"""The compute bound of a training: its matrix products and their measured speed.

FLOPs. For layer widths n_0, ..., n_L let P_l = n_{l-1} n_l. A batch of r rows
costs, in matrix products (2 m k n flops for (m x k) @ (k x n)):

    forward   Z_l = A_{l-1} W_l^T + b_l   (r x n_{l-1}) @ (n_{l-1} x n_l)  2 r P_l
    backward  dW_l = dZ_l^T A_{l-1}       (n_l x r) @ (r x n_{l-1})        2 r P_l
              dA_{l-1} = dZ_l W_l, l >= 2 (r x n_l) @ (n_l x n_{l-1})      2 r P_l

(A_0, the input, needs no gradient), so a training batch costs
2 r (2 sum_l P_l + sum_{l>=2} P_l) and an evaluation batch 2 r sum_l P_l.
An epoch over N samples has floor(N / B) batches of r = B rows and, if
N mod B > 0, one of r = N mod B rows.

Bound. ``train_s`` is the sum over settings of ``seconds_sgd +
seconds_manual`` of a cold ``experiments.run``: E_sgd + E_manual training
epochs over the train split. The final train/val accuracies are outside
``train_s`` and outside the bound.
``bound_s = sum over shapes of calls(shape) * t(shape)``, where t(shape) =
flops(shape) / rate(shape) is the best time per call of that product
(``torch.addmm``/``torch.mm`` with the operand layouts autograd uses), timed
in a loop on this machine in the run's dtype and thread count. Bias adds,
ReLU, cross-entropy, bias gradients, SGD updates and Python/autograd overheads
are not in the bound: ``train_over_bound`` - 1 is their share.
"""

from __future__ import annotations

import time
from collections import Counter, namedtuple

import torch

from ..config import Config

Shape = namedtuple("Shape", "op m k n")  # (m x k) @ (k x n), op: fwd, dW or dX


# ------------------------------------------------------------------ FLOPs

def matmuls(sizes, rows: int, backward: bool) -> list[Shape]:
    """The matrix products of one batch of ``rows`` rows (see the module doc)."""
    out = []
    for l, (a, b) in enumerate(zip(sizes, sizes[1:])):
        out.append(Shape("fwd", rows, a, b))
        if backward:
            out.append(Shape("dW", b, rows, a))
            if l > 0:
                out.append(Shape("dX", rows, b, a))
    return out


def epoch_work(sizes, n: int, batch_size: int, backward: bool) -> Counter:
    """Shape -> calls for one pass over ``n`` samples in batches of ``batch_size``."""
    full, last = divmod(n, batch_size)
    work = Counter()
    for s in matmuls(sizes, batch_size, backward):
        work[s] += full
    work.update(matmuls(sizes, last, backward) if last else [])
    return +work  # drops zero counts (no full batch)


def flops(work: Counter) -> int:
    """Sum of 2 m k n over the calls of ``work``."""
    return sum(2 * s.m * s.k * s.n * c for s, c in work.items())


def training_work(cfg: Config, n_train: int, results) -> Counter:
    """The matmuls inside ``train_s``: every epoch of both trainers."""
    tr = epoch_work(cfg.sizes, n_train, cfg.batch_size, True)
    total = Counter()
    for s in results.settings:
        epochs = len(s.train_loss_sgd) + len(s.train_loss_manual)
        total.update({k: c * epochs for k, c in tr.items()})
    return total


# ------------------------------------------------------------ matmul rates

def synchronizer(device):
    """A call that waits for the device's queued work (a no-op on the CPU)."""
    if torch.device(device).type == "cuda":
        return torch.cuda.synchronize
    return lambda: None


def random_tensors(dtype, device):
    """rnd(*shape): standard normal tensors from a generator seeded with 0."""
    g = torch.Generator(device=device).manual_seed(0)
    return lambda *shape: torch.randn(*shape, dtype=dtype, device=device,
                                      generator=g)


def product(s: Shape, dtype, device):
    """A zero-argument call computing ``s`` as autograd does (layouts included)."""
    rnd = random_tensors(dtype, device)
    if s.op == "fwd":  # addmm(b, x, W.t()), W (n x k) row-major
        b, x, w = rnd(s.n), rnd(s.m, s.k), rnd(s.n, s.k)
        return lambda: torch.addmm(b, x, w.t())
    a = rnd(s.k, s.m).t() if s.op == "dW" else rnd(s.m, s.k)  # dZ^T: a transpose
    w = rnd(s.k, s.n)
    return lambda: torch.mm(a, w)


def seconds_per_call(fn, sync, target: float = 0.01, rounds: int = 7) -> float:
    """Best over ``rounds`` of the mean time per call in a loop of >= ``target`` s."""
    def loop(n: int) -> float:
        sync()
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        sync()
        return time.perf_counter() - t0

    n = 1
    while loop(n) < target:  # warms up while it calibrates
        n *= 2
    return min(loop(n) for _ in range(rounds)) / n


def measure(shapes, dtype, device, table: dict | None = None) -> dict:
    """Shape -> seconds per call, measuring only shapes missing from ``table``."""
    table = {} if table is None else table
    sync = synchronizer(device)
    for s in shapes:
        if s not in table:
            table[s] = seconds_per_call(product(s, dtype, device), sync)
    return table


def bound_seconds(work: Counter, dtype, device, table: dict | None = None) -> float:
    """Compute-bound time of ``work``: sum of calls * measured seconds per call."""
    table = measure(work, dtype, device, table)
    return sum(c * table[s] for s, c in work.items())

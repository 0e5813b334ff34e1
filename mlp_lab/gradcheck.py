"""Gradient checking: centered finite differences, and the course's four checks.

For a scalar loss L(theta) and one entry theta_i, the centered difference

    n_i = (L(theta + h e_i) - L(theta - h e_i)) / (2 h)

has error O(h^2) + O(eps / h); in float64 with h = 1e-5 both are near 1e-10
relative. Each entry is compared with the analytic a_i by the cs231n relative
error |a_i - n_i| / max(|a_i| + |n_i|, tiny): below 1e-7 is good, below 1e-4
acceptable near ReLU kinks, above 1e-2 wrong.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import torch
from torch import nn

from .backprop import (TINY, MyNet, autograd_gradients, backpropagation,
                       course_loss, named_gradients, relative_error)
from .config import CHECK_BATCHES, CHECK_ENTRIES, FD_STEP as STEP
from .models import default_dtype
from .trainers import sgd_update


def choose_entries(model: nn.Module, k: int | None = None,
                   seed: int = 0) -> dict[str, torch.Tensor]:
    """Flat indices to check per parameter (requires_grad only), sorted.

    All entries when ``k`` is None or at least the tensor's size; otherwise
    ``k`` distinct entries drawn with one ``torch.Generator`` seeded by
    ``seed`` and consumed in ``named_parameters`` order, so the same model,
    ``k`` and ``seed`` always give the same entries.
    """
    g = torch.Generator().manual_seed(seed)
    entries = {}
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        n = p.numel()
        if k is None or k >= n:
            entries[name] = torch.arange(n)
        else:
            entries[name] = torch.randperm(n, generator=g)[:k].sort().values
    return entries


def _numeric(p: torch.Tensor, idx: torch.Tensor,
             loss_fn: Callable[[], torch.Tensor], h: float) -> torch.Tensor:
    """Centered differences of ``loss_fn`` at flat indices ``idx`` of ``p``."""
    flat = p.view(-1)  # a view: writing it moves the parameter itself
    out = torch.empty(len(idx), dtype=torch.float64)
    for j, i in enumerate(idx.tolist()):
        old = flat[i].clone()  # restored bit for bit, whatever the dtype
        flat[i] = old + h
        plus = float(loss_fn())
        flat[i] = old - h
        minus = float(loss_fn())
        flat[i] = old
        out[j] = (plus - minus) / (2 * h)
    return out


def fd_rows(model: nn.Module, loss_fn: Callable[[], torch.Tensor],
            analytic: dict[str, torch.Tensor] | None = None,
            k: int | None = None, seed: int = 0, h: float = STEP) -> list[dict]:
    """Compare analytic gradients with centered finite differences.

    ``loss_fn()`` must re-run the forward pass with the current parameters and
    return the scalar loss (deterministically: no dropout). ``analytic`` maps
    ``named_parameters`` names to gradients of the parameters' shapes; when
    None, autograd's are used. Entries are chosen by ``choose_entries(model,
    k, seed)``. Perturbations run under ``torch.no_grad()`` and every entry is
    restored exactly. Meant for float64 parameters (h = 1e-5).

    Returns one row (a dict) per parameter tensor: ``parameter``, ``shape``,
    ``entries_checked``, ``max_rel_error`` (cs231n, entry by entry),
    ``tensor_rel_error`` (``relative_error`` on the checked entries),
    ``analytic_at_worst`` (|gradient| of the entry with the worst relative
    error), ``max_abs_error``, ``max_abs_analytic``, ``max_abs_numeric``.
    """
    params = {n: p for n, p in model.named_parameters() if p.requires_grad}
    if analytic is None:
        with torch.enable_grad():
            grads = torch.autograd.grad(loss_fn(), list(params.values()))
        analytic = dict(zip(params, grads))
    rows = []
    with torch.no_grad():
        for name, idx in choose_entries(model, k, seed).items():
            a = analytic[name].detach().reshape(-1)[idx].to(torch.float64)
            n = _numeric(params[name], idx, loss_fn, h)
            err = (a - n).abs()
            rel = err / (a.abs() + n.abs()).clamp_min(TINY)
            rows.append({
                "parameter": name,
                "shape": tuple(params[name].shape),
                "entries_checked": len(idx),
                "max_rel_error": rel.max().item(),
                "analytic_at_worst": a[rel.argmax()].abs().item(),
                "tensor_rel_error": relative_error(a, n),
                "max_abs_error": err.max().item(),
                "max_abs_analytic": a.abs().max().item(),
                "max_abs_numeric": n.abs().max().item(),
            })
    return rows


def gradcheck(model: nn.Module, loss_fn: Callable[[], torch.Tensor],
              analytic: dict[str, torch.Tensor] | None = None,
              k: int | None = None, seed: int = 0,
              h: float = STEP) -> pd.DataFrame:
    """:func:`fd_rows` as a table, one row per parameter tensor."""
    return pd.DataFrame(fd_rows(model, loss_fn, analytic, k, seed, h))


def check_rows(model: nn.Module, x: torch.Tensor, y: torch.Tensor,
               k: int | None = 20, seed: int = 0, lr: float = 0.1) -> list[dict]:
    """The course's four checks of ``backpropagation`` on one batch (x, y).

    For a model following the ``MyNet`` contract, one row (a dict) per
    parameter tensor (``layer``, ``parameter``, ``shape``) with:

    1. ``rel_error_autograd``: ``relative_error`` of backpropagation's gradient
       against autograd's (the course asks for < 1e-3; float64 gives ~1e-16);
    2. ``max_rel_error_fd``: the worst cs231n relative error against centered
       finite differences on ``k`` entries (``gradcheck``);
    3. ``sgd_changed``: whether a plain SGD step (``trainers.sgd_update``,
       bit-identical to ``torch.optim.SGD(lr).step()``, without the second it
       takes to set up the optimizer machinery) with the gradients copied into
       ``.grad`` changed the tensor;
    4. ``leaf_requires_grad``: whether the tensor, after that step, is still a
       leaf that requires grad;

    and, for 2., ``grad_at_worst_fd`` (|gradient| of the worst entry) and
    ``max_abs_error_fd``. The model is left as found: parameters and ``.grad``
    are restored after the step; ``dL_dw``/``dL_db`` hold backpropagation's
    gradients.
    """
    auto = named_gradients(*autograd_gradients(model, x, y))
    y_pred = model(x)
    backpropagation(model, y, y_pred)
    mine = named_gradients(model.dL_dw, model.dL_db)

    def loss_fn() -> torch.Tensor:
        y_hat = model(x)
        return course_loss(y_hat, y.reshape_as(y_hat))

    fd = {r["parameter"]: r for r in fd_rows(model, loss_fn, mine, k, seed)}

    params = dict(model.named_parameters())
    saved = {n: (p.detach().clone(), p.grad) for n, p in params.items()}
    for n, p in params.items():
        p.grad = mine[n].clone()
    sgd_update(list(params.values()), [None] * len(params), lr, 0.0, 0.0)
    rows = []
    for n, p in params.items():
        rows.append({
            "layer": int(n.split(".")[1]),
            "parameter": n,
            "shape": tuple(p.shape),
            "rel_error_autograd": relative_error(mine[n], auto[n]),
            "max_rel_error_fd": fd[n]["max_rel_error"],
            "grad_at_worst_fd": fd[n]["analytic_at_worst"],
            "max_abs_error_fd": fd[n]["max_abs_error"],
            "entries_checked": fd[n]["entries_checked"],
            "sgd_changed": not torch.equal(p.detach(), saved[n][0]),
            "leaf_requires_grad": p.is_leaf and p.requires_grad,
        })
    with torch.no_grad():
        for n, p in params.items():
            p.copy_(saved[n][0])
            p.grad = saved[n][1]
    return rows


def course_checks(model: nn.Module, x: torch.Tensor, y: torch.Tensor,
                  k: int | None = 20, seed: int = 0,
                  lr: float = 0.1) -> pd.DataFrame:
    """:func:`check_rows` as a table, one row per parameter tensor."""
    return pd.DataFrame(check_rows(model, x, y, k, seed, lr))


def live_net(n_l: list[int], act: str, batch: int, seed: int):
    """A MyNet and a batch (x, y) whose loss gradient is not all zero.

    Tiny ReLU nets are often dead (every output unit at z <= 0, so every
    gradient is 0 and the checks would prove nothing): try seeds from ``seed``.
    """
    for s in range(seed, seed + 1000):
        torch.manual_seed(s)
        net = MyNet(n_l, activation=act)
        x, y = torch.randn(batch, n_l[0]), torch.rand(batch, n_l[-1])
        grads = torch.autograd.grad(course_loss(net(x), y), list(net.parameters()))
        if all(g.abs().sum() > 0 for g in grads):
            return net, x, y
    raise RuntimeError(f"no live {act} net {n_l} found")


def check_table_rows(sizes: tuple[int, ...], seed: int = 0) -> list[dict]:
    """The course's four checks on the toy MyNet 2-3-2 and on ``sizes``, with
    tanh and with ReLU, for each batch size of ``CHECK_BATCHES``, in float64.

    One row (a dict) per (net, activation, batch): the worst relative error against
    autograd and against finite differences (``CHECK_ENTRIES`` sampled entries
    per tensor), whether an SGD step changed every tensor, and whether every
    parameter is still a leaf that requires grad; then, to explain the finite
    differences' error (:data:`DETAIL`, not printed in the table): the
    |gradient| of the entry with the worst relative error and the largest
    absolute error of any checked entry. Targets are in (0, 1).
    """
    rows = []
    with default_dtype(torch.float64):
        for n_l in ([2, 3, 2], list(sizes)):
            for act in ("tanh", "relu"):
                for batch in CHECK_BATCHES:
                    net, x, y = live_net(n_l, act, batch, seed)
                    c = check_rows(net, x, y, k=CHECK_ENTRIES, seed=seed)
                    worst = max(c, key=lambda r: r["max_rel_error_fd"])
                    rows.append({
                        "net": "-".join(map(str, n_l)), "activation": act,
                        "batch": batch,
                        "vs autograd": max(r["rel_error_autograd"] for r in c),
                        "vs finite diff.": worst["max_rel_error_fd"],
                        "SGD step changed weights": all(r["sgd_changed"] for r in c),
                        "leaves requiring grad": all(r["leaf_requires_grad"]
                                                     for r in c),
                        "gradient at worst": worst["grad_at_worst_fd"],
                        "absolute error": max(r["max_abs_error_fd"] for r in c)})
    return rows


DETAIL = ("gradient at worst", "absolute error")  # of check_table_rows


def check_table(sizes: tuple[int, ...], seed: int = 0) -> pd.DataFrame:
    """:func:`check_table_rows` as a table (the book's and the report's)."""
    return pd.DataFrame(check_table_rows(sizes, seed))

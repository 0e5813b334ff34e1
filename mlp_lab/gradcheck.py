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

from .backprop import TINY, MyNet, backpropagation, course_loss, relative_error
from .config import CHECK_BATCHES, CHECK_ENTRIES, FD_STEP
from .models import default_dtype


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
            k: int | None = None, seed: int = 0, h: float = FD_STEP) -> list[dict]:
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
    ``max_abs_error``, ``max_abs_analytic``, ``max_abs_numeric``.
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
                "tensor_rel_error": relative_error(a, n),
                "max_abs_error": err.max().item(),
                "max_abs_analytic": a.abs().max().item(),
                "max_abs_numeric": n.abs().max().item(),
            })
    return rows


def gradcheck(model: nn.Module, loss_fn: Callable[[], torch.Tensor],
              analytic: dict[str, torch.Tensor] | None = None,
              k: int | None = None, seed: int = 0,
              h: float = FD_STEP) -> pd.DataFrame:
    """:func:`fd_rows` as a table, one row per parameter tensor."""
    return pd.DataFrame(fd_rows(model, loss_fn, analytic, k, seed, h))


def four_checks(model: nn.Module, x: torch.Tensor, y: torch.Tensor,
                entries: int = CHECK_ENTRIES, h: float = FD_STEP,
                lr: float = 0.1) -> dict:
    """The course's four checks of ``backpropagation`` on a batch (x, y), each the
    worst over the parameters: 1. the relative error against autograd; 2. the
    worst |g - g_fd| / (|g| + |g_fd|) against the centered difference g_fd =
    (L(theta + h e_i) - L(theta - h e_i)) / (2h) on ``entries`` random entries
    i of each parameter, with |g| there and the largest |g - g_fd|; 3. whether an
    SGD step changed every parameter; 4. whether each stays a leaf requiring grad."""
    params = [p for l in range(1, len(model.fc) + 1)
              for p in (model.fc[str(l)].weight, model.fc[str(l)].bias)]
    backpropagation(model, y, model(x))
    manual = [g for l in range(1, len(model.fc) + 1)
              for g in (model.dL_dw[l], model.dL_db[l])]
    autograd = torch.autograd.grad(course_loss(model(x), y), params)
    errors = []  # per entry: relative error, |g|, |g - g_fd|
    with torch.no_grad():
        for p, grad in zip(params, manual):
            flat = p.view(-1)  # writing an entry moves the parameter itself
            for i in torch.randperm(p.numel())[:entries].tolist():
                old = flat[i].item()
                flat[i] = old + h
                plus = course_loss(model(x), y).item()
                flat[i] = old - h
                minus = course_loss(model(x), y).item()
                flat[i] = old
                g, g_fd = grad.view(-1)[i].item(), (plus - minus) / (2 * h)
                errors.append((abs(g - g_fd) / max(abs(g) + abs(g_fd), TINY),
                               abs(g), abs(g - g_fd)))
    before = [p.detach().clone() for p in params]
    for p, grad in zip(params, manual):
        p.grad = grad.clone()
    torch.optim.SGD(params, lr=lr).step()
    return {"vs autograd": max(map(relative_error, manual, autograd)),
            "vs finite diff.": max(errors)[0],
            "SGD step changed weights": all(not torch.equal(p, b)
                                            for p, b in zip(params, before)),
            "leaves requiring grad": all(p.is_leaf and p.requires_grad
                                         for p in params),
            "gradient at worst": max(errors)[1],
            "absolute error": max(e[2] for e in errors)}


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
                    rows.append({"net": "-".join(map(str, n_l)),
                                 "activation": act, "batch": batch,
                                 **four_checks(net, x, y)})
    return rows


DETAIL = ("gradient at worst", "absolute error")  # of check_table_rows
# The columns the book's table shows, the absolute error beside the relative.
SHOWN = ("net", "activation", "batch", "vs autograd", "vs finite diff.",
         "absolute error", "SGD step changed weights", "leaves requiring grad")


def check_table(sizes: tuple[int, ...], seed: int = 0) -> pd.DataFrame:
    """:func:`check_table_rows` as a table (the book's and the report's)."""
    return pd.DataFrame(check_table_rows(sizes, seed))

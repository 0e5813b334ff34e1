"""Helpers for the book's chapters: cached results, formatting, live checks.

Chapters stay thin: they call :func:`results` (served from the on-disk cache
after the first chapter computed it), format numbers with :func:`pct` and
:func:`num`, and show library code with :func:`source`. Statements that
depend on the outcome come from :mod:`mlp_lab.narrative`.
"""

from __future__ import annotations

import inspect
import json
import math
import numbers
from functools import lru_cache

import pandas as pd

from .config import Config, load_config
from .experiments import Results, run

CHECK_BATCHES = (1, 32)  # batch sizes of the backprop checks
CHECK_ENTRIES = 20  # finite-difference entries sampled per tensor


@lru_cache(maxsize=1)
def config() -> Config:
    """The experiment config of this render (``$MLP_LAB_CONFIG`` or defaults)."""
    return load_config()


@lru_cache(maxsize=1)
def results() -> Results:
    """The results of this render's config: trained once, then from the cache."""
    return run(config())


def pct(x: float, digits: int = 1) -> str:
    """0.9172 -> '91.7%'."""
    return f"{100 * x:.{digits}f}%"


def num(x: float, digits: int = 4) -> str:
    """A float with ``digits`` decimals; integers without."""
    return str(x) if isinstance(x, int) else f"{x:.{digits}f}"


def seconds(x: float) -> str:
    """A duration: '12.3 s' or '4 min 05 s'."""
    return f"{x:.1f} s" if x < 120 else f"{int(x // 60)} min {int(x % 60):02d} s"


def markdown_table(df: pd.DataFrame, digits: int = 4, sci: tuple[str, ...] = ()):
    """A DataFrame as a Markdown table (renders in HTML and in the PDF).

    Floats get ``digits`` decimals; the columns named in ``sci`` are written in
    scientific notation (``digits`` significant decimals), for tiny errors.
    Missing values (None, NaN) are left blank. Numbers are formatted here, not
    by tabulate, which would read "1.2e-12" back as a number and round it to 0.
    """
    from IPython.display import Markdown

    def fmt(v, spec: str) -> str:
        if v is None or (isinstance(v, float) and math.isnan(v)):
            return ""
        if isinstance(v, bool) or not isinstance(v, numbers.Real):
            return str(v)  # text, flags
        if isinstance(v, numbers.Integral) and not spec.endswith("e"):
            return str(v)  # counts stay whole
        return format(v, spec)

    cells = {c: [fmt(v, f".{digits}{'e' if c in sci else 'f'}") for v in df[c]]
             for c in df.columns}
    numeric = [pd.api.types.is_numeric_dtype(df[c]) and not
               pd.api.types.is_bool_dtype(df[c]) for c in df.columns]
    align = ["left"] + ["right" if n else "left" for n in numeric]
    out = pd.DataFrame(cells, index=df.index)
    return Markdown(out.to_markdown(disable_numparse=True, colalign=align))


def source(obj):
    """The library source of ``obj`` as a Python code block (never pasted)."""
    from IPython.display import Markdown

    return Markdown(f"```python\n{inspect.getsource(obj)}```")


def _live_net(n_l: list[int], act: str, batch: int, seed: int):
    """A MyNet and a batch (x, y) whose loss gradient is not all zero.

    Tiny ReLU nets are often dead (every output unit at z <= 0, so every
    gradient is 0 and the checks would prove nothing): try seeds from ``seed``.
    """
    import torch

    from .backprop import MyNet, course_loss

    for s in range(seed, seed + 1000):
        torch.manual_seed(s)
        net = MyNet(n_l, activation=act)
        x, y = torch.randn(batch, n_l[0]), torch.rand(batch, n_l[-1])
        grads = torch.autograd.grad(course_loss(net(x), y), list(net.parameters()))
        if all(g.abs().sum() > 0 for g in grads):
            return net, x, y
    raise RuntimeError(f"no live {act} net {n_l} found")


def backprop_checks(seed: int = 0, sizes: tuple[int, ...] | None = None,
                    ) -> pd.DataFrame:
    """The course's four checks on the toy MyNet and one of ``sizes`` (default:
    the layers of this render's config), with tanh and with ReLU.

    One row per (net, activation, batch): worst relative error against
    autograd and against finite differences (20 sampled entries per tensor),
    whether an SGD step changed every tensor, and whether every parameter is
    still a leaf that requires grad. Float64; targets in (0, 1).
    """
    import torch

    from .gradcheck import course_checks

    rows = []
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        for n_l in ([2, 3, 2], list(sizes or config().sizes)):
            for act in ("tanh", "relu"):
                for batch in CHECK_BATCHES:
                    net, x, y = _live_net(n_l, act, batch, seed)
                    c = course_checks(net, x, y, k=CHECK_ENTRIES, seed=seed)
                    rows.append({
                        "net": "-".join(map(str, n_l)), "activation": act,
                        "batch": batch,
                        "vs autograd": c.rel_error_autograd.max(),
                        "vs finite diff.": c.max_rel_error_fd.max(),
                        "SGD step changed weights": bool(c.sgd_changed.all()),
                        "leaves requiring grad": bool(c.leaf_requires_grad.all())})
    finally:
        torch.set_default_dtype(previous)
    return pd.DataFrame(rows)


def config_toml(cfg: Config):
    """The config as a TOML code block (what a config file would contain)."""
    from IPython.display import Markdown

    def value(v) -> str:
        return json.dumps(list(v) if isinstance(v, tuple) else v)

    d = cfg.to_dict()
    settings = d.pop("settings")
    lines = [f"{k} = {value(v)}" for k, v in d.items()]
    for s in settings:
        lines += ["", "[[settings]]"] + [f"{k} = {value(v)}" for k, v in s.items()]
    return Markdown("```toml\n" + "\n".join(lines) + "\n```")


def quarto_version() -> str:
    """``quarto --version`` when Quarto is on PATH, else a note saying it is not."""
    import shutil
    import subprocess

    exe = shutil.which("quarto")
    if exe is None:
        return "not on PATH (executed without Quarto)"
    try:
        out = subprocess.run([exe, "--version"], capture_output=True, text=True,
                             timeout=30)
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def environment_table(res: Results, cfg: Config) -> pd.DataFrame:
    """Versions, device, seeds, data and code identity of this render."""
    import os

    from . import cache

    e = res.env
    env = {"Python": e["python"], "PyTorch": e["torch"],
           "torchvision": e["torchvision"], "Quarto": quarto_version(),
           "device": f'{e["device"]} ({e["device_name"]})', "dtype": e["dtype"],
           "seed (models)": e["seed"], "seed (split)": cfg.split_seed,
           "SGD code path": e["sgd_path"], "data source": res.data["source"],
           "data location": res.data["location"],
           "data fingerprint": res.data["fingerprint"],
           "library code hash": cache.source_hash(cache.COMPUTE_MODULES),
           "config": os.environ.get("MLP_LAB_CONFIG") or "defaults"}
    return pd.DataFrame({"value": [str(v) for v in env.values()]}, index=list(env))

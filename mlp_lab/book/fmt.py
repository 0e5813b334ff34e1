"""Numbers and tables as the book prints them (plain text; no torch).

Everything here returns plain text, except the two functions that return
Markdown blocks for a cell's output: inline values must not carry Markdown,
because Quarto shows it escaped. pandas is imported by the one function that
needs it: a chapter that only writes sentences does not pay for it.
"""

from __future__ import annotations

import json
import math
import numbers
from typing import TYPE_CHECKING

from ..config import Config
from .places import shown_place

if TYPE_CHECKING:
    import pandas as pd


def pct(x: float, digits: int = 1) -> str:
    """0.9172 -> '91.7%'."""
    return f"{100 * x:.{digits}f}%"


def points(x: float, digits: int = 1) -> str:
    """A difference of two fractions in percentage points: 0.021 -> '2.1 points'."""
    return f"{100 * x:.{digits}f} points"


def num(x: float, digits: int = 4) -> str:
    """A float with ``digits`` decimals; integers without."""
    return str(x) if isinstance(x, int) else f"{x:.{digits}f}"


def sci(x: float, digits: int = 1) -> str:
    """A tiny error in scientific notation: 2.3e-16."""
    return f"{x:.{digits}e}"


def seconds(x: float) -> str:
    """A duration: '12.3 s' or '4 min 05 s'."""
    return f"{x:.1f} s" if x < 120 else f"{int(x // 60)} min {int(x % 60):02d} s"


def _cell(v, spec: str) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    if isinstance(v, bool) or not isinstance(v, numbers.Real):
        return str(v)  # text, flags
    if isinstance(v, numbers.Integral) and not spec.endswith("e"):
        return str(v)  # counts stay whole
    return format(v, spec)


def markdown_table(df: pd.DataFrame | None, digits: int = 4,
                   sci: tuple[str, ...] = ()):
    """A DataFrame as a Markdown table (renders in HTML and in the PDF).

    Floats get ``digits`` decimals; the columns named in ``sci`` are written in
    scientific notation (``digits`` significant decimals), for tiny errors.
    Missing values (None, NaN) are left blank. Numbers are formatted here, not
    by tabulate, which would read "1.2e-12" back as a number and round it to 0.
    A table of something not recorded (None) is a one-line note instead.
    """
    import pandas as pd
    from IPython.display import Markdown

    if df is None:
        return Markdown("*Not recorded.*")
    cells = {c: [_cell(v, f".{digits}{'e' if c in sci else 'f'}") for v in df[c]]
             for c in df.columns}
    numeric = [pd.api.types.is_numeric_dtype(df[c]) and not
               pd.api.types.is_bool_dtype(df[c]) for c in df.columns]
    align = ["left"] + ["right" if n else "left" for n in numeric]
    out = pd.DataFrame(cells, index=df.index)
    return Markdown(out.to_markdown(disable_numparse=True, colalign=align))


def config_toml(cfg: Config):
    """The config as a TOML code block (what a config file would contain)."""
    from IPython.display import Markdown

    def value(v) -> str:
        return json.dumps(list(v) if isinstance(v, tuple) else v)

    d = cfg.to_dict()
    d["data_dir"] = shown_place(d["data_dir"])  # never this machine's layout
    settings = d.pop("settings")
    lines = [f"{k} = {value(v)}" for k, v in d.items()]
    for s in settings:
        lines += ["", "[[settings]]"] + [f"{k} = {value(v)}" for k, v in s.items()]
    return Markdown("```toml\n" + "\n".join(lines) + "\n```")

"""Numbers and tables as the book prints them (plain text; no torch).

Everything here returns plain text, except the two functions that return
Markdown blocks for a cell's output: inline values must not carry Markdown,
because Quarto shows it escaped. pandas is imported by the one function that
needs it: a chapter that only writes sentences does not pay for it.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from typing import TYPE_CHECKING

from ..config import Config, model_name, to_toml
from .places import shown_place

if TYPE_CHECKING:
    import pandas as pd


MINUS = "\u2212"  # a true minus sign: "-0.5" in prose reads as a hyphen
WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight",
         "nine", "ten")


def percent_digits(x: float) -> int:
    """Decimals of ``x`` (a fraction) in percent: one, or two where the percent
    has exactly two (0.9165 is 91.65%: one decimal would round a tie, and the
    float 91.65 rounds down to "91.6")."""
    v = 100 * x
    exact2 = abs(round(v, 2) - v) < 1e-9
    return 2 if exact2 and abs(round(v, 1) - v) > 1e-9 else 1


def pct(x: float, digits: int | None = None) -> str:
    """0.918 -> '91.8%', 0.9165 -> '91.65%' (:func:`percent_digits`)."""
    d = percent_digits(x) if digits is None else digits
    return f"{100 * x:.{d}f}%"


def signed(x: float, digits: int = 1) -> str:
    """+1.7 or −0.5 (a true minus sign), for differences in prose."""
    text = f"{x:+.{digits}f}"
    return text.replace("-", MINUS)


def decimal(x: float, digits: int = 1) -> str:
    """A number in prose, with a true minus sign: -8.3 -> '−8.3'."""
    return f"{x:.{digits}f}".replace("-", MINUS)


def points(x: float, digits: int = 1, full: bool = True) -> str:
    """A difference of two fractions in percentage points: 0.021 -> '2.1
    percentage points' (``full``), or '2.1 points' once a sentence has said
    which points."""
    return f"{100 * x:.{digits}f} {'percentage points' if full else 'points'}"


def count(n: int) -> str:
    """A count in prose: words up to ten ("five"), digits with thousands
    separators above ("1,000")."""
    return WORDS[n] if 0 <= n < len(WORDS) else f"{n:,}"


def capital(text: str) -> str:
    """``text`` with its first letter capitalized (a sentence's start)."""
    return text[:1].upper() + text[1:]


def size(s: int) -> str:
    """An image size: 16 -> '16×16'."""
    return f"{s}\u00d7{s}"


def num(x: float, digits: int = 4) -> str:
    """A float with ``digits`` decimals; integers without."""
    return str(x) if isinstance(x, int) else f"{x:.{digits}f}"


def sci(x: float, digits: int = 1) -> str:
    """A tiny error in scientific notation, as tables print it: 2.3e-16."""
    return f"{x:.{digits}e}"


SUPERSCRIPT = str.maketrans("0123456789-", "\u2070\u00b9\u00b2\u00b3\u2074"
                            "\u2075\u2076\u2077\u2078\u2079\u207b")


def power(x: float, digits: int = 1) -> str:
    """A tiny number as prose and tables print it: 1.1×10⁻⁶ (no spaces, so a
    line never breaks inside it); an exact power of ten as 10⁻⁵; zero as 0."""
    if x == 0:
        return "0"
    mantissa, exponent = f"{x:.{digits}e}".split("e")
    tens = "10" + str(int(exponent)).translate(SUPERSCRIPT)
    if float(mantissa) == 1:
        return tens
    return f"{mantissa}\u00d7{tens}".replace("-", MINUS)


def seconds(x: float) -> str:
    """A duration: '12.3 s' or '4 min 05 s'."""
    return f"{x:.1f} s" if x < 120 else f"{int(x // 60)} min {int(x % 60):02d} s"


def row_name(i: int) -> str:
    """Setting ``i``'s name in a table row, "Model 1", with a no-break space:
    a narrow first column must not wrap it (HTML and Typst both keep U+00A0)."""
    return model_name(i).replace(" ", "\u00a0")


def percent_decimals(values) -> int:
    """Decimals for a column of percentages: 1, or 2 where the difference
    matters, that is where two different values would print alike with 1
    (e.g. 91.24 and 91.18 both as 91.2)."""
    finite = {float(v) for v in values if _number(v) and math.isfinite(v)}
    return 1 if len({f"{v:.1f}" for v in finite}) == len(finite) else 2


def exact_decimals(values, digits: int) -> int:
    """The fewest decimals, at most ``digits``, that write every value of a
    column exactly (hyper-parameters: 0.01 and 0.85 as 0.01 and 0.85, not
    0.0100); ``digits`` where none do (measured values)."""
    finite = [float(v) for v in values if _number(v) and math.isfinite(v)]
    return next((d for d in range(digits + 1)
                 if all(round(v, d) == v for v in finite)), digits)


# Hyper-parameters are chosen, not measured: they are written as chosen.
SETTING_HEADERS = {"lr": "learning rate", "momentum": "momentum",
                   "weight_decay": "weight decay"}


def column_decimals(header: str, values, digits: int) -> int:
    """Decimals of a table column, read from its header: percent ("(%)") by
    :func:`percent_decimals`, seconds ("(s)") at most 1 (timings vary by more
    than that), hyper-parameters (:data:`SETTING_HEADERS`) by
    :func:`exact_decimals`, any other (measured) value ``digits``."""
    if header.endswith("(%)"):
        return percent_decimals(values)
    if header.endswith("(s)"):
        return min(digits, 1)
    if header in SETTING_HEADERS.values():
        return exact_decimals(values, digits)
    return digits


def _number(v) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


def _cell(v, spec: str) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    if isinstance(v, bool):
        return "yes" if v else "no"  # flags, for people
    if not isinstance(v, numbers.Real):
        return str(v)  # text
    if isinstance(v, numbers.Integral) and not spec.endswith("e"):
        return str(v)  # counts stay whole
    if spec.endswith("e"):
        return power(v, int(spec[1:-1]))  # 1.2×10⁻¹², as the prose writes it
    return format(v, spec)


def markdown_table(df: pd.DataFrame | None, digits: int = 4,
                   sci: tuple[str, ...] = (), exact: tuple[str, ...] = (),
                   right: tuple[str, ...] = ()):
    """A DataFrame as a Markdown table (renders in HTML and in the PDF).

    Floats get ``digits`` decimals, or as many as the column's header asks
    (:func:`column_decimals`: percent, seconds, hyper-parameters as chosen);
    the columns named in ``sci`` are written as powers of ten, as
    :func:`power` writes them (``digits`` decimals), for tiny errors; those in ``exact``
    (published figures) with the fewest decimals, up to 6, that write them
    exactly. Flags read "yes" and "no". Missing values (None, NaN) are left
    blank. Columns of numbers, and those named in ``right`` (text that
    holds numbers, such as "88.8 (88.5)"), are aligned right. Numbers are
    formatted here, not by tabulate, which would read
    "1.2e-12" back as a number and round it to 0. A table of something not
    recorded (None) is a one-line note instead.
    """
    import pandas as pd
    from IPython.display import Markdown

    if df is None:
        return Markdown("*Not recorded.*")

    def spec(c) -> str:
        if c in sci:
            return f".{digits}e"
        if c in exact:
            return f".{exact_decimals(df[c], 6)}f"
        return f".{column_decimals(str(c), df[c], digits)}f"
    cells = {c: [_cell(v, spec(c)) for v in df[c]] for c in df.columns}
    numeric = [c in right or pd.api.types.is_numeric_dtype(df[c]) and not
               pd.api.types.is_bool_dtype(df[c]) for c in df.columns]
    align = ["left"] + ["right" if n else "left" for n in numeric]
    out = pd.DataFrame(cells, index=df.index)
    return Markdown(out.to_markdown(disable_numparse=True, colalign=align))


def config_toml(cfg: Config):
    """The config as a TOML code block (what a config file would contain)."""
    from IPython.display import Markdown

    shown = dataclasses.replace(cfg, data_dir=shown_place(cfg.data_dir))
    return Markdown("```toml\n" + to_toml(shown) + "```")  # never this machine's

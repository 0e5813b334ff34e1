"""What the validation split can tell apart: standard errors and the paired
comparison of two settings scored on the same images (no torch).

One accuracy p measured on n images has the binomial standard error
sqrt(p (1 - p) / n). Two settings scored on the SAME n validation images are
compared image by image: with b the images that setting i gets right and j
wrong, and c the reverse, their difference is d = (b - c) / n, and the
per-image differences (+1, -1 or 0) give it the paired standard error

    se = sqrt(b + c - (b - c)^2 / n) / n,

much smaller than that of two independent accuracies, since the settings
share most of their right answers. Whether d is real is decided by
McNemar's exact test: were both settings equally accurate, each of the b + c
images that split them would fall to either side with probability 1/2, and
p is the probability of a split at least as unequal (two-sided binomial);
d is real when p < ALPHA. The exact test, not "d > 2 se", because b + c can
be a handful of images (then the normal approximation behind 2 se fails:
b = 0, c = 5 exceeds 2 se, yet happens with p = 0.06).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..config import model_name
from ..results import Results
from .fmt import count, pct, points

Z = 2.0  # standard errors: the noise of a different split (book.compare)
ALPHA = 0.05  # a paired difference is real when McNemar's exact p is below it


def standard_error(p: float, n: int) -> float:
    """Binomial standard error of an accuracy ``p`` measured on ``n`` images."""
    return math.sqrt(p * (1 - p) / n) if n else math.nan


def independent_se(p: float, q: float, n: int, m: int | None = None) -> float:
    """Standard error of p - q for accuracies measured on two independent sets
    of ``n`` and ``m`` (default ``n``) images: the noise of a different split."""
    return math.hypot(standard_error(p, n), standard_error(q, m or n))


@dataclass(frozen=True)
class Paired:
    """Setting ``i`` against setting ``j`` on the same ``n`` validation images:
    ``b`` right only for i, ``c`` right only for j."""

    i: int
    j: int
    b: int
    c: int
    n: int

    @property
    def difference(self) -> float:
        """Validation accuracy of i minus that of j: (b - c) / n."""
        return (self.b - self.c) / self.n

    @property
    def se(self) -> float:
        """Paired standard error of the difference, sqrt(b + c - (b-c)^2/n) / n."""
        b, c, n = self.b, self.c, self.n
        return math.sqrt(max(b + c - (b - c) ** 2 / n, 0.0)) / n

    @property
    def p_value(self) -> float:
        """McNemar's exact test: the two-sided binomial probability, at 1/2
        per image, of a split of the b + c images at least as unequal."""
        m, k = self.b + self.c, min(self.b, self.c)
        if m == 0:
            return 1.0
        tail = sum(math.comb(m, j) for j in range(k + 1)) / 2 ** m
        return min(1.0, 2 * tail)

    @property
    def real(self) -> bool:
        """Whether McNemar's exact test finds the difference (p < ALPHA)."""
        return self.p_value < ALPHA


def paired(res: Results, i: int, j: int) -> Paired | None:
    """Settings ``i`` and ``j`` compared image by image, or None where either
    lacks its per-image validation record (``val_correct``)."""
    a, b = res.settings[i].val_correct, res.settings[j].val_correct
    n = res.data.n_val
    if not n or len(a) != n or len(b) != n:
        return None
    only_i = sum(x and not y for x, y in zip(a, b))
    only_j = sum(y and not x for x, y in zip(a, b))
    return Paired(i, j, only_i, only_j, n)


def ranked(res: Results) -> list[int]:
    """Settings that did not diverge, by validation accuracy, best first (the
    first on ties)."""
    ok = [i for i, s in enumerate(res.settings) if not s.diverged]
    return sorted(ok, key=lambda i: (-res.settings[i].val_acc, i))


# The math italic p of the prose's $p$, in plain text (an inline value cannot
# carry math; nor a no-break space, which Quarto would show as \xa0).
P = "\U0001d45d"


def p_words(p: float) -> str:
    """'𝑝 = 0.072', '𝑝 = 0.13', '𝑝 < 0.001' (two significant digits)."""
    if p < 0.001:
        return f"{P} < 0.001"
    return f"{P} = {p:.2g}" if p < 0.1 else f"{P} = {p:.2f}"


def separable(res: Results) -> bool | None:
    """Whether the best setting's lead over the runner-up is real (McNemar;
    None: fewer than two settings, or no per-image record)."""
    top = ranked(res)
    if len(top) < 2:
        return None
    p = paired(res, top[0], top[1])
    return None if p is None else p.real


def se_sentence(res: Results) -> str:
    """The standard error of the best validation accuracy at this size."""
    top, n = ranked(res), res.data.n_val
    if not top:
        return "every setting diverged, so no accuracy was measured."
    p = res.settings[top[0]].val_acc
    return (f"{points(standard_error(p, n))} for {pct(p)} on {count(n)} "
            "validation images.")


def lead_sentence(res: Results) -> str:
    """Whether the two best settings differ beyond chance (McNemar)."""
    top = ranked(res)
    if len(top) < 2:
        return "Fewer than two settings were trained to the end, so none leads."
    p = paired(res, top[0], top[1])
    if p is None:
        return "The per-image validation results were not recorded."
    a, b = model_name(top[0]), model_name(top[1])
    head = (f"{a} leads {b} by {points(p.difference)}, with a paired standard "
            f"error of {points(p.se, full=False)}: {count(p.b)} validation images "
            f"are right only for {a} and {count(p.c)} only for {b}, and McNemar's "
            f"test gives {p_words(p.p_value)}")
    if p.real:
        return head + ", so the lead is unlikely to be chance."
    return head + (": this validation split cannot tell the two apart, and either "
                   "would be a fair choice.")

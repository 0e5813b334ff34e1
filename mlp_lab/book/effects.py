"""Answer (g)'s comments, decided by the numbers: what each factor did, what
the validation split can tell apart, why the selected setting won.

A factor's effect is read only between two converged settings that differ in
it alone (:func:`pairs_differing_only_in`), pair by pair: an average over pairs
would hide a pair that disagrees. Whether two validation accuracies differ
beyond chance is judged with the binomial standard error of an accuracy p
measured on n images, sqrt(p (1 - p) / n), and the rule stated in
:func:`noise_sentence`.
"""

from __future__ import annotations

import math

from ..config import model_name
from ..results import Results

FACTORS = ("lr", "momentum", "weight_decay")  # what a setting chooses
NAMES = {"lr": "the learning rate", "momentum": "momentum",
         "weight_decay": "weight decay"}
Z = 2.0  # a difference counts when it exceeds Z standard errors of a difference


def varies(res: Results, factor: str) -> bool:
    """Whether the converged settings differ in ``factor`` (one of FACTORS):
    a factor they share cannot explain a difference between them."""
    return len({getattr(s, factor) for s in res.settings if not s.diverged}) > 1


def pairs_differing_only_in(res: Results, factor: str) -> list[tuple[int, int]]:
    """(without, with) pairs of converged settings, ``factor`` 0 in the first
    and > 0 in the second, equal in every other factor: the only comparisons
    that show the effect of ``factor`` alone."""
    s = res.settings
    ok = [i for i, r in enumerate(s) if not r.diverged]

    def others(i):
        return [getattr(s[i], k) for k in FACTORS if k != factor]
    return [(i, j) for i in ok for j in ok if others(i) == others(j)
            and getattr(s[i], factor) == 0 < getattr(s[j], factor)]


def effects(res: Results, factor: str) -> list[tuple[int, int, float]]:
    """(without, with, validation accuracy with - without) for each pair that
    differs in ``factor`` alone."""
    s = res.settings
    return [(i, j, s[j].val_acc - s[i].val_acc)
            for i, j in pairs_differing_only_in(res, factor)]


def _pair(i: int, j: int, d: float) -> str:
    return f"{100 * d:+.1f} points from {model_name(i)} to {model_name(j)}"


def effect_sentence(res: Results, factor: str) -> str:
    """The validation-accuracy change that ``factor`` made in each pair that
    differs in it alone, saying so when the pairs disagree in sign."""
    name = NAMES[factor]
    found = effects(res, factor)
    if not found:
        return f"No two settings differ in {name} alone, so its effect is not shown."
    each = "; ".join(_pair(*e) for e in found)
    signs = {math.copysign(1, d) for *_, d in found if d != 0}
    if len(signs) > 1:
        return (f"Between settings that differ in {name} alone, its effect on the "
                f"validation accuracy changes sign ({each}): it depends on the "
                "other factors, and no single direction can be claimed.")
    verb = ("left the validation accuracy unchanged" if not signs else
            "raised the validation accuracy" if signs == {1} else
            "lowered the validation accuracy")
    return (f"Between settings that differ in {name} alone, it {verb} in "
            f"{'the one pair' if len(found) == 1 else f'all {len(found)} pairs'} "
            f"({each}).")


def standard_error(p: float, n: int) -> float:
    """Binomial standard error of an accuracy ``p`` measured on ``n`` images."""
    return math.sqrt(p * (1 - p) / n) if n else math.nan


def ranked(res: Results) -> list[int]:
    """Converged settings by validation accuracy, best first (first on ties)."""
    ok = [i for i, s in enumerate(res.settings) if not s.diverged]
    return sorted(ok, key=lambda i: (-res.settings[i].val_acc, i))


def separable(res: Results) -> bool | None:
    """Whether the best setting's validation accuracy exceeds the runner-up's
    by more than Z standard errors of their difference (None: fewer than two)."""
    top = ranked(res)
    if len(top) < 2:
        return None
    a, b = (res.settings[i].val_acc for i in top[:2])
    n = res.data.n_val
    return a - b > Z * math.hypot(standard_error(a, n), standard_error(b, n))


def noise_sentence(res: Results) -> str:
    """The standard error at this validation size and whether the two best
    settings differ by more than Z standard errors of a difference."""
    top, n = ranked(res), res.data.n_val
    if len(top) < 2:
        return "Fewer than two settings converged, so there is nothing to separate."
    a, b = (res.settings[i] for i in top[:2])
    se = standard_error(a.val_acc, n)
    se_d = math.hypot(se, standard_error(b.val_acc, n))
    head = (f"On {n} validation images, an accuracy near {100 * a.val_acc:.1f}% has "
            f"a standard error of {100 * se:.1f} points (sqrt(p(1 - p)/n)); "
            f"{model_name(top[0])} leads {model_name(top[1])} by "
            f"{100 * (a.val_acc - b.val_acc):.1f} points, ")
    if separable(res):
        return head + (f"more than {Z:g} standard errors of a difference "
                       f"({100 * Z * se_d:.1f} points), so the lead is unlikely "
                       "to be chance.")
    return head + (f"within {Z:g} standard errors of a difference "
                   f"({100 * Z * se_d:.1f} points): this validation split cannot "
                   "tell the two apart, and either would be a fair choice.")


def why_selected_sentence(res: Results) -> str:
    """Why the selected setting won: the rule, its margin, and the factors it
    combines that helped in every pair that isolates them."""
    if res.best is None:
        return "No setting converged, so none was selected."
    i, s = res.best.index, res.settings[res.best.index]
    helped = [NAMES[f] for f in ("momentum", "weight_decay") if getattr(s, f) > 0
              and (found := effects(res, f)) and all(d > 0 for *_, d in found)]
    top = ranked(res)
    margin = (f", {100 * (s.val_acc - res.settings[top[1]].val_acc):.1f} points "
              f"above {model_name(top[1])}" if len(top) > 1 else "")
    reason = (f"; it has {' and '.join(helped)}, which raised the validation "
              "accuracy in every pair that isolates "
              f"{'it' if len(helped) == 1 else 'them'}" if helped else "")
    return (f"{model_name(i)} was selected because its validation accuracy, "
            f"{100 * s.val_acc:.1f}%, is the highest{margin}{reason}.")


def effective_step(lr: float, momentum: float) -> float:
    """The step along a constant gradient once momentum has built up:
    lr / (1 - momentum)."""
    return lr / (1 - momentum)


def steps_sentence(res: Results, i: int) -> str:
    """Setting ``i``'s effective step beside the other converged settings'."""
    s = res.settings
    own = effective_step(s[i].lr, s[i].momentum)
    others: dict[float, list[str]] = {}
    for k, r in enumerate(s):
        if k != i and not r.diverged:
            others.setdefault(effective_step(r.lr, r.momentum), []).append(
                model_name(k))
    rest = ", ".join(f"{v:.3g} for {' and '.join(m)}"
                     for v, m in sorted(others.items(), reverse=True))
    return (f"its effective step lr/(1 - momentum) is {own:.3g}"
            + (f", against {rest}" if rest else ""))

"""Answer (g)'s comments on the factors, decided by the numbers: what each
factor did, why the selected setting won, the effective step.

A factor's effect is read only between two settings (neither diverged) that
differ in it alone (:func:`pairs_differing_only_in`), pair by pair: an average
over pairs would hide a pair that disagrees. Each pair's change is weighed
against chance with McNemar's exact test (:mod:`~.noise`): both settings
are scored on the same validation images.
"""

from __future__ import annotations

import math

from ..config import model_name
from ..results import Results
from .fmt import count, pct, points, signed
from .noise import p_words, paired, ranked

FACTORS = ("lr", "momentum", "weight_decay")  # what a setting chooses
NAMES = {"lr": "the learning rate", "momentum": "momentum",
         "weight_decay": "weight decay"}


def varies(res: Results, factor: str) -> bool:
    """Whether the settings that did not diverge differ in ``factor`` (one of
    FACTORS): a factor they share cannot explain a difference between them."""
    return len({getattr(s, factor) for s in res.settings if not s.diverged}) > 1


def pairs_differing_only_in(res: Results, factor: str) -> list[tuple[int, int]]:
    """(without, with) pairs of settings that did not diverge, ``factor`` 0 in
    the first and > 0 in the second, equal in every other factor: the only
    comparisons that show the effect of ``factor`` alone."""
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


def models(indices) -> str:
    """'Model 3', 'Models 3 and 4', 'Models 1, 2 and 5'; three or more in a
    row as a range, 'Models 1 to 4'."""
    nums = [int(model_name(i).split()[-1]) for i in indices]
    if len(nums) == 1:
        return f"Model {nums[0]}"
    if len(nums) > 2 and nums == list(range(nums[0], nums[-1] + 1)):
        return f"Models {nums[0]} to {nums[-1]}"
    return f"Models {', '.join(map(str, nums[:-1]))} and {nums[-1]}"


def _pair(res: Results, i: int, j: int, d: float, first: bool) -> str:
    """'+1.7 percentage points from Model 1 to Model 3 (60 images right only
    for Model 3, 43 only for Model 1; p = 0.11)'; after the first pair, '+3.5
    from Model 2 to Model 4 (50 against 15; p < 0.001)'."""
    p = paired(res, j, i)
    unit = " percentage points" if first else ""
    counts = (f"{p.b} images right only for {model_name(j)}, {p.c} only for "
              f"{model_name(i)}" if first else f"{p.b} against {p.c}") if p else ""
    test = f" ({counts}; {p_words(p.p_value)})" if p else ""
    return f"{signed(100 * d)}{unit} from {model_name(i)} to {model_name(j)}{test}"


def _verdict(res: Results, found: list[tuple[int, int, float]]) -> tuple[str, bool]:
    """Which of the pairs' changes are real (McNemar), in words, and whether
    any is."""
    real = [(i, j) for i, j, _ in found
            if (p := paired(res, j, i)) is not None and p.real]
    if any(paired(res, j, i) is None for i, j, _ in found):
        return "", bool(real)
    if len(real) == len(found):
        return ("the change is beyond chance" if len(found) == 1 else
                "each change is beyond chance"), True
    if not real:
        return ("the change may be chance" if len(found) == 1 else
                "either change may be chance" if len(found) == 2 else
                "each change may be chance"), False
    named = " and ".join(f"from {model_name(i)} to {model_name(j)}" for i, j in real)
    return f"only the change {named} is beyond chance", True


def effect_sentence(res: Results, factor: str) -> str:
    """The validation-accuracy change that ``factor`` made in each pair that
    differs in it alone, each weighed against chance
    (McNemar, :mod:`~.noise`), saying so when the pairs disagree in sign."""
    name = NAMES[factor]
    found = effects(res, factor)
    if not found:
        return f"No two settings differ in {name} alone, so its effect is not shown."
    each = " and ".join(_pair(res, *e, first=k == 0) for k, e in enumerate(found))
    verdict, any_real = _verdict(res, found)
    signs = {math.copysign(1, d) for *_, d in found if d != 0}
    if len(signs) > 1:
        end = (f"; {verdict}, so its effect depends on the other factors" if any_real
               else f"; {verdict}, so no effect of {name} can be claimed")
        return (f"Between settings that differ in {name} alone, its effect on the "
                f"validation accuracy changes sign: {each}{end if verdict else ''}.")
    verb = ("left the validation accuracy unchanged" if not signs else
            "raised the validation accuracy" if signs == {1} else
            "lowered the validation accuracy")
    where = ("the one pair" if len(found) == 1 else "both pairs" if len(found) == 2
             else f"all {count(len(found))} pairs")
    return (f"Between settings that differ in {name} alone, it {verb} in {where}: "
            f"{each}{f'; {verdict}' if verdict else ''}.")


def _each_pair(res: Results, factor: str) -> str:
    """'both pairs that isolate it (beyond chance in one)': the pairs of
    ``factor`` and how many of their changes McNemar's test finds real."""
    found = effects(res, factor)
    tests = [paired(res, j, i) for i, j, _ in found]
    where = ("the one pair that isolates it" if len(found) == 1 else
             "both pairs that isolate it" if len(found) == 2 else
             f"all {count(len(found))} pairs that isolate it")
    if any(t is None for t in tests):
        return where
    real = sum(t.real for t in tests)
    chance = ("beyond chance" if real == len(found) else "within chance" if not real
              else f"beyond chance in {count(real)}")
    return f"{where} ({chance})"


def why_selected_sentence(res: Results) -> str:
    """Why the selected setting won: the rule, its margin, and the factors it
    uses that raised the validation accuracy in every pair isolating them."""
    if res.best is None:
        return "Every setting diverged, so none was selected."
    i, s = res.best.index, res.settings[res.best.index]
    helped = [f for f in ("momentum", "weight_decay") if getattr(s, f) > 0
              and (found := effects(res, f)) and all(d > 0 for *_, d in found)]
    top = ranked(res)
    margin = (f", {points(s.val_acc - res.settings[top[1]].val_acc)} above "
              f"{model_name(top[1])}" if len(top) > 1 else "")
    reason = "".join(f"; it uses {NAMES[f]}, which raised the validation accuracy "
                     f"in {_each_pair(res, f)}" for f in helped)
    return (f"{model_name(i)} has the highest validation accuracy, "
            f"{pct(s.val_acc)}{margin}{reason}.")


def effective_step(lr: float, momentum: float) -> float:
    """The step along a constant gradient once momentum has built up:
    lr / (1 - momentum)."""
    return lr / (1 - momentum)


def steps_phrase(res: Results, i: int) -> str:
    """Setting ``i``'s effective step beside the other settings' (those that
    did not diverge): '0.333 for Model 5, against 0.0667 for Models 3 and 4
    and 0.01 for Models 1 and 2'."""
    s = res.settings
    others: dict[float, list[int]] = {}
    for k, r in enumerate(s):
        if k != i and not r.diverged:
            others.setdefault(effective_step(r.lr, r.momentum), []).append(k)
    rest = " and ".join(f"{v:.3g} for {models(m)}"
                        for v, m in sorted(others.items(), reverse=True))
    own = effective_step(s[i].lr, s[i].momentum)
    return f"{own:.3g} for {model_name(i)}" + (f", against {rest}" if rest else "")

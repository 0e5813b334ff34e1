"""This render against its reference (:mod:`~.original`): where they depart,
by how much, against what chance explains, and the likely reasons; and the
selected model's test against the reference's (no torch).

Accuracies measured on different images differ by chance: two accuracies p
and q on different sets of n images have the standard error
sqrt(p(1-p)/n + q(1-q)/n) of their difference (:func:`~.noise.independent_se`),
and a departure counts when it exceeds Z = 2 of them plus half the
reference's rounding. A different split changes the validation images, so
validation accuracies within that are explained by the split alone. Final
losses have no such model; a loss counts as departing when one is more than
:data:`LOSS_FACTOR` times the other.
"""

from __future__ import annotations

import math

from ..config import model_name
from ..results import Results
from .datatext import is_jpeg
from .effects import effective_step, models
from .fmt import capital, count, num, pct, points, signed
from .narrative import findings, setting_words
from .noise import Z, independent_se
from .original import (REFERENCES, Reference, setting_key, differences, loss_decimals,
                       reference_for, task_words)

LOSS_FACTOR = 1.5  # a final loss this many times the other's departs


def both(res: Results, ref: Reference, field: str) -> list[tuple[int, float, float]]:
    """(setting, this render's value, the reference's) of ``field`` for the
    settings both trained, that did not diverge here and whose value the
    reference gives."""
    theirs = {setting_key(s): k for k, s in enumerate(ref.config.settings)}
    return [(i, getattr(s, field), getattr(ref, field)[theirs[setting_key(s)]])
            for i, s in enumerate(res.settings)
            if setting_key(s) in theirs and not s.diverged
            and math.isfinite(getattr(ref, field)[theirs[setting_key(s)]])]


def threshold(ours: float, theirs: float, n: int, ref: Reference) -> float:
    """What a departure of two accuracies on different sets of ``n`` images
    must exceed: Z standard errors, plus half the reference's rounding."""
    return Z * independent_se(ours, theirs, n) + ref.precision / 2


def departing(res: Results, ref: Reference, field: str, n: int
              ) -> list[tuple[int, float, float]]:
    """(setting, ours - theirs, threshold) of ``field`` (an accuracy on ``n``
    images), for every setting both give."""
    return [(i, o - t, threshold(o, t, n, ref)) for i, o, t in both(res, ref, field)]


def _accuracy_sentence(rows, what: str, n: int, ref: Reference) -> str:
    rounding = (f" (plus half its rounding step of {ref.precision:g})"
                if ref.precision > 0 else "")
    noise = (f"twice the standard error of two accuracies measured on different "
             f"sets of {count(n)} images{rounding}")
    far = [(i, d, t) for i, d, t in rows if abs(d) > t]
    if not far:
        worst = max(rows, key=lambda r: abs(r[1]))
        return (f"our {what} accuracies differ from it by at most "
                f"{points(abs(worst[1]))} ({model_name(worst[0])}), each within "
                f"{noise}, which a different split alone can produce")
    near = [i for i, d, t in rows if abs(d) <= t]
    limits = [f"{100 * t:.1f}" for *_, t in far]
    span = (f"a limit of {limits[0]}" if len(far) == 1 else
            f"limits of {', '.join(limits[:-1])} and {limits[-1]}")
    return (f"our {what} accuracies depart from it by more than {noise} in "
            f"{models([i for i, *_ in far])} "
            f"({', '.join(signed(100 * d) for _, d, _ in far)} percentage points, "
            f"against {span} points)"
            + (f", and stay within it in {models(near)}" if near else ""))


def _loss_sentence(res: Results, ref: Reference) -> tuple[str, list[int]]:
    """The final losses against the reference's, and the settings whose loss
    departs by more than LOSS_FACTOR."""
    given = both(res, ref, "final_loss")
    if not given:
        return "", []
    d = loss_decimals(ref)
    far = [i for i, o, t in given if max(o / t, t / o) > LOSS_FACTOR]
    if all(math.isfinite(v) for v in ref.final_loss):
        ratios = [o / t for _, o, t in given]
        low_ref = min(given, key=lambda g: g[2])[0]
        low_ours = min(given, key=lambda g: g[1])[0]
        lowest = (f"the lowest is that of {model_name(low_ours)} in both"
                  if low_ref == low_ours else f"its lowest is that of "
                  f"{model_name(low_ref)}, ours that of {model_name(low_ours)}")
        return (f"Our final losses are {min(ratios):.1f} to {max(ratios):.1f} "
                f"times its, and {lowest}."), far
    named = models([i for i, *_ in given])
    theirs = " and ".join(num(t, d) for *_, t in given)
    ours = " and ".join(num(o, d) for _, o, _ in given)
    head = (f"It gives a final loss only for {named}, {theirs}" if len(given) == 1
            else f"It gives final losses only for {named}, {theirs}")
    lowest_key = (setting_key(ref.config.settings[ref.lowest_loss])
                  if ref.lowest_loss is not None else None)
    lowest = [i for i, *_ in given if setting_key(res.settings[i]) == lowest_key]
    if not lowest:
        return f"{head}; ours {'is' if len(given) == 1 else 'are'} {ours}.", far
    i = lowest[0]
    o, t = res.settings[i].final_loss, next(t for k, _, t in given if k == i)
    factor = f"{o / t:.1f} times as high" if o > t else f"{t / o:.1f} times lower"
    lower = [k for k, s in enumerate(res.settings)
             if not s.diverged and s.final_loss < o]
    which = "" if len(given) == 1 else f" for {model_name(i)}"
    return (f"{head}, its lowest; ours {'is' if len(given) == 1 else 'are'} "
            f"{ours}, {factor}{which}"
            + (f", and {models(lower)} end lower here." if lower else
               ", the lowest here too.")), far


def _reasons(res: Results, ref: Reference, departed: list[int]) -> str:
    """Likely reasons for the departures, from what is known to differ."""
    out = []
    if is_jpeg(res.data):
        out.append("our images are a lossy JPEG copy, not the canonical files")
    out.append("our split of the training images need not be the reference's")
    other = differences(res.config, ref)
    if other:
        out.append(f"the training here differs from it in {', '.join(other)}")
    unstable = [i for i in findings(res).rises if i in departed]
    steps = {k: effective_step(s.lr, s.momentum) for k, s in enumerate(res.settings)
             if not s.diverged}
    largest = (" (with the largest effective step)" if len(unstable) == 1
               and steps[unstable[0]] == max(steps.values()) else "")
    if unstable:
        out.append(f"{models(unstable)}, whose training is unstable here{largest}, "
                   f"{'ends' if len(unstable) == 1 else 'end'} wherever "
                   "the last epoch falls in its swings, which decides the final "
                   "loss and training accuracy")
    return "Likely reasons: " + "; ".join(out) + "."


def departures_sentence(res: Results) -> str:
    """Where this render departs from its reference, beyond chance, in
    validation and training accuracy and in final loss, and why it may."""
    ref = reference_for(res.config)
    if ref is None:
        tasks = " and for ".join(task_words(r.config) for r in REFERENCES)
        return (f"Reference results exist for {tasks}; neither is the task here, "
                "so there is nothing to compare.")
    val = departing(res, ref, "val_acc", res.data.n_val)
    if not val:
        return (f"Of the settings here that did not diverge, {ref.short} trained "
                "none, so there is nothing to compare.")
    train = departing(res, ref, "train_acc", res.data.n_train)
    out = [f"Against {ref.short}, "
           f"{_accuracy_sentence(val, 'validation', res.data.n_val, ref)}."]
    if train:
        out.append(capital(_accuracy_sentence(train, "training",
                                              res.data.n_train, ref)) + ".")
    loss, loss_far = _loss_sentence(res, ref)
    out += [loss] if loss else []
    departed = sorted({i for i, d, t in val + train if abs(d) > t} | set(loss_far))
    other = differences(res.config, ref)
    if departed:
        out.append(_reasons(res, ref, departed))
    elif other:
        out.append(f"The training here differs from it in {', '.join(other)}, so "
                   "the comparison is only indicative.")
    alone = [i for i, s in enumerate(res.settings)
             if not s.diverged and i not in {r[0] for r in val}]
    if alone:
        out.append(f"{models(alone)} {'has' if len(alone) == 1 else 'have'} no "
                   "counterpart there.")
    mine = {setting_key(s) for s in res.settings}
    extra = [setting_words(s) for s in ref.config.settings if setting_key(s) not in mine]
    if extra:
        out.append(f"It also trained {count(len(extra))} setting"
                   f"{'s' if len(extra) > 1 else ''} not trained here "
                   f"({'; '.join(extra)}): the table lists "
                   f"{'them' if len(extra) > 1 else 'it'} as reference only.")
    return " ".join(out)


def test_sentence(res: Results) -> str:
    """The selected model's test accuracy, against the reference's test
    accuracy and confusion matrix where it gives them."""
    b = res.best
    if b is None:
        return "No model was selected, so none was tested."
    own = f"Its test accuracy is {pct(b.test_acc)}"
    ref = reference_for(res.config)
    if ref is None or ref.confusion is None or not math.isfinite(ref.test_acc):
        return own + (f"; {ref.short} gives no test results to compare with."
                      if ref else ".")
    (e0, e1), (f0, f1) = b.errors, (ref.confusion[0][1], ref.confusion[1][0])
    a, c = res.data.class_names
    return (f"{own}, against {pct(ref.test_acc)} for {ref.short}'s selected "
            f"model: ours took {count(e0)} {a} images for {c} and {count(e1)} {c} "
            f"images for {a}, {ref.short}'s {count(f0)} and {count(f1)}.")

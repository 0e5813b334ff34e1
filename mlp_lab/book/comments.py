"""Answers (d) and (g) on the training itself, decided by the numbers: how
far momentum lengthens a step, how momentum and weight decay moved the gap
between training and validation accuracy, where accuracy and loss disagree,
which training was unstable, and the roughest curve's effective step
lr/(1 - momentum) beside the others' (no torch).

Each function reads the :class:`~.narrative.Findings` of a record; the
factors' effects on the validation accuracy are :mod:`~.effects`'.
"""

from __future__ import annotations

from ..config import model_name
from ..results import Results
from . import compare, effects, noise
from .effects import effective_step, models, steps_phrase
from .fmt import count, decimal, pct
from .narrative import Findings, epoch_ranges
from .original import loss_text


def momentum_step_sentence(res: Results) -> str:
    """The step along a constant gradient, lr / (1 - mu), of the largest
    momentum used here, against the plain step lr at the same learning rate
    (to three significant digits, as Part B prints it)."""
    with_momentum = [s for s in res.settings if s.momentum > 0]
    if not with_momentum:
        return "No setting here used momentum."
    s = max(with_momentum, key=lambda r: (r.momentum, -r.lr))
    which = ("the momentum used here" if len({r.momentum for r in with_momentum})
             == 1 else "the largest momentum used here")
    return (f"At learning rate {s.lr:g}, {which}, {s.momentum:g}, makes the "
            f"effective step {effective_step(s.lr, s.momentum):.3g}, against "
            f"{s.lr:g} without momentum.")


def _gap_changes(res: Results, f: Findings, pairs) -> tuple[str, str]:
    """(verb for how the train-validation gap changed over ``pairs``, the
    changes 'from 0.9 to 6.0 and from 1.1 to 5.9 percentage points')."""
    moves = [(f.gap[i], f.gap[j]) for i, j in pairs]
    up = sum(b > a for a, b in moves)
    verb = ("widened" if up == len(moves) else "narrowed" if up == 0 else
            "moved in opposite directions")
    each = " and ".join(f"from {decimal(100 * a)} to {decimal(100 * b)}"
                        for a, b in moves)
    return verb, each + " percentage points"


def momentum_gap_sentence(res: Results, f: Findings) -> str:
    """How momentum changed the gap between training and validation accuracy."""
    if not f.momentum_pairs:
        return ""
    verb, each = _gap_changes(res, f, f.momentum_pairs)
    where = "both pairs" if len(f.momentum_pairs) == 2 else "the same pairs"
    return (f"It also {verb} the gap between training and validation accuracy in "
            f"{where}, {each}.")


def decay_gap_sentence(res: Results, f: Findings, barely: float = 0.005) -> str:
    """How weight decay changed the gap between training and validation
    accuracy, weighed against the smaller overfitting that regularization
    promises (answer (e)); a change below ``barely`` in every pair is 'barely'."""
    if not f.decay_pairs:
        return ""
    verb, each = _gap_changes(res, f, f.decay_pairs)
    if verb == "narrowed":
        return (f"It narrowed the gap between training and validation accuracy, "
                f"{each}, as (e) leads one to expect.")
    largest = max(abs(f.gap[j] - f.gap[i]) for i, j in f.decay_pairs)
    how = "barely changed" if largest < barely else "did not narrow"
    return (f"It {how} the gap between training and validation accuracy ({each}): "
            "at this strength and within these epochs, the smaller overfitting "
            "that (e) leads one to expect does not show.")


def fit_disagreement_sentence(res: Results, f: Findings) -> str:
    """A pair differing in weight decay alone where the decayed model has the
    higher training accuracy and yet the higher final loss (or the reverse)."""
    s = res.settings
    for i, j in f.decay_pairs:
        if (s[j].train_acc - s[i].train_acc) * (s[j].final_loss - s[i].final_loss) > 0:
            hi, lo = (j, i) if s[j].train_acc > s[i].train_acc else (i, j)
            return (f"{model_name(hi)} classifies more training images correctly "
                    f"than {model_name(lo)} ({pct(s[hi].train_acc)} against "
                    f"{pct(s[lo].train_acc)}) yet ends with the higher training "
                    f"loss ({loss_text(res, s[hi].final_loss)} against "
                    f"{loss_text(res, s[lo].final_loss)}"
                    "): the cross-entropy also penalizes right answers given "
                    "without confidence, and smaller weights likely make the "
                    "predictions less confident.")
    return ""


def still_falling_sentence(f: Findings) -> str:
    """Whether the weight-decayed settings' training loss still falls at the
    last epoch (then more epochs may change the verdict on weight decay)."""
    if not f.decay_still_falling:
        return ""
    return ("Their training loss is still falling at the last epoch, so longer "
            "training may show more of weight decay's effect.")


def stability_sentence(res: Results, f: Findings) -> str:
    """Which settings' training loss rose again late in training (unstable),
    and which curve is the roughest."""
    if f.noisiest is None:
        return "Every setting diverged."
    out = []
    for i, epochs in f.rises.items():
        losses = res.settings[i].train_loss_sgd
        low = min(range(len(losses)), key=losses.__getitem__)
        end = (f"ended at {loss_text(res, losses[-1])}, above its lowest value, "
               f"{loss_text(res, losses[low])} (epoch {low + 1})"
               if low < len(losses) - 1 else
               f"still ended at its lowest value, {loss_text(res, losses[-1])}")
        out.append(f"In the second half of training, the training loss of "
                   f"{model_name(i)} rose again in {epoch_ranges(epochs)} and {end}: "
                   "its training is unstable.")
    if not out:
        out.append("Every training loss fell at every epoch of the second half "
                   "of training.")
    rough = (f"Its curve is also the roughest of the {count(len(f.roughness))}."
             if list(f.rises) == [f.noisiest] else
             f"The roughest curve is that of {model_name(f.noisiest)}.")
    return " ".join(out + [rough])


def steps_sentence(res: Results, f: Findings) -> str:
    """The roughest curve's effective step lr/(1 - momentum) beside the
    others'; the step is named as a cause only where it is the largest and
    the settings differ in it."""
    if f.noisiest is None:
        return "not defined: every setting diverged."
    steps = {k: effective_step(s.lr, s.momentum) for k, s in enumerate(res.settings)
             if not s.diverged}
    head = steps_phrase(res, f.noisiest)
    if len(set(steps.values())) == 1:
        return head + (": every setting takes the same step, so the step size does "
                       "not explain the difference.")
    largest = max(steps.values())
    tied = [k for k, v in steps.items() if v == largest and k != f.noisiest]
    if steps[f.noisiest] == largest and not tied:
        return head + (": the roughest curve has the largest step, which "
                       "overshoots most.")
    if steps[f.noisiest] == largest:
        return head + (f": the roughest curve shares the largest step with "
                       f"{models(tied)}, so the step alone does not make it the "
                       "roughest.")
    return head + ": the largest step did not make the roughest curve here."


def depth_markdown(res: Results, f: Findings) -> str:
    """The book's answer (g) in more depth, as a Markdown list: the lead and
    each factor's pairs weighed by McNemar's exact test, the gap between
    training and validation accuracy, where loss and accuracy disagree,
    the roughest curve, and the departures from the reference."""

    items = [
        ("Is the lead real?", [noise.lead_sentence(res)]),
        ("Momentum", [effects.effect_sentence(res, "momentum"),
                      momentum_gap_sentence(res, f)]),
        ("Weight decay", [effects.effect_sentence(res, "weight_decay"),
                          decay_gap_sentence(res, f),
                          fit_disagreement_sentence(res, f),
                          still_falling_sentence(f)]),
        ("Training stability", [stability_sentence(res, f),
                                "The effective step along a steady gradient, "
                                "\u03b7/(1 \u2212 \u03bc), is "
                                + steps_sentence(res, f)]),
        ("Against the reference", [compare.departures_sentence(res)])]
    return "\n".join(f"- **{title}.** " + " ".join(t for t in texts if t)
                      for title, texts in items if any(texts)) + "\n"

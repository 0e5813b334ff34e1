"""Statements of the report that depend on the outcome, decided by the numbers.

Every sentence here is chosen by computed values (which model is best,
whether momentum widened the gap, whether a loss curve rose again...), so the
prose stays true when the data or the config change. The chapters call these
functions instead of writing if/else in their inline expressions. Sentences
are plain text: Quarto shows an inline value's Markdown escaped. The checks'
sentences are in :mod:`~.checktext`, the data's in :mod:`~.datatext`, the
factors' in :mod:`~.effects`, answer (g)'s comments on the training in
:mod:`~.comments`, the comparison with a reference in :mod:`~.compare`.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

from ..config import model_name
from ..results import Results
from .effects import models, pairs_differing_only_in
from .fmt import count, pct
from .original import loss_text

# ------------------------------------------------------------ loss curves


def roughness(losses: list[float]) -> float:
    """Noise of a loss curve: mean |second difference| relative to the mean loss.

    A smooth, convex decrease gives a small value; epochs where the loss jumps
    up and down give a large one.
    """
    if len(losses) < 3:
        return 0.0
    second = [losses[i + 1] - 2 * losses[i] + losses[i - 1]
              for i in range(1, len(losses) - 1)]
    return statistics.fmean(abs(d) for d in second) / statistics.fmean(losses)


def still_falling(losses: list[float], tail: float = 0.1,
                  threshold: float = 0.01) -> bool:
    """Whether a loss curve still falls at its end: by more than ``threshold``
    (relative) over its last ``tail`` of epochs (at least one), i.e. longer
    training would still change the model."""
    k = max(1, round(tail * len(losses)))
    if len(losses) <= k:
        return True  # too short to have levelled off
    before, last = losses[-1 - k], losses[-1]
    return (before - last) / before > threshold


def late_rises(losses: list[float], start: float = 0.5) -> list[int]:
    """The epochs (1-based) of the last ``1 - start`` of training in which the
    mean training loss rose above the previous epoch's: a curve that should
    fall goes back up, a sign of unstable training."""
    first = max(2, math.floor(start * len(losses)) + 1)
    return [e for e in range(first, len(losses) + 1)
            if losses[e - 1] > losses[e - 2]]


def epoch_ranges(epochs: list[int]) -> str:
    """[18, 19, 20, 26, 27, 28] -> 'epochs 18–20 and 26–28'; [7] -> 'epoch 7'."""
    runs: list[list[int]] = []
    for e in epochs:
        if runs and e == runs[-1][-1] + 1:
            runs[-1].append(e)
        else:
            runs.append([e])
    parts = [f"{r[0]}\u2013{r[-1]}" if len(r) > 1 else str(r[0]) for r in runs]
    words = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return ("epoch " if len(epochs) == 1 else "epochs ") + words


@dataclass(frozen=True)
class Findings:
    """Outcome-dependent facts the prose states (indices into the settings;
    None where no setting qualifies)."""

    n_diverged: int
    lowest_loss: int | None         # lowest final training loss
    largest_gap: int | None         # largest train minus validation accuracy
    noisiest: int | None            # roughest loss curve
    gap: dict[int, float]           # train minus validation accuracy
    roughness: dict[int, float]
    rises: dict[int, list[int]]     # late epochs whose loss rose (unstable)
    momentum_pairs: list[tuple[int, int]]  # (without, with) momentum, else equal
    decay_pairs: list[tuple[int, int]]  # (without, with) weight decay, else equal
    decay_still_falling: bool | None  # the decayed curves still fall at the end


def findings(res: Results) -> Findings:
    """The facts of ``res`` the prose states; diverged settings never count."""
    s = res.settings
    ok = [i for i, r in enumerate(s) if not r.diverged]
    gap = {i: s[i].train_acc - s[i].val_acc for i in ok}
    rough = {i: roughness(s[i].train_loss_sgd) for i in ok}
    decay = pairs_differing_only_in(res, "weight_decay")
    return Findings(
        n_diverged=len(s) - len(ok),
        lowest_loss=min(ok, key=lambda i: s[i].final_loss) if ok else None,
        largest_gap=max(ok, key=gap.get) if ok else None,
        noisiest=max(ok, key=rough.get) if ok else None,
        gap=gap, roughness=rough,
        rises={i: r for i in ok if (r := late_rises(s[i].train_loss_sgd))},
        momentum_pairs=pairs_differing_only_in(res, "momentum"),
        decay_pairs=decay,
        decay_still_falling=(any(still_falling(s[j].train_loss_sgd)
                                 for _, j in decay) if decay else None))


def setting_words(s) -> str:
    """'learning rate 0.01, momentum 0.85, weight decay 0.01' (words break
    between lines where 'momentum=0.85' would be hyphenated)."""
    return (f"learning rate {s.lr:g}, momentum {s.momentum:g}, weight decay "
            f"{s.weight_decay:g}")


def describe(i: int | None, res: Results) -> str:
    """'Model 4 (learning rate 0.01, momentum 0.85, weight decay 0.01)'."""
    if i is None:
        return "no model"
    return f"{model_name(i)} ({setting_words(res.settings[i])})"


# ------------------------------------------------------------------ results

def best_sentence(res: Results) -> str:
    """One sentence on the selected model, or on the absence of one: stated
    once, in the key results, with two decimals as Part B prints them; later
    text refers to it by name."""
    if res.best is None:
        return "Every setting diverged, so no model was selected."
    b = res.best
    return (f"The best setting by validation accuracy was {describe(b.index, res)}:"
            f" {pct(b.val_acc, 2)} validation and {pct(b.test_acc, 2)} test "
            "accuracy.")


def selected_model(res: Results) -> str:
    """'the selected model, Model 4', or why there is none: a noun phrase that
    refers to the selection."""
    if res.best is None:
        return "no model: every setting diverged, so none was selected"
    return f"the selected model, {model_name(res.best.index)}"


def selection_sentence(res: Results) -> str:
    """Which model the selection chose, and its three accuracies together."""
    b = res.best
    if b is None:
        return "Every setting diverged, so no model was selected or tested."
    right, n = sum(b.confusion[k][k] for k in range(2)), sum(map(sum, b.confusion))
    return (f"Validation accuracy selected {model_name(b.index)}: "
            f"{pct(b.train_acc)} training, {pct(b.val_acc)} validation and "
            f"{pct(b.test_acc)} test accuracy ({count(right)} of the {count(n)} "
            "test images right).")


def lowest_loss_sentence(res: Results, f: Findings) -> str:
    """Which setting reached the lowest final training loss."""
    if f.lowest_loss is None:
        return "every setting diverged, so none has a final training loss"
    return (f"the lowest is that of {model_name(f.lowest_loss)}, "
            f"{loss_text(res, res.settings[f.lowest_loss].final_loss)}")


def symmetry(rates: tuple[float, float], tolerance: float = 0.25) -> str:
    """Whether two per-class error rates are about equal (within 25 % of the larger)."""
    hi, lo = max(rates), min(rates)
    if hi == 0:
        return "absent in both classes"
    if (hi - lo) / hi <= tolerance:
        return "about symmetric across the two classes"
    return "asymmetric: one class is mistaken noticeably more often than the other"


def confusion_sentence(res: Results) -> str:
    """The selected model's test errors per class, read off its confusion matrix
    (rows: true class, columns: predicted)."""
    if res.best is None:
        return "No model was selected, so there is no confusion matrix."
    (e0, e1), (r0, r1) = res.best.errors, res.best.error_rates
    n0, n1 = (sum(row) for row in res.best.confusion)
    a, b = res.data.class_names
    return (f"Of the {count(n0)} {a} test images, {count(e0)} were taken for {b} "
            f"({pct(r0)}), and of the {count(n1)} {b} images, {count(e1)} for {a} "
            f"({pct(r1)}): the errors are {symmetry((r0, r1))}.")


def precision_recall(confusion: list[list[int]]) -> list[tuple[float, float]]:
    """(precision, recall) per class of a confusion matrix (rows true, columns
    predicted): precision = right / predicted as the class, recall = right /
    images of the class."""
    out = []
    for k in range(len(confusion)):
        predicted = sum(row[k] for row in confusion)
        actual = sum(confusion[k])
        out.append((confusion[k][k] / predicted if predicted else math.nan,
                    confusion[k][k] / actual if actual else math.nan))
    return out


def precision_recall_sentence(res: Results) -> str:
    """The selected model's per-class precision and recall on the test split."""
    if res.best is None:
        return "No model was selected, so none has a precision or recall."
    (p0, r0), (p1, r1) = precision_recall(res.best.confusion)
    a, b = res.data.class_names
    return (f"For {a}, precision (the share of images predicted as {a} that are "
            f"{a}) is {pct(p0)} and recall (the share of {a} images found) "
            f"{pct(r0)}; for {b}, {pct(p1)} and {pct(r1)}.")


def divergence_sentence(res: Results) -> str:
    """Which settings diverged, in which epoch, and that selection skipped them."""
    notes = []
    for i, s in enumerate(res.settings):
        if not s.diverged:
            continue
        bad = [(e + 1, v) for curve in (s.train_loss_sgd, s.train_loss_manual)
               for e, v in enumerate(curve) if not math.isfinite(v)]
        epoch, value = min(bad, key=lambda b: b[0]) if bad else (
            len(s.train_loss_sgd), math.nan)
        notes.append(
            f"{describe(i, res)} diverged (its training loss became "
            f"{'NaN' if math.isnan(value) else 'infinite'} in epoch {epoch} of "
            f"{res.config.epochs}) and was excluded from model selection.")
    return " ".join(notes) or ("No setting diverged: no training loss became NaN "
                               "or infinite.")


def manual_phrase(res: Results) -> str:
    """Whether the manual update's models, measured themselves, reach the
    accuracies the results table gives (the optimizer's models')."""
    differ = [i for i, s in enumerate(res.settings)
              if (s.train_acc_manual, s.val_acc_manual) != (s.train_acc, s.val_acc)]
    if not differ:
        return ("the manual update's models, measured on their own, reach exactly "
                "the same accuracies")
    return f"the manual update's models reach other accuracies in {models(differ)}"


def third_figure_phrase(res: Results) -> str:
    """How each model's loss curves of both trainers lie (the original
    report's third figure)."""
    if res.losses_identical:
        return ("lie on top of each other, since the two trainers' losses are "
                "equal at every epoch")
    return "part where the two trainers' losses differ"

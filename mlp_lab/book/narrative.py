"""Statements of the report that depend on the outcome, decided by the numbers.

Every sentence here is chosen by computed values (which model is best,
whether momentum helps, whether errors are symmetric...), so the book's prose
stays true when the data or the config change. The chapters call these
functions instead of writing if/else in their inline expressions. Sentences
are plain text: Quarto shows an inline value's Markdown escaped.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

from .. import cache
from ..config import model_name, setting_label
from ..results import Results
from .effects import effective_step, pairs_differing_only_in, steps_sentence
from .fmt import num, pct, points, sci
from .places import shown_place


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
    momentum_pairs: list[tuple[int, int]]  # (without, with) momentum, else equal
    momentum_gap_larger: bool | None  # train-val gap wider with momentum (pairs)
    decay_pairs: list[tuple[int, int]]  # (without, with) weight decay, else equal
    decay_still_falling: bool | None  # the decayed curves still fall at the end


def findings(res: Results) -> Findings:
    """The facts of ``res`` the prose states; diverged settings never count."""
    s = res.settings
    ok = [i for i, r in enumerate(s) if not r.diverged]
    gap = {i: s[i].train_acc - s[i].val_acc for i in ok}
    rough = {i: roughness(s[i].train_loss_sgd) for i in ok}
    mom = pairs_differing_only_in(res, "momentum")
    decay = pairs_differing_only_in(res, "weight_decay")
    return Findings(
        n_diverged=len(s) - len(ok),
        lowest_loss=min(ok, key=lambda i: s[i].final_loss) if ok else None,
        largest_gap=max(ok, key=gap.get) if ok else None,
        noisiest=max(ok, key=rough.get) if ok else None,
        gap=gap, roughness=rough, momentum_pairs=mom,
        momentum_gap_larger=(sum(gap[j] - gap[i] for i, j in mom) > 0
                             if mom else None),
        decay_pairs=decay,
        decay_still_falling=(any(still_falling(s[j].train_loss_sgd)
                                 for _, j in decay) if decay else None))


def describe(i: int | None, res: Results) -> str:
    """'Model 4 (lr=0.01, momentum=0.85, weight_decay=0.01)', or 'no model'."""
    if i is None:
        return "no model"
    return f"{model_name(i)} ({setting_label(res.settings[i])})"


# ------------------------------------------------------------ trainers, checks

def agreement_sentence(res: Results) -> str:
    """In how many settings the two trainers agreed to the last bit."""
    worst = max((max(s.max_abs_diff_loss, s.max_abs_diff_params)
                 for s in res.settings), default=0.0)
    return (f"The two trainers agreed exactly in {res.n_identical} of "
            f"{len(res.settings)} settings (largest difference in any loss or "
            f"parameter: {worst:g}).")


def equality_sentence(res: Results) -> str:
    """The verdict of the equality table."""
    head = (f"The trainers are identical, to the last bit, in {res.n_identical} of "
            f"{len(res.settings)} settings")
    if res.all_identical:
        return head + "."
    return head + (": the others differ, which means the manual update no longer "
                   "follows the step of PyTorch.")


def accuracy_bars_note(res: Results) -> str:
    """What the hatched bars of the accuracy figure show: the manual update's
    model's own accuracies, and in how many settings they equal SGD's."""
    same = sum(s.train_acc_manual == s.train_acc and s.val_acc_manual == s.val_acc
               for s in res.settings)
    return (f"the hatched bars are measured on the manual update's model, and "
            f"equal the torch.optim.SGD model's in {same} of {len(res.settings)} "
            "settings")


def drift_sentence(res: Results) -> str:
    """How far the textbook update p - lr*g ends from torch.optim.SGD after
    the same training: the largest parameter difference over the settings."""
    ok = [s for s in res.settings if not s.diverged]
    if not ok:
        return "No setting converged, so the textbook update was not compared."
    drift = [s.max_abs_diff_params_textbook for s in ok]
    if max(drift) == 0:
        return ("Trained the same way, the textbook update p - lr*g happened to "
                "end with exactly torch.optim.SGD's parameters in every setting "
                "here.")
    return (f"Trained the same way, the textbook update p - lr*g ends with "
            f"parameters up to {sci(max(drift))} away from torch.optim.SGD's "
            f"(nonzero in {sum(d > 0 for d in drift)} of {len(ok)} settings): "
            "close, but not the same model.")


def curves_sentence(res: Results) -> str:
    """Whether the two trainers' loss curves coincide."""
    return ("coincide everywhere" if res.losses_identical
            else "do not coincide everywhere")


def compared_with(value: float, threshold: float) -> str:
    """'far below' (under a hundredth of it), 'below' or 'ABOVE' a threshold."""
    if value < threshold / 100:
        return "far below"
    return "below" if value < threshold else "ABOVE"


# ------------------------------------------------------------------ the data

def balance_sentence(res: Results, balanced: float = 0.9) -> str:
    """How balanced the training classes are, and what that means for accuracy."""
    counts = res.data.counts["train"]
    ratio = min(counts) / max(counts)
    verdict = ("balanced and accuracy is a fair summary" if ratio > balanced else
               "imbalanced: read accuracy together with the confusion matrix")
    return (f"The smaller class has {pct(ratio)} as many training images as the "
            f"larger one, so the classes are {verdict}.")


def normalization_sentence(means: list[float], stds: list[float]) -> str:
    """The per-channel moments of the normalized training images."""
    return (f"the training images have per-channel means between "
            f"{min(means):+.1e} and {max(means):+.1e} and standard deviations "
            f"between {min(stds):.4f} and {max(stds):.4f}.")


def reproducibility_sentence(res: Results, config_file: str) -> str:
    """Everything a render's numbers depend on, in one paragraph: data source
    and fingerprint, config, seeds, device, versions, the library's code hash.
    The data's place is printed as :func:`~.places.shown_place` gives it."""
    d, e, c = res.data, res.env, res.config
    return (f"Every number here was computed from the {d.source} images at "
            f"{shown_place(d.location)} ({d.n_files} files, content fingerprint "
            f"{d.fingerprint}) with the configuration \"{c.name}\" ({config_file}), "
            f"split seed {c.split_seed} and model seed {e.seed}, in {e.dtype} on "
            f"{e.device} ({e.device_name}), with Python {e.python}, PyTorch "
            f"{e.torch} and torchvision {e.torchvision}; the computing code of "
            f"mlp_lab has the hash {cache.source_hash(cache.COMPUTE_MODULES)}.")


def provenance_note(res: Results) -> str:
    """Where this render's images came from, in words."""
    if res.data.source == "torchvision-cifar10":
        return ("These are the canonical CIFAR-10 files, downloaded by "
                "torchvision.datasets.CIFAR10.")
    return ("This is a local ImageFolder copy (named by MLP_LAB_DATA), not the "
            "canonical download: where it is a re-encoding of CIFAR-10 (e.g. JPEG), "
            "pixel values and hence every number differs slightly from a render on "
            "the canonical files.")


def data_sentence(res: Results) -> str:
    """The three split sizes and whether the images are the canonical
    CIFAR-10 or a local copy (the record's data source)."""
    d = res.data
    if d.source == "torchvision-cifar10":
        source = ("The images are the canonical CIFAR-10 files, as torchvision "
                  "downloads them")
    else:
        source = (f"The images are a local copy of CIFAR-10 ({d.n_files} image "
                  "files), not the canonical download; where such a copy is "
                  "re-encoded (e.g. as JPEG), every number differs slightly "
                  "from one computed on the canonical files")
    return (f"{source}. The splits hold {d.n_train} training, {d.n_val} "
            f"validation and {d.n_test} test images.")


# ------------------------------------------------------------------ results

def best_sentence(res: Results) -> str:
    """One sentence on the selected model, or on the absence of one: stated
    once, in the key results; later text refers to it (:func:`selected_sentence`,
    :func:`selected_model`)."""
    if res.best is None:
        return "No setting converged (all diverged), so no model was selected."
    b = res.best
    return (f"The best setting by validation accuracy was {describe(b.index, res)}:"
            f" {pct(b.val_acc)} validation and {pct(b.test_acc)} test accuracy.")


def selected_sentence(res: Results) -> str:
    """Which model the selection chose, by name only (the key results state it
    in full)."""
    if res.best is None:
        return "No setting converged (all diverged), so no model was selected."
    return f"Validation accuracy selected {model_name(res.best.index)}."


def selected_model(res: Results) -> str:
    """'the selected model, Model 4', or why there is none: a noun phrase that
    refers to the selection."""
    if res.best is None:
        return "no model: every setting diverged, so none was selected"
    return f"the selected model, {model_name(res.best.index)}"


def lowest_loss_sentence(res: Results, f: Findings) -> str:
    """Which setting reached the lowest final training loss."""
    if f.lowest_loss is None:
        return "no setting converged, so none has a final training loss"
    return (f"the lowest is reached by {describe(f.lowest_loss, res)}, at "
            f"{num(res.settings[f.lowest_loss].final_loss)}")


def test_vs_val_sentence(res: Results) -> str:
    """How the selected model's test accuracy compares with its validation one."""
    if res.best is None:
        return "No model was selected, so none was tested."
    d = res.best.test_acc - res.best.val_acc
    if d == 0:
        return "The test accuracy equals the validation accuracy."
    return (f"The test accuracy is {points(abs(d))} "
            f"{'above' if d > 0 else 'below'} the validation accuracy.")


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
        return "no model was selected, so there is no confusion matrix."
    (e0, e1), (r0, r1) = res.best.errors, res.best.error_rates
    a, b = res.data.class_names
    return (f"{e0} test images of class {a} were taken for {b} ({pct(r0)} of that "
            f"class) and {e1} of class {b} for {a} ({pct(r1)}): the errors are "
            f"{symmetry((r0, r1))}.")


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
            f"{res.config.epochs}, where its training stopped) and was excluded "
            "from model selection.")
    return " ".join(notes) or ("Every setting converged: no training loss "
                               "became NaN or infinite.")


# ------------------------------------------------------------------ questions

def still_falling_sentence(f: Findings) -> str:
    """Whether the weight-decayed settings' training loss still falls at the
    last epoch (then more epochs may change the verdict on weight decay)."""
    if not f.decay_still_falling:
        return ""
    return ("Their training loss is still falling at the last epoch, so longer "
            "training may show more of weight decay's effect.")


def momentum_step_sentence(res: Results) -> str:
    """How much momentum lengthens a step along a constant gradient: 1/(1-mu)."""
    mu = max(s.momentum for s in res.settings)
    if mu == 0:
        return "No setting here used momentum."
    return (f"For the largest momentum used here, {mu:g}, that is "
            f"{num(1 / (1 - mu), 1)} times the plain step.")


def overfitting_sentence(res: Results, f: Findings) -> str:
    """Where training and validation accuracy are furthest apart, and whether
    momentum widened that gap."""
    if f.largest_gap is None:
        return "No setting converged, so there is no gap to compare."
    head = (f"The gap between training and validation accuracy is largest for "
            f"{describe(f.largest_gap, res)} ({points(f.gap[f.largest_gap])}); ")
    if f.momentum_gap_larger is None:
        return head + "no pair of settings differs only in momentum."
    if f.momentum_gap_larger:
        return head + ("with momentum, a setting fits the training split more "
                       "closely than it generalizes, so it overfits more than the "
                       "same setting without.")
    return head + "momentum did not widen the gap between training and validation."


def noise_sentence(f: Findings, res: Results) -> str:
    """Which loss curve is roughest, with its effective step lr/(1 - momentum)
    beside the others'; the step is named as a cause only where it is the
    largest and the settings differ in it."""
    if f.noisiest is None:
        return "No setting converged."
    i, ss = f.noisiest, res.settings
    steps = {k: effective_step(s.lr, s.momentum) for k, s in enumerate(ss)
             if not s.diverged}
    head = (f"The roughest loss curve is that of {describe(i, res)}; "
            f"{steps_sentence(res, i)}")
    if len(set(steps.values())) == 1:
        return head + ": every converged setting takes the same step, so the step " \
            "size does not explain the difference."
    if steps[i] == max(steps.values()):
        return head + (": the largest step overshoots most, which shows as a "
                       "rougher descent.")
    return head + ": the largest step did not make the roughest curve here."

def worst_error_sentence(worst_autograd: float, worst_fd: float,
                         threshold: float = 1e-3) -> str:
    """The backprop checks' verdict against the course's threshold."""
    return (f"Against autograd the worst relative error is {sci(worst_autograd)}, "
            f"{compared_with(worst_autograd, threshold)} the course's threshold of "
            f"{threshold:g}; against finite differences it is {sci(worst_fd)}")

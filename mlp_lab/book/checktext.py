"""Sentences on the checks: the backpropagation checks' table, the two
trainers' exact equality and the textbook update's drift (no torch).

Each sentence is decided by the numbers it states. Sentences are plain text
(Quarto would show an inline value's Markdown escaped), so they name no code:
the partials around them write ``torch.optim.SGD`` in code font, and these
say "the optimizer".
"""

from __future__ import annotations

from ..config import model_name
from ..results import Environment, Results
from .fmt import capital, count, power

COURSE_THRESHOLD = 1e-3  # the course's bound on the error against autograd


def compared_with(value: float, threshold: float) -> str:
    """'far below' (under a hundredth of it), 'below' or 'ABOVE' a threshold."""
    if value < threshold / 100:
        return "far below"
    return "below" if value < threshold else "ABOVE"


def autograd_sentence(worst: float, threshold: float = COURSE_THRESHOLD) -> str:
    """The worst relative error against autograd, against the course's bound."""
    return (f"Against autograd the worst relative error is {power(worst)}, "
            f"{compared_with(worst, threshold)} the course's threshold of "
            f"{power(threshold)}.")


def part_a_sentence(checks) -> str:
    """Part A's check table (``gradcheck.check_table``): the largest error
    against autograd, against the course's threshold for it, and against
    central differences."""
    worst_ag, worst_fd = checks["vs autograd"].max(), checks["vs finite differences"].max()
    return (f"The largest error against autograd is {power(worst_ag)}, the rounding "
            f"of float64, {compared_with(worst_ag, COURSE_THRESHOLD)} the "
            f"course's threshold of {power(COURSE_THRESHOLD)}; against finite "
            f"differences it is {power(worst_fd)}, the error of the difference "
            "quotient itself.")


def activation_sentence(checks) -> str:
    """Whether, for each network and batch, the ReLU check's error against
    finite differences is below the tanh check's."""
    by = checks.set_index(["net", "batch", "activation"])["vs finite diff."]
    pairs = [(by[(n, b, "relu")], by[(n, b, "tanh")])
             for n, b, a in by.index if a == "relu" and (n, b, "tanh") in by]
    if not pairs:
        return "Every check here uses tanh."
    smaller = sum(r < t for r, t in pairs)
    if smaller == len(pairs):
        where = "in every network and batch"
    else:
        where = (f"in {count(smaller)} of the {count(len(pairs))} network and "
                 "batch pairs")
    return f"With ReLU the error against finite differences is the smaller {where}."


def checks_passed_sentence(checks) -> str:
    """Checks 3 and 4 over every row of the table."""
    changed = checks["SGD step changed weights"].all()
    leaves = checks["leaves requiring grad"].all()
    return ("In every check, an SGD step changed every weight tensor"
            if changed else "In some check, an SGD step left a weight tensor "
            "unchanged") + (", and every parameter stayed a leaf that requires "
                            "gradients." if leaves else ", and some parameter "
                            "stopped being a leaf that requires gradients.")


# ------------------------------------------------------------------ trainers

def agreement_sentence(res: Results) -> str:
    """In how many settings the two trainers agreed to the last bit."""
    n, k = len(res.settings), res.n_identical
    if k == n:
        return ("In every setting the two trainers gave the same loss at every "
                "epoch and the same final weights, to the last bit.")
    worst = max(max(s.max_abs_diff_loss, s.max_abs_diff_params)
                for s in res.settings)
    return (f"The two trainers gave the same losses and weights, to the last bit, "
            f"in {'none' if k == 0 else count(k)} of the {count(n)} settings; "
            f"elsewhere they differ by up to {power(worst)}.")


def equality_sentence(res: Results) -> str:
    """The verdict of the equality table."""
    n, k = len(res.settings), res.n_identical
    if k == n:
        return ("Every setting passes: the first two columns are zero, so the "
                "manual update's losses and final parameters equal the "
                "optimizer's, to the last bit.")
    verb = "passes" if k == 1 else "pass"
    return (f"{capital(count(k))} of the {count(n)} settings {verb}; in the "
            "others the manual update no longer follows the optimizer's step.")


def drift_sentence(res: Results, drift) -> str:
    """How far the textbook update ends from the optimizer after the same
    training of one setting (``drift``, :func:`mlp_lab.drift.textbook_drift`)."""
    s = res.settings[drift.index]
    which = (f"{model_name(drift.index)} (learning rate {s.lr:g}, momentum "
             f"{s.momentum:g}, weight decay {s.weight_decay:g})")
    if s.diverged:
        return f"{which} diverged, so the textbook update was not compared."
    if drift.max_abs_diff == 0:
        return (f"Trained once more on {which} with the textbook update, it "
                "happened to end at the optimizer's parameters.")
    return (f"Trained once more on {which} with the textbook update, which "
            f"rounds differently, it ends {power(drift.max_abs_diff)} away from "
            "the optimizer's parameters: close, but not the same model.")


def device_words(env: Environment) -> str:
    """'a CPU (Intel Xeon Processor, 2 cores)' or 'a GPU (NVIDIA H200)'."""
    name = env.device_name
    for mark in ("(R)", "(TM)", "(r)", "(tm)"):
        name = name.replace(mark, "")
    name = " ".join(name.split())
    kind = "a GPU" if env.device == "cuda" else "a CPU"
    return f"{kind} ({name})" if name else kind


def tested_on_sentence(res: Results) -> str:
    """Where the equality was tested (the record's device)."""
    where = device_words(res.env)
    if res.env.device == "cuda":
        return f"The test ran on {where}."
    return f"The test ran on {where}, not on a GPU."


def accuracy_bars_note(res: Results) -> str:
    """What the hatched bars of the accuracy figure show: the manual update's
    model's own accuracies, and in how many settings they equal the solid
    bars."""
    same = sum(s.train_acc_manual == s.train_acc and s.val_acc_manual == s.val_acc
               for s in res.settings)
    n = len(res.settings)
    where = ("in every setting" if same == n else
             f"in {count(same)} of the {count(n)} settings")
    return (f"the hatched bars are measured on the manual update's model, and "
            f"equal the solid bars {where}")


def curves_sentence(res: Results) -> str:
    """Whether the two trainers' loss curves coincide."""
    return ("coincide everywhere" if res.losses_identical
            else "do not coincide everywhere")

"""The short answers of the report, decided by the numbers (no torch).

Answer (f), the settings and the selected model, and the sentences of
answer (g), each carrying a number, in the words and the precision Part B's
notebook prints them: accuracies as percentages with two decimals, final
losses with five. Part B's written analysis is made of the same sentences
(``handin.partb``), so the notebook and the report say the same things with
the same numbers. A sentence with nothing to say is "" and is left out.
"""

from __future__ import annotations

import math

from ..config import model_name
from ..results import Results
from .compare import both
from .datatext import is_jpeg
from .effects import effective_step, effects, models
from .fmt import count, pct, signed, size
from .narrative import epoch_ranges, late_rises
from .noise import ranked, standard_error
from .original import COURSE_OUTPUT_2023, reference_for

FACTOR_WORDS = {"lr": "learning rate", "momentum": "momentum",
                "weight_decay": "weight decay"}


def acc(x: float) -> str:
    """An accuracy as Part B prints it: 0.918 -> '91.80%'."""
    return pct(x, 2)


def loss(x: float) -> str:
    """A final loss as Part B prints it: five decimals."""
    return f"{x:.5f}"


def pts(x: float) -> str:
    """A difference of two accuracies in (percentage) points, unsigned."""
    return f"{100 * abs(x):.2f}"


def signed_pts(x: float) -> str:
    """+1.70 or −0.50 (a true minus sign)."""
    return signed(100 * x, 2)


def setting_words(s) -> str:
    """'learning rate 0.01, momentum 0.85, weight decay 0.01'."""
    return (f"learning rate {s.lr:g}, momentum {s.momentum:g}, weight decay "
            f"{s.weight_decay:g}")


# ------------------------------------------------------------------ (f)

def _alternatives(values) -> str:
    """'0 or 0.85', '0.01', '0, 0.5 or 0.9': the distinct values, sorted."""
    shown = [f"{v:g}" for v in sorted(set(values))]
    return shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " or " + shown[-1]


def _at_rate(res: Results, lr: float) -> str:
    """The settings of learning rate ``lr``: 'every combination of momentum 0
    or 0.85 and weight decay 0 or 0.01 (Models 1 to 4)' when they form a
    grid, else each pair (momentum, weight decay) with its model."""
    ids = [i for i, r in enumerate(res.settings) if r.lr == lr]
    ms = {res.settings[i].momentum for i in ids}
    ws = {res.settings[i].weight_decay for i in ids}
    if len(ids) == 1:
        r = res.settings[ids[0]]
        return (f"momentum {r.momentum:g} and weight decay {r.weight_decay:g} "
                f"({models(ids)})")
    if len(ids) == len(ms) * len(ws) and len(ms) > 1 and len(ws) > 1:
        return (f"every combination of momentum {_alternatives(ms)} and weight "
                f"decay {_alternatives(ws)} ({models(ids)})")
    return "; ".join(f"momentum {res.settings[i].momentum:g} and weight decay "
                     f"{res.settings[i].weight_decay:g} ({model_name(i)})"
                     for i in ids)


def settings_sentence(res: Results) -> str:
    """Every setting trained, by learning rate: 'We trained five settings: at
    learning rate 0.01, every combination of ... (Models 1 to 4); at
    learning rate 0.05, ... (Model 5).'"""
    n = len(res.settings)
    rates = sorted({r.lr for r in res.settings})
    return (f"We trained {count(n)} setting{'s' if n != 1 else ''}: "
            + "; ".join(f"at learning rate {lr:g}, {_at_rate(res, lr)}"
                        for lr in rates) + ".")


def diverged_sentence(res: Results) -> str:
    """Which settings diverged (a loss became NaN or infinite), from which
    epoch, and that the selection passed them over ("" when none did)."""
    said = []
    for i, s in enumerate(res.settings):
        if s.diverged:
            bad = [e for e, v in enumerate(s.train_loss_sgd + s.train_loss_manual, 1)
                   if not math.isfinite(v)]
            epoch = (bad[0] - 1) % len(s.train_loss_sgd) + 1 if bad else 1
            said.append(f"{model_name(i)} ({setting_words(s)}) diverged (its "
                        f"training loss became NaN in epoch {epoch} of "
                        f"{res.config.epochs})")
    if not said:
        return ""
    return (" and ".join(said) + ", and the selection passed "
            + ("it" if len(said) == 1 else "them") + " over.")


def selection_sentence(res: Results) -> str:
    """Which setting was selected, and on what (its lead is (g)'s to weigh)."""
    gone = diverged_sentence(res)
    if res.best is None:
        return (gone + " " if gone else "") + "No model was selected or tested."
    b = res.best
    return ((gone + " " if gone else "")
            + f"We selected the setting of highest validation accuracy, "
            f"{model_name(b.index)} ({setting_words(res.settings[b.index])}): "
            f"{acc(b.val_acc)}.")


def errors_sentence(fp: int, fn: int, first: str, second: str) -> str:
    """How the test errors fall on the two classes: ``fp`` images of the first
    class taken for the second, ``fn`` the reverse; about evenly when neither
    count exceeds the other by more than a quarter."""
    if fp + fn == 0:
        return "It makes no error."
    if max(fp, fn) <= 1.25 * min(fp, fn):
        return (f"The errors fall about evenly on the two classes ({count(fp)} "
                f"against {count(fn)}), so the model favours neither.")
    worse, other = (first, second) if fp > fn else (second, first)
    return f"Most of its errors are {worse} images taken for {other}."


def test_sentence(res: Results) -> str:
    """The selected model's test accuracy and its confusion matrix, in words."""
    b = res.best
    if b is None:
        return ""
    (tn, fp), (fn, tp) = b.confusion
    first, second = res.data.class_names
    return (f"On the {count(tn + fp + fn + tp)} test images, seen once, it reaches "
            f"{acc(b.test_acc)} (against {acc(b.val_acc)} on validation): of the "
            f"{count(tn + fp)} {first} images it "
            f"classifies {count(tn)} correctly and {count(fp)} as {second}, of the "
            f"{count(fn + tp)} {second} images {count(tp)} correctly and "
            f"{count(fn)} as {first}. {errors_sentence(fp, fn, first, second)}")


# ------------------------------------------------------------------ (g)

def _neighbours(res: Results, i: int) -> list[tuple[int, str]]:
    """The settings that did not diverge and differ from setting ``i`` in one
    factor only, with that factor."""
    s = res.settings
    out = []
    for k, r in enumerate(s):
        differ = [f for f in FACTOR_WORDS if getattr(r, f) != getattr(s[i], f)]
        if k != i and not r.diverged and len(differ) == 1:
            out.append((k, differ[0]))
    return out


def _change(res: Results, k: int, factor: str) -> str:
    """How setting ``k`` differs in ``factor``: 'without momentum',
    'with learning rate 0.05'."""
    value = getattr(res.settings[k], factor)
    if value == 0:
        return f"without {FACTOR_WORDS[factor]}"
    return f"with {FACTOR_WORDS[factor]} {value:g}"


def why_sentence(res: Results) -> str:
    """How the selected setting compares with every setting that differs from
    it in one factor only (their validation accuracies, highest first), and
    whether its lead over the runner-up exceeds twice the standard error of a
    validation accuracy (:func:`lead_clause`)."""
    if res.best is None:
        return ""
    i = res.best.index
    near = _neighbours(res, i)
    lead = lead_clause(res)
    if not near:
        head = (f"No other setting differs from {model_name(i)} in one factor "
                "only, so the table cannot say which of its choices made it win")
        return head + (f"; {lead}." if lead else ".")
    s = res.settings
    each = ", ".join(f"{model_name(k)} {_change(res, k, f)} {acc(s[k].val_acc)}"
                     for k, f in sorted(near, key=lambda n: -s[n[0]].val_acc))
    lower = all(s[k].val_acc < s[i].val_acc for k, _ in near)
    return (f"Every setting that differs from {model_name(i)} in one factor only "
            f"scores {'lower' if lower else 'no higher'} on the validation split "
            f"({each})" + (f"; but {lead}." if lead.endswith("could be chance")
                           else f"; {lead}." if lead else "."))


def validation_se(res: Results) -> float:
    """The standard error of one validation accuracy, sqrt(p (1 - p) / n), at
    the selected setting's p (Part B prints it in task 9); at the mean of the
    settings' when none was selected. The one measure of noise of (g)."""
    if res.best is not None:
        p = res.best.val_acc
    else:
        accs = [s.val_acc for s in res.settings if not s.diverged]
        p = sum(accs) / len(accs) if accs else math.nan
    return standard_error(p, res.data.n_val)


def lead_clause(res: Results) -> str:
    """Whether the winner's lead over the runner-up exceeds twice the standard
    error of a validation accuracy (:func:`validation_se`): 'its lead over
    Model 3, 1.30 points, is within twice ...' ("" with one setting)."""
    top = ranked(res)
    if len(top) < 2:
        return ""
    s = res.settings
    lead, se = s[top[0]].val_acc - s[top[1]].val_acc, validation_se(res)
    beyond = lead > 2 * se
    verdict = "it is unlikely to be chance" if beyond else "it could be chance"
    return (f"its lead over {model_name(top[1])}, {pts(lead)} percentage points, is "
            f"{'more than' if beyond else 'within'} twice the standard error of a "
            f"validation accuracy on these {count(res.data.n_val)} images "
            f"(2 \u00d7 {pts(se)} points), so {verdict}")


def _moves_of(res: Results, found, marked: bool = True) -> str:
    """'from 88.80% to 90.50% (Model 1 to Model 3, within the noise) and from
    88.30% to 91.80% (Model 2 to Model 4)': validation accuracies as Part B
    prints them; a change under twice :func:`validation_se` is marked as
    noise (unless ``marked`` is False)."""
    s, noise = res.settings, 2 * validation_se(res)
    return " and ".join(f"from {acc(s[i].val_acc)} to {acc(s[j].val_acc)} "
                        f"({model_name(i)} to {model_name(j)}"
                        + (", within the noise)" if marked and abs(d) < noise
                           else ")")
                        for i, j, d in found)


def factor_sentence(res: Results, factor: str) -> str:
    """What ``factor`` (momentum or weight decay) did to the validation
    accuracy in each pair of settings that differ in it alone: moved it only
    within the noise in every pair, raised or lowered it in every pair (said
    as higher or lower with it when a pair is within the noise), or no
    consistent effect."""
    found = effects(res, factor)
    name = FACTOR_WORDS[factor]
    if not found:
        return ""
    signs = {d > 0 for *_, d in found if d != 0}
    where = ("the one pair" if len(found) == 1 else "both pairs" if len(found) == 2
             else f"all {count(len(found))} pairs")
    noise = 2 * validation_se(res)
    if signs and all(abs(d) < noise for *_, d in found):
        return (f"{name.capitalize()} moved the validation accuracy only within "
                f"the noise in {where} of settings that differ in {name} alone: "
                f"{_moves_of(res, found, marked=False)}.")
    if len(signs) == 2:
        return (f"{name.capitalize()} had no consistent effect on the validation "
                f"accuracy: in the pairs of settings that differ only in {name}, "
                f"it went {_moves_of(res, found)}.")
    if signs and any(abs(d) < noise for *_, d in found):
        # one way in every pair, but not beyond the noise in all: an
        # observation, not an effect
        higher = "higher" if signs == {True} else "lower"
        return (f"The validation accuracy was {higher} with {name} in {where} of "
                f"settings that differ only in {name}: {_moves_of(res, found)}.")
    verb = ("raised" if signs == {True} else "lowered" if signs == {False}
            else "left unchanged")
    return (f"{name.capitalize()} {verb} the validation accuracy in {where} of "
            f"settings that differ only in {name}: {_moves_of(res, found)}.")


def overfit_sentence(res: Results) -> str:
    """The gap between training and validation accuracy of the settings with
    momentum against those without, and whether the selected setting, which
    fits its training data more closely, still uses momentum."""
    s = res.settings
    ok = [i for i, r in enumerate(s) if not r.diverged]
    with_m = [i for i in ok if s[i].momentum > 0]
    without = [i for i in ok if s[i].momentum == 0]
    if not with_m or not without:
        return ""
    gaps = {i: s[i].train_acc - s[i].val_acc for i in ok}

    def listed(ids) -> str:
        values = [pts(gaps[i]) if gaps[i] >= 0 else signed_pts(gaps[i]) for i in ids]
        return values[0] if len(values) == 1 else (", ".join(values[:-1]) + " and "
                                                   + values[-1])
    wider = min(gaps[i] for i in with_m) > max(gaps[i] for i in without)
    narrower = max(gaps[i] for i in with_m) < min(gaps[i] for i in without)
    verb = ("widened" if wider else "narrowed" if narrower else
            "did not move one way")
    yet = (": the momentum models fit their training data more closely"
           if wider else "")
    return (f"Momentum {verb} the gap between training and validation accuracy: "
            f"{listed(with_m)} percentage points with it ({models(with_m)}) against "
            f"{listed(without)} without ({models(without)}){yet}.")


def loss_accuracy_sentence(res: Results) -> str:
    """A pair that differs in weight decay alone where the model with the
    higher training accuracy ends with the higher final loss, and the likely
    reason ("" when loss and accuracy agree in every such pair)."""
    s = res.settings
    for i, j, _ in effects(res, "weight_decay"):
        if (s[j].train_acc - s[i].train_acc) * (s[j].final_loss - s[i].final_loss) > 0:
            hi, lo = (j, i) if s[j].train_acc > s[i].train_acc else (i, j)
            decayed = hi if s[hi].weight_decay > s[lo].weight_decay else lo
            return (f"{model_name(hi)} classifies more training images correctly "
                    f"than {model_name(lo)} ({acc(s[hi].train_acc)} against "
                    f"{acc(s[lo].train_acc)}) yet ends with the higher final loss "
                    f"({loss(s[hi].final_loss)} against {loss(s[lo].final_loss)}): "
                    "the cross-entropy also penalizes right answers given without "
                    "confidence, and weight decay, which keeps the weights of "
                    f"{model_name(decayed)} smaller, likely makes its predictions "
                    "less confident.")
    return ""


def rises(losses: list[float]) -> list[int]:
    """The epochs (1-based, from the second) whose mean training loss rose
    above the previous epoch's."""
    return [e for e in late_rises(losses, start=0) if math.isfinite(losses[e - 1])]


def stability_sentence(res: Results, figure: str = "") -> str:
    """Which training losses rose again (a sign of unstable training) and the
    effective step lr / (1 - momentum) of those settings against the others';
    ``figure``, a cross-reference to the loss curves, cited if given."""
    s = res.settings
    ok = [i for i, r in enumerate(s) if not r.diverged]
    if not ok:
        return ""
    risen = {i: r for i in ok if (r := rises(s[i].train_loss_sgd))}
    if not risen:
        return (f"Every training loss fell at every one of the {res.config.epochs} "
                "epochs: no training was unstable.")
    steps = {i: effective_step(s[i].lr, s[i].momentum) for i in ok}
    which = " and ".join(f"{epoch_ranges(e)} for {model_name(i)}"
                         for i, e in risen.items())
    own = sorted({steps[i] for i in risen}, reverse=True)
    rest = sorted({v for i, v in steps.items() if i not in risen}, reverse=True)
    own_words = " and ".join(f"{v:.3g}" for v in own)
    largest = max(steps.values())
    if own == [largest] and all(v < largest for v in rest):
        judge = "the largest here"
    elif largest in own:
        judge = "the largest here, shared with settings whose loss kept falling"
    else:
        judge = "not the largest here, so the step alone does not explain it"
    others = (", against " + " and ".join(
        f"{v:.3g} for {models([i for i in ok if i not in risen and steps[i] == v])}"
        for v in rest) if rest else "")
    whose = "its" if len(risen) == 1 else "their"
    return (f"The training loss rose again in {which}, a sign of unstable training: "
            f"{whose} effective step $\\eta/(1-\\mu)$, {own_words}, is "
            f"{judge}{others}" + (f" ({figure})." if figure else "."))


def _moves(gaps: list[tuple[float, float]]) -> str:
    """'from 0.86 to 1.07 points and from 6.04 to 5.88'."""
    return " and ".join(f"from {signed_pts(a) if a < 0 else pts(a)} to "
                        f"{signed_pts(b) if b < 0 else pts(b)}"
                        + (" percentage points" if k == 0 else "")
                        for k, (a, b) in enumerate(gaps))


def gap_sentence(res: Results) -> str:
    """Where the results differ from what regularization leads one to expect:
    whether weight decay narrowed the gap between training and validation
    accuracy in the pairs that differ in it alone, and a likely reason."""
    s = res.settings
    found = effects(res, "weight_decay")
    if not found:
        return ""
    gaps = [(s[i].train_acc - s[i].val_acc, s[j].train_acc - s[j].val_acc)
            for i, j, _ in found]
    narrowed = [g for g in gaps if g[1] < g[0]]
    widened = [g for g in gaps if g[1] >= g[0]]
    if not widened:
        return ("As regularization leads one to expect, weight decay narrowed the "
                f"gap between training and validation accuracy ({_moves(gaps)}).")
    other = ("the other" if len(gaps) == 2 else
             f"{count(len(widened))} pair{'s' if len(widened) > 1 else ''}")
    what = (f"it widened the gap ({_moves(widened)})" if not narrowed else
            f"it narrowed the gap in {count(len(narrowed))} pair"
            f"{'s' if len(narrowed) > 1 else ''} ({_moves(narrowed)}) and "
            f"widened it in {other} ({_moves(widened)})")
    lam = max(s[j].weight_decay for _, j, _ in found)
    se = validation_se(res)
    if all(abs(b - a) < 2 * se for a, b in gaps):
        return (f"Theory expects weight decay to narrow the gap between training "
                f"and validation accuracy; here {what}, changes within twice "
                f"the standard error of a validation accuracy (2 \u00d7 {pts(se)} "
                f"points), so at $\\lambda = {lam:g}$ its effect on the gap cannot be "
                "seen.")
    return (f"Theory expects weight decay to narrow the gap between training and "
            f"validation accuracy; here {what}, beyond the noise of the validation "
            "split, which these runs alone cannot explain.")


def reference_sentence(res: Results) -> str:
    """Against the course's published output of its own solution, where the
    edition is the one it belongs to: the largest departures in validation
    accuracy and in final loss, and the likely reasons ("" otherwise)."""
    ref = reference_for(res.config)
    if ref is not COURSE_OUTPUT_2023:
        return ""
    val = both(res, ref, "val_acc")
    losses = both(res, ref, "final_loss")
    if not val:
        return ""
    worst = max(abs(o - t) for _, o, t in val)
    ratios = [o / t for _, o, t in losses]
    loss_words = (f" and our final losses are {min(ratios):.1f} to "
                  f"{max(ratios):.1f} times its" if ratios else "")
    reasons = ["our split of the training images need not be the course's"]
    if is_jpeg(res.data):
        reasons.insert(0, "our images are a lossy JPEG copy of CIFAR-10")
    return (f"Against {ref.short} of its own solution, our validation accuracies "
            f"differ by at most {pts(worst)} percentage points (it rounds them to "
            "whole "
            f"percents){loss_words}, likely because {' and '.join(reasons)}.")


def g_sentences(res: Results, figure: str = "") -> list[str]:
    """Answer (g): why the selected setting wins and whether its lead is real,
    what momentum and weight decay did, how momentum moved the gap between
    training and validation accuracy, the unstable training and its step,
    where the results depart from the expected, and from the course's
    published output; the empty ones left out (eight at most)."""
    found = [why_sentence(res), factor_sentence(res, "momentum"),
             factor_sentence(res, "weight_decay"), overfit_sentence(res),
             loss_accuracy_sentence(res), stability_sentence(res, figure),
             gap_sentence(res), reference_sentence(res)]
    return [f for f in found if f]


def task_words(res: Results) -> str:
    """'car from cat in CIFAR-10 images of 16×16 pixels'."""
    a, b = res.data.class_names
    return f"{a} from {b} in CIFAR-10 images of {size(res.config.image_size)} pixels"


def g_markdown(res: Results, figure: str = "") -> str:
    """Answer (g) as a Markdown list, one sentence an item; ``figure`` (a
    cross-reference such as "@fig-losses") is cited where the unstable
    training is."""
    return "\n".join(f"- {s}" for s in g_sentences(res, figure)) + "\n"


# ------------------------------------------------------------------ (f)'s table

RESULTS_FIGURES = ("final loss", "train (%)", "validation (%)")
SETTING_SYMBOLS = ("$\\eta$", "$\\mu$", "$\\lambda$")  # as @eq-sgd names them


def _reference_cells(res: Results) -> tuple[dict, list]:
    """The course's published figures by setting key, and its settings not
    trained here, where the edition is the one it belongs to."""
    ref = reference_for(res.config)
    if ref is not COURSE_OUTPUT_2023:
        return {}, []
    keys = [(s.lr, s.momentum, s.weight_decay) for s in ref.config.settings]
    figures = {k: (ref.final_loss[n], ref.train_acc[n], ref.val_acc[n])
               for n, k in enumerate(keys)}
    mine = {(s.lr, s.momentum, s.weight_decay) for s in res.settings}
    return figures, [k for k in keys if k not in mine]


def results_table(res: Results):
    """(f)'s table: every setting's learning rate, momentum and weight decay
    (headed by their symbols in the update rule), final loss and training and
    validation accuracy as Part B prints them (five decimals, percent with
    two), the selected one's name in bold; for the 2023 edition the course's
    published figures in parentheses, and its settings not trained here."""
    import pandas as pd

    theirs, extra = _reference_cells(res)
    best = res.best.index if res.best else None
    rows, names = [], []
    for i, s in enumerate(res.settings):
        key = (s.lr, s.momentum, s.weight_decay)
        ref = theirs.get(key)
        ours = ("diverged" if s.diverged else loss(s.final_loss),
                f"{100 * s.train_acc:.2f}", f"{100 * s.val_acc:.2f}")
        given = ("" if ref is None else f"({ref[0]:.5f})",
                 "" if ref is None else f"({100 * ref[1]:.0f})",
                 "" if ref is None else f"({100 * ref[2]:.0f})")
        rows.append([f"{v:g}" for v in key]
                    + [f"{o} {g}".strip() for o, g in zip(ours, given)])
        name = model_name(i).replace(" ", "\u00a0")
        names.append(f"**{name}**" if i == best else name)
    for key in extra:
        f = theirs[key]
        rows.append([f"{v:g}" for v in key] + [f"({f[0]:.5f})", f"({100 * f[1]:.0f})",
                                               f"({100 * f[2]:.0f})"])
        names.append("course\u00a0only")
    columns = [*SETTING_SYMBOLS, *RESULTS_FIGURES]
    return pd.DataFrame(rows, columns=columns, index=pd.Index(names, name="model"))


def f_sentences(res: Results) -> str:
    """Answer (f) beside its table: what the parentheses hold (2023 edition),
    which setting was selected and why, and its test accuracy and confusion
    matrix."""
    theirs, extra = _reference_cells(res)
    note = ""
    if theirs:
        note = (f"In parentheses: {COURSE_OUTPUT_2023.short} of its own solution "
                "for the same setting (accuracies rounded to whole percents)"
                + ("; rows marked course only are settings it trained and we did "
                   "not. " if extra else ". "))
    test = test_sentence(res)
    return note + selection_sentence(res) + (f" {test}" if test else "")

"""Statements of the report that depend on the outcome, decided by the numbers.

Every sentence here is chosen by computed values (which model is best,
whether momentum helps, whether errors are symmetric...), so the book's prose
stays true when the data or the config change.
"""

from __future__ import annotations

import json
import math
import statistics

import pandas as pd

from .config import DEFAULT_SETTINGS, Config, model_name
from .experiments import Results
from .report import pct

# The original report's numbers (assignment spec), shown for comparison only.
# They belong to the default classes, image size and layers and to the five
# default settings: another config is compared setting by setting, if at all.
REFERENCE = pd.DataFrame(
    {"lr": [s.lr for s in DEFAULT_SETTINGS],
     "momentum": [s.momentum for s in DEFAULT_SETTINGS],
     "weight_decay": [s.weight_decay for s in DEFAULT_SETTINGS],
     "train_acc": [0.897, 0.893, 0.982, 0.983, 0.976],
     "val_acc": [0.885, 0.885, 0.919, 0.921, 0.913]},
    index=[model_name(i) for i in range(5)])
REFERENCE_TEST_ACC = 0.917


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


def findings(res: Results) -> dict:
    """Outcome-dependent facts the prose states, each computed from ``res``."""
    s = res.settings
    ok = [i for i, r in enumerate(s) if not r.diverged]
    mom = [i for i in ok if s[i].momentum > 0]
    plain = [i for i in ok if s[i].momentum == 0]
    gap = {i: s[i].train_acc - s[i].val_acc for i in ok}
    rough = {i: roughness(s[i].train_loss_sgd) for i in ok}
    out = {
        "n_diverged": len(s) - len(ok),
        "lowest_loss": min(ok, key=lambda i: s[i].final_loss) if ok else None,
        "largest_gap": max(ok, key=gap.get) if ok else None,
        "noisiest": max(ok, key=rough.get) if ok else None,
        "gap": gap, "roughness": rough,
        "momentum_helps": None, "momentum_gain": None, "momentum_gap_larger": None,
    }
    if mom and plain:
        mean = statistics.fmean
        out["momentum_gain"] = (mean(s[i].val_acc for i in mom)
                                - mean(s[i].val_acc for i in plain))
        out["momentum_helps"] = out["momentum_gain"] > 0
        out["momentum_gap_larger"] = (mean(gap[i] for i in mom)
                                      > mean(gap[i] for i in plain))
    pairs = [(i, j) for i in ok for j in ok
             if (s[i].lr, s[i].momentum) == (s[j].lr, s[j].momentum)
             and s[i].weight_decay == 0 < s[j].weight_decay]
    out["decay_pairs"] = pairs
    out["decay_gain"] = (statistics.fmean(s[j].val_acc - s[i].val_acc
                                          for i, j in pairs) if pairs else None)
    if res.best is not None:
        (tn, fp), (fn, tp) = res.best["confusion"]
        out.update(errors=(fp, fn), error_rates=(fp / (tn + fp), fn / (fn + tp)),
                   test_minus_val=res.best["test_acc"] - res.best["val_acc"])
    return out


def describe(i: int, res: Results) -> str:
    """'Model 4 (lr 0.01, momentum 0.85, weight decay 0.01)'."""
    s = res.settings[i]
    return (f"{model_name(i)} (lr {s.lr:g}, momentum {s.momentum:g}, "
            f"weight decay {s.weight_decay:g})")


def best_sentence(res: Results) -> str:
    """One sentence on the selected model, or on the absence of one."""
    if res.best is None:
        return "No setting converged (all diverged), so no model was selected."
    b = res.best
    return (f"The best setting by validation accuracy was {describe(b['index'], res)}:"
            f" {pct(b['val_acc'])} validation and {pct(b['test_acc'])} test "
            "accuracy.")


def provenance_note(res: Results) -> str:
    """Where this render's images came from, in words."""
    if res.data["source"] == "torchvision-cifar10":
        return ("These are the canonical CIFAR-10 files, downloaded by "
                "torchvision.datasets.CIFAR10.")
    return ("This is a local ImageFolder copy (named by MLP_LAB_DATA), not the "
            "canonical download: where it is a re-encoding of CIFAR-10 (e.g. JPEG), "
            "pixel values and hence every number differs slightly from a render on "
            "the canonical files.")


def symmetry(rates: tuple[float, float], tolerance: float = 0.25) -> str:
    """Whether two per-class error rates are about equal (within 25 % of the larger)."""
    hi, lo = max(rates), min(rates)
    if hi == 0:
        return "absent in both classes"
    if (hi - lo) / hi <= tolerance:
        return "about symmetric across the two classes"
    return "asymmetric: one class is mistaken noticeably more often than the other"


def momentum_sentence(f: dict) -> str:
    """Whether momentum raised the mean validation accuracy, and by how much."""
    gain = f["momentum_gain"]
    if gain is None:
        return "No pair of settings with and without momentum was trained."
    verb = "raised" if gain > 0 else "did not raise"
    return (f"Momentum {verb} the mean validation accuracy ({gain * 100:+.1f} "
            "points against the settings without it): within the same number of "
            "epochs it travels further along consistent gradient directions.")


def gap_sentence(f: dict) -> str:
    """Whether the settings with momentum overfit more than those without."""
    if f["momentum_gap_larger"] is None:
        return "there is no setting without momentum to compare with."
    if f["momentum_gap_larger"]:
        return ("the settings with momentum fit the training split more closely "
                "than they generalize, so they overfit more than those without.")
    return "momentum did not widen the gap between training and validation."


def decay_sentence(f: dict) -> str:
    """The effect of weight decay between settings that differ only in it."""
    if f["decay_gain"] is None:
        return "No pair of settings differs only in weight decay."
    gain = f["decay_gain"] * 100
    size = "hardly changed" if abs(gain) < 0.5 else ("raised" if gain > 0
                                                     else "lowered")
    return (f"Between settings that differ only in weight decay, it {size} the "
            f"validation accuracy ({gain:+.1f} points on average): at this "
            "strength and for this few epochs its regularizing effect is "
            f"{'small' if abs(gain) < 0.5 else 'visible'}.")


def noise_sentence(f: dict, res: Results) -> str:
    """Which loss curve is noisiest and whether it belongs to the largest lr."""
    if f["noisiest"] is None:
        return "No setting converged."
    i = f["noisiest"]
    top_lr = max(s.lr for s in res.settings if not s.diverged)
    is_top = res.settings[i].lr == top_lr
    return (f"The noisiest loss curve is that of {describe(i, res)}"
            + (f", the largest learning rate ({top_lr:g}): larger steps overshoot "
               "more, which shows as a rougher descent." if is_top else
               f"; the largest learning rate ({top_lr:g}) did not make the "
               "noisiest curve here."))


def _reference(res: Results) -> pd.DataFrame:
    """Validation accuracy here, the original report's for the same setting
    (NaN where it trained none, or trained other classes, image size or
    layers), and their difference; one row per setting here."""
    cfg, d = res.config, Config()
    same_task = (tuple(cfg["classes"]) == d.classes
                 and cfg["image_size"] == d.image_size
                 and tuple(cfg["sizes"]) == d.sizes)
    ref = REFERENCE.set_index(["lr", "momentum", "weight_decay"])["val_acc"]
    rows = [{"val_acc (here)": s.val_acc,
             "val_acc (original)": (ref.get((s.lr, s.momentum, s.weight_decay),
                                            math.nan) if same_task else math.nan)}
            for s in res.settings]
    df = pd.DataFrame(rows, index=[model_name(i) for i in range(len(rows))])
    df["difference"] = df["val_acc (here)"] - df["val_acc (original)"]
    return df


def reference_table(res: Results) -> pd.DataFrame:
    """This render's validation accuracies next to the original report's for the
    same setting; empty (None) where the original has no counterpart."""
    df = _reference(res)
    return df.astype(object).where(df.notna(), None)


def comparable(res: Results) -> bool:
    """Whether this render's config is the original report's (the defaults)."""
    ignore = ("name", "class_names", "data_dir")
    here = {k: v for k, v in res.config.items() if k not in ignore}
    default = {k: v for k, v in Config().to_dict().items() if k not in ignore}
    return json.loads(json.dumps(here)) == json.loads(json.dumps(default))


def reference_sentence(res: Results) -> str:
    """How far this render's validation accuracies are from the original report."""
    diff = _reference(res)["difference"].dropna()
    if diff.empty:
        d = Config()
        return (f"The original report trained {d.class_names[0]} vs "
                f"{d.class_names[1]} at {d.image_size}x{d.image_size} with layers "
                f"{'-'.join(map(str, d.sizes))}; no setting of this render has a "
                "counterpart there, so there is nothing to compare.")
    if not comparable(res):
        return ("This render's configuration differs from the original report's "
                "(classes, sizes, epochs, settings or data subset), so the "
                "comparison is only indicative.")
    worst = diff.abs().max()
    close = worst <= 0.02
    return (f"They differ by at most {worst * 100:.1f} points"
            + (", within what a different data copy and split explain."
               if close else
               "; likely reasons: a different copy of the data (e.g. JPEG "
               "re-encoded), a different split or number of epochs."))


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
            f"{res.config['epochs']}, where its training stopped) and was excluded "
            "from model selection.")
    return " ".join(notes) or ("Every setting converged: no training loss "
                               "became NaN or infinite.")

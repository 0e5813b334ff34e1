"""Reference results of the same task, and this render's table beside them.

Two are known, of different standing. The original report of this assignment
is a student report (the seed of this project: car vs cat at 16x16, layers
768-128-32-2, the five default settings, canonical CIFAR-10); it gives a
final loss only for its Model 5, which it calls its lowest, and a test
accuracy and confusion matrix. The course's published output of its own
solution, ``gradient_descent_output.txt``, belongs to its 2023 edition
(airplane vs bird at 32x32, layers 3072-512-128-32-2, six settings), with
every final loss and no test results. A render is compared with the one that
trained its classes, image size and layers, setting by setting, and the
words say which one it is (:mod:`~.compare`); settings only one of them
trained are listed, not compared.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import pandas as pd

from ..config import Config, Setting, model_name
from ..results import Results
from .fmt import SETTING_HEADERS, exact_decimals, percent_decimals, row_name

NAN = math.nan


@dataclass(frozen=True)
class Reference:
    """Reference per-setting results: final training loss, train and
    validation accuracy (fractions; NaN where not given), given to
    ``precision`` (0.01: two decimals); the setting it names as reaching the
    lowest final loss where it does not give them all (``lowest_loss``); its
    selected model's test accuracy and confusion matrix (rows true, columns
    predicted), where given."""

    name: str        # how the caption names it in full: whose it is
    short: str       # how the prose names it once the caption has
    config: Config   # what it trained (its settings in the order given)
    final_loss: tuple[float, ...]
    train_acc: tuple[float, ...]
    val_acc: tuple[float, ...]
    precision: float
    lowest_loss: int | None = None
    test_acc: float = NAN
    confusion: tuple[tuple[int, int], tuple[int, int]] | None = None


ORIGINAL_REPORT = Reference(
    "the original report of this assignment (a student report: car vs cat, "
    "16\u00d716, canonical CIFAR-10)", "the original report", Config(),
    final_loss=(NAN, NAN, NAN, NAN, 0.031),
    train_acc=(0.897, 0.893, 0.982, 0.983, 0.976),
    val_acc=(0.885, 0.885, 0.919, 0.921, 0.913), precision=0.001,
    lowest_loss=4, test_acc=0.917, confusion=((913, 87), (79, 921)))
# Its split is not published: the course's template, which the defaults follow.
COURSE_OUTPUT_2023 = Reference(
    "the course's published output of its own solution (its 2023 edition, "
    "gradient_descent_output.txt: airplane vs bird, 32\u00d732)",
    "the course's published output",
    Config(name="airplane vs bird, 32x32", classes=("airplane", "bird"),
           image_size=32, sizes=(3072, 512, 128, 32, 2), settings=(
               Setting(0.01, 0, 0), Setting(0.01, 0, 0.01), Setting(0.01, 0.9, 0),
               Setting(0.01, 0.9, 0.01), Setting(0.01, 0.9, 0.001),
               Setting(0.01, 0.8, 0.01))),
    final_loss=(0.31793, 0.33567, 0.07555, 0.08699, 0.05682, 0.14508),
    train_acc=(0.88, 0.87, 0.97, 0.96, 0.98, 0.88),
    val_acc=(0.83, 0.83, 0.83, 0.84, 0.83, 0.80), precision=0.01)
REFERENCES = (ORIGINAL_REPORT, COURSE_OUTPUT_2023)


def _task(cfg: Config) -> tuple:
    return cfg.classes, cfg.image_size, cfg.sizes


def reference_for(cfg: Config) -> Reference | None:
    """The reference that trained ``cfg``'s classes, image size and
    layers, or None."""
    return next((r for r in REFERENCES if _task(r.config) == _task(cfg)), None)


def differences(cfg: Config, ref: Reference) -> list[str]:
    """The config fields in which ``cfg`` trains otherwise than ``ref`` did,
    apart from names, data folder and the choice of settings (compared one by
    one)."""
    ignore = ("name", "class_names", "data_dir", "settings")
    mine, theirs = dataclasses.asdict(cfg), dataclasses.asdict(ref.config)
    return [k for k in mine if k not in ignore and mine[k] != theirs[k]]


def setting_key(s) -> tuple[float, float, float]:
    """(learning rate, momentum, weight decay): how settings are matched
    across two runs."""
    return s.lr, s.momentum, s.weight_decay


FIGURES = {"final loss": "final_loss", "train accuracy (%)": "train_acc",
           "validation accuracy (%)": "val_acc"}  # header -> field, both sides


def _figure(header: str, s) -> float:
    """Setting ``s``'s figure under ``header`` as the table prints it (percent
    for accuracies; no final loss where it diverged)."""
    v = getattr(s, FIGURES[header])
    if header == "final loss":
        return NAN if s.diverged else v
    return 100 * v


def _given(ref: Reference, header: str, k: int) -> float:
    """The reference's figure of its setting ``k`` (percent for accuracies)."""
    v = getattr(ref, FIGURES[header])[k]
    return v if header == "final loss" else round(100 * v, 6)


def _cells(ours: list[float], theirs: list[float], decimals: int) -> list[str]:
    """'88.8 (88.5)': this render's figure, then the reference's in
    parentheses as given (its fewest exact decimals); blanks left out."""
    exact = exact_decimals(theirs, 6)
    out = []
    for a, b in zip(ours, theirs):
        mine = "" if math.isnan(a) else f"{a:.{decimals}f}"
        pub = "" if math.isnan(b) else f"({b:.{exact}f})"
        out.append(" ".join(p for p in (mine, pub) if p))
    return out


def loss_decimals(ref: Reference | None, digits: int = 4) -> int:
    """Decimals of this render's final losses beside ``ref``'s: as many as the
    reference gives (0.031: three), so both print alike; ``digits`` without."""
    given = [v for v in (ref.final_loss if ref else ()) if math.isfinite(v)]
    return exact_decimals(given, 6) if given else digits


def loss_text(res: Results, x: float) -> str:
    """A final loss in prose, to the decimals the results table prints it."""
    return f"{x:.{loss_decimals(reference_for(res.config))}f}"


def results_table(res: Results) -> pd.DataFrame:
    """The one results table: per setting, its hyper-parameters, final
    training loss, training and validation accuracy (the torch.optim.SGD
    model's), each followed in parentheses by the reference's figure for the
    same setting (final losses to the reference's decimals); then the
    reference's settings this render did not train ("reference only"). The
    selected setting is named "(selected)", a diverged one "(diverged)"."""
    ref = reference_for(res.config)
    ss = res.settings
    theirs = {setting_key(s): k for k, s in enumerate(ref.config.settings)} if ref else {}
    best = res.best.index if res.best else None
    mine = {setting_key(s) for s in ss}
    extra = [k for k, s in enumerate(ref.config.settings if ref else ())
             if setting_key(s) not in mine]
    keys = [setting_key(s) for s in ss] + [setting_key(ref.config.settings[k]) for k in extra]
    names = [row_name(i) + (" (selected)" if i == best else
                            " (diverged)" if s.diverged else "")
             for i, s in enumerate(ss)] + ["reference only"] * len(extra)
    table = pd.DataFrame(keys, columns=list(SETTING_HEADERS.values()),
                         index=pd.Index(names, name="model"))
    for header in FIGURES:
        ours = [_figure(header, s) for s in ss] + [NAN] * len(extra)
        pub = [_given(ref, header, theirs[setting_key(s)]) if setting_key(s) in theirs
               else NAN for s in ss] + [_given(ref, header, k) for k in extra]
        digits = (loss_decimals(ref) if header == "final loss"
                  else percent_decimals(ours))
        table[header] = _cells(ours, pub, digits)
    return table


def reference_caption(res: Results) -> str:
    """The caption's last sentence for :func:`results_table`: whose figures
    stand in parentheses, and which final losses it gives (the table's first
    part, what the figures are, is written in the partial)."""
    ref = reference_for(res.config)
    if ref is None:
        return "Neither reference trained this task."
    given = [k for k, v in enumerate(ref.final_loss) if math.isfinite(v)]
    ours = {setting_key(s): i for i, s in enumerate(res.settings)}
    named = [model_name(ours[setting_key(ref.config.settings[k])]) for k in given
             if setting_key(ref.config.settings[k]) in ours]
    losses = ("" if len(given) == len(ref.final_loss) else
              f"; it gives a final loss only for {' and '.join(named)}" if named
              else "; it gives no final loss for the settings here")
    return f"In parentheses: {ref.name}, for the same setting{losses}."


def task_words(cfg: Config) -> str:
    """'car vs cat at 16×16 (layers 768-128-32-2)'."""
    a, b = cfg.class_names
    return (f"{a} vs {b} at {cfg.image_size}\u00d7{cfg.image_size} (layers "
            f"{'-'.join(map(str, cfg.sizes))})")

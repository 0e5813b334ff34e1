"""The course's published results and this render beside them.

The course published two: the original report (the seed of this project: car
vs cat at 16x16, layers 768-128-32-2, the five default settings) and, for its
2023 edition, the output of its own solution, ``gradient_descent_output.txt``
(airplane vs bird at 32x32, layers 3072-512-128-32-2, six settings). A render
is compared with the one that trained its classes, image size and layers,
setting by setting; settings only one of them trained are listed, not compared.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import pandas as pd

from ..config import Config, Setting, model_name, setting_label
from ..results import Results
from .fmt import SETTING_HEADERS, row_name

NAN = math.nan
CLOSE = 0.02  # what a different data copy and split explain (2 points)


@dataclass(frozen=True)
class Reference:
    """Published per-setting results: final training loss, train and
    validation accuracy (fractions; NaN where not published), given to
    ``precision`` (0.01: two decimals)."""

    name: str        # how the prose and the caption name it
    config: Config   # what it trained (its settings in published order)
    final_loss: tuple[float, ...]
    train_acc: tuple[float, ...]
    val_acc: tuple[float, ...]
    precision: float


ORIGINAL_REPORT = Reference(
    "the original report (car vs cat, 16x16, canonical CIFAR-10)", Config(),
    final_loss=(NAN, NAN, NAN, NAN, 0.031),
    train_acc=(0.897, 0.893, 0.982, 0.983, 0.976),
    val_acc=(0.885, 0.885, 0.919, 0.921, 0.913), precision=0.001)
# Its split is not published: the course's template, which the defaults follow.
COURSE_OUTPUT_2023 = Reference(
    "the course's output for its 2023 edition (gradient_descent_output.txt: "
    "airplane vs bird, 32x32)",
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
    """The published reference that trained ``cfg``'s classes, image size and
    layers, or None."""
    return next((r for r in REFERENCES if _task(r.config) == _task(cfg)), None)


def differences(cfg: Config, ref: Reference) -> list[str]:
    """The config fields in which ``cfg`` trains otherwise than ``ref`` did,
    apart from names, data folder and the choice of settings (compared one by
    one)."""
    ignore = ("name", "class_names", "data_dir", "settings")
    mine, theirs = dataclasses.asdict(cfg), dataclasses.asdict(ref.config)
    return [k for k in mine if k not in ignore and mine[k] != theirs[k]]


def _key(s) -> tuple[float, float, float]:
    return s.lr, s.momentum, s.weight_decay


def _published(ref: Reference, k: int) -> dict:
    """The reference's figures of its setting ``k``, in percent for people."""
    return {"final loss, reference": ref.final_loss[k],
            "train accuracy, reference (%)": round(100 * ref.train_acc[k], 6),
            "validation accuracy, reference (%)": round(100 * ref.val_acc[k], 6)}


def reference_table(res: Results) -> pd.DataFrame:
    """This render's settings with their figures and the reference's for the
    same setting (blank where it trained none), then the reference's settings
    this render did not train ("reference only")."""
    ref = reference_for(res.config)
    theirs = {_key(s): k for k, s in enumerate(ref.config.settings)} if ref else {}
    rows, names = [], []
    for i, s in enumerate(res.settings):
        k = theirs.get(_key(s))
        rows.append({**dict(zip(SETTING_HEADERS.values(), _key(s))),
                     "final loss": NAN if s.diverged else s.final_loss,
                     "train accuracy (%)": 100 * s.train_acc,
                     "validation accuracy (%)": 100 * s.val_acc,
                     **(_published(ref, k) if k is not None else {})})
        names.append(row_name(i))
    mine = {_key(s) for s in res.settings}
    for k, s in enumerate(ref.config.settings if ref else ()):
        if _key(s) not in mine:
            rows.append({**dict(zip(SETTING_HEADERS.values(), _key(s))),
                         **_published(ref, k)})
            names.append("reference only")
    return pd.DataFrame(rows, index=pd.Index(names, name="model"))


EXACT = ("final loss, reference", "train accuracy, reference (%)",
         "validation accuracy, reference (%)")  # as published: for fmt's exact=


def reference_caption(res: Results) -> str:
    """The caption of :func:`reference_table`, naming its source."""
    ref = reference_for(res.config)
    if ref is None:
        return ("This render's results; neither published reference trained "
                "these classes, image size and layers, so no column is filled.")
    return (f"This render beside {ref.name}, setting by setting; blank where "
            "one of them has no such figure.")


def _gaps(res: Results, ref: Reference) -> dict[int, float]:
    """|validation accuracy here - reference| of the converged settings both
    trained, by setting index here."""
    theirs = {_key(s): k for k, s in enumerate(ref.config.settings)}
    return {i: abs(s.val_acc - ref.val_acc[theirs[_key(s)]])
            for i, s in enumerate(res.settings)
            if _key(s) in theirs and not s.diverged}


def task_words(cfg: Config) -> str:
    """'car vs cat at 16x16 (layers 768-128-32-2)'."""
    a, b = cfg.class_names
    return (f"{a} vs {b} at {cfg.image_size}x{cfg.image_size} (layers "
            f"{'-'.join(map(str, cfg.sizes))})")


def _none_published() -> str:
    tasks = " and for ".join(task_words(r.config) for r in REFERENCES)
    return (f"The course published results for {tasks}; this render trains "
            "neither task, so there is nothing to compare.")


def reference_sentence(res: Results) -> str:
    """How far this render's validation accuracies are from the published
    reference for its task, which settings only one of them trained, and
    whether the rest of the configuration matches."""
    ref = reference_for(res.config)
    if ref is None:
        return _none_published()
    gaps = _gaps(res, ref)
    if not gaps:
        return (f"Of this render's converged settings, {ref.name} trained none, so "
                "there is nothing to compare.")
    worst, ok = max(gaps.values()), CLOSE + ref.precision / 2
    rounded = (f" (it rounds its accuracies to {ref.precision:g})"
               if ref.precision >= 0.01 else "")
    out = [f"Against {ref.name}, the validation accuracies of the {len(gaps)} "
           f"settings both trained differ by at most {worst * 100:.1f} points"
           + (f"{rounded}, within what a different data copy and split explain."
              if worst <= ok else f"{rounded}; likely reasons: a different copy of "
              "the data (e.g. JPEG re-encoded), a different split or number of "
              "epochs.")]
    alone = [model_name(i) for i, s in enumerate(res.settings)
             if i not in gaps and not s.diverged]
    if alone:
        out.append(f"{', '.join(alone)} {'has' if len(alone) == 1 else 'have'} no "
                   "counterpart there.")
    mine = {_key(s) for s in res.settings}
    extra = [setting_label(s) for s in ref.config.settings if _key(s) not in mine]
    if extra:
        out.append(f"It also trained {len(extra)} setting"
                   f"{'s' if len(extra) > 1 else ''} that this render did not "
                   f"({'; '.join(extra)}): the table lists "
                   f"{'them' if len(extra) > 1 else 'it'} as reference only.")
    other = differences(res.config, ref)
    if other:
        out.append(f"This render differs from it in {', '.join(other)}, so the "
                   "comparison is only indicative.")
    return " ".join(out)

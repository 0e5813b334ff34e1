"""Published results of the same task, and this render beside them.

Two are known, of different standing. The original report of this assignment
is another group's student report (the seed of this project: car vs cat at
16x16, layers 768-128-32-2, the five default settings, canonical CIFAR-10).
The course's published output of its own solution, ``gradient_descent_output.
txt``, belongs to its 2023 edition (airplane vs bird at 32x32, layers
3072-512-128-32-2, six settings). A render is compared with the one that
trained its classes, image size and layers, setting by setting, and the
words say which one it is; settings only one of them trained are listed, not
compared.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import pandas as pd

from ..config import Config, Setting, model_name, setting_label
from ..results import Results
from .fmt import SETTING_HEADERS, exact_decimals, percent_decimals, row_name

NAN = math.nan
CLOSE = 0.02  # what a different data copy and split explain (2 points)


@dataclass(frozen=True)
class Reference:
    """Published per-setting results: final training loss, train and
    validation accuracy (fractions; NaN where not published), given to
    ``precision`` (0.01: two decimals)."""

    name: str        # how the prose and the caption name it: whose it is
    config: Config   # what it trained (its settings in published order)
    final_loss: tuple[float, ...]
    train_acc: tuple[float, ...]
    val_acc: tuple[float, ...]
    precision: float


ORIGINAL_REPORT = Reference(
    "the original report of this assignment (another group's student report: "
    "car vs cat, 16x16, canonical CIFAR-10)", Config(),
    final_loss=(NAN, NAN, NAN, NAN, 0.031),
    train_acc=(0.897, 0.893, 0.982, 0.983, 0.976),
    val_acc=(0.885, 0.885, 0.919, 0.921, 0.913), precision=0.001)
# Its split is not published: the course's template, which the defaults follow.
COURSE_OUTPUT_2023 = Reference(
    "the course's published output of its own solution (its 2023 edition, "
    "gradient_descent_output.txt: airplane vs bird, 32x32)",
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


FIGURES = {"final loss": "final_loss", "train accuracy (%)": "train_acc",
           "validation accuracy (%)": "val_acc"}  # header -> field, both sides


def _figure(header: str, s) -> float:
    """Setting ``s``'s figure under ``header`` as the table prints it (percent
    for accuracies; no final loss where it diverged)."""
    v = getattr(s, FIGURES[header])
    if header == "final loss":
        return NAN if s.diverged else v
    return 100 * v


def _published(ref: Reference, header: str, k: int) -> float:
    """The reference's figure of its setting ``k`` (percent for accuracies)."""
    v = getattr(ref, FIGURES[header])[k]
    return v if header == "final loss" else round(100 * v, 6)


def _cells(ours: list[float], theirs: list[float], decimals: int) -> list[str]:
    """'88.8 (88.5)': this render's figure, then the reference's in
    parentheses as published (its fewest exact decimals); blanks left out."""
    exact = exact_decimals(theirs, 6)
    out = []
    for a, b in zip(ours, theirs):
        mine = "" if math.isnan(a) else f"{a:.{decimals}f}"
        pub = "" if math.isnan(b) else f"({b:.{exact}f})"
        out.append(" ".join(p for p in (mine, pub) if p))
    return out


def results_table(res: Results) -> pd.DataFrame:
    """The one results table: per setting, its hyper-parameters, final
    training loss, training and validation accuracy (the torch.optim.SGD
    model's), each followed in parentheses by the published reference's figure
    for the same setting; then the reference's settings this render did not
    train ("reference only"). The selected setting is named "(selected)", a
    diverged one "(diverged)"."""
    ref = reference_for(res.config)
    ss = res.settings
    theirs = {_key(s): k for k, s in enumerate(ref.config.settings)} if ref else {}
    best = res.best.index if res.best else None
    mine = {_key(s) for s in ss}
    extra = [k for k, s in enumerate(ref.config.settings if ref else ())
             if _key(s) not in mine]
    keys = [_key(s) for s in ss] + [_key(ref.config.settings[k]) for k in extra]
    names = [row_name(i) + (" (selected)" if i == best else
                            " (diverged)" if s.diverged else "")
             for i, s in enumerate(ss)] + ["reference only"] * len(extra)
    table = pd.DataFrame(keys, columns=list(SETTING_HEADERS.values()),
                         index=pd.Index(names, name="model"))
    for header in FIGURES:
        ours = [_figure(header, s) for s in ss] + [NAN] * len(extra)
        pub = [_published(ref, header, theirs[_key(s)]) if _key(s) in theirs
               else NAN for s in ss] + [_published(ref, header, k) for k in extra]
        digits = 4 if header == "final loss" else percent_decimals(ours)
        table[header] = _cells(ours, pub, digits)
    return table


def results_caption(res: Results) -> str:
    """The caption of :func:`results_table`: epochs and batch size, what the
    figures are, and whose stand in parentheses."""
    c = res.config
    head = (f"Every setting, trained for {c.epochs} epochs with mini-batches of "
            f"{c.batch_size}: final training loss, training and validation "
            "accuracy of the torch.optim.SGD model; the selected setting is "
            "marked.")
    ref = reference_for(c)
    if ref is None:
        return head + " Neither published reference trained this task."
    return head + f" In parentheses: {ref.name}, for the same setting."


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
    return (f"Published results exist for {tasks}; neither is the task here, "
            "so there is nothing to compare.")


def reference_sentence(res: Results) -> str:
    """How far this render's validation accuracies are from the published
    reference for its task, which settings only one of them trained, and
    whether the rest of the configuration matches."""
    ref = reference_for(res.config)
    if ref is None:
        return _none_published()
    gaps = _gaps(res, ref)
    if not gaps:
        return (f"Of the converged settings here, {ref.name} trained none, so "
                "there is nothing to compare.")
    worst, ok = max(gaps.values()), CLOSE + ref.precision / 2
    rounded = (f" (it rounds its accuracies to {ref.precision:g})"
               if ref.precision >= 0.01 else "")
    out = [f"The figures in parentheses are those of {ref.name}. Against it, "
           f"the validation accuracies of the {len(gaps)} "
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
                   f"{'s' if len(extra) > 1 else ''} not trained here "
                   f"({'; '.join(extra)}): the table lists "
                   f"{'them' if len(extra) > 1 else 'it'} as reference only.")
    other = differences(res.config, ref)
    if other:
        out.append(f"The training here differs from it in {', '.join(other)}, "
                   "so the comparison is only indicative.")
    return " ".join(out)

"""The original report's numbers (assignment spec) and this render beside them.

They belong to the default classes, image size and layers and to the five
default settings: another config is compared setting by setting, if at all.
"""

from __future__ import annotations

import dataclasses
import math

import pandas as pd

from ..config import DEFAULT_SETTINGS, Config, model_name
from ..results import Results

REFERENCE = pd.DataFrame(
    {"lr": [s.lr for s in DEFAULT_SETTINGS],
     "momentum": [s.momentum for s in DEFAULT_SETTINGS],
     "weight_decay": [s.weight_decay for s in DEFAULT_SETTINGS],
     "train_acc": [0.897, 0.893, 0.982, 0.983, 0.976],
     "val_acc": [0.885, 0.885, 0.919, 0.921, 0.913]},
    index=[model_name(i) for i in range(5)])
REFERENCE_TEST_ACC = 0.917
CLOSE = 0.02  # what a different data copy and split explain (2 points)


def same_task(cfg: Config) -> bool:
    """Whether ``cfg`` trains the original's classes, image size and layers."""
    d = Config()
    return (cfg.classes, cfg.image_size, cfg.sizes) == (d.classes, d.image_size,
                                                        d.sizes)


def comparable(cfg: Config) -> bool:
    """Whether ``cfg`` is the original report's config (the defaults), apart
    from its name, display names and data folder."""
    def fields(c: Config) -> dict:
        return {k: v for k, v in dataclasses.asdict(c).items()
                if k not in ("name", "class_names", "data_dir")}
    return fields(cfg) == fields(Config())


def _reference(res: Results) -> pd.DataFrame:
    """Validation accuracy here, the original report's for the same setting
    (NaN where it trained none, or trained another task), and their
    difference; one row per setting here."""
    ref = REFERENCE.set_index(["lr", "momentum", "weight_decay"])["val_acc"]
    task = same_task(res.config)
    rows = [{"val_acc (here)": s.val_acc,
             "val_acc (original)": (ref.get((s.lr, s.momentum, s.weight_decay),
                                            math.nan) if task else math.nan)}
            for s in res.settings]
    df = pd.DataFrame(rows, index=[model_name(i) for i in range(len(rows))])
    df["difference"] = df["val_acc (here)"] - df["val_acc (original)"]
    return df


def reference_table(res: Results) -> pd.DataFrame:
    """This render's validation accuracies next to the original report's for the
    same setting; empty (None) where the original has no counterpart."""
    df = _reference(res)
    return df.astype(object).where(df.notna(), None)


def reference_sentence(res: Results) -> str:
    """How far this render's validation accuracies are from the original report."""
    diff = _reference(res)["difference"].dropna()
    if diff.empty:
        d = Config()
        return (f"The original report trained {d.class_names[0]} vs "
                f"{d.class_names[1]} at {d.image_size}x{d.image_size} with layers "
                f"{'-'.join(map(str, d.sizes))}; no setting of this render has a "
                "counterpart there, so there is nothing to compare.")
    if not comparable(res.config):
        return ("This render's configuration differs from the original report's "
                "(classes, sizes, epochs, settings or data subset), so the "
                "comparison is only indicative.")
    worst = diff.abs().max()
    if worst <= CLOSE:
        return (f"They differ by at most {worst * 100:.1f} points, within what a "
                "different data copy and split explain.")
    return (f"They differ by at most {worst * 100:.1f} points; likely reasons: a "
            "different copy of the data (e.g. JPEG re-encoded), a different split "
            "or number of epochs.")

"""Tables (pandas DataFrames) of the data and the results, for the CLI and the book."""

from __future__ import annotations

import pandas as pd

from .bench import meets, target
from .config import model_name
from .experiments import Results, SettingResult


def results_table(results: Results) -> pd.DataFrame:
    """One row per setting: hyper-parameters, final loss, accuracies, time."""
    best = results.best["index"] if results.best else None
    rows = [{"model": model_name(i), "lr": s.lr, "momentum": s.momentum,
             "weight_decay": s.weight_decay, "final_loss": s.final_loss,
             "train_acc": s.train_acc, "val_acc": s.val_acc,
             "seconds": s.seconds, "diverged": s.diverged, "best": i == best}
            for i, s in enumerate(results.settings)]
    return pd.DataFrame(rows).set_index("model")


def equality_table(results: Results) -> pd.DataFrame:
    """Per setting: largest |difference| between the two trainers."""
    rows = [{"model": model_name(i), "epochs": len(s.train_loss_sgd),
             "max_abs_diff_loss": s.max_abs_diff_loss,
             "max_abs_diff_params": s.max_abs_diff_params,
             "identical": s.max_abs_diff_loss == 0 and s.max_abs_diff_params == 0}
            for i, s in enumerate(results.settings)]
    return pd.DataFrame(rows).set_index("model")


def counts_table(results: Results) -> pd.DataFrame:
    """Images per class and split, with totals."""
    names = results.data["class_names"]
    counts = results.data["counts"]
    df = pd.DataFrame({split: counts[split] for split in ("train", "val", "test")},
                      index=names)
    df.loc["total"] = df.sum()
    return df


def loss_table(results: Results) -> pd.DataFrame:
    """Training loss per epoch (rows) and model (columns), SGD trainer."""
    return pd.DataFrame({model_name(i): pd.Series(s.train_loss_sgd)
                         for i, s in enumerate(results.settings)}).rename_axis("epoch")


def setting_dict(s: SettingResult) -> dict:
    """The three hyper-parameters of a setting."""
    return {"lr": s.lr, "momentum": s.momentum, "weight_decay": s.weight_decay}


def test_table(results: Results) -> pd.DataFrame:
    """The selected model's accuracy on each split (empty if none was selected)."""
    b = results.best
    if b is None:
        return pd.DataFrame({"accuracy": []})
    return pd.DataFrame({"accuracy": [b["train_acc"], b["val_acc"], b["test_acc"]]},
                        index=["train", "validation", "test"])


BENCH_ROWS = {  # key in the bench JSON -> row name
    "reference_s": "course-style pipeline, end to end (s)",
    "mlp_lab_s": "mlp_lab, end to end, data cached (s)",
    "speedup": "speed-up (course-style / mlp_lab)",
    "train_s": "mlp_lab training (s)",
    "bound_s": "matmul-bound time of that work (s)",
    "train_over_bound": "training / bound",
    "float32_s": "mlp_lab in float32, end to end (s)",
    "float32_speedup": "speed-up (course-style float64 / mlp_lab float32)",
    "data_cold_s": "data preparation from images (s)",
    "data_cached_s": "data preparation from the cache (s)",
    "peak_rss_mb": "peak memory (MB)",
}


def benchmark_table(bench: dict) -> pd.DataFrame:
    """The benchmark's key figures (medians, with min and max where timed),
    with the target of issue 4 and whether it is met."""
    rows = [{"measure": name, "median": bench[key],
             "min": bench.get(f"{key}_min"), "max": bench.get(f"{key}_max"),
             "target": target(key),
             "met": {None: "", True: "yes", False: "no"}[meets(key, bench[key])]}
            for key, name in BENCH_ROWS.items() if key in bench]
    return pd.DataFrame(rows).set_index("measure")


ANATOMY_ROWS = {  # stage of anatomy.py -> row name
    "bound": "bound: the products, hot in a loop",
    "products": "the products, on the real batches",
    "forward": "forward pass and loss (autograd graph built)",
    "backward": "forward and backward",
    "sgd": "step of train (torch.optim.SGD)",
    "manual": "step of train_manual_update",
}


def anatomy_table(bench: dict) -> pd.DataFrame:
    """Milliseconds per batch of each stage, and its multiple of the bound, by dtype."""
    a = bench["anatomy"]
    cols = {}
    for dtype in ("float64", "float32"):
        t = a[dtype]
        cols[f"{dtype} (ms)"] = [t[k] * 1e3 for k in ANATOMY_ROWS]
        cols[f"{dtype} / bound"] = [t[k] / t["bound"] for k in ANATOMY_ROWS]
    return pd.DataFrame(cols, index=pd.Index(list(ANATOMY_ROWS.values()),
                                             name="per batch"))


def scaling_table(bench: dict) -> pd.DataFrame:
    """Training time against epochs, settings and image size (one run each)."""
    cols = ["epochs", "settings", "image_size", "gflop", "train_s", "bound_s",
            "train_over_bound"]
    df = pd.DataFrame(bench["scaling"])[cols]
    df.index = pd.Index([f"run {i + 1}" for i in range(len(df))], name="scaling")
    return df

"""Tables (pandas DataFrames) of the results record and the recorded benchmarks.

For the CLI and the book; no torch. Tables of a benchmark that was not
recorded are None, which ``fmt.markdown_table`` shows as a note.
"""

from __future__ import annotations


import pandas as pd

from .. import cache
from ..config import model_name
from ..results import Results
from .fmt import SETTING_HEADERS, row_name
from .places import shown_place

SPLITS = {"train": "train", "val": "validation", "test": "test"}


def results_table(results: Results) -> pd.DataFrame:
    """One row per setting, columns named as the fields of the JSON record:
    hyper-parameters, final loss, accuracies (fractions), time (what ``python -m
    mlp_lab run`` prints; the book's results table is
    :func:`~.original.results_table`)."""
    best = results.best.index if results.best else None
    rows = [{"model": model_name(i), "lr": s.lr, "momentum": s.momentum,
             "weight_decay": s.weight_decay, "final_loss": s.final_loss,
             "train_acc": s.train_acc, "val_acc": s.val_acc,
             "seconds": s.seconds, "diverged": s.diverged, "best": i == best}
            for i, s in enumerate(results.settings)]
    return pd.DataFrame(rows).set_index("model")


# The book's tables: headers in words with their units (fmt.markdown_table
# reads the unit to choose the decimals), accuracies in percent as in the
# prose and the figures, rows named "Model 1".. with a no-break space.


def _by_model(rows: list[dict]) -> pd.DataFrame:
    """``rows``, one per setting, named by :func:`fmt.row_name`."""
    return pd.DataFrame(rows, index=pd.Index(
        [row_name(i) for i in range(len(rows))], name="model"))


def settings_table(results: Results) -> pd.DataFrame:
    """The hyper-parameters of each setting."""
    return _by_model([{name: getattr(s, key) for key, name in SETTING_HEADERS.items()}
                      for s in results.settings])


def equality_table(results: Results) -> pd.DataFrame:
    """Per setting: the largest |difference| between the two trainers, over
    every epoch's loss and over the final parameters."""
    return _by_model([{"losses": s.max_abs_diff_loss,
                       "final parameters": s.max_abs_diff_params}
                      for s in results.settings])


EQUALITY = ("losses", "final parameters")  # equality_table's columns


def time_table(results: Results) -> pd.DataFrame:
    """Wall time of each setting's two trainings."""
    return _by_model([{"torch.optim.SGD (s)": s.seconds_sgd,
                                "manual update (s)": s.seconds_manual}
                               for s in results.settings])


def counts_table(results: Results) -> pd.DataFrame:
    """Images per class and split, with totals."""
    counts = results.data.counts
    df = pd.DataFrame({name: counts[split] for split, name in SPLITS.items()},
                      index=pd.Index(results.data.class_names, name="class"))
    df.loc["total"] = df.sum()
    return df


def stats_table(results: Results) -> pd.DataFrame:
    """Per-channel mean and standard deviation of the training split."""
    return pd.DataFrame({"mean": results.data.mean,
                         "standard deviation": results.data.std},
                        index=pd.Index(["red", "green", "blue"], name="channel"))


def test_table(results: Results) -> pd.DataFrame:
    """The selected model's accuracy (%) on each split (empty if none was
    selected)."""
    b = results.best
    if b is None:
        return pd.DataFrame({"accuracy (%)": []})
    acc = [b.train_acc, b.val_acc, b.test_acc]
    return pd.DataFrame({"accuracy (%)": [100 * a for a in acc]},
                        index=pd.Index(list(SPLITS.values()), name="split"))


def environment_table(res: Results, quarto: str, config_file: str) -> pd.DataFrame:
    """Versions, device, seeds, data and code identity of this render."""
    e = res.env
    env = {"Python": e.python, "PyTorch": e.torch, "torchvision": e.torchvision,
           "Quarto": quarto, "device": f"{e.device} ({e.device_name})",
           "dtype": e.dtype, "seed (models)": e.seed,
           "seed (split)": res.config.split_seed, "SGD code path": e.sgd_path,
           "data source": res.data.source,
           "data location": shown_place(res.data.location),
           "data fingerprint": res.data.fingerprint,
           "library code hash": cache.source_hash(cache.COMPUTE_MODULES),
           "config": config_file}
    return pd.DataFrame({"value": [str(v) for v in env.values()]}, index=list(env))


BENCH_ROWS = {  # key in the bench JSON -> row name
    "reference_s": "course-style pipeline, end to end (s)",
    "cli_run_s": "`python -m mlp_lab run`, a new process, results cache cold (s)",
    "mlp_lab_s": "mlp_lab, end to end, data cached (s)",
    "mlp_lab_workers1_s": "mlp_lab with `--workers 1`, end to end (s)",
    "workers": "default workers (processes)",
    "workers_speedup": "speed-up of the default workers over `--workers 1`",
    "pool_start_s": "start of the worker pool, once per process (s)",
    "speedup": "speed-up (course-style / mlp_lab)",
    "train_s": "mlp_lab training (s)",
    "bound_s": "matmul-bound time of that work (s)",
    "train_over_bound": "training / bound",
    "float32_s": "mlp_lab in float32, end to end (s)",
    "float32_speedup": "speed-up (course-style float64 / mlp_lab float32)",
    "data_cold_s": "data preparation from images (s)",
    "data_cached_s": "data preparation from the cache (s)",
    "peak_rss_mb": "peak memory (MB)",
    "handin_default_s": "`make handin`, default config, caches cold (s)",
    "handin_airplane-bird-32_s": "`make handin`, 2023 edition, caches cold (s)",
}


def benchmark_table(bench: dict | None) -> pd.DataFrame | None:
    """The benchmark's key figures: medians, with min and max where timed."""
    if bench is None:
        return None
    rows = [{"measure": name, "median": bench[key],
             "min": bench.get(f"{key}_min"), "max": bench.get(f"{key}_max")}
            for key, name in BENCH_ROWS.items() if key in bench]
    return pd.DataFrame(rows).set_index("measure")


ANATOMY_ROWS = {  # stage of speed.anatomy -> row name
    "bound": "bound: the products, hot in a loop",
    "products": "the products, on the real batches",
    "forward": "forward pass and loss (autograd graph built)",
    "backward": "forward and backward",
    "sgd": "step of train (torch.optim.SGD)",
    "manual": "step of train_manual_update",
}


def anatomy_table(bench: dict | None) -> pd.DataFrame | None:
    """Milliseconds per batch of each stage, and its multiple of the bound, by dtype."""
    if bench is None or "anatomy" not in bench:
        return None
    a = bench["anatomy"]
    cols = {}
    for dtype in ("float64", "float32"):
        t = a[dtype]
        cols[f"{dtype} (ms)"] = [t[k] * 1e3 for k in ANATOMY_ROWS]
        cols[f"{dtype} / bound"] = [t[k] / t["bound"] for k in ANATOMY_ROWS]
    return pd.DataFrame(cols, index=pd.Index(list(ANATOMY_ROWS.values()),
                                             name="per batch"))


def scaling_table(bench: dict | None) -> pd.DataFrame | None:
    """Training time against epochs, settings, image size and worker count
    (one run each; a record made before the pool has no workers column)."""
    if bench is None:
        return None
    cols = {"epochs": "epochs", "settings": "settings", "image_size": "image size",
            "workers": "workers", "gflop": "GFLOP", "wall_s": "wall (s)",
            "train_s": "training (s)", "bound_s": "bound (s)",
            "train_over_bound": "training / bound"}
    df = pd.DataFrame(bench["scaling"])
    df = df[[c for c in cols if c in df]].rename(columns=cols)
    df.index = pd.Index([f"run {i + 1}" for i in range(len(df))], name="scaling")
    return df


def book_time_table(timing: dict | None) -> pd.DataFrame | None:
    """Execution time of each chapter in a fresh kernel (``book-bench``)."""
    if timing is None:
        return None
    return pd.DataFrame(timing["chapters"]).set_index("chapter").rename(
        columns={"seconds": "time (s)"})

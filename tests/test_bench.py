"""bench and bound: FLOPs by hand, the course pipeline, the CLI on a tiny tree."""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from mlp_lab.speed import bench, bound, reference
from mlp_lab.speed.bound import Shape
from mlp_lab.config import Config, Setting
from mlp_lab.data import load_data
from mlp_lab.experiments import run

SIZES = (12, 4, 2)  # P_1 = 12 * 4 = 48, P_2 = 4 * 2 = 8


def test_epoch_work_counts_the_short_batch_with_its_rows():
    # 10 samples in batches of 4: rows 4, 4, 2
    work = bound.epoch_work(SIZES, 10, 4, backward=True)
    assert work == Counter({
        Shape("fwd", 4, 12, 4): 2, Shape("fwd", 2, 12, 4): 1,
        Shape("dW", 4, 4, 12): 2, Shape("dW", 4, 2, 12): 1,
        Shape("fwd", 4, 4, 2): 2, Shape("fwd", 2, 4, 2): 1,
        Shape("dW", 2, 4, 4): 2, Shape("dW", 2, 2, 4): 1,
        Shape("dX", 4, 2, 4): 2, Shape("dX", 2, 2, 4): 1})  # no dX for layer 1
    forward = 2 * 10 * (48 + 8)
    assert bound.flops(bound.epoch_work(SIZES, 10, 4, backward=False)) == forward
    assert bound.flops(work) == forward + 2 * 10 * (48 + 8) + 2 * 10 * 8


def test_epoch_work_with_equal_layers_and_no_full_batch():
    work = bound.epoch_work((3, 3, 3), 2, 4, backward=False)
    assert work == Counter({Shape("fwd", 2, 3, 3): 2})  # one short batch, 2 layers


def test_training_work_covers_every_epoch_of_both_trainers():
    cfg = Config(image_size=2, sizes=SIZES, batch_size=4)
    setting = SimpleNamespace(train_loss_sgd=[1.0] * 3, train_loss_manual=[1.0] * 2)
    results = SimpleNamespace(settings=[setting, setting])
    work = bound.training_work(cfg, 10, results)
    train_epoch = 2 * 10 * (2 * (48 + 8) + 8)    # 2400
    assert bound.flops(work) == 2 * 5 * train_epoch


def test_bound_is_calls_times_seconds_per_call():
    work = Counter({Shape("fwd", 4, 12, 4): 3, Shape("dX", 4, 2, 4): 5})
    table = {Shape("fwd", 4, 12, 4): 0.5, Shape("dX", 4, 2, 4): 0.25}
    assert bound.bound_seconds(work, torch.float64, "cpu", dict(table)) == 2.75


@pytest.mark.parametrize("shape", [Shape("fwd", 5, 12, 4), Shape("dW", 4, 5, 12),
                                   Shape("dX", 5, 2, 4)])
def test_timed_products_have_the_shape_they_stand_for(shape):
    out = bound.product(shape, torch.float64, "cpu")()
    assert out.shape == (shape.m, shape.n) and out.dtype == torch.float64
    table = bound.measure([shape], torch.float64, "cpu")
    assert table[shape] > 0


def test_targets_are_checked_with_their_own_comparison():
    assert bench.target("speedup") == ">= 1.4" and bench.target("reference_s") == ""
    assert bench.meets("speedup", 1.4) and not bench.meets("speedup", 1.39)
    assert bench.meets("workers_speedup", 1.85)
    assert not bench.meets("workers_speedup", 1.84)
    assert bench.meets("cli_run_s", 18.0) and not bench.meets("cli_run_s", 18.1)
    assert bench.meets("handin_default_s", 75.0)
    assert not bench.meets("handin_airplane-bird-32_s", 421.0)
    assert not bench.meets("data_cached_s", 0.5) and bench.meets("data_cached_s", 0.4)
    assert bench.meets("reference_s", 1.0) is None
    # retired: training within 1.15x of the matmul bound is measured, not judged
    assert bench.meets("train_over_bound", 1.0) is None


def test_stats_are_the_median_min_and_max():
    report = {}
    bench._stats(report, "x_s", [3.0, 1.0, 10.0, 2.0])
    assert report == {"x_s": 2.5, "x_s_min": 1.0, "x_s_max": 10.0}


def test_verdicts_go_into_the_json_for_the_targets_only():
    report = {"speedup": 1.3, "data_cold_s": 1.0, "train_over_bound": 1.9,
              "reference_s": 70.0, "handin_default_s": None}  # None: no Quarto
    assert bench.verdicts(report) == {
        "speedup": {"target": ">= 1.4", "met": False},
        "data_cold_s": {"target": "< 5", "met": True}}


def test_benchmark_and_anatomy_tables():
    from mlp_lab.book import tables
    step = {"rows": 256, "bound": 0.002, "products": 0.0022, "forward": 0.001,
            "backward": 0.003, "sgd": 0.004, "manual": 0.0035}
    report = {"speedup": 1.7, "train_over_bound": 1.8, "reference_s": 70.0,
              "reference_s_min": 69.0, "reference_s_max": 72.0,
              "anatomy": {"float64": step,
                          "float32": {k: v / 2 for k, v in step.items()}}}
    t = tables.benchmark_table(report)
    # measurements only: the book shows no targets
    assert t.columns.tolist() == ["median", "min", "max"]
    assert t["median"].tolist() == [70.0, 1.7, 1.8]  # reference, speedup, ratio
    assert t["min"].tolist()[0] == 69.0 and t["max"].tolist()[0] == 72.0
    report["scaling"] = [dict(epochs=e, settings=1, image_size=16, gflop=1.0,
                              train_s=2.0 * e, bound_s=1.0 * e,
                              train_over_bound=2.0) for e in (2, 4)]
    sc = tables.scaling_table(report)  # recorded before the pool: no workers
    assert sc.index.tolist() == ["run 1", "run 2"] and "workers" not in sc
    assert sc["epochs"].tolist() == [2, 4]
    assert sc["training (s)"].tolist() == [4.0, 8.0]
    report["scaling"] = [dict(p, workers=1, wall_s=p["train_s"] + 0.5)
                         for p in report["scaling"]]
    report["scaling"].append(dict(epochs=4, settings=5, image_size=16, workers=2,
                                  gflop=5.0, wall_s=6.0, train_s=11.0, bound_s=5.0,
                                  train_over_bound=2.2))
    sc = tables.scaling_table(report)
    assert sc["workers"].tolist() == [1, 1, 2]
    assert sc["wall (s)"].tolist() == [4.5, 8.5, 6.0]
    a = tables.anatomy_table(report)
    assert len(a) == 6 and a["float64 / bound"].iloc[0] == 1.0
    assert a["float64 (ms)"].tolist() == pytest.approx([2, 2.2, 1, 3, 4, 3.5])
    assert a["float32 / bound"].tolist() == pytest.approx(
        a["float64 / bound"].tolist())
    assert tables.benchmark_table(None) is None  # not recorded: a note instead


def _tiny_tree(image_tree):
    return image_tree(classes=("automobile", "cat"), n_train=20, n_test=5)


def test_reference_trainers_agree_and_match_mlp_lab(image_tree, monkeypatch):
    monkeypatch.setenv("MLP_LAB_DATA", str(_tiny_tree(image_tree)))
    cfg = Config(epochs=3, settings=(Setting(0.05), Setting(0.05, 0.85, 0.01)))
    ref = reference.run_reference(cfg)
    assert torch.get_default_dtype() == torch.float32  # restored
    assert len(ref["settings"]) == 2 and 0 <= ref["test_acc"] <= 1
    for s in ref["settings"]:
        assert len(s["losses_sgd"]) == 3
        assert s["losses_sgd"] == s["losses_manual"]
    # same images, split, normalization and init: the same losses as mlp_lab
    for s, r in zip(ref["settings"], run(cfg).settings):
        assert s["losses_sgd"] == pytest.approx(r.train_loss_sgd, abs=1e-12)
        assert s["val_acc"] == r.val_acc


def test_reference_loaders_split_90_10(image_tree, monkeypatch):
    monkeypatch.setenv("MLP_LAB_DATA", str(_tiny_tree(image_tree)))
    with reference.default_dtype(torch.double):
        loaders = reference.load_loaders(Config(batch_size=16))
    sizes = {k: len(v.dataset) for k, v in loaders.items()}
    assert sizes == {"train": 36, "val": 4, "test": 10}
    x, y = next(iter(loaders["train"]))
    assert x.shape == (16, 3, 16, 16) and x.dtype == torch.float64
    assert set(y.tolist()) <= {0, 1}


def test_timed_runs_use_a_cold_results_cache_with_warm_data(
        image_tree, monkeypatch, tmp_path, cache_dir):
    monkeypatch.setenv("MLP_LAB_DATA", str(_tiny_tree(image_tree)))
    cfg = Config(epochs=1, settings=(Setting(0.05),))
    seed = tmp_path / "seed"
    seed.mkdir()
    bench.time_data(cfg, seed)
    data_files = [p.name for p in seed.iterdir()]
    assert len(data_files) == 1 and data_files[0].startswith("data-")
    mtime = (seed / data_files[0]).stat().st_mtime_ns
    with bench.cache_at(seed):  # the seeded file is this config's data, cached
        assert Path(load_data(cfg).provenance["cache_file"]).name == data_files[0]
    assert (seed / data_files[0]).stat().st_mtime_ns == mtime
    with bench.cold_cache(seed) as tmp:
        assert os.environ["MLP_LAB_CACHE"] == str(tmp)
        assert [p.name for p in tmp.iterdir()] == data_files
    assert os.environ["MLP_LAB_CACHE"] == str(cache_dir)  # restored
    for _ in range(2):  # the second run must not find the first one's results
        r = bench.time_run(cfg, seed)
        assert not any(s.from_cache for s in r["results"].settings)
        assert r["identical"] and r["bound_s"] > 0
        assert r["train_s"] == sum(s.seconds for s in r["results"].settings)
    assert list(cache_dir.iterdir()) == []  # the test's own cache untouched


REQUIRED = ("reference_s", "cli_run_s", "mlp_lab_s", "mlp_lab_workers1_s",
            "workers_speedup",
            "pool_start_s", "speedup", "bound_s", "train_s",
            "train_over_bound", "data_cold_s", "data_cached_s", "peak_rss_mb",
            "float32_s", "float32_speedup")


def test_cli_bench_quick_writes_every_figure(image_tree, python_run, tmp_path):
    out = tmp_path / "out.json"
    # --threads 1: the course pipeline on mlp_lab's one intra-op thread, so
    # that its losses can equal mlp_lab's to the last bit (with two threads
    # the last setting's second loss differs in its last bit on this tree)
    proc = python_run(["-m", "mlp_lab", "bench", "--quick", "--threads", "1",
                       "--json", out],
                      env={"MLP_LAB_DATA": _tiny_tree(image_tree)}, cores=None)
    assert proc.returncode == 0, proc.stderr
    assert "speedup" in proc.stdout and "train_over_bound" in proc.stdout
    report = json.loads(out.read_text())
    for key in REQUIRED:
        assert isinstance(report[key], float), key
        if key == "pool_start_s" and report["workers"] == 1:  # one usable core:
            assert report[key] == 0.0, key  # no pool, the command trains itself
        else:
            assert report[key] > 0, key
        if key not in ("speedup", "train_over_bound", "float32_speedup",
                       "peak_rss_mb", "workers_speedup", "pool_start_s"):
            assert report[f"{key}_min"] <= report[key] <= report[f"{key}_max"]
    # the ratios are those of the figures they name
    assert report["speedup"] == report["reference_s"] / report["mlp_lab_s"]
    assert report["train_over_bound"] == report["train_s"] / report["bound_s"]
    assert report["float32_speedup"] == report["reference_s"] / report["float32_s"]
    assert report["workers_speedup"] == (report["mlp_lab_workers1_s"]
                                         / report["mlp_lab_s"])
    assert report["workers_same_numbers"] is True
    top = min(len(os.sched_getaffinity(0)), 2 * report["n_settings"])
    assert report["workers"] == top
    assert report["targets"] == bench.verdicts(report)
    assert all(report["runs"][k] == [report[k]] for k in bench.TIMES)  # 1 repeat
    assert report["float32_identical"] is True
    assert report["reference_matches_mlp_lab"] is True
    assert report["repeats"] == 1 and report["epochs"] == 2
    assert report["limit_per_class"] == 500
    m = report["machine"]
    assert m["cores"] >= 1 and m["threads"] >= 1 and m["torch"] == torch.__version__
    # one field varied at a time, and a row for 1 and the default workers
    assert {(p["epochs"], p["settings"], p["image_size"], p["workers"])
            for p in report["scaling"]} == {
        (1, 1, 16, 1), (2, 1, 16, 1), (1, 2, 16, 1), (1, 1, 32, 1),
        (2, 5, 16, 1), (2, 5, 16, top)}
    assert all(p["wall_s"] > 0 for p in report["scaling"])
    assert all(p["train_over_bound"] == p["train_s"] / p["bound_s"]
               for p in report["scaling"])
    a = report["anatomy"]
    assert a["setting"] == {"lr": 0.01, "momentum": 0.85, "weight_decay": 0.01}
    for dtype in ("float64", "float32"):  # all 36 training images: one batch
        assert a[dtype]["rows"] == 36 and a[dtype]["bound"] > 0
        assert all(a[dtype][k] > 0 for k in ("products", "forward", "backward",
                                             "sgd", "manual"))
    assert "x bound" in proc.stdout


def test_cli_bench_rejects_zero_repeats(python_run):
    proc = python_run(["-m", "mlp_lab", "bench", "--repeats", "0"])
    assert proc.returncode == 2 and "repeats" in proc.stderr

"""Experiments: both trainers per setting, best-model selection, the results cache."""

import dataclasses
import json
import math
import time
from pathlib import Path

import pytest

from mlp_lab.config import Config, Setting
from mlp_lab.experiments import run, select_best
from mlp_lab.results import SettingResult

EPOCHS = 2
SETTINGS = (Setting(0.05, 0.0, 0.0), Setting(0.05, 0.85, 0.01))


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture
def cfg(image_tree) -> Config:
    """2 settings, 2 epochs, 4x4 images: 36 train, 4 val, 12 test."""
    root = image_tree(n_train=20, n_test=6, size=(8, 8))
    return Config(data_dir=str(root), image_size=4, sizes=(48, 8, 2),
                  epochs=EPOCHS, batch_size=8, settings=SETTINGS)


def plain(results) -> dict:
    """``results.to_dict()`` as it reads back from JSON."""
    return json.loads(json.dumps(results.to_dict()))


def without_time(d: dict) -> dict:
    """Per-setting dicts without wall times (a recomputation takes its own time)."""
    drop = ("seconds", "seconds_sgd", "seconds_manual")
    return [{k: v for k, v in s.items() if k not in drop} for s in d["settings"]]


def entries(cache_dir: Path) -> dict:
    """(lr, momentum, weight_decay) -> path of that setting's results JSON."""
    out = {}
    for path in (cache_dir / "results").glob("setting-*.json"):
        d = json.loads(path.read_text())
        out[(d["lr"], d["momentum"], d["weight_decay"])] = path
    return out


def result(val_acc, diverged=False, lr=0.01) -> SettingResult:
    return SettingResult(
        lr=lr, momentum=0.0, weight_decay=0.0, train_loss_sgd=[0.5],
        train_loss_manual=[0.5], val_acc_per_epoch=[val_acc], train_acc=0.5,
        val_acc=val_acc, max_abs_diff_loss=0.0, max_abs_diff_params=0.0,
        seconds_sgd=0.1, seconds_manual=0.1, diverged=diverged)


# ---------------------------------------------------------------- one run

def test_run_trains_both_trainers_identically(cfg):
    res = run(cfg)
    assert [(s.lr, s.momentum, s.weight_decay) for s in res.settings] == [
        (0.05, 0.0, 0.0), (0.05, 0.85, 0.01)]
    for s in res.settings:
        assert not s.from_cache and not s.diverged
        assert s.max_abs_diff_loss == 0.0 and s.max_abs_diff_params == 0.0
        assert s.train_loss_sgd == s.train_loss_manual
        assert len(s.train_loss_sgd) == len(s.val_acc_per_epoch) == EPOCHS
        assert all(0.0 <= a <= 1.0 for a in s.val_acc_per_epoch + [s.train_acc])
        assert s.val_acc == s.val_acc_per_epoch[-1]
        assert s.seconds == s.seconds_sgd + s.seconds_manual > 0
        assert s.final_loss == s.train_loss_sgd[-1]
    assert res.settings[0].train_loss_sgd != res.settings[1].train_loss_sgd
    assert res.data.n_train == 36 and res.data.n_val == 4 and res.data.n_test == 12
    assert res.env.device == "cpu" and res.env.sgd_path == "single-tensor"


def test_best_is_first_argmax_of_validation_accuracy_and_is_tested(cfg):
    res = run(cfg)
    accs = [s.val_acc for s in res.settings]
    assert res.best.index == accs.index(max(accs))
    assert res.best.val_acc == max(accs)
    cm = res.best.confusion
    assert len(cm) == 2 and all(len(row) == 2 for row in cm)
    assert sum(map(sum, cm)) == res.data.n_test
    assert [sum(row) for row in cm] == res.data.counts["test"]  # rows: true
    assert res.best.test_acc == (cm[0][0] + cm[1][1]) / res.data.n_test


def test_to_dict_is_json_with_the_cli_layout(cfg):
    d = plain(run(cfg))
    assert set(d) >= {"config", "data", "settings", "best", "env"}
    assert {"lr", "momentum", "weight_decay", "train_loss_sgd", "train_loss_manual",
            "train_acc", "val_acc", "max_abs_diff_loss", "max_abs_diff_params",
            "seconds"} <= set(d["settings"][0])
    assert "from_cache" not in d["settings"][0]


# ---------------------------------------------------------------- selection

def test_select_best_takes_the_first_of_equal_accuracies():
    results = [result(0.6), result(0.8), result(0.8), result(0.7)]
    assert select_best(results) == 1


def test_select_best_never_picks_a_diverged_setting():
    results = [result(0.6), result(0.95, diverged=True), result(0.7)]
    assert select_best(results) == 2
    assert select_best([result(0.9, diverged=True)] + results[:1]) == 1


def test_select_best_is_none_when_all_diverged_or_empty():
    assert select_best([result(0.9, True), result(0.5, True)]) is None
    assert select_best([]) is None


def test_run_with_every_setting_diverged_has_no_best(cfg):
    bad = dataclasses.replace(cfg, dtype="float32", epochs=3,
                              settings=(Setting(1e12), Setting(1e13)))
    res = run(bad)
    assert all(s.diverged for s in res.settings)
    # Both trainers hit the same NaNs: still identical, not "NaN apart".
    assert all(s.max_abs_diff_loss == 0.0 and s.max_abs_diff_params == 0.0
               for s in res.settings)
    assert all(len(s.train_loss_sgd) < 3 for s in res.settings)
    assert res.best is None


# ---------------------------------------------------------------- cache

RUN_SCRIPT = """
import json, sys, time
from mlp_lab.config import Config, Setting
from mlp_lab.experiments import run
kw = json.loads(sys.argv[1])
kw["settings"] = tuple(Setting(**s) for s in kw["settings"])
kw["sizes"] = tuple(kw["sizes"])
start = time.perf_counter()
res = run(Config(**kw))
print(json.dumps({"seconds": time.perf_counter() - start,
                  "from_cache": [s.from_cache for s in res.settings],
                  "results": res.to_dict()}))
"""


def test_second_run_in_a_new_process_comes_from_the_cache(cfg, python_run):
    first = plain(run(cfg))
    kw = json.loads(json.dumps(cfg.to_dict()))
    proc = python_run(["-c", RUN_SCRIPT, json.dumps(kw)])
    assert proc.returncode == 0, proc.stderr
    second = json.loads(proc.stdout)
    print(f"\nrun served from the cache in a new process: "
          f"{second['seconds']:.3f} s")
    assert second["from_cache"] == [True, True]
    assert second["results"] == first  # every number, wall times included


def test_changing_one_setting_retrains_only_that_one(cfg):
    first = run(cfg)
    changed = dataclasses.replace(
        cfg, settings=(SETTINGS[0], Setting(0.02, 0.85, 0.01)))
    second = run(changed)
    assert [s.from_cache for s in second.settings] == [True, False]
    assert second.settings[0] == first.settings[0]
    assert second.settings[1].lr == 0.02
    # Reordering the settings retrains nothing.
    swapped = run(dataclasses.replace(changed, settings=changed.settings[::-1]))
    assert all(s.from_cache for s in swapped.settings)


def test_corrupt_results_json_is_recomputed(cfg, cache_dir):
    first = plain(run(cfg))
    path = entries(cache_dir)[(0.05, 0.85, 0.01)]
    text = path.read_text()
    path.write_text(text[:len(text) // 2])
    with pytest.warns(UserWarning, match="damaged"):
        again = run(cfg)
    assert [s.from_cache for s in again.settings] == [True, False]
    assert without_time(plain(again)) == without_time(first)
    assert json.loads(path.read_text())["val_acc"] == first["settings"][1]["val_acc"]
    assert all(s.from_cache for s in run(cfg).settings)  # repaired


@pytest.mark.parametrize("content", ["[1]", "drop-field"])
def test_wrongly_shaped_results_json_is_recomputed(cfg, cache_dir, content):
    run(cfg)
    path = entries(cache_dir)[(0.05, 0.85, 0.01)]
    if content == "drop-field":
        d = json.loads(path.read_text())
        del d["val_acc"]
        content = json.dumps(d)
    path.write_text(content)
    assert [s.from_cache for s in run(cfg).settings] == [True, False]


def test_deleting_the_weights_file_invalidates_the_entry(cfg, cache_dir):
    first = plain(run(cfg))
    path = entries(cache_dir)[(0.05, 0.0, 0.0)]
    weights = path.with_suffix(".pt")
    assert weights.is_file()
    weights.unlink()
    again = run(cfg)
    assert [s.from_cache for s in again.settings] == [False, True]
    assert weights.is_file()
    assert without_time(plain(again)) == without_time(first)
    assert plain(again)["best"] == first["best"]


def test_weights_of_another_entry_are_not_accepted(cfg, cache_dir):
    run(cfg)
    paths = entries(cache_dir)
    a = paths[(0.05, 0.0, 0.0)].with_suffix(".pt")
    b = paths[(0.05, 0.85, 0.01)].with_suffix(".pt")
    a.write_bytes(b.read_bytes())  # right file name, wrong key inside
    assert [s.from_cache for s in run(cfg).settings] == [False, True]


def test_results_cache_leaves_no_temporary_files(cfg, cache_dir):
    run(cfg)
    names = sorted(p.name for p in (cache_dir / "results").iterdir())
    # one .json and one .pt per setting, and the run's results record
    assert len(names) == 5 and sum(n.startswith("record-") for n in names) == 1
    assert not [n for n in names if n.endswith(".tmp") or n.startswith(".")]


def test_changing_the_data_retrains(cfg):
    run(cfg)
    image = Path(cfg.data_dir) / "train" / "cat" / "0000.png"
    image.write_bytes((Path(cfg.data_dir) / "train" / "cat" / "0001.png").read_bytes())
    assert not any(s.from_cache for s in run(cfg).settings)


# ---------------------------------------------------------------- real data

def test_equality_holds_on_real_data(real_data):
    cfg = Config(data_dir=str(real_data), limit_per_class=300, epochs=2)
    start = time.perf_counter()
    res = run(cfg)
    print(f"\nreal data, 300 per class, 5 settings x 2 trainers x 2 epochs: "
          f"{time.perf_counter() - start:.1f} s; best {res.best}")
    assert res.data.n_train == 540 and res.data.n_test == 600
    assert len(res.settings) == 5
    for s in res.settings:
        assert s.max_abs_diff_loss == 0.0 and s.max_abs_diff_params == 0.0
        assert len(s.train_loss_sgd) == 2 and all(map(math.isfinite,
                                                      s.train_loss_sgd))
    assert res.best is not None and sum(map(sum, res.best.confusion)) == 600
    # Car vs cat is learnable: the best model beats chance on the test set.
    assert res.best.test_acc > 0.55

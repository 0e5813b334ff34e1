"""The results record: plain data, written and read back without torch."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

import records
from mlp_lab import cache
from mlp_lab import results as rec
from mlp_lab.config import EXECUTION_FIELDS, Config, Setting
from mlp_lab.device import device_type


@pytest.fixture
def setup(image_tree, monkeypatch, tmp_path):
    """A config over a tiny image tree (the record's key lists its files)."""
    root = image_tree(classes=("automobile", "cat"), n_train=4, n_test=2)
    monkeypatch.setenv("MLP_LAB_DATA", str(root))
    cfg = Config(epochs=3, limit_per_class=4,
                 settings=(Setting(0.01), Setting(10.0), Setting(0.01, 0.9)))
    res = records.results([records.setting(), records.diverged(),
                           records.setting(momentum=0.9, val_acc=0.91, diff=1e-9)],
                          cfg=cfg, device=device_type())
    return cfg, res, root


def test_record_round_trips_through_json(setup):
    cfg, res, _ = setup
    rec.save_record(cfg, res)
    back = rec.load_record(cfg)
    # field by field (as JSON: NaN == NaN there), types included
    assert json.dumps(back.to_dict(), sort_keys=True) == json.dumps(
        res.to_dict(), sort_keys=True)
    assert type(back.best) is type(res.best) and type(back.env) is type(res.env)
    assert all(s.from_cache for s in back.settings)
    assert back.best.index == 2 and back.config == cfg
    assert math.isnan(back.settings[1].train_loss_sgd[-1])  # NaN survives


def test_identical_is_both_differences_zero():
    s = records.setting()
    assert s.identical
    assert not dataclasses.replace(s, max_abs_diff_loss=1e-12).identical
    assert not dataclasses.replace(s, max_abs_diff_params=1e-12).identical
    assert not dataclasses.replace(s, max_abs_diff_params=math.nan).identical
    res = records.results([s, dataclasses.replace(s, max_abs_diff_params=1e-9)])
    assert res.n_identical == 1 and not res.all_identical
    assert res.losses_identical  # the curves still coincide
    res = records.results([s, dataclasses.replace(s, max_abs_diff_loss=1e-9)])
    assert not res.losses_identical


def test_errors_are_the_off_diagonal_of_rows_true_columns_predicted():
    b = records.results(confusion=((95, 5), (40, 60))).best
    assert b.errors == (5, 40)
    assert b.error_rates == (0.05, 0.4)
    b = records.results(confusion=((190, 10), (30, 70))).best
    assert b.error_rates == (0.05, 0.3)  # each over its own row


# One change of every config field: the record keeps the config and the
# report shows all of it (names included), so each makes another record.
# "loss" has a single valid value, so there is nothing to change.
RECORD_CHANGES = {
    "name": {"name": "another name"},
    "classes": {"classes": ("cat", "automobile")},
    "class_names": {"class_names": ("auto", "kitty")},
    "image_size": {"image_size": 4, "sizes": (48, 8, 2)},
    "train_fraction": {"train_fraction": 0.8},
    "split_seed": {"split_seed": 1},
    "limit_per_class": {"limit_per_class": 3},
    "sizes": {"sizes": (768, 64, 2)},
    "epochs": {"epochs": 4},
    "batch_size": {"batch_size": 64},
    "seed": {"seed": 1},
    "dtype": {"dtype": "float32"},
    "data_dir": {"data_dir": "SAME TREE"},  # the same files, named in the config
    "settings": {"settings": (Setting(0.01), Setting(10.0))},
    "settings.lr": {"settings": (Setting(0.01), Setting(10.0), Setting(0.02, 0.9))},
    "settings.momentum": {"settings": (Setting(0.01), Setting(10.0),
                                       Setting(0.01, 0.85))},
    "settings.weight_decay": {"settings": (Setting(0.01), Setting(10.0),
                                           Setting(0.01, 0.9, 0.01))},
}


def test_every_config_field_has_a_record_case():
    fields = {f.name for f in dataclasses.fields(Config)} - set(EXECUTION_FIELDS)
    assert {k.split(".")[0] for k in RECORD_CHANGES} == fields - {"loss"}
    assert {k.split(".")[1] for k in RECORD_CHANGES if "." in k} == {
        f.name for f in dataclasses.fields(Setting)}


@pytest.mark.parametrize("field", RECORD_CHANGES)
def test_a_record_of_another_config_is_a_miss(setup, field):
    cfg, res, root = setup
    change = dict(RECORD_CHANGES[field])
    if field == "data_dir":
        change["data_dir"] = str(root)
    rec.save_record(cfg, res)
    other = dataclasses.replace(cfg, **change)
    assert rec.load_record(other) is None
    rec.save_record(other, res)  # each config its own record, side by side
    assert rec.load_record(cfg) is not None and rec.load_record(other) is not None


def test_where_the_trainings_ran_is_not_part_of_the_record(setup):
    cfg, res, _ = setup
    rec.save_record(cfg, res)
    elsewhere = dataclasses.replace(cfg, workers=7, scheduler="tcp://127.0.0.1:1")
    assert rec.record_key(elsewhere) == rec.record_key(cfg)
    assert rec.load_record(elsewhere).to_dict() == rec.load_record(cfg).to_dict()


KEY_SCRIPT = """
import json, sys
from mlp_lab import results
from mlp_lab.config import Config
print(json.dumps({"key": results.record_key(Config(**json.loads(sys.argv[1]))),
                  "module": results.__file__}))
"""


@pytest.fixture
def library_copy(tmp_path):
    """A copy of the mlp_lab package and a function giving the record key of
    a config as a new process importing that copy computes it."""
    src = Path(rec.__file__).resolve().parent
    top = tmp_path / "lib"
    shutil.copytree(src, top / "mlp_lab",
                    ignore=shutil.ignore_patterns("__pycache__"))

    def key(cfg: Config, extra_path: Path | None = None) -> str:
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(
            str(p) for p in (extra_path, top) if p))
        kw = json.dumps({"epochs": cfg.epochs, "limit_per_class": 4})
        proc = subprocess.run([sys.executable, "-c", KEY_SCRIPT, kw], cwd=top,
                              env=env, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr
        out = json.loads(proc.stdout)
        assert out["module"] == str(top / "mlp_lab" / "results.py")
        return out["key"]

    return top / "mlp_lab", key


LOADED_SCRIPT = """
import json, sys
import mlp_lab.experiments
print(json.dumps(sorted(m.split(".", 1)[1] for m in sys.modules
                        if m.startswith("mlp_lab."))))
"""


def test_the_computing_source_is_every_module_a_run_executes(python_run):
    """The record (and each setting's entry) holds what these modules compute
    (numbers, wall times, the environment): each is part of the key. The
    error messages are not."""
    proc = python_run(["-c", LOADED_SCRIPT])
    assert proc.returncode == 0, proc.stderr
    loaded = set(json.loads(proc.stdout))
    assert "trainers" in loaded and "book.narrative" not in loaded
    assert loaded - {"errors"} == set(cache.COMPUTE_MODULES)


@pytest.mark.parametrize("module", ["trainers", "data", "images", "experiments"])
def test_the_record_key_follows_the_computing_source(setup, library_copy, module):
    cfg, _, _ = setup
    package, key = library_copy
    before = key(cfg)
    assert key(cfg) == before
    with open(package / f"{module}.py", "a") as f:
        f.write("\n# changed\n")
    assert key(cfg) != before


def test_the_record_key_ignores_the_book_tooling(setup, library_copy):
    cfg, _, _ = setup
    package, key = library_copy
    before = key(cfg)
    with open(package / "book" / "plots.py", "a") as f:
        f.write("\n# changed\n")
    assert key(cfg) == before


@pytest.mark.parametrize("package", ["torch", "torchvision"])
def test_the_record_key_follows_the_installed_torch_release(setup, library_copy,
                                                           tmp_path, package):
    """Another PyTorch or torchvision (which resizes the images) release
    installed (a dist-info with another version found first on the path):
    another key."""
    cfg, _, _ = setup
    _, key = library_copy
    site = tmp_path / "site"
    info = site / f"{package}-0.0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {package}\n"
                                   "Version: 0.0.1\n")
    assert metadata.version(package) != "0.0.1"
    assert key(cfg, extra_path=site) != key(cfg)


def test_a_record_of_another_device_type_is_a_miss(setup, monkeypatch):
    """A record computed on a GPU is never served on a CPU, nor the reverse."""
    cfg, res, _ = setup
    here = device_type()
    other = "cpu" if here == "cuda" else "cuda"
    rec.save_record(cfg, dataclasses.replace(res, env=dataclasses.replace(
        res.env, device=other)))
    assert rec.load_record(cfg) is None
    rec.save_record(cfg, res)
    assert rec.load_record(cfg).env.device == here
    monkeypatch.setattr(rec, "device_type", lambda: other)  # the other machine
    assert rec.load_record(cfg).env.device == other


def test_changed_data_files_make_the_record_a_miss(setup):
    cfg, res, root = setup
    rec.save_record(cfg, res)
    image = root / "train" / "cat" / "0000.png"
    image.write_bytes((root / "train" / "cat" / "0001.png").read_bytes())
    assert rec.load_record(cfg) is None


@pytest.mark.parametrize("damage", ["truncate", "other key", "old layout"])
def test_a_damaged_or_foreign_record_is_a_miss(setup, damage):
    cfg, res, _ = setup
    path = rec.save_record(cfg, res)
    raw = json.loads(path.read_text())
    if damage == "truncate":
        path.write_text(path.read_text()[:200])
    elif damage == "other key":
        path.write_text(json.dumps(dict(raw, key="0" * 16)))
    else:
        del raw["results"]["data"]["samples"]
        path.write_text(json.dumps(raw))
    with _maybe_warns(damage):
        assert rec.load_record(cfg) is None


def _maybe_warns(damage):
    from mlp_lab.cache import CacheWarning
    return pytest.warns(CacheWarning) if damage == "truncate" else \
        contextlib.nullcontext()


def test_json_safe_turns_nan_and_inf_into_null():
    d = {"a": [1.0, math.nan, (math.inf, 2)], "b": {"c": -math.inf}, "d": "x"}
    assert rec.json_safe(d) == {"a": [1.0, None, [None, 2]], "b": {"c": None},
                                "d": "x"}
    json.dumps(rec.json_safe(d), allow_nan=False)  # strict JSON

"""Robustness end to end, in real processes (no mocks): determinism, crash
safety (SIGKILL during training and during a cache write), divergence, bad
input (one ``error:`` line naming the problem and the fix, exit code 2,
nothing written), and no pickle anywhere in the package.

Runs on small synthetic image trees (``conftest.write_tree``) except the
divergence run, which needs the real images (``MLP_LAB_DATA``) to diverge.
"""

from __future__ import annotations

import ast
import json
import os
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest
import torch

from mlp_lab import cache
from mlp_lab.config import Setting, load_config, setting_label

from holding import held, holding, wait_for

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "mlp_lab"

SETTINGS = """
[[settings]]
lr = 0.05

[[settings]]
lr = 0.05
momentum = 0.85
weight_decay = 0.01

[[settings]]
lr = 0.02
momentum = 0.5
"""


def toml(tmp_path: Path, text: str, name: str = "cfg.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def environment(**overrides) -> dict:
    """os.environ with mlp_lab importable, no config, and ``overrides``.

    One torch thread: on a small machine shared with other jobs, two threads
    that wait for each other make these tiny trainings ~100x slower.
    """
    env = {k: v for k, v in os.environ.items() if k != "MLP_LAB_CONFIG"}
    env["OMP_NUM_THREADS"] = "1"
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    return {**env, **{k: str(v) for k, v in overrides.items()}}


def mlp_lab(*args, **env) -> subprocess.CompletedProcess:
    """``python -m mlp_lab args`` in a new process; ``env`` overrides."""
    return subprocess.run([sys.executable, "-m", "mlp_lab", *map(str, args)],
                          env=environment(**env), cwd=ROOT, capture_output=True,
                          text=True, timeout=300)


def files(folder: Path) -> dict[str, int]:
    """Every file under ``folder`` (relative name -> mtime_ns)."""
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns
            for p in folder.rglob("*") if p.is_file()}


@pytest.fixture
def tree(image_tree):
    """A two-class tree, 40 train / 8 test images per class, 16x16 PNGs."""
    return image_tree(classes=("automobile", "cat"), n_train=40, n_test=8,
                      size=(16, 16))


# ------------------------------------------------------------ determinism

def _strip_timing(obj):
    """``obj`` without ``seconds*`` and ``cache_file`` keys, at any depth."""
    if isinstance(obj, dict):
        return {k: _strip_timing(v) for k, v in obj.items()
                if not k.startswith("seconds") and k != "cache_file"}
    if isinstance(obj, list):
        return [_strip_timing(v) for v in obj]
    return obj


def test_two_runs_in_separate_processes_give_identical_results(hard_tree, tmp_path):
    """On classes told apart by a weak signal only, so that accuracies,
    selection and confusion matrix are not trivially the same (all 1.0)."""
    tree = hard_tree(n_train=40, n_test=8, size=(16, 16))
    cfg = toml(tmp_path, "epochs = 3\nbatch_size = 16\n" + SETTINGS)
    outs = []
    for run in ("a", "b"):
        out = tmp_path / f"{run}.json"
        proc = mlp_lab("run", "--config", cfg, "--json", out, MLP_LAB_DATA=tree,
                       MLP_LAB_CACHE=tmp_path / f"cache-{run}")
        assert proc.returncode == 0, proc.stderr
        assert "(0 of 3 settings from the results cache)" in proc.stdout
        outs.append(json.loads(out.read_text()))
    a, b = (_strip_timing(o) for o in outs)
    assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)
    assert a["settings"][0]["train_loss_sgd"]  # something was compared
    accs = [s[k] for s in a["settings"] for k in ("train_acc", "val_acc")]
    assert all(0 < v < 1 for v in accs + [a["best"]["test_acc"]]) and len(set(accs)) > 2


# ------------------------------------------------------------ crash safety

def test_sigkill_during_training_leaves_only_complete_entries(tree, tmp_path):
    """Kill the run while setting 2 trains (held after its first epoch, on any
    machine): the rerun takes setting 1 from the cache untouched and trains
    the others, and only those."""
    cfg = toml(tmp_path, "epochs = 3\nbatch_size = 8\n" + SETTINGS)
    store, markers = tmp_path / "cache", tmp_path / "held"
    results = store / "results"
    first, *rest = load_config(cfg).settings
    env = holding(environment(MLP_LAB_DATA=tree, MLP_LAB_CACHE=store), markers,
                  *rest)
    proc = subprocess.Popen([sys.executable, "-m", "mlp_lab", "run", "--config",
                             str(cfg)], cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=env)
    try:
        wait_for(lambda: list(results.glob("setting-*.json")), proc,
                 "a cached setting")
        wait_for(lambda: held(markers), proc, "a held training")
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    assert {h["setting"] for h in held(markers)} == {setting_label(rest[0])}
    done = {p.name: p.stat().st_mtime_ns for p in results.glob("setting-*")}
    assert [_label(p) for p in results.glob("setting-*.json")] == [
        setting_label(first)]
    assert len([n for n in done if n.endswith(".pt")]) == 1

    again = mlp_lab("run", "--config", cfg, MLP_LAB_DATA=tree, MLP_LAB_CACHE=store)
    assert again.returncode == 0, again.stderr
    assert "(1 of 3 settings from the results cache)" in again.stdout
    after = {p.name: p.stat().st_mtime_ns for p in results.glob("setting-*")}
    assert all(after[name] == mtime for name, mtime in done.items()), \
        "a complete entry was rewritten"
    assert len([n for n in after if n.endswith(".json")]) == 3
    assert len([n for n in after if n.endswith(".pt")]) == 3


def _label(entry: Path) -> str:
    """The setting of a results cache entry's JSON file."""
    d = json.loads(entry.read_text())
    return setting_label(Setting(d["lr"], d["momentum"], d["weight_decay"]))


# Writes entry 0 whole, then entry 1 until it reaches POINT, where it says so
# and waits to be killed: "data" (half of the archive's bytes are in the temp
# file), "rename" (the temp file is whole and synced, not yet renamed) or
# "sync" (renamed, the folder not yet synced).
WRITER = """
import io, os, signal, sys, torch
from pathlib import Path
from mlp_lab import cache
target, point = Path(sys.argv[1]), sys.argv[2]


def entry(i):
    return {"i": i, "x": torch.full((100_000,), float(i))}


def hold(*args):
    print(point, flush=True)
    while True:
        signal.pause()


def half_save(obj, f):
    buf = io.BytesIO()
    save(obj, buf)
    f.write(buf.getvalue()[:len(buf.getvalue()) // 2])
    f.flush()
    hold()


cache.save_tensors(target, entry(0))
save = torch.save
if point == "data":
    torch.save = half_save
elif point == "rename":
    os.replace = hold
else:
    cache.sync_folder = hold
cache.save_tensors(target, entry(1))
"""


def _complete(entry) -> bool:
    """A dict exactly as the writer wrote it (every element equal to ``i``)."""
    x = entry["x"]
    return (set(entry) == {"i", "x"} and x.shape == (100_000,)
            and bool((x == float(entry["i"])).all()))


@pytest.mark.parametrize("point,kept,temp", [
    ("data", 0, "partial"), ("rename", 0, "whole"), ("sync", 1, None)])
def test_sigkill_during_a_cache_write_leaves_no_partial_entry(tmp_path, point,
                                                              kept, temp):
    """A writer killed at each stage of replacing entry 0 by entry 1: the entry
    is ``kept`` (the old one or the new one), whole; the temp file it leaves
    (``temp``: none, the partial one, or whole) is never read as an entry."""
    folder = tmp_path / "cache"
    folder.mkdir()
    target = folder / "big.pt"
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(target), point],
                            cwd=ROOT, env=environment(), stdout=subprocess.PIPE,
                            text=True)
    try:
        assert proc.stdout.readline().strip() == point  # it holds there
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    with warnings.catch_warnings():
        warnings.simplefilter("error", cache.CacheWarning)  # damaged: a failure
        entry = cache.load_tensors(target)
    assert entry is not None and _complete(entry) and entry["i"] == kept
    leftovers = sorted(folder.glob(".*.tmp"))
    assert set(folder.iterdir()) == {target, *leftovers}
    assert len(leftovers) == (temp is not None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cache.CacheWarning)  # partial: it says so
        for tmp in leftovers:  # not an entry's name: the cache never reads it
            left = cache.load_tensors(tmp)
            if temp == "partial":
                assert left is None
            else:
                assert _complete(left) and left["i"] == 1

    # A dead writer's temp file (old) goes at the next write; a young one may
    # belong to a live writer, and a file not named as ours is not ours: both stay.
    old = time.time() - 2 * cache.STALE_TMP_SECONDS
    stale = folder / ".big.pt.dead0000.tmp"
    young = folder / ".other.pt.live0000.tmp"
    foreign = folder / ".notes.tmp"
    for path in (stale, young, foreign):
        path.write_bytes(b"partial")
    for path in (stale, foreign, *leftovers):
        os.utime(path, (old, old))
    cache.save_tensors(folder / "next.pt", {"x": torch.zeros(1)})
    assert sorted(folder.glob(".*.tmp")) == sorted([young, foreign])
    assert _complete(cache.load_tensors(target))


# ------------------------------------------------------------ divergence

def test_diverging_setting_is_marked_and_never_selected(real_data, tmp_path):
    cfg = toml(tmp_path, """
classes = ["airplane", "bird"]
image_size = 32
sizes = [3072, 512, 128, 32, 2]
limit_per_class = 200
epochs = 2
batch_size = 32

[[settings]]
lr = 10.0

[[settings]]
lr = 0.01
momentum = 0.9
""")
    out = tmp_path / "out.json"
    proc = mlp_lab("run", "--config", cfg, "--json", out, MLP_LAB_DATA=real_data,
                   MLP_LAB_CACHE=tmp_path / "cache")
    assert proc.returncode == 0, proc.stderr
    res = json.loads(out.read_text())
    bad, good = res["settings"]
    assert bad["diverged"] and not good["diverged"]
    assert len(bad["train_loss_sgd"]) == 2 and bad["train_loss_sgd"][-1] is None
    assert bad["max_abs_diff_loss"] == 0  # the two trainers hit the same NaNs
    assert res["best"]["index"] == 1
    assert "Best: Model 2" in proc.stdout


# ------------------------------------------------------------ bad input

CONFIG_CASES = {  # id: (TOML, text the one error line must contain)
    "unknown key": ("epochs = 2\nlearning_rate = 0.1\n", "'learning_rate'"),
    "lr <= 0": ("[[settings]]\nlr = 0.0\n", "'settings[0].lr'"),
    "momentum >= 1": ("[[settings]]\nlr = 0.1\nmomentum = 1.0\n",
                      "'settings[0].momentum'"),
    "negative decay": ("[[settings]]\nlr = 0.1\nweight_decay = -0.01\n",
                       "'settings[0].weight_decay'"),
    "epochs < 1": ("epochs = 0\n", "'epochs'"),
    "batch < 1": ("batch_size = 0\n", "'batch_size'"),
    "split >= 1": ("train_fraction = 1.0\n", "'train_fraction'"),
    "split <= 0": ("train_fraction = 0.0\n", "'train_fraction'"),
    "identical classes": ('classes = ["cat", "cat"]\n', "'classes'"),
    "unknown class": ('classes = ["automobile", "unicorn"]\n', "'unicorn'"),
}


def assert_one_error_line(proc: subprocess.CompletedProcess, *fragments: str) -> str:
    """Exit code 2, stderr one ``error:`` line with ``fragments`` and a fix."""
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    for fragment in (*fragments, "Fix: "):
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


@pytest.mark.parametrize("case", CONFIG_CASES)
def test_bad_config_value(case, tree, tmp_path):
    text, fragment = CONFIG_CASES[case]
    store = tmp_path / "cache"
    store.mkdir()
    proc = mlp_lab("run", "--config", toml(tmp_path, text), MLP_LAB_DATA=tree,
                   MLP_LAB_CACHE=store)
    assert_one_error_line(proc, "config field", fragment)
    assert files(store) == {}


def _break_tree(tree: Path, case: str) -> tuple[dict, str]:
    """Damage ``tree`` for ``case``; (env overrides, text the error names)."""
    if case == "data folder missing":
        return {"MLP_LAB_DATA": tree / "nowhere"}, str(tree / "nowhere")
    folder = tree / "test" / "cat"
    if case == "class folder missing":
        for p in folder.iterdir():
            p.unlink()
        folder.rmdir()
        return {}, f"class folder missing: {folder}"
    if case == "class folder empty":
        for p in folder.iterdir():
            p.unlink()
        (folder / "README.txt").write_text("not an image")
        return {}, f"class folder empty: {folder}"
    bad = tree / "train" / "automobile" / "0003.png"
    bad.write_bytes(bad.read_bytes()[:30])  # a PNG header, then nothing
    return {}, f"unreadable image: {bad}"


@pytest.mark.parametrize("case", ["data folder missing", "class folder missing",
                                  "class folder empty", "corrupt image"])
def test_bad_data(case, tree, tmp_path):
    store = tmp_path / "cache"
    store.mkdir()
    env, fragment = _break_tree(tree, case)
    proc = mlp_lab("data", **{"MLP_LAB_DATA": tree, "MLP_LAB_CACHE": store, **env})
    assert_one_error_line(proc, fragment)
    assert files(store) == {}


def test_uncreatable_cache_folder(tree, tmp_path):
    (tmp_path / "store").mkdir()
    blocker = tmp_path / "store" / "afile"
    blocker.write_text("a file where the cache folder's parent should be")
    proc = mlp_lab("data", MLP_LAB_DATA=tree, MLP_LAB_CACHE=blocker / "cache")
    assert_one_error_line(proc, f"cannot create the cache folder {blocker / 'cache'}",
                          "MLP_LAB_CACHE")
    assert blocker.read_text().startswith("a file")
    assert list((tmp_path / "store").iterdir()) == [blocker]


def test_truncated_cache_file_is_announced_and_rebuilt(tree, tmp_path):
    store = tmp_path / "cache"
    first = mlp_lab("data", MLP_LAB_DATA=tree, MLP_LAB_CACHE=store)
    assert first.returncode == 0, first.stderr
    (path,) = store.glob("data-*.pt")
    blob = path.read_bytes()
    path.write_bytes(blob[:len(blob) // 2])
    again = mlp_lab("data", MLP_LAB_DATA=tree, MLP_LAB_CACHE=store)
    assert again.returncode == 0, again.stderr
    lines = again.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"warning: cache file {path} "
                                                   "is damaged"), again.stderr
    assert again.stdout == first.stdout
    assert cache.load_tensors(path) is not None
    assert sorted(p.name for p in store.iterdir()) == [path.name]


# ------------------------------------------------------------ no pickle

UNSAFE_MODULES = {"pickle", "cPickle", "_pickle", "dill", "joblib", "shelve",
                  "marshal", "cloudpickle"}


def _unsafe_loads(path: Path) -> list[str]:
    """Imports of pickle-like modules, and loads that may unpickle, in a file."""
    problems = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        where = f"{path.name}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.Import):
            names = [a.name.split(".")[0] for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [(node.module or "").split(".")[0]]
        else:
            names = []
        problems += [f"{where}: imports {n}" for n in names if n in UNSAFE_MODULES]
        if not isinstance(node, ast.Call):
            continue
        func = ast.unparse(node.func)
        kw = {k.arg: ast.unparse(k.value) for k in node.keywords}
        if func.endswith("torch.load") or (func == "load" and "weights_only" in kw):
            if kw.get("weights_only") != "True":
                problems.append(f"{where}: {func}(...) without weights_only=True")
        if func.endswith(("read_pickle", "to_pickle")):
            problems.append(f"{where}: {func}")
        if kw.get("allow_pickle") == "True":
            problems.append(f"{where}: {func}(..., allow_pickle=True)")
    return problems


def test_nothing_is_ever_unpickled():
    sources = sorted(PACKAGE.rglob("*.py"))  # subpackages included
    assert sources
    problems = [p for path in sources for p in _unsafe_loads(path)]
    assert not problems, "\n".join(problems)
    # the grep, for what the AST cannot see (e.g. torch.load passed around)
    text = {p.name: p.read_text(encoding="utf-8") for p in sources}
    n_loads = sum(t.count("torch.load(") for t in text.values())
    n_safe = sum(t.count("torch.load(path, weights_only=True") for t in text.values())
    assert n_loads == n_safe


def test_the_no_pickle_check_catches_unsafe_code(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import pickle\nimport torch\nfrom joblib import load\n"
                   "torch.load('x')\ntorch.load('x', weights_only=False)\n"
                   "import numpy as np\nnp.load('x', allow_pickle=True)\n")
    assert len(_unsafe_loads(bad)) == 5

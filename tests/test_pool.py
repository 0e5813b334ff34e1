"""The process pool: how many workers, the same numbers for any count, faults.

The fault tests run the command line in a new process, as a user does, and
act on its real worker processes (found with psutil): ``kill -9`` of one
worker, and Ctrl-C (SIGINT) to the command.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import torch

from mlp_lab import pool
from mlp_lab.config import Config, Setting
from mlp_lab.data import load_cached, load_data
from mlp_lab.errors import DataError
from mlp_lab.experiments import run
from mlp_lab.results import load_record

from test_robustness import SETTINGS as SETTINGS_TOML
from test_robustness import _strip_timing, environment

ROOT = Path(__file__).resolve().parent.parent

SETTINGS = (Setting(0.05), Setting(0.05, 0.85, 0.01), Setting(0.02, 0.5))


# ------------------------------------------------------------ the plan

def test_plan_is_the_usable_cores_but_never_more_than_the_trainings():
    assert pool.plan_workers("cpu", 0, 10, cores=2) == 2
    assert pool.plan_workers("cpu", 0, 10, cores=16) == 10
    assert pool.plan_workers("cpu", 0, 1, cores=16) == 1


def test_plan_takes_the_requested_count_up_to_the_trainings():
    assert pool.plan_workers("cpu", 3, 10, cores=2) == 3
    assert pool.plan_workers("cpu", 8, 4, cores=16) == 4
    assert pool.plan_workers("cpu", 1, 10, cores=16) == 1


def test_plan_on_cuda_is_one_process():
    """On a GPU the trainings run in the calling process, one after the other."""
    for requested in (0, 1, 4):
        assert pool.plan_workers("cuda", requested, 10, cores=16) == 1


def test_plan_with_nothing_to_train_is_one():
    assert pool.plan_workers("cpu", 0, 0, cores=8) == 1


def where_and_threads(x: int, shared: str) -> tuple[int, int, int, str]:
    return x * x, os.getpid(), torch.get_num_threads(), shared


def test_pool_runs_every_task_in_other_processes_on_one_thread():
    tasks = [(k,) for k in range(5)]
    out = dict(pool.run_pool(where_and_threads, tasks, 2, [str(t) for t in tasks],
                             "shared"))
    assert sorted(out) == list(range(5))
    assert [out[k][0] for k in range(5)] == [k * k for k in range(5)]
    pids = {v[1] for v in out.values()}
    assert os.getpid() not in pids and 1 <= len(pids) <= 2
    assert {v[2] for v in out.values()} == {1} and {v[3] for v in out.values()} == {
        "shared"}


# ------------------------------------------------------------ same numbers

@pytest.fixture
def cfg(hard_tree) -> Config:
    """3 settings, 3 epochs on 16x16 images a small MLP learns only in part."""
    root = hard_tree(n_train=40, n_test=8, size=(16, 16))
    return Config(data_dir=str(root), epochs=3, batch_size=16, settings=SETTINGS)


def test_the_record_is_the_same_for_any_worker_count(cfg, tmp_path, monkeypatch):
    records = {}
    for workers in (1, 2, 3):
        monkeypatch.setenv("MLP_LAB_CACHE", str(tmp_path / f"cache-{workers}"))
        res = run(dataclasses.replace(cfg, workers=workers))
        assert not any(s.from_cache for s in res.settings)
        for s in res.settings:  # the two trainers, wherever each ran
            assert s.train_loss_sgd == s.train_loss_manual
            assert s.max_abs_diff_loss == 0.0 and s.max_abs_diff_params == 0.0
        # the record of the config, whatever the worker count it ran with
        records[workers] = json.dumps(_strip_timing(load_record(cfg).to_dict()),
                                      sort_keys=True)
    assert records[1] == records[2] == records[3]
    record = json.loads(records[1])
    accs = [s["val_acc"] for s in record["settings"]]
    assert len(set(accs + [s["train_acc"] for s in record["settings"]])) > 2


def test_workers_read_the_prepared_data_from_the_data_cache(cfg):
    data = load_data(cfg)
    path = Path(data.provenance["cache_file"])
    again = load_cached(path, cfg)  # what train_from_cache does with a path
    for split in ("train", "val", "test"):
        assert torch.equal(again.images[split], data.images[split])
        assert torch.equal(again.labels[split], data.labels[split])
    assert torch.equal(again.mean, data.mean) and torch.equal(again.std, data.std)
    assert again.provenance == data.provenance
    path.write_bytes(b"damaged")
    with pytest.warns(UserWarning), pytest.raises(DataError,
                                                  match="missing or damaged"):
        load_cached(path, cfg)


# ------------------------------------------------------------ faults

SLOW = "epochs = 60\nbatch_size = 8\n" + SETTINGS_TOML  # seconds per training


@pytest.fixture
def slow(image_tree, tmp_path) -> dict:
    """A config whose trainings take a few seconds each, its tree and cache."""
    tree = image_tree(classes=("automobile", "cat"), n_train=40, n_test=8,
                      size=(16, 16))
    path = tmp_path / "slow.toml"
    path.write_text(SLOW)
    return {"config": path, "tree": tree, "cache": tmp_path / "cache"}


def start_run(slow: dict, *args) -> subprocess.Popen:
    """``python -m mlp_lab run`` on the slow config, in a new process."""
    return subprocess.Popen([sys.executable, "-m", "mlp_lab", "run", "--config",
                             str(slow["config"]), *args], cwd=ROOT,
                            env=environment(MLP_LAB_DATA=slow["tree"],
                                            MLP_LAB_CACHE=slow["cache"]),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def workers_of(proc: subprocess.Popen) -> list[psutil.Process]:
    """The pool's worker processes: the children of the command's fork server."""
    out = []
    for server in psutil.Process(proc.pid).children():
        try:
            if any("forkserver" in part for part in server.cmdline()):
                out += server.children()
        except psutil.NoSuchProcess:
            pass
    return out


def wait_for(condition, proc: subprocess.Popen, what: str, limit: float = 240):
    deadline = time.monotonic() + limit
    while not (found := condition()):
        assert proc.poll() is None, f"the run ended before {what}"
        assert time.monotonic() < deadline, f"no {what} in time"
        time.sleep(0.05)
    return found


def entries(results: Path) -> dict[str, int]:
    """Cache entry files (not temporary ones) -> mtime_ns."""
    return {p.name: p.stat().st_mtime_ns for p in results.glob("setting-*")}


def assert_whole_entries(results: Path) -> int:
    """Each entry has both files (weights and JSON); returns their count."""
    names = entries(results)
    stems = {n.rsplit(".", 1)[0] for n in names}
    assert names.keys() == {f"{s}.{ext}" for s in stems for ext in ("pt", "json")}
    return len(stems)


def test_a_killed_worker_names_its_setting_and_the_rerun_trains_the_rest(slow):
    results = slow["cache"] / "results"
    proc = start_run(slow, "--workers", "2")
    try:
        wait_for(lambda: list(results.glob("setting-*.json")), proc,
                 "finished setting")
        victim = wait_for(lambda: workers_of(proc), proc, "worker")[0]
        victim.send_signal(signal.SIGKILL)
        out, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 2, err
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and lines[0].startswith(
        "error: a worker process died (SIGKILL) while training lr="), err
    assert err.rstrip().endswith(lines[0])  # the last word: after the progress
    assert "Fix: run again" in lines[0] and "Traceback" not in err
    cached = {(d["lr"], d["momentum"], d["weight_decay"])
              for d in (json.loads(p.read_text())
                        for p in results.glob("setting-*.json"))}
    named = lines[0].split("while training ")[1].split(";")[0].split(" and ")
    assert 1 <= len(named) <= 2
    labels = {f"lr={s.lr:g}, momentum={s.momentum:g}, weight_decay="
              f"{s.weight_decay:g}": (s.lr, s.momentum, s.weight_decay)
              for s in SETTINGS}
    for name in named:  # a training of a setting that did not finish
        label, trainer = name.rsplit(" (", 1)
        assert trainer in ("SGD)", "manual)") and labels[label] not in cached
    done = entries(results)
    n_done = assert_whole_entries(results)
    assert 1 <= n_done < 3

    again = start_run(slow, "--workers", "2")
    out, err = again.communicate(timeout=300)
    assert again.returncode == 0, err
    assert f"({n_done} of 3 settings from the results cache)" in out
    after = entries(results)
    assert all(after[name] == mtime for name, mtime in done.items())
    assert assert_whole_entries(results) == 3


def test_ctrl_c_stops_every_worker_and_leaves_no_partial_entry(slow):
    results = slow["cache"] / "results"
    proc = start_run(slow, "--workers", "2")
    try:
        workers = wait_for(lambda: len(w := workers_of(proc)) == 2 and w, proc,
                           "two workers")
        time.sleep(1.0)  # in the middle of the first trainings
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    deadline = time.monotonic() + 20
    while (alive := [w.pid for w in workers if w.is_running()
                     and w.status() != psutil.STATUS_ZOMBIE]):
        assert time.monotonic() < deadline, f"workers {alive} still running"
        time.sleep(0.1)
    n_done = assert_whole_entries(results) if results.is_dir() else 0
    assert n_done < 3, "interrupt the run while it trains, not after"


# ------------------------------------------------------------ command line

@pytest.mark.parametrize("value", ["0", "-2", "two", "1.5"])
def test_a_bad_workers_flag_is_one_line_and_exit_2(python_run, value):
    proc = python_run(["-m", "mlp_lab", "run", f"--workers={value}"])
    assert proc.returncode == 2
    assert proc.stderr == (
        f"error: --workers {value} is not a whole number >= 1. Fix: pass a count "
        "of processes, e.g. --workers 2, or leave it out to use every usable "
        "core.\n")


def test_a_bad_workers_field_names_the_field(python_run, tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("workers = -1\n")
    proc = python_run(["-m", "mlp_lab", "run", "--config", path])
    assert proc.returncode == 2 and proc.stderr.startswith(
        "error: config field 'workers': -1 is negative. Fix:")
    assert len(proc.stderr.splitlines()) == 1

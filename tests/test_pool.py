"""The process pool: how many workers, the same numbers for any count, faults.

The fault tests run the command line in a new process, as a user does, and
act on its real worker processes (found with psutil): ``kill -9`` of one
worker, and Ctrl-C (SIGINT) to the command. They act while the workers
train, on any machine: the trainings of two settings hold after their first
epoch until a signal ends them (``holding``), and each test waits for the
workers' word that they hold, not for a time.
"""

from __future__ import annotations

import dataclasses
import json
import multiprocessing as mp
import os
import signal
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import psutil
import pytest
import torch

from mlp_lab import pool
from mlp_lab.config import Config, Setting, setting_label
from mlp_lab.data import load_cached, load_data
from mlp_lab.errors import DataError
from mlp_lab.experiments import run
from mlp_lab.results import load_record
from mlp_lab.training import TRAINERS

from holding import GUARD_S, held, holding, release, wait_for, writing
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


def test_an_interrupt_between_two_results_still_stops_the_pool(cfg):
    """Ctrl-C may land while the caller handles a finished setting (writes its
    entry, moves the progress bar), outside the pool's own wait: the pool is
    shut down all the same, its workers gone, even while the caller keeps the
    interrupt's traceback and so every frame (as an interactive session
    does). The interrupt is a real SIGINT, raised in the progress bar."""
    @contextmanager
    def progress(desc: str, total: int):
        yield lambda loss=None: signal.raise_signal(signal.SIGINT)

    before = set(mp.active_children())
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt) as info:
            run(dataclasses.replace(cfg, workers=2), progress=progress)
    finally:
        signal.signal(signal.SIGINT, previous)
    assert info.traceback  # kept: the generators of the run are alive
    assert set(mp.active_children()) <= before


# ------------------------------------------------------------ faults

HOLD = "epochs = 3\nbatch_size = 8\n" + SETTINGS_TOML  # the same 3 settings
FIRST, *HELD = SETTINGS
LABEL = {s: setting_label(s) for s in SETTINGS}


@pytest.fixture
def slow(image_tree, tmp_path) -> dict:
    """A config of ``SETTINGS`` whose 2nd and 3rd settings' trainings are held
    (``holding``): its tree, its cache, and the folder of the held markers."""
    tree = image_tree(classes=("automobile", "cat"), n_train=40, n_test=8,
                      size=(16, 16))
    path = tmp_path / "slow.toml"
    path.write_text(HOLD)
    return {"config": path, "tree": tree, "cache": tmp_path / "cache",
            "held": tmp_path / "held"}


def start_run(slow: dict, *args, hold: bool = True, write: bool = False
              ) -> subprocess.Popen:
    """``python -m mlp_lab run`` on the config, in a new process; with
    ``hold``, the trainings of ``HELD`` stop after their first epoch; with
    ``write``, the command stops in the 1st setting's entry write too."""
    env = environment(MLP_LAB_DATA=slow["tree"], MLP_LAB_CACHE=slow["cache"])
    if hold:
        env = holding(env, slow["held"], *HELD, write=write)
    return subprocess.Popen([sys.executable, "-m", "mlp_lab", "run", "--config",
                             str(slow["config"]), *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, preexec_fn=ctrl_c_as_in_a_terminal)


def ctrl_c_as_in_a_terminal() -> None:
    """In the command: SIGINT at its default action, as a terminal starts it,
    so that Python turns it into KeyboardInterrupt. A shell without job
    control starts a background job (``make test &``, nohup) with SIGINT
    ignored, and every process below would inherit that."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


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


def both_workers_held(slow: dict, proc: subprocess.Popen,
                      cached: bool = True) -> list[dict]:
    """Wait until both workers hold a training of the 2nd setting (and, with
    ``cached``, the 1st setting is cached); the held trainings. The pool
    takes the trainings in order, each worker one at a time: the 1st
    setting's, then the 2nd's, whose first two (SGD, manual) hold in the two
    workers, and nothing else runs."""
    results = slow["cache"] / "results"
    if cached:
        wait_for(lambda: list(results.glob("setting-*.json")), proc,
                 "cached setting")
    now = wait_for(lambda: len(h := held(slow["held"])) == 2 and h, proc,
                   "two held trainings")
    assert {h["setting"] for h in now} == {LABEL[HELD[0]]}
    assert {h["trainer"] for h in now} == set(TRAINERS[:2])
    assert {h["pid"] for h in now} == {w.pid for w in workers_of(proc)}
    return now


def entries(results: Path) -> dict[str, int]:
    """Cache entry files (not temporary ones) -> mtime_ns."""
    return {p.name: p.stat().st_mtime_ns for p in results.glob("setting-*")}


def cached_settings(results: Path) -> list[str]:
    """The labels of the settings whose entries are whole (both files)."""
    names = entries(results)
    stems = {n.rsplit(".", 1)[0] for n in names}
    assert names.keys() == {f"{s}.{ext}" for s in stems for ext in ("pt", "json")}
    assert not list(results.glob(".*.tmp"))  # no write was cut short
    return sorted(setting_label(Setting(d["lr"], d["momentum"], d["weight_decay"]))
                  for d in (json.loads(p.read_text())
                            for p in results.glob("setting-*.json")))


def test_a_killed_worker_names_its_setting_and_the_rerun_trains_the_rest(slow):
    """``kill -9`` of the worker that trains the 2nd setting with SGD, while
    it does: the error names that training, the 1st setting stays cached."""
    results = slow["cache"] / "results"
    proc = start_run(slow, "--workers", "2")
    try:
        now = both_workers_held(slow, proc)
        victim = next(h["pid"] for h in now if h["trainer"] == "sgd")
        os.kill(victim, signal.SIGKILL)
        out, err = proc.communicate(timeout=GUARD_S)
    finally:
        proc.kill()
    assert proc.returncode == 2, err
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and lines[0].startswith(
        "error: a worker process died (SIGKILL) while training "
        f"{LABEL[HELD[0]]} (SGD); the settings finished before are cached. "
        "Fix: run again"), err
    assert err.rstrip().endswith(lines[0])  # the last word: after the progress
    assert "Traceback" not in err
    assert cached_settings(results) == [LABEL[FIRST]]
    done = entries(results)

    again = start_run(slow, "--workers", "2", hold=False)
    out, err = again.communicate(timeout=GUARD_S)
    assert again.returncode == 0, err
    assert "(1 of 3 settings from the results cache)" in out
    after = entries(results)
    assert all(after[name] == mtime for name, mtime in done.items())
    assert cached_settings(results) == sorted(LABEL.values())


def stopped_whole(proc: subprocess.Popen, err: str, workers: list,
                  results: Path) -> None:
    """After a Ctrl-C: exit 130 with one plain message, no worker left, the
    1st setting's entry whole and nothing of the others."""
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    _, alive = psutil.wait_procs(workers, timeout=GUARD_S)
    assert not alive, f"workers {[w.pid for w in alive]} still running"
    assert cached_settings(results) == [LABEL[FIRST]]


def test_ctrl_c_stops_every_worker_and_leaves_no_partial_entry(slow):
    """SIGINT while both workers train: exit 130, no worker left, the 1st
    setting's entry whole and nothing of the others. The command may still
    be handling the 1st setting's result when the signal comes, or already
    wait on the pool: the outcome is the same on each path, and that is all
    this asserts (the write itself: the next test)."""
    results = slow["cache"] / "results"
    proc = start_run(slow, "--workers", "2")
    try:
        both_workers_held(slow, proc)
        workers = workers_of(proc)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=GUARD_S)
    finally:
        proc.kill()
    stopped_whole(proc, err, workers, results)


def test_ctrl_c_during_an_entry_write_keeps_it_whole_then_stops_the_workers(slow):
    """SIGINT while the command writes the 1st setting's entry, held between
    its weights file and its JSON file, and both workers train the 2nd: the
    entry is finished whole first, then the workers are stopped; exit 130."""
    results = slow["cache"] / "results"
    proc = start_run(slow, "--workers", "2", write=True)
    try:
        wait_for(lambda: writing(slow["held"]), proc, "the entry's write")
        both_workers_held(slow, proc, cached=False)
        workers = workers_of(proc)
        assert [p.suffix for p in results.glob("setting-*")] == [".pt"]
        proc.send_signal(signal.SIGINT)
        release(slow["held"], proc)
        out, err = proc.communicate(timeout=GUARD_S)
    finally:
        proc.kill()
    stopped_whole(proc, err, workers, results)


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

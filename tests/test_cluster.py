"""The trainings on a Dask cluster: a real LocalCluster on loopback, two worker
processes of one thread each, gives the record of a local run; an unreachable
scheduler is one line and exit code 2."""

from __future__ import annotations

import dataclasses
import json
import socket

import pytest
from distributed import LocalCluster

from mlp_lab.config import Config, Setting
from mlp_lab.experiments import run
from mlp_lab.results import load_record

from test_robustness import _strip_timing


@pytest.fixture
def cfg(hard_tree) -> Config:
    """2 settings, 2 epochs, 8x8 images a small MLP learns only in part."""
    root = hard_tree(n_train=30, n_test=8, size=(8, 8))
    return Config(data_dir=str(root), image_size=8, sizes=(192, 16, 2), epochs=2,
                  batch_size=16, settings=(Setting(0.05), Setting(0.05, 0.85, 0.01)))


def test_a_local_cluster_gives_the_local_record(cfg, tmp_path, monkeypatch):
    monkeypatch.setenv("MLP_LAB_CACHE", str(tmp_path / "local"))
    run(dataclasses.replace(cfg, workers=1))
    local = load_record(cfg).to_dict()
    monkeypatch.setenv("MLP_LAB_CACHE", str(tmp_path / "cluster"))
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      host="127.0.0.1", dashboard_address=None) as cluster:
        # the cluster's view of its workers comes by a stream: read it once
        # both are running (an event, no time limit), not when it may be late
        cluster.wait_for_workers(2)
        res = run(dataclasses.replace(cfg, scheduler=cluster.scheduler_address))
        workers = list(cluster.scheduler_info["workers"])
    assert len(workers) == 2
    assert all(w.startswith("tcp://127.0.0.1:") for w in workers)
    assert not any(s.from_cache for s in res.settings)
    assert all(s.max_abs_diff_params == 0.0 for s in res.settings)
    remote = load_record(cfg).to_dict()
    assert json.dumps(_strip_timing(remote), sort_keys=True) == json.dumps(
        _strip_timing(local), sort_keys=True)
    # the finished settings are cached here: a local rerun trains nothing
    assert all(s.from_cache for s in run(dataclasses.replace(cfg, workers=1)).settings)


def free_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("address", ["tcp://127.0.0.1:{port}", "nonsense://x"])
def test_an_unreachable_scheduler_is_one_line_and_exit_2(python_run, address,
                                                        cache_dir):
    address = address.format(port=free_port())
    proc = python_run(["-m", "mlp_lab", "run", "--scheduler", address])
    assert proc.returncode == 2
    assert proc.stderr.startswith(f"error: cannot reach the Dask scheduler at "
                                  f"'{address}' (")
    assert "Fix: start it" in proc.stderr and len(proc.stderr.splitlines()) == 1
    assert list(cache_dir.iterdir()) == []  # asked before any data is prepared

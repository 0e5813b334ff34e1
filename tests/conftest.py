"""Shared fixtures: a per-test cache folder, small image trees, real data, subprocesses.

Every test gets its own empty ``MLP_LAB_CACHE`` (autouse), so no test reads
another's cache or the project's ``data/cache``. A test that manages the
cache itself can opt out with ``@pytest.mark.own_cache``. In the test's own
process, ``run`` trains in that process by default (autouse); a test that
sets ``workers`` gets a pool.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "own_cache: the test sets MLP_LAB_CACHE itself (no autouse tmp)")


@pytest.fixture(autouse=True)
def in_process_by_default(monkeypatch):
    """``run`` trains in the test's own process unless a test asks for workers:
    the tiny trainings here take less time than starting a pool. The pool
    itself is tested in test_pool.py, and every CLI test in a new process
    runs the default plan (one worker per usable core)."""
    from mlp_lab import pool

    monkeypatch.setattr(pool, "usable_cores", lambda: 1)


@pytest.fixture(autouse=True)
def cache_dir(request, tmp_path_factory, monkeypatch):
    """A fresh, empty ``MLP_LAB_CACHE`` for this test (its path)."""
    if request.node.get_closest_marker("own_cache"):
        return None
    path = tmp_path_factory.mktemp("cache")
    monkeypatch.setenv("MLP_LAB_CACHE", str(path))
    return path


def write_tree(root: Path, classes=("automobile", "cat", "bird"), n_train=20,
               n_test=5, size=(8, 8), suffix=".png", seed=0) -> Path:
    """An ImageFolder tree ``root/{train,test}/<class>/NNNN<suffix>`` of RGB noise.

    Class i's pixels are drawn from [40 i, 40 i + 160) so the classes can be
    told apart by brightness (training learns something). Every setting
    learns that perfectly; tests that must tell settings, splits or the
    two kinds of error apart use :func:`write_hard_tree`.
    """
    def draw(i, rng):
        return rng.integers(40 * i, 40 * i + 160, (size[1], size[0], 3),
                            dtype=np.uint8)
    return _write_images(root, classes, n_train, n_test, suffix, draw, seed)


def _write_images(root: Path, classes, n_train: int, n_test: int, suffix: str,
                  draw, seed: int) -> Path:
    """``root/{train,test}/<class>/NNNN<suffix>``, image k of class i being
    ``draw(i, rng)`` (an (H, W, 3) uint8 array) from one seeded generator."""
    rng = np.random.default_rng(seed)
    for split, n in (("train", n_train), ("test", n_test)):
        for i, cls in enumerate(classes):
            folder = root / split / cls
            folder.mkdir(parents=True, exist_ok=True)
            for k in range(n):
                Image.fromarray(draw(i, rng)).save(folder / f"{k:04d}{suffix}")
    return root


def write_hard_tree(root: Path, classes=("automobile", "cat"), n_train=40,
                    n_test=20, size=(4, 4), p=0.6, shift=50, seed=0) -> Path:
    """A two-class tree a small MLP learns only in part, with one-sided errors.

    Every image is Gaussian noise (mean 128, sd 40, clipped to uint8). An
    image of class 1 carries the signal, its red channel brighter by
    ``shift``, with probability ``p`` only: the others look like class 0. So
    accuracies stay well below 1, settings reach different ones, validation
    and training accuracies differ, and most errors are class 1 taken for
    class 0 (an asymmetric confusion matrix). PNG is lossless and ``size``
    is the config's image size, so the pixels read are the pixels written.
    """
    def draw(i, rng):
        arr = rng.normal(128, 40, (size[1], size[0], 3))
        if i == 1 and rng.uniform() < p:
            arr[..., 0] += shift
        return np.clip(arr, 0, 255).astype(np.uint8)
    return _write_images(root, classes, n_train, n_test, ".png", draw, seed)


@pytest.fixture
def image_tree(tmp_path):
    """Factory: ``image_tree(name="images", **write_tree_kwargs)`` under tmp_path."""
    def make(name: str = "images", **kw) -> Path:
        return write_tree(tmp_path / name, **kw)
    return make


@pytest.fixture
def hard_tree(tmp_path):
    """Factory: ``hard_tree(name="hard", **write_hard_tree_kwargs)`` under tmp_path."""
    def make(name: str = "hard", **kw) -> Path:
        return write_hard_tree(tmp_path / name, **kw)
    return make


@pytest.fixture
def real_data() -> Path:
    """The real ImageFolder tree from ``MLP_LAB_DATA``; skip when it is unset."""
    root = os.environ.get("MLP_LAB_DATA")
    if not root:
        pytest.skip("MLP_LAB_DATA is unset: set it to the cifar10-jpg ImageFolder "
                    "tree (e.g. /work/shared/data/cifar10-jpg) to run this test")
    return Path(root).expanduser().resolve()


def _on_cores(cores: int | None):
    """A preexec_fn that confines the child to its first ``cores`` CPUs (None:
    all). The CLI's default plan is one worker per usable core: confined to
    one, it trains in its own process, as the tiny trainings of these tests
    should (a pool's start costs more than they do); test_pool and
    test_cluster run the pool, and test_bench its worker counts, on every
    core."""
    if cores is None:
        return None
    allowed = sorted(os.sched_getaffinity(0))[:cores]
    return lambda: os.sched_setaffinity(0, allowed)


@pytest.fixture
def python_run():
    """Factory: run ``python args...`` in a new process with mlp_lab importable.

    ``env`` entries override os.environ (the per-test MLP_LAB_CACHE included);
    a value of None removes the variable; ``cores`` confines it to that many
    CPUs (default 1, see ``_on_cores``). Returns the CompletedProcess.
    """
    def run(args, env: dict | None = None, cwd=None, timeout=300,
            cores: int | None = 1):
        full = dict(os.environ)
        full["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(ROOT), full.get("PYTHONPATH", "")) if p)
        for k, v in (env or {}).items():
            if v is None:
                full.pop(k, None)
            else:
                full[k] = str(v)
        return subprocess.run([sys.executable, *map(str, args)], env=full,
                              cwd=cwd or ROOT, capture_output=True, text=True,
                              timeout=timeout, preexec_fn=_on_cores(cores))
    return run


@pytest.fixture(scope="module")
def one_thread():
    """Torch on one thread for a module of tiny trainings: threads only add
    overhead there, and spin when the machine is busy."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)

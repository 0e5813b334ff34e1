"""Test-only: hold chosen trainings of a real ``python -m mlp_lab`` mid-way.

Imported by every Python process that starts with this folder on PYTHONPATH
(``tests/holding.py`` puts it there): the command, the pool's fork server,
and so every pool worker, which the fork server forks. It does nothing
unless ``MLP_LAB_TEST_HOLD`` is set, to JSON ``{"folder": F, "settings":
[labels]}``. Then, once ``mlp_lab.training`` is imported, a training of a
setting whose ``setting_label`` is listed, after its first epoch, writes
``F/held-<pid>.json`` (``{"pid", "setting", "trainer"}``) and waits for a
signal for ever: it ends as the test ends it (SIGINT, SIGKILL, or the
pool's SIGTERM). The other trainings run untouched. torch is not imported
here: a process that never imports mlp_lab.training stays as it was.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import json
import os
import signal
import sys
from contextlib import contextmanager, nullcontext
from pathlib import Path

TARGET = "mlp_lab.training"


def _hold(folder: Path, label: str, trainer: str) -> None:
    """Say that this training is held (a whole file, renamed into place),
    then wait for the signal that ends this process."""
    marker = folder / f"held-{os.getpid()}.json"
    tmp = folder / f".held-{os.getpid()}.tmp"
    tmp.write_text(json.dumps({"pid": os.getpid(), "setting": label,
                               "trainer": trainer}))
    os.replace(tmp, marker)
    while True:
        signal.pause()


def _holding(progress, folder: Path, label: str, trainer: str):
    """A Progress (``mlp_lab.training``) that runs ``progress``'s hook, if any,
    and holds the training after its first epoch."""
    @contextmanager
    def bar(desc: str, total: int):
        with (progress or (lambda d, t: nullcontext()))(desc, total) as inner:
            def on_epoch(epoch: int, loss: float) -> None:
                if inner is not None:
                    inner(epoch, loss)
                _hold(folder, label, trainer)
            yield on_epoch
    return bar


def _install(training, folder: Path, held: set[str]) -> None:
    """Wrap ``training._train_one``, which every training runs (train_one, in
    the command's process or in a worker)."""
    real = training._train_one

    def _train_one(cfg, setting, trainer, data, progress):
        label = training.setting_label(setting)
        if label in held:
            progress = _holding(progress, folder, label, trainer)
        return real(cfg, setting, trainer, data, progress)
    training._train_one = _train_one


class _AfterImport(importlib.abc.MetaPathFinder):
    """Finds ``mlp_lab.training`` as Python would, and installs the hold right
    after the module has run."""

    def __init__(self, folder: Path, held: set[str]):
        self.folder, self.held = folder, held

    def find_spec(self, name, path, target=None):
        if name != TARGET:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path, target)
        if spec is None or spec.loader is None:
            return spec
        run = spec.loader.exec_module

        def exec_module(module):
            run(module)
            _install(module, self.folder, self.held)
        spec.loader.exec_module = exec_module
        return spec


if os.environ.get("MLP_LAB_TEST_HOLD"):
    _spec = json.loads(os.environ["MLP_LAB_TEST_HOLD"])
    sys.meta_path.insert(0, _AfterImport(Path(_spec["folder"]),
                                         set(_spec["settings"])))

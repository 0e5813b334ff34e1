"""Test-only: hold a real ``python -m mlp_lab`` where a test must act.

Imported by every Python process that starts with this folder on PYTHONPATH
(``tests/holding.py`` puts it there): the command, the pool's fork server,
and so every pool worker, which the fork server forks. It does nothing
unless ``MLP_LAB_TEST_HOLD`` is set, to JSON ``{"folder": F, "settings":
[labels], "write": bool}``. Then, as soon as each module is imported:

- ``mlp_lab.training``: a training of a setting whose ``setting_label`` is
  listed, after its first epoch, writes ``F/held-<pid>.json`` (``{"pid",
  "setting", "trainer"}``) and waits for a signal for ever: it ends as the
  test ends it (SIGINT, SIGKILL, or the pool's SIGTERM).
- ``mlp_lab.cache``, with ``write``: the first write of a results entry's
  JSON file (its weights file is written) writes ``F/writing-<pid>.json``
  and waits until the test opens the FIFO ``F/release`` for writing.

Everything else runs untouched. torch is not imported here: a process that
imports neither module stays as it was.
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


def _mark(folder: Path, kind: str, **fields) -> None:
    """``folder/<kind>-<pid>.json``, whole or not there (renamed into place)."""
    tmp = folder / f".{kind}-{os.getpid()}.tmp"
    tmp.write_text(json.dumps({"pid": os.getpid(), **fields}))
    os.replace(tmp, folder / f"{kind}-{os.getpid()}.json")


def _holding(progress, folder: Path, label: str, trainer: str):
    """A Progress (``mlp_lab.training``) that runs ``progress``'s hook, if any,
    and holds the training after its first epoch."""
    @contextmanager
    def bar(desc: str, total: int):
        with (progress or (lambda d, t: nullcontext()))(desc, total) as inner:
            def tick(loss: float | None = None) -> None:
                if inner is not None:
                    inner(loss)
                _mark(folder, "held", setting=label, trainer=trainer)
                while True:  # until a signal ends this process
                    signal.pause()
            yield tick
    return bar


def _hold_trainings(training, spec: dict) -> None:
    """Wrap ``training._train_one``, which every training runs (train_one, in
    the command's process or in a worker)."""
    real, folder, held = training._train_one, Path(spec["folder"]), spec["settings"]

    def _train_one(cfg, setting, trainer, data, progress):
        label = training.setting_label(setting)
        if label in held:
            progress = _holding(progress, folder, label, trainer)
        return real(cfg, setting, trainer, data, progress)
    training._train_one = _train_one


def _hold_entry_write(cache, spec: dict) -> None:
    """Wrap ``cache.save_json``: the first results entry's JSON waits."""
    real, folder, first = cache.save_json, Path(spec["folder"]), [True]

    def save_json(path, obj):
        if first[0] and Path(path).match("results/setting-*.json"):
            first[0] = False
            _mark(folder, "writing", path=str(path))
            with open(folder / "release", "rb") as fifo:  # until the test opens it
                fifo.read()
        return real(path, obj)
    cache.save_json = save_json


class _AfterImport(importlib.abc.MetaPathFinder):
    """Finds the modules of ``hooks`` as Python would, and runs each one's hook
    right after the module has run."""

    def __init__(self, hooks: dict, spec: dict):
        self.hooks, self.spec = hooks, spec

    def find_spec(self, name, path, target=None):
        if name not in self.hooks:
            return None
        found = importlib.machinery.PathFinder.find_spec(name, path, target)
        if found is None or found.loader is None:
            return found
        run, hook = found.loader.exec_module, self.hooks[name]

        def exec_module(module):
            run(module)
            hook(module, self.spec)
        found.loader.exec_module = exec_module
        return found


if os.environ.get("MLP_LAB_TEST_HOLD"):
    _spec = json.loads(os.environ["MLP_LAB_TEST_HOLD"])
    _hooks = {"mlp_lab.training": _hold_trainings}
    if _spec.get("write"):
        _hooks["mlp_lab.cache"] = _hold_entry_write
    sys.meta_path.insert(0, _AfterImport(_hooks, _spec))

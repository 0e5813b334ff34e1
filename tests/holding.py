"""Act while a real training runs, without the clock: hold it there.

``holding(env, folder, *settings)`` is the environment ``env`` in which a
``python -m mlp_lab`` command (and its pool workers) holds every training of
``settings`` after its first epoch, until a signal ends its process
(``tests/hold/sitecustomize.py``); each held training first writes
``folder/held-<pid>.json``. ``wait_for`` waits for such events: it checks
the condition until it holds and fails if the command ends first; its limit
is only a guard against hanging for ever, never what makes a test pass.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

from mlp_lab.config import Setting, setting_label

SITE = Path(__file__).resolve().parent / "hold"
GUARD_S = 300  # against a hang only: the events come in seconds


def holding(env: dict, folder: Path, *settings: Setting) -> dict:
    """``env`` (with mlp_lab importable) in which the trainings of
    ``settings`` are held; their markers go to ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    spec = {"folder": str(folder), "settings": [setting_label(s) for s in settings]}
    path = os.pathsep.join(p for p in (str(SITE), env.get("PYTHONPATH")) if p)
    return {**env, "MLP_LAB_TEST_HOLD": json.dumps(spec), "PYTHONPATH": path}


def held(folder: Path) -> list[dict]:
    """The trainings held so far: ``{"pid", "setting", "trainer"}`` each."""
    return [json.loads(p.read_text()) for p in sorted(folder.glob("held-*.json"))]


def wait_for(condition, proc: subprocess.Popen, what: str):
    """``condition()``'s first true value; fails if ``proc`` ends before."""
    deadline = time.monotonic() + GUARD_S
    while not (found := condition()):
        assert proc.poll() is None, f"the run ended before {what}"
        assert time.monotonic() < deadline, f"no {what} in {GUARD_S} s (hung?)"
        time.sleep(0.02)  # between two looks; the event is what is awaited
    return found

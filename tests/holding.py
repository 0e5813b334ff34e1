"""Act while a real command is at a given point, without the clock: hold it.

``holding(env, folder, *settings)`` is the environment ``env`` in which a
``python -m mlp_lab`` command (and its pool workers) holds every training of
``settings`` after its first epoch, until a signal ends its process; with
``write=True`` it also holds the command in its first write of a results
entry, between the weights file and the JSON file, until :func:`release`
(``tests/hold/sitecustomize.py``). Each holder first writes a marker into
``folder``: :func:`held`, :func:`writing`. :func:`wait_for` waits for such
events: it checks the condition until it holds and fails if the command
ends first; its limit is only a guard against a hang, never what makes a
test pass.
"""

from __future__ import annotations

import errno
import json
import os
import subprocess
import time
from pathlib import Path

from mlp_lab.config import Setting, setting_label

SITE = Path(__file__).resolve().parent / "hold"
GUARD_S = 300  # against a hang only: the events come in seconds


def holding(env: dict, folder: Path, *settings: Setting, write: bool = False
            ) -> dict:
    """``env`` (with mlp_lab importable) in which the trainings of
    ``settings`` (and, with ``write``, the first entry's write) are held;
    their markers go to ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    if write:
        os.mkfifo(folder / "release")
    spec = {"folder": str(folder), "settings": [setting_label(s) for s in settings],
            "write": write}
    path = os.pathsep.join(p for p in (str(SITE), env.get("PYTHONPATH")) if p)
    return {**env, "MLP_LAB_TEST_HOLD": json.dumps(spec), "PYTHONPATH": path}


def _markers(folder: Path, kind: str) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(folder.glob(f"{kind}-*.json"))]


def held(folder: Path) -> list[dict]:
    """The trainings held so far: ``{"pid", "setting", "trainer"}`` each."""
    return _markers(folder, "held")


def writing(folder: Path) -> list[dict]:
    """The held entry write, if it is held: ``[{"pid", "path"}]``."""
    return _markers(folder, "writing")


def wait_for(condition, proc: subprocess.Popen, what: str):
    """``condition()``'s first true value; fails if ``proc`` ends before."""
    deadline = time.monotonic() + GUARD_S
    while not (found := condition()):
        assert proc.poll() is None, f"the run ended before {what}"
        assert time.monotonic() < deadline, f"no {what} in {GUARD_S} s (hung?)"
        time.sleep(0.02)  # between two looks; the event is what is awaited
    return found


def release(folder: Path, proc: subprocess.Popen) -> None:
    """Let the held write go on: open its FIFO for writing (once the holder
    has opened it for reading) and close it."""
    def opened() -> bool:
        try:
            os.close(os.open(folder / "release", os.O_WRONLY | os.O_NONBLOCK))
        except OSError as exc:  # ENXIO: the holder has not opened it yet
            if exc.errno != errno.ENXIO:
                raise
            return False
        return True
    wait_for(opened, proc, "the held write to wait for its release")

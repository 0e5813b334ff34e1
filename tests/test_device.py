"""device: the device type the record key names, told without importing torch,
agrees with ``torch.cuda.is_available()``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mlp_lab import device

ROOT = Path(__file__).resolve().parent.parent

PROBE = """
import json, sys
from mlp_lab import device
answer = {"type": device.device_type(), "build": device.torch_cuda_build(),
          "loaded": "torch" in sys.modules}
if len(sys.argv) > 1:
    import torch
    answer["torch"] = "cuda" if torch.cuda.is_available() else "cpu"
print(json.dumps(answer))
"""


def probe(*args, path: Path | None = None, **env) -> dict:
    """The probe's answers in a fresh process (``path`` first on PYTHONPATH)."""
    full = {**os.environ, **env, "PYTHONPATH": os.pathsep.join(
        str(p) for p in (path, ROOT) if p)}
    out = subprocess.run([sys.executable, "-c", PROBE, *args], env=full, cwd=ROOT,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_the_torch_free_answer_is_torchs():
    answer = probe("ask torch")
    assert not answer["loaded"]  # answered before torch was imported
    assert answer["type"] == answer["torch"]


class OneGpuDriver:
    """NVML's three calls as a driver with one GPU answers them (CI has none)."""

    def nvmlInit_v2(self):
        return 0

    def nvmlDeviceGetCount_v2(self, count):
        count._obj.value = 1
        return 0

    def nvmlShutdown(self):
        return 0


@pytest.mark.parametrize("hidden, gpus", [(None, 1), ("0", 1), ("GPU-5e1f", 1),
                                          ("", 0), ("-1", 0), ("-1,0", 0)])
def test_cuda_visible_devices_that_hide_every_gpu_mean_none(monkeypatch, hidden,
                                                            gpus):
    monkeypatch.setattr(device.ctypes, "CDLL", lambda name: OneGpuDriver())
    if hidden is None:
        monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    else:
        monkeypatch.setenv("CUDA_VISIBLE_DEVICES", hidden)
    assert device.visible_gpus() == gpus


def test_no_nvidia_driver_means_no_gpu(monkeypatch):
    def missing(name):
        raise OSError(f"{name}: cannot open shared object file")
    monkeypatch.setattr(device.ctypes, "CDLL", missing)
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    assert device.visible_gpus() == 0


@pytest.mark.parametrize("line, build", [("cuda: Optional[str] = '13.0'", True),
                                         ("cuda = '12.8'", True),
                                         ("cuda: Optional[str] = None", False)])
def test_the_torch_build_is_read_from_its_version_file(tmp_path, line, build):
    """A torch package whose import would fail: read, never imported."""
    (tmp_path / "torch").mkdir()
    (tmp_path / "torch" / "__init__.py").write_text("raise ImportError('imported')\n")
    (tmp_path / "torch" / "version.py").write_text(
        f"from typing import Optional\n__version__ = '2.14.1'\n{line}\n")
    answer = probe(path=tmp_path)
    assert answer["build"] is build and not answer["loaded"]
    if not build:
        assert answer["type"] == "cpu"

"""Which device computes the numbers, told without importing torch.

The results record is keyed by the device type, ``cuda`` or ``cpu``
(:func:`mlp_lab.results.record_key`): the same training on a GPU and on a CPU
differs in the last bits, so a record made on one must never be served on the
other. The book reads the record without importing torch, so
:func:`device_type` answers what ``torch.cuda.is_available()`` would
(``torch.cuda.is_available()``) from what it can see without it: torch itself
when something has imported it already; else the installed torch build's CUDA
version (``torch/version.py``, read as text) and the NVIDIA driver's count of
GPUs (NVML: it creates no CUDA context, so processes forked later can still use
the GPU), none when ``CUDA_VISIBLE_DEVICES`` hides them all. A wrong answer
costs time, never a wrong number: a record is written under the device that
computed it (``Environment.device``), so an answer that misses it makes the
book compute the results (from the per-setting cache) instead of reading them.
"""

from __future__ import annotations

import ast
import ctypes
import importlib.util
import os
import sys
from pathlib import Path


def torch_cuda_build() -> bool:
    """Whether the installed torch is built with CUDA (its ``version.cuda``)."""
    spec = importlib.util.find_spec("torch")
    if spec is None or not spec.origin:
        return False
    version = Path(spec.origin).parent / "version.py"
    try:
        tree = ast.parse(version.read_text(encoding="utf-8"))
    except (OSError, SyntaxError):
        return False
    for node in tree.body:
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == "cuda" for t in targets):
                return isinstance(node.value, ast.Constant) and bool(node.value.value)
    return False


def visible_gpus() -> int:
    """How many GPUs the NVIDIA driver reports (0 without a driver), or 0 when
    ``CUDA_VISIBLE_DEVICES`` hides them all (empty, or starting with ``-1``)."""
    hidden = os.environ.get("CUDA_VISIBLE_DEVICES")
    if hidden is not None:
        first = hidden.split(",")[0].strip()
        if not first or first.startswith("-"):
            return 0
    try:
        nvml = ctypes.CDLL("libnvidia-ml.so.1")
    except OSError:
        return 0
    count = ctypes.c_uint(0)
    if nvml.nvmlInit_v2() != 0:
        return 0
    try:
        return count.value if nvml.nvmlDeviceGetCount_v2(ctypes.byref(count)) == 0 \
            else 0
    finally:
        nvml.nvmlShutdown()


def device_type() -> str:
    """``"cuda"`` when PyTorch computes on a GPU here, else ``"cpu"``."""
    torch = sys.modules.get("torch")
    if torch is not None:  # already paid for: ask it
        return "cuda" if torch.cuda.is_available() else "cpu"
    return "cuda" if torch_cuda_build() and visible_gpus() > 0 else "cpu"

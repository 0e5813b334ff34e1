"""What a result was computed on: versions, device, CPU, threads."""

from __future__ import annotations

import os
import platform
from importlib import metadata

import torch

from .config import Config
from .results import Environment
from .device import device_type


def cpu_model() -> str:
    """The CPU model from Linux's /proc/cpuinfo, else the machine type."""
    try:
        with open("/proc/cpuinfo") as f:
            return next(line.split(":", 1)[1].strip() for line in f
                        if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or platform.machine()


def cpu_name() -> str:
    """The CPU model and its core count, e.g. ``AMD EPYC, 2 cores``."""
    return f"{cpu_model()}, {os.cpu_count()} cores"


def device_name() -> str:
    """The GPU's name when CUDA is used, else :func:`cpu_name`."""
    if device_type() == "cuda":
        return torch.cuda.get_device_name()
    return cpu_name()


def environment(cfg: Config) -> Environment:
    """Versions, device and dtype the results were computed with."""
    return Environment(python=platform.python_version(), torch=torch.__version__,
                       torchvision=metadata.version("torchvision"),
                       device=device_type(), device_name=device_name(),
                       dtype=cfg.dtype, seed=cfg.seed,
                       sgd_path="single-tensor")  # training.optimizer pins it


def machine() -> dict:
    """The benchmark's machine: CPU model, cores, torch, threads, device, load."""
    cuda = device_type() == "cuda"
    return {"cpu": cpu_model(), "cores": os.cpu_count(),
            "cores_usable": len(os.sched_getaffinity(0)),
            "torch": torch.__version__, "threads": torch.get_num_threads(),
            "device": device_name() if cuda else "cpu",
            "loadavg": list(os.getloadavg())}

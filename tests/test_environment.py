"""environment: what the results and the benchmark say they ran on, checked
against other sources than the ones it reads (the interpreter, the installed
distributions, /proc, what the optimizer really runs)."""

from __future__ import annotations

import importlib
import sys
from importlib import metadata
from pathlib import Path

import pytest
import torch
from torch import nn

from mlp_lab import environment as env
from mlp_lab.config import Config, Setting
from mlp_lab.models import make_model
from mlp_lab.trainers import train
from mlp_lab.training import optimizer

CPUINFO = Path("/proc/cpuinfo")


@pytest.mark.skipif(not CPUINFO.is_file(), reason="no /proc/cpuinfo (not Linux)")
def test_cpu_name_is_a_model_of_this_machine_and_its_processor_count():
    text = CPUINFO.read_text()
    models = {line.partition(":")[2].strip() for line in text.splitlines()
              if line.startswith("model name")}
    processors = sum(line.startswith("processor") for line in text.splitlines())
    name = env.cpu_name()
    assert "\n" not in name and env.cpu_model() in models
    assert name == f"{env.cpu_model()}, {processors} cores"


def test_environment_names_the_interpreter_the_distributions_and_the_config():
    e = env.environment(Config(dtype="float32", seed=7))
    assert e.python == ".".join(map(str, sys.version_info[:3]))
    # the installed releases (the build may add a local tag: 2.14.1+cu130)
    assert e.torch.partition("+")[0] == metadata.version("torch").partition("+")[0]
    assert e.torchvision.partition("+")[0] == metadata.version(
        "torchvision").partition("+")[0]
    assert (e.dtype, e.seed) == ("float32", 7)  # this config's, not the defaults
    other = env.environment(Config())
    assert (other.dtype, other.seed) == ("float64", 265)


def test_environment_names_the_device_tensors_are_placed_on():
    e = env.environment(Config())
    x = make_model((4, 2), 0, torch.float64, e.device).net[1].weight
    assert x.device.type == e.device
    if e.device == "cpu":
        assert e.device_name == env.cpu_name()
    else:
        assert e.device_name == torch.cuda.get_device_name(x.device)


def test_the_recorded_sgd_path_is_the_one_the_optimizer_takes(monkeypatch):
    """The record says which torch.optim.SGD code path trained the models:
    check it against the path ``training.optimizer`` really runs."""
    sgd_module = importlib.import_module("torch.optim.sgd")
    paths = {"_single_tensor_sgd": "single-tensor", "_multi_tensor_sgd": "foreach",
             "_fused_sgd": "fused"}
    taken = set()
    for name, label in paths.items():
        real = getattr(sgd_module, name)

        def wrapper(*args, _real=real, _label=label, **kwargs):
            taken.add(_label)
            return _real(*args, **kwargs)
        monkeypatch.setattr(sgd_module, name, wrapper)
    model = make_model((4, 2), 0, torch.float64)
    x, y = torch.randn(8, 4, dtype=torch.float64), torch.arange(8) % 2
    train(1, optimizer(model, Setting(0.1, 0.9, 0.01)), model,
          nn.CrossEntropyLoss(), [(x, y)])
    assert taken == {env.environment(Config()).sgd_path}


def test_machine_reads_the_live_thread_count_and_load():
    previous = torch.get_num_threads()
    try:
        for n in (1, 2):
            torch.set_num_threads(n)
            assert env.machine()["threads"] == n
    finally:
        torch.set_num_threads(previous)
    m = env.machine()
    assert 1 <= m["cores_usable"] <= m["cores"]
    assert m["torch"] == env.environment(Config()).torch
    assert m["cpu"] == env.cpu_model()
    load = Path("/proc/loadavg")
    if load.is_file():  # the 15-minute average hardly moves within a second
        assert m["loadavg"][2] == pytest.approx(
            float(load.read_text().split()[2]), abs=0.5)

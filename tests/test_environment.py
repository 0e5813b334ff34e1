"""environment: what the results and the benchmark say they ran on."""

from __future__ import annotations

import os

import torch

from mlp_lab import environment as env
from mlp_lab.config import Config


def test_cpu_name_is_the_model_and_the_core_count():
    model = env.cpu_model()
    assert model and "\n" not in model
    assert env.cpu_name() == f"{model}, {os.cpu_count()} cores"


def test_environment_records_versions_device_and_sgd_path():
    e = env.environment(Config(dtype="float32", seed=7))
    assert e.torch == torch.__version__ and e.dtype == "float32"
    assert e.seed == 7 and e.sgd_path == "single-tensor"
    assert e.device in ("cpu", "cuda") and e.device_name


def test_machine_has_the_benchmark_fields():
    m = env.machine()
    assert m["cpu"] == env.cpu_model() and m["cores"] >= m["cores_usable"] >= 1
    assert m["threads"] == torch.get_num_threads() and len(m["loadavg"]) == 3

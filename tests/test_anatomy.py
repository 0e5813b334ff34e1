"""anatomy: the timed products are the bound's, and every stage is timed."""

from __future__ import annotations

from collections import Counter

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from mlp_lab.speed import anatomy
from mlp_lab.speed.bound import matmuls
from mlp_lab.config import Config, Setting
from mlp_lab.data import load_data

pytestmark = pytest.mark.usefixtures("one_thread")


class RecordProducts(TorchDispatchMode):
    """Records (m, k, n) of every aten mm / addmm run inside it, backward included."""

    def __init__(self):
        super().__init__()
        self.calls = Counter()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if func in (torch.ops.aten.mm.default, torch.ops.aten.addmm.default):
            a, b = args[-2:]
            self.calls[(a.shape[0], a.shape[1], b.shape[1])] += 1
        return func(*args, **(kwargs or {}))


def test_heaviest_setting_is_the_first_with_most_terms():
    settings = (Setting(0.1), Setting(0.1, 0.9), Setting(0.2, 0.5, 0.01),
                Setting(0.3, 0.9, 0.01))
    assert anatomy.heaviest(settings) == settings[2]
    assert anatomy.heaviest(settings[:2]) == settings[1]


@pytest.mark.parametrize("sizes", [(12, 4, 2), (48, 16, 8, 2)])
def test_timed_products_are_the_products_the_bound_counts(sizes):
    call = anatomy.product_calls(sizes, 5, torch.float64, "cpu")
    x = torch.randn(5, 3, 2, sizes[0] // 6, dtype=torch.float64)
    with RecordProducts() as rec:
        call(x)
    assert rec.calls == Counter((s.m, s.k, s.n) for s in matmuls(sizes, 5, True))


def test_training_step_runs_the_products_the_bound_counts(image_tree, monkeypatch):
    """The bound's products are those autograd really computes (no more, no less)."""
    monkeypatch.setenv("MLP_LAB_DATA", str(image_tree(classes=("automobile", "cat"))))
    cfg = Config(batch_size=8, sizes=(768, 16, 8, 2),
                 settings=(Setting(0.05, 0.9, 0.01),))
    batches = anatomy.full_batches(load_data(cfg), 8, 1, torch.float64, "cpu")
    stages = anatomy.stages(cfg, batches, torch.float64, "cpu")
    for stage in ("backward", "sgd", "manual"):
        with RecordProducts() as rec:
            stages[stage]()
        assert rec.calls == Counter((s.m, s.k, s.n)
                                    for s in matmuls(cfg.sizes, 8, True)), stage


def test_anatomy_times_every_stage_and_the_bound(image_tree, monkeypatch):
    monkeypatch.setenv("MLP_LAB_DATA", str(image_tree(classes=("automobile", "cat"))))
    cfg = Config(batch_size=8, settings=(Setting(0.05), Setting(0.05, 0.9, 0.01)))
    out = anatomy.anatomy(cfg, load_data(cfg), torch.float32, "cpu",
                          n_batches=2, rounds=2)
    assert set(out) == {"rows", "bound", *anatomy.STAGES} and out["rows"] == 8
    assert all(isinstance(out[k], float) and out[k] > 0
               for k in ("bound", *anatomy.STAGES))


def test_a_split_smaller_than_a_batch_is_timed_as_one_batch(image_tree, monkeypatch):
    monkeypatch.setenv("MLP_LAB_DATA", str(image_tree(classes=("automobile", "cat"))))
    cfg = Config(batch_size=512)
    data = load_data(cfg)
    n_train = len(data.labels["train"])
    batches = anatomy.full_batches(data, 512, 3, torch.float64, "cpu")
    assert [len(y) for _, y in batches] == [n_train]
    out = anatomy.anatomy(cfg, data, torch.float64, "cpu", n_batches=3, rounds=1)
    assert out["rows"] == n_train

"""Recorded numbers are computed with one intra-op thread, whatever the caller set."""

from __future__ import annotations

import torch

from mlp_lab import data, experiments, threads, training
from mlp_lab.config import Config


def test_pinned_sets_and_restores_the_thread_count():
    before = torch.get_num_threads()
    with threads.pinned(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before


def test_pinned_restores_after_an_error():
    before = torch.get_num_threads()
    try:
        with threads.pinned(1):
            raise ValueError
    except ValueError:
        pass
    assert torch.get_num_threads() == before


def spy_threads(monkeypatch, module, name: str) -> list[int]:
    """Record torch's thread count each time ``module.name`` is called."""
    seen, real = [], getattr(module, name)

    def spy(*args, **kwargs):
        seen.append(torch.get_num_threads())
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, spy)
    return seen


def test_data_and_training_run_on_one_thread_whatever_the_caller_set(
        monkeypatch, image_tree):
    built = spy_threads(monkeypatch, data, "_build")
    trained = spy_threads(monkeypatch, training, "_train_one")
    cfg = Config(data_dir=str(image_tree()), image_size=4, sizes=(48, 8, 2),
                 epochs=1, classes=("automobile", "cat"))
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        experiments.run(cfg)
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
    assert built == [threads.THREADS]
    assert trained == [threads.THREADS] * len(training.TRAINERS) * len(cfg.settings)

"""How far the textbook form of the SGD step drifts from ``torch.optim.SGD``.

The textbook writes the step as plain arithmetic,

    g = grad + lambda * theta,   b = mu * b + g,   theta = theta - lr * g,

which rounds each product before its sum; ``torch.optim.SGD`` (and
``trainers.sgd_step``) round ``grad + lambda * theta`` and
``theta - lr * g`` once each. One extra training measures what that costs:
the manual trainer with the textbook step in place of ``sgd_step``, on one
setting (the first with momentum and weight decay, where every rounding
acts), compared with the SGD model of the results cache. The book shows it;
nothing else trains it. Its outcome is cached beside the setting's.
"""

from __future__ import annotations

from dataclasses import dataclass
from unittest import mock

import torch

from . import cache, trainers
from .config import Config
from .data import load_data
from .experiments import cached_entry, run, setting_key
from .models import make_model
from .threads import pinned
from .training import device, fit, loaders, max_abs_diff


@torch.no_grad()
def textbook_step(params, buffers, lr, momentum, weight_decay):
    """The SGD step of ``trainers.sgd_step`` as the textbook formula, each
    product rounded before its sum."""
    for i, p in enumerate(params):
        g = p.grad + weight_decay * p
        if momentum:
            b = buffers[i]
            buffers[i] = g.clone() if b is None else momentum * b + g
            g = buffers[i]
        p.copy_(p - lr * g)


def drift_setting(cfg: Config) -> int:
    """The setting the drift is measured on: the first with momentum and
    weight decay, else the first with either, else the first."""
    def score(s) -> int:
        return (s.momentum != 0) + (s.weight_decay != 0)
    return max(range(len(cfg.settings)), key=lambda i: (score(cfg.settings[i]), -i))


@dataclass(frozen=True)
class Drift:
    """The textbook update's drift: the setting (its index) and the largest
    absolute difference between its final parameters and the SGD model's."""

    index: int
    max_abs_diff: float


def textbook_drift(cfg: Config) -> Drift:
    """Train ``cfg``'s drift setting once with the textbook step (cached) and
    compare it with the setting's SGD model (trained first when missing)."""
    i = drift_setting(cfg)
    setting = cfg.settings[i]
    data = load_data(cfg)
    fingerprint = data.provenance["fingerprint"]
    key = cache.stable_hash([setting_key(cfg, setting, fingerprint),
                             cache.source_hash(("drift",))])
    path = cache.cache_dir() / "results" / f"drift-{key}.json"
    saved = cache.load_json(path)
    if isinstance(saved, dict) and set(saved) == {"index", "max_abs_diff"}:
        return Drift(**saved)
    entry = cached_entry(cfg, setting, fingerprint)
    if entry is None:  # the setting's SGD model is not trained yet
        run(cfg, data=data)
        entry = cached_entry(cfg, setting, fingerprint)
    with pinned(), mock.patch.object(trainers, "sgd_step", textbook_step):
        model = make_model(cfg.sizes, cfg.seed, getattr(torch, cfg.dtype), device())
        fit(cfg, setting, "manual", model, loaders(cfg, data)["train"])
    state = {k: v.cpu() for k, v in model.state_dict().items()}
    drift = Drift(i, max_abs_diff(list(entry[1].values()), list(state.values())))
    cache.save_json(path, {"index": drift.index, "max_abs_diff": drift.max_abs_diff})
    return drift

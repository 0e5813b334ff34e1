"""The experiments of Part B: every setting with both trainers, cached on disk.

For each hyper-parameter setting s: ``torch.manual_seed(seed)``, create the
MLP, train it with ``torch.optim.SGD``; again ``torch.manual_seed(seed)``,
create it, train it with ``train_manual_update``; compare losses and final
parameters; record accuracies. The best setting is the one of highest
validation accuracy (ties: the first; diverged settings never), evaluated once
on the test set. Trainings done elsewhere (the hand-in's notebook) can be
handed to :func:`run`, which then scores and records them instead of
training them again.

Each setting's outcome is cached in ``<cache>/results/`` under a key made of
everything that determines it (data, model, training fields, the setting, the
data fingerprint, a hash of mlp_lab's computing source, the torch version, the
device type), so changing one setting retrains only that setting. ``run``
also writes the whole outcome as the results record
(:mod:`mlp_lab.results`), which the book reads without torch.
"""

from __future__ import annotations

import dataclasses
import itertools
import signal
import threading
from contextlib import closing, contextmanager, nullcontext
from pathlib import Path
from typing import Iterator

import torch

from . import cache
from .cluster import run_cluster
from .config import Config, Setting, load_config, setting_label
from .data import PreparedData, load_data
from .environment import environment
from .models import make_model
from .pool import plan_workers, run_pool
from .results import BestModel, DataSummary, Results, SettingResult, save_record
from .threads import pinned
from .trainers import accuracy, confusion_matrix
from .training import (TRAINER_NAMES, TRAINERS, Progress, Trained, device,
                       setting_result, train_from_cache, train_one)


def setting_key(cfg: Config, setting: Setting, fingerprint: str) -> str:
    """The results cache key of ``setting``: everything its trainings depend
    on (the config's data, model and training fields, the setting, the data
    fingerprint, the computing source, the releases, the device type)."""
    fields = {k: v for k, v in cfg.to_dict().items()
              if k not in ("name", "class_names", "data_dir", "settings")}
    code = cache.source_hash(cache.COMPUTE_MODULES)
    return cache.stable_hash([fields, dataclasses.asdict(setting), fingerprint,
                              code, torch.__version__, cache.releases(),
                              device().type])


def cached_entry(cfg: Config, setting: Setting,
                 fingerprint: str) -> tuple[SettingResult, dict] | None:
    """The cached result of ``setting`` and its SGD model's final parameters,
    or None."""
    return _cached_entry(cache.cache_dir() / "results",
                         setting_key(cfg, setting, fingerprint))


def _cached_entry(folder, key: str) -> tuple[SettingResult, dict] | None:
    """The valid entry ``key`` of the results cache, or None (missing or malformed).

    Valid: the JSON is an object of exactly SettingResult's fields plus ``key``,
    and the weights file is a dict with the same key and a state dict.
    """
    meta = cache.load_json(folder / f"setting-{key}.json")
    weights = cache.load_tensors(folder / f"setting-{key}.pt")
    fields = {f.name for f in dataclasses.fields(SettingResult)} - {"from_cache"}
    if not (isinstance(meta, dict) and isinstance(weights, dict)
            and meta.get("key") == key and weights.get("key") == key
            and set(meta) == fields | {"key"}
            and isinstance(weights.get("state"), dict)):
        return None
    meta.pop("key")
    return SettingResult(**meta, from_cache=True), weights["state"]


def _save_entry(folder, key: str, result: SettingResult, state: dict) -> None:
    """Write a setting's entry: the weights file first, then the JSON file.

    An entry counts only when both load and carry the same key, so a run
    killed between (or during) the two writes leaves no entry that would be
    read as valid; Ctrl-C waits until both are written (a finished setting
    is kept whole, never half)."""
    record = dataclasses.asdict(result)
    del record["from_cache"]
    with _sigint_deferred():
        cache.save_tensors(folder / f"setting-{key}.pt", {"key": key, "state": state})
        cache.save_json(folder / f"setting-{key}.json", dict(record, key=key))


@contextmanager
def _sigint_deferred():
    """Hold SIGINT (Ctrl-C) back during the block; it arrives right after.

    A Python handler notes it, not a signal mask: in a process with threads
    (a pool's), the kernel gives a signal the main thread masks to another
    thread, and Python then runs the handler in the main thread all the same.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.SIG_DFL if previous is None else previous)
        if caught:  # now, as the caller's handler has it (KeyboardInterrupt)
            signal.raise_signal(signal.SIGINT)


def _trainings(cfg: Config, jobs: list[tuple], data: PreparedData,
               progress: Progress | None) -> tuple[Iterator, str]:
    """``(job index, Trained)`` for ``jobs`` (setting, trainer) as each finishes,
    and where they run: here when one worker is planned (always on CUDA),
    with a progress bar per training; else in the local pool or on the Dask
    cluster of ``cfg.scheduler``."""
    names = [f"{setting_label(s)} ({TRAINER_NAMES[t]})" for s, t in jobs]
    tasks = [(cfg, s, t) for s, t in jobs]
    workers = plan_workers(device().type, cfg.workers, len(jobs))
    if cfg.scheduler:
        return (run_cluster(cfg.scheduler, train_one, tasks, names, data),
                "on the Dask cluster")
    if workers == 1:
        return ((i, train_one(cfg, s, t, data, progress))
                for i, (s, t) in enumerate(jobs)), ""
    path = data.provenance.get("cache_file", "")
    if not Path(path).is_file():  # the workers read the data cache file
        path = load_data(cfg).provenance["cache_file"]
    return (run_pool(train_from_cache, tasks, workers, names, path),
            f"on {workers} workers")


def _train_missing(cfg: Config, missing: dict[int, str], data: PreparedData,
                   progress: Progress | None,
                   handed: dict[tuple[int, str], Trained]):
    """Train the settings ``missing`` (index -> cache key), or take their
    trainings from ``handed`` ((index, trainer) -> Trained), and cache each
    one as soon as all its trainings are done; yield (index, result, state).
    Trained elsewhere, one progress bar counts the settings done."""
    folder = cache.cache_dir() / "results"
    pairs = [(i, t) for i in missing for t in TRAINERS]
    jobs = [(cfg.settings[i], t) for i, t in pairs]
    owner = [i for i, _ in pairs]
    started: dict[int, dict[str, Trained]] = {i: {} for i in missing}
    todo = [j for j, pair in enumerate(pairs) if pair not in handed]
    done = ((j, handed[pair]) for j, pair in enumerate(pairs) if pair in handed)
    running, where = _trainings(cfg, [jobs[j] for j in todo], data, progress)
    results = itertools.chain(done, ((todo[k], t) for k, t in running))
    overall = (progress(f"settings {where}", len(missing)) if where and progress
               else nullcontext())
    # closing: an exception here (Ctrl-C while an entry is written) stops the
    # pool's workers now, not when the generator is collected
    with overall as tick, closing(running):
        for j, outcome in results:
            i = owner[j]
            started[i][jobs[j][1]] = outcome
            if len(started[i]) < len(TRAINERS):
                continue
            both = started.pop(i)
            result = setting_result(cfg.settings[i], *(both[t] for t in TRAINERS))
            _save_entry(folder, missing[i], result, both["sgd"].state)
            if tick is not None:
                tick(result.final_loss)
            yield i, result, both["sgd"].state


def select_best(runs: list) -> int | None:
    """The model selection: the index of the trained setting of highest
    validation accuracy (``val_acc``; the first on ties), among those whose
    training did not diverge (``diverged``); None when every one did."""
    candidates = [i for i, trained in enumerate(runs) if not trained.diverged]
    if not candidates:
        return None
    return max(candidates, key=lambda i: (runs[i].val_acc, -i))


def evaluate_best(cfg: Config, index: int, state: dict, result: SettingResult,
                  data: PreparedData) -> BestModel:
    """Test accuracy and confusion matrix of the best setting's SGD model
    (one intra-op thread, as the training)."""
    dtype, where = getattr(torch, cfg.dtype), device()
    with pinned():
        model = make_model(cfg.sizes, cfg.seed, dtype, where)
        model.load_state_dict(state)
        test = data.batches("test", cfg.batch_size, dtype, where)
        return BestModel(index=index, test_acc=accuracy(model, test),
                         confusion=confusion_matrix(model, test).tolist(),
                         train_acc=result.train_acc, val_acc=result.val_acc)


SAMPLES_PER_CLASS = 8  # training images per class the report shows


def data_summary(data: PreparedData) -> DataSummary:
    """Source, split sizes, class counts, statistics and sample images."""
    sizes = data.sizes()
    mean, std = data.normalized_moments("train")
    return DataSummary(**data.provenance, n_train=sizes["train"], n_val=sizes["val"],
                       n_test=sizes["test"], counts=data.counts(),
                       class_names=list(data.class_names),
                       mean=data.mean.tolist(), std=data.std.tolist(),
                       normalized_mean=mean, normalized_std=std,
                       samples=data.samples(SAMPLES_PER_CLASS).tolist())


def run(cfg: Config | None = None, progress: Progress | None = None,
        data: PreparedData | None = None,
        handed: dict[tuple[int, str], Trained] | None = None) -> Results:
    """Train (or load) every setting of ``cfg``, select the best, test it,
    and write the results record the book reads (``results.save_record``).

    The settings missing from the results cache are trained in
    ``cfg.workers`` processes (or on the cluster of ``cfg.scheduler``), one
    training each: a setting's SGD and manual trainings are two units of
    work, so five settings keep ten cores busy, and a small machine's last
    round waits for part of a setting, not a whole one. The trainings start
    from the same seed and data in any process, so they stay bit-identical,
    and the setting is compared and cached here as soon as its last one ends.
    ``handed`` maps (setting index, trainer) to a training already done
    (the hand-in's notebook): it is recorded, not trained again."""
    cfg = cfg or load_config()
    data = data or load_data(cfg)
    folder = cache.cache_dir() / "results"
    keys = [setting_key(cfg, s, data.provenance["fingerprint"]) for s in cfg.settings]
    outcomes = {i: _cached_entry(folder, k) for i, k in enumerate(keys)}
    missing = {i: k for i, k in enumerate(keys) if outcomes[i] is None}
    with closing(_train_missing(cfg, missing, data, progress,
                                handed or {})) as trained:
        for i, result, state in trained:
            outcomes[i] = result, state
    outcomes = [outcomes[i] for i in range(len(keys))]
    settings = [r for r, _ in outcomes]
    best = select_best(settings)
    best_eval = (None if best is None else
                 evaluate_best(cfg, best, outcomes[best][1], settings[best], data))
    res = Results(cfg, data_summary(data), settings, best_eval, environment(cfg))
    save_record(cfg, res)
    return res

"""A local process pool for the trainings: ``concurrent.futures``, one thread each.

:func:`plan_workers` decides how many processes to use; :func:`run_pool`
runs ``fn(*task, shared)`` for every task in a ``ProcessPoolExecutor`` and
yields ``(index, result)`` as each one finishes, so that the caller can cache
every finished setting at once. Every worker process trains with one
intra-op thread (:mod:`mlp_lab.threads`), so its numbers are those of the
calling process, to the last bit.

Workers are started by a fork server that has imported ``PRELOAD`` once, so
a worker starts without importing torch again, and without inheriting the
caller's threads (a plain ``fork`` of a threaded process can deadlock).

Faults: a worker that dies (``kill -9``, out of memory) raises
:class:`WorkerError` naming the task it ran; Ctrl-C (``KeyboardInterrupt``)
terminates every worker before it propagates; a worker whose parent dies
exits by itself.
"""

from __future__ import annotations

import multiprocessing as mp
import multiprocessing.connection
import multiprocessing.forkserver
import os
import signal
import threading
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Callable, Iterator, Sequence

from .errors import WorkerError
from .threads import THREADS

# What every worker needs, imported once by the fork server: torch, the
# trainers, and torch._dynamo, which torch.optim imports at its first use
# (seconds per process, were it imported in each worker).
PRELOAD = ["mlp_lab.training", "torch._dynamo"]
_started = None  # in a worker: the queue announcing (task index, pid)


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def plan_workers(device: str, requested: int, n_tasks: int,
                 cores: int | None = None) -> int:
    """How many worker processes run ``n_tasks`` trainings on ``device``.

    On CUDA: 1 (the trainings run in the calling process, one after the
    other, on its GPU). On the CPU: ``requested``, or with 0 (the default)
    the usable cores; never more than there are tasks, and at least 1.
    1 means: no pool, the calling process trains.
    """
    if device == "cuda":
        return 1
    wanted = requested or (usable_cores() if cores is None else cores)
    return max(1, min(wanted, n_tasks))


def warm(workers: int) -> None:
    """Start the fork server now when ``workers`` processes will train: it
    imports ``PRELOAD`` (torch above all) in the background, on another core,
    while the caller goes on (its own import of torch, its data), so a pool
    made later starts at once."""
    if workers > 1 and "forkserver" in mp.get_all_start_methods():
        _context()  # sets the preload
        multiprocessing.forkserver.ensure_running()


def _watch_parent() -> None:
    """Exit this worker as soon as the process that started it is gone."""
    parent = mp.parent_process()
    if parent is not None:
        mp.connection.wait([parent.sentinel])
        os._exit(1)


def _init_worker(started) -> None:
    global _started
    _started = started
    # Ctrl-C in a terminal reaches the whole process group: the parent alone
    # decides, and terminates the workers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    import torch

    torch.set_num_threads(THREADS)
    threading.Thread(target=_watch_parent, daemon=True).start()


def _call(index: int, fn: Callable, args: tuple, shared: Any) -> Any:
    _started.put((index, os.getpid()))
    return fn(*args, shared)


def _context() -> mp.context.BaseContext:
    if "forkserver" not in mp.get_all_start_methods():
        return mp.get_context("spawn")
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(PRELOAD)
    return ctx


def _victim(processes: list, started: dict[int, int], done: set[int]) -> list[int]:
    """Indices of the tasks whose worker died by itself (not terminated by the
    pool after the death); all unfinished started tasks if none is known."""
    dead = {p.pid for p in processes
            if p.exitcode not in (None, 0, -signal.SIGTERM)}
    hit = [i for i, pid in started.items() if pid in dead and i not in done]
    return hit or sorted(i for i in started if i not in done)


def _died(processes, queue, done, names) -> WorkerError:
    started: dict[int, int] = {}
    while not queue.empty():
        index, pid = queue.get()
        started[index] = pid
    codes = {p.exitcode for p in processes} - {None, 0, -signal.SIGTERM}
    how = ", ".join(signal.Signals(-c).name if c < 0 else f"exit code {c}"
                    for c in sorted(codes)) or "unknown cause"
    which = " and ".join(names[i] for i in _victim(processes, started, done))
    if not which:  # it died starting: typically a script without a main guard
        return WorkerError(
            f"a worker process died ({how}) before it trained. Fix: a script "
            "that calls run() with workers needs `if __name__ == '__main__':`; "
            "or use --workers 1.")
    return WorkerError(
        f"a worker process died ({how}) while training {which}; the settings "
        "finished before are cached. Fix: run again to train only the missing "
        "ones; if workers keep dying (out of memory?), use fewer workers.")


def run_pool(fn: Callable, tasks: Sequence[tuple], workers: int,
             names: Sequence[str], shared: Any = None) -> Iterator[tuple[int, Any]]:
    """Yield ``(i, fn(*tasks[i], shared))`` as each task finishes, in ``workers``
    processes. ``names[i]`` names task i in the error when its worker dies."""
    ctx = _context()
    queue = ctx.SimpleQueue()
    before = set(mp.active_children())

    def ours() -> list:  # this pool's worker processes
        return [p for p in mp.active_children() if p not in before]
    executor = ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker,
                                   initargs=(queue,))
    done: set[int] = set()
    try:
        futures = {executor.submit(_call, i, fn, t, shared): i
                   for i, t in enumerate(tasks)}
        processes, pending = ours(), set(futures)
        while pending:
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                index = futures[future]
                try:
                    result = future.result()
                except BrokenProcessPool:
                    executor.shutdown(wait=True)
                    raise _died(processes, queue, done, names) from None
                done.add(index)
                yield index, result
    except BaseException:  # Ctrl-C, a failed task, or the caller stopped early
        for p in ours():
            p.terminate()
        raise
    finally:
        executor.shutdown(wait=True, cancel_futures=True)

"""The trainings on an existing Dask distributed cluster (``--scheduler ADDRESS``).

For a sweep larger than one machine: :func:`run_cluster` connects a
``dask.distributed.Client`` to the scheduler, sends the shared data to every
worker once (``Client.scatter``), submits one future per task and yields
``(index, result)`` as each finishes (``as_completed``), exactly as
:func:`mlp_lab.pool.run_pool` does on this machine. Each task pins one
intra-op thread itself, so a cluster's numbers equal the local ones when its
workers run the same torch on the same device type. Dask is optional
(``pip install .[cluster]``); it is imported only here, only when used.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator, Sequence

from .errors import ClusterError, WorkerError

CONNECT_TIMEOUT_S = 3  # an unreachable scheduler fails fast, not after 30 s


def connect(address: str, timeout: float = CONNECT_TIMEOUT_S):
    """A ``distributed.Client`` connected to ``address``; ClusterError if Dask
    is missing or the scheduler does not answer within ``timeout`` seconds."""
    try:
        from distributed import Client
    except ImportError:
        raise ClusterError(
            "--scheduler needs dask.distributed, which is not installed. Fix: "
            "pip install 'mlp_lab[cluster]' (or dask[distributed]), or run "
            "without a scheduler.") from None
    from distributed.comm import parse_address
    from distributed.comm.registry import get_backend

    try:
        get_backend(parse_address(address)[0])  # a malformed address: no Client
        return Client(address, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError, ValueError, TypeError) as exc:
        reason = " ".join(str(exc).split())[:160] or type(exc).__name__
        raise ClusterError(
            f"cannot reach the Dask scheduler at {address!r} ({reason}). Fix: "
            "start it (e.g. `dask scheduler`) and pass its address, "
            "tcp://HOST:8786, or run without --scheduler.") from None


def check_scheduler(address: str) -> None:
    """Raise ClusterError unless the scheduler at ``address`` answers: the
    command line asks before it prepares any data."""
    connect(address).close()


def run_cluster(address: str, fn: Callable, tasks: Sequence[tuple],
                names: Sequence[str], shared: Any) -> Iterator[tuple[int, Any]]:
    """Yield ``(i, fn(*tasks[i], shared))`` as each task finishes on the cluster
    at ``address``. ``shared`` is scattered to every worker once."""
    from distributed import as_completed
    from distributed.client import FutureCancelledError
    from distributed.scheduler import KilledWorker

    client = connect(address)
    futures = {}
    try:
        data = client.scatter(shared, broadcast=True)
        futures = {client.submit(fn, *t, data, pure=False): i
                   for i, t in enumerate(tasks)}
        for future in as_completed(futures, loop=client.loop):
            index = futures[future]
            try:
                yield index, future.result()
            except (KilledWorker, FutureCancelledError) as exc:
                raise WorkerError(
                    f"the cluster lost the workers that trained {names[index]} "
                    f"({type(exc).__name__}); the settings finished before are "
                    "cached. Fix: run again to train only the missing ones; "
                    "check the workers' memory and logs.") from None
    finally:
        client.cancel(list(futures))
        client.close()

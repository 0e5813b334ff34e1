"""One intra-op thread for every computation whose result is recorded.

A reduction that PyTorch splits over T threads adds its partial sums in an
order that depends on T, so the last bits of a mean, a loss or a gradient can
depend on the machine's core count. Data preparation, training and evaluation
therefore run with exactly ``THREADS`` intra-op thread on every machine, and
any copy of the pipeline (a notebook, another worker) that sets the same
count reproduces the record to the last bit. Parallelism comes from processes,
one training each, not from threads: at this network's size the second thread
buys almost nothing.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

THREADS = 1


@contextmanager
def pinned(n: int = THREADS) -> Iterator[None]:
    """Run the block with ``torch.set_num_threads(n)``; restore the count after."""
    import torch  # here: the pool reads THREADS without importing torch

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)

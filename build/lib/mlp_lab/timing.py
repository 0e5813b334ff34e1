"""Wall-clock timing of one call: the one ``timed`` of the library."""

from __future__ import annotations

import time
from typing import Any, Callable


def timed(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[float, Any]:
    """(seconds, result) of ``fn(*args, **kwargs)``, by ``time.perf_counter``."""
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return time.perf_counter() - start, out

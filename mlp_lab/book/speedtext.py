"""What the recorded benchmarks say, in sentences (no torch, no benchmark code).

The figures come from the JSON files that ``python -m mlp_lab bench`` and
``python -m mlp_lab book-bench`` record in ``benchmarks/``; the sentences
report measurements and what they mean, not the targets the benchmark prints.
"""

from __future__ import annotations

import functools
import math

from .fmt import seconds

NOT_RECORDED = ("Nothing was recorded yet: the README says which command "
                "records it.")


def recorded(fn):
    """A sentence about a benchmark record, or NOT_RECORDED when it is None."""
    @functools.wraps(fn)
    def wrapper(record: dict | None, *args):
        return NOT_RECORDED if record is None else fn(record, *args)
    return wrapper


@recorded
def speedup_sentence(b: dict) -> str:
    """mlp_lab against the course-style pipeline, end to end."""
    return (f"With the data cache warm, mlp_lab ran the {b['n_settings']} settings "
            f"(both trainers, {b['epochs']} epochs) in {seconds(b['mlp_lab_s'])}, "
            f"{b['speedup']:.2f}× faster than the course-style pipeline "
            f"({seconds(b['reference_s'])}, of which "
            f"{seconds(b['reference_data_s'])} went to reading and transforming the "
            f"images one by one and {seconds(b['reference_train_s'])} to training).")


@recorded
def bound_sentence(b: dict) -> str:
    """mlp_lab's training time against the matmul bound of the same work."""
    return (f"Its training took {seconds(b['train_s'])}, "
            f"{b['train_over_bound']:.2f}× the {seconds(b['bound_s'])} that this "
            "machine's float64 matrix products alone would need for the same work "
            "(the matmul bound).")


@recorded
def anatomy_sentence(bench: dict, dtype: str) -> str:
    """Where one batch's time beyond the bound goes, from the bench's anatomy.

    With b the bound: the products on real batches cost p/b, forward and
    backward f/b, a step s/b; the time beyond the bound, s - b, splits into
    f - b (the passes' work besides the hot products) and s - f (the step)."""
    a = bench["anatomy"][dtype]
    b, p, f, s, m = (a[k] for k in ("bound", "products", "backward", "sgd",
                                    "manual"))
    beyond = max(s - b, 1e-12)
    slower = f", products {p / b - 1:.0%} slower than hot" if p > b else ""
    return (f"In {dtype}, the bound's products alone take {p / b:.2f}× their "
            "hot-loop time when called on the real batches; forward and backward "
            f"take {f / b:.2f}× the bound, a step of the torch.optim.SGD trainer "
            f"{s / b:.2f}× and a step of the manual update {m / b:.2f}×. Of the "
            f"torch.optim.SGD step's time beyond the bound, {(f - b) / beyond:.0%} "
            "is spent in the forward and backward passes (activations, loss, bias "
            f"gradients, autograd bookkeeping{slower}) and {(s - f) / beyond:.0%} "
            "in the optimizer step.")


@recorded
def dtype_sentence(b: dict) -> str:
    """float32 against float64: the whole run, the products and one step."""
    a64, a32 = b["anatomy"]["float64"], b["anatomy"]["float32"]
    b64, b32, s64, s32 = a64["bound"], a32["bound"], a64["sgd"], a32["sgd"]
    return (f"In float32 the same run takes {seconds(b['float32_s'])}, "
            f"{b['mlp_lab_s'] / b['float32_s']:.2f}× faster than in float64 and "
            f"{b['float32_speedup']:.2f}× faster than the course-style pipeline. "
            f"The bound's products get {b64 / b32:.1f}× faster, a step of the "
            f"torch.optim.SGD trainer {s64 / s32:.1f}× faster, and the step's "
            f"time beyond the bound {(s64 - b64) / max(s32 - b32, 1e-12):.1f}× "
            "faster.")


@recorded
def book_time_sentence(t: dict) -> str:
    """The book's execution time per format (``book-bench``'s record ``t``)."""
    slowest = max(t["chapters"], key=lambda c: c["seconds"])
    return (f"Executing the book's {len(t['chapters'])} chapters, each in a fresh "
            f"Python kernel with the results record in place, took "
            f"{seconds(t['total_s'])} (the slowest, {slowest['chapter']}, "
            f"{seconds(slowest['seconds'])}); a render pays this once per format.")


@recorded
def machine_sentence(b: dict) -> str:
    """Where and how the benchmark was recorded."""
    m = b["machine"]
    return (f"It was recorded on {m['cpu']} with {m['cores_usable']} cores and "
            f"PyTorch {m['torch']}, median of {b['repeats']} runs.")


def training_time_sentence(res) -> str:
    """How long the trainings took together, or that they were not timed (the
    hand-in's notebook trains without timing)."""
    times = [s.seconds for s in res.settings]
    if not all(isinstance(v, float) and math.isfinite(v) for v in times):
        return ("The trainings were done in the hand-in's notebook, which does "
                "not time them, so the table is blank.")
    return f"All trainings together took {seconds(sum(times))}."

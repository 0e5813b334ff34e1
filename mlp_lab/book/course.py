"""The course's own tests of Part A, as the hand-in ran them (no torch).

``make handin`` runs the course's ``main_test`` in Part A's last two cells,
on the toy network and on MNIST. It records the verdict of each here, in the
results cache, with a hash of the backpropagation it tested, and the report
says whether they passed: only while that code is unchanged.
"""

from __future__ import annotations

from .. import cache

MODES = ("toy", "mnist")
PASSED = "4 / 4: ALL TEST PASSED"  # what main_test prints when all four hold
ABSENT = "absent"  # the verdict when the course's file was not beside Part A


def _path():
    return cache.cache_dir() / "handin" / "course-tests.json"


def verdict(output: str, error: str = "") -> str:
    """A test cell's verdict from what it printed and the error it raised, if
    any: "passed", "not run" (no file of the course's, or MNIST could not be
    downloaded) or "failed"."""
    if PASSED in output and not error:
        return "passed"
    if "Not run" in output or "download" in error.lower():
        return "not run"
    return "failed"


def save(verdicts: dict[str, str]) -> None:
    """Record the verdicts (mode -> verdict) of the course's tests."""
    cache.save_json(_path(), {"backprop": cache.source_hash(("backprop",)),
                              "verdicts": verdicts})


def load() -> dict[str, str]:
    """The recorded verdicts of the course's tests of today's backpropagation
    ({} when they were not run on it)."""
    raw = cache.load_json(_path())
    if not isinstance(raw, dict) or raw.get("backprop") != cache.source_hash(
            ("backprop",)):
        return {}
    return raw.get("verdicts") or {}


def sentence(verdicts: dict[str, str]) -> str:
    """What the report says of the course's tests: that its main_test passed
    (or failed, or could not run) on the toy network and on MNIST, or that
    its file was absent; "" when the hand-in was not built with today's
    backpropagation."""
    if not verdicts:
        return ""
    if set(verdicts.values()) == {ABSENT}:
        return ("The course's own test of backpropagation, `main_test` in "
                "`tests_backpropagation.py`, was not run here: that file was not "
                "beside Part A.")
    words = {"toy": "on the toy network", "mnist": "on MNIST"}
    said = {}
    for mode in MODES:
        if mode in verdicts:
            said.setdefault(verdicts[mode], []).append(words[mode])
    parts = []
    for verdict, where in said.items():
        what = {"passed": "passed all four of its checks",
                "failed": "FAILED some of its checks",
                "not run": "could not run, its data not downloaded,"}[verdict]
        parts.append(f"{what} {' and '.join(where)}")
    return ("The course's own test of backpropagation (its `main_test`) "
            + "; it ".join(parts) + ".")


def fingerprint() -> str:
    """What the report's sentence on the course's tests depends on (the freeze
    check's), "" when there is none."""
    return cache.stable_hash(load()) if load() else ""

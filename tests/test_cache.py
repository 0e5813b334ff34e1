"""cache: writes are atomic (killed or failing at any point, the target holds
the old complete file, or none, or the new complete file), keys and loads.

The kill test runs the real writer in processes of its own and SIGKILLs each
at a different step: a trace function counts the lines the writer executes
(in ``cache.py`` and in the function that writes the bytes) and kills the
process at the k-th, for every k until a write completes. The failure tests
make a real file system refuse the write (a file-size limit, as a full disk
does) or make a step raise.
"""

from __future__ import annotations

import errno
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from mlp_lab import cache
from mlp_lab.errors import CacheError

ROOT = Path(__file__).resolve().parent.parent
CHUNK = 64 * 1024  # larger than the file buffer: each chunk reaches the disk
OLD = b"old " * (3 * CHUNK // 4)
# 4 chunks and a tail that stays in the file buffer until it is flushed
NEW = bytes(range(256)) * (4 * CHUNK // 256) + b"tail" * 250

KILLER = """
import json, os, signal, sys
from pathlib import Path
from mlp_lab import cache

target, old = Path(sys.argv[1]), sys.argv[2] == "old"
OLD = b"old " * (3 * %(chunk)d // 4)
NEW = bytes(range(256)) * (4 * %(chunk)d // 256) + b"tail" * 250
assert cache.__file__.startswith(sys.argv[3]), cache.__file__


def write(f):
    for i in range(0, len(NEW), %(chunk)d):
        f.write(NEW[i:i + %(chunk)d])


def kill_at(k):
    files = {cache.__file__, "<string>"}  # the cache module and write() here
    count = [0]

    def local(frame, event, arg):
        if event in ("line", "return"):  # before each line, and on leaving
            count[0] += 1
            if count[0] > k:
                os.kill(os.getpid(), signal.SIGKILL)
        return local

    def hook(frame, event, arg):
        return local if frame.f_code.co_filename in files else None
    return hook


states = []
for k in range(10_000):
    for p in target.parent.iterdir():
        p.unlink()
    if old:
        target.write_bytes(OLD)
    pid = os.fork()
    if pid == 0:
        sys.settrace(kill_at(k))
        cache._atomic_write(target, write)
        sys.settrace(None)
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    killed = os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
    content = target.read_bytes() if target.exists() else None
    states.append({
        "k": k, "killed": killed,
        "target": ("absent" if content is None else "old" if content == OLD
                   else "new" if content == NEW else f"other ({len(content)} B)"),
        "others": sorted(p.name for p in target.parent.iterdir() if p != target),
        "tmp_bytes": sum(p.stat().st_size for p in target.parent.iterdir()
                         if p != target)})
    if not killed:
        break
print(json.dumps(states))
""" % {"chunk": CHUNK}


def kill_everywhere(tmp_path: Path, old: bool) -> list[dict]:
    """The folder's state after a writer killed at each of its steps in turn."""
    folder = tmp_path / "cache"
    folder.mkdir()
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run(
        [sys.executable, "-c", KILLER, str(folder / "entry.bin"),
         "old" if old else "none", str(ROOT / "mlp_lab")],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def check_states(states: list[dict], before: str) -> None:
    *killed, last = states
    assert not last["killed"] and last["target"] == "new" and not last["others"]
    assert len(killed) >= 15 and all(s["killed"] for s in killed)
    for s in killed:
        assert s["target"] in (before, "new"), s
        assert all(n.startswith(".entry.bin.") and n.endswith(".tmp")
                   for n in s["others"]), s
    seen = [s["target"] for s in killed]
    # Old (or none) until the rename, new from then on; the kills hit both
    # phases and the middle of the write (a partial temp file).
    assert seen == sorted(seen, key=lambda t: t == "new")
    assert {before, "new"} <= set(seen)
    assert any(0 < s["tmp_bytes"] < len(NEW) for s in killed)


def test_a_write_killed_at_any_step_leaves_the_old_file_or_the_new(tmp_path):
    check_states(kill_everywhere(tmp_path, old=True), "old")


def test_a_first_write_killed_at_any_step_leaves_no_file_or_the_new(tmp_path):
    check_states(kill_everywhere(tmp_path, old=False), "absent")


# ---------------------------------------------------------------- failures

def leftovers(folder: Path, target: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p != target)


@pytest.mark.parametrize("after_chunks", [0, 1, 3])
def test_a_writer_that_fails_midway_leaves_the_old_file(tmp_path, after_chunks):
    target = tmp_path / "entry.bin"
    target.write_bytes(OLD)

    def write(f):
        for i in range(after_chunks):
            f.write(NEW[i * CHUNK:(i + 1) * CHUNK])
        raise RuntimeError("writer failed")

    with pytest.raises(RuntimeError, match="writer failed"):
        cache._atomic_write(target, write)
    assert target.read_bytes() == OLD
    assert leftovers(tmp_path, target) == []


@pytest.mark.parametrize("step", ["fsync", "replace"])
def test_a_failing_fsync_or_rename_leaves_the_old_file(tmp_path, monkeypatch, step):
    target = tmp_path / "entry.json"
    cache.save_json(target, {"v": "old"})

    def fail(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, step, fail)
    with pytest.raises(CacheError, match="cannot write .*No space left"):
        cache.save_json(target, {"v": "new"})
    monkeypatch.undo()
    assert cache.load_json(target) == {"v": "old"}
    assert leftovers(tmp_path, target) == []


def test_the_folder_is_synced_after_the_rename(tmp_path, monkeypatch):
    """The rename reaches the disk only with the folder's fsync: after
    ``os.replace``, an fsync of a descriptor of the target's folder."""
    target = tmp_path / "sub" / "entry.json"
    events = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        st = os.fstat(fd)
        folder = os.stat(target.parent)
        events.append("fsync folder" if (st.st_dev, st.st_ino) == (
            folder.st_dev, folder.st_ino) else "fsync file")
        real_fsync(fd)

    def replace(src, dst):
        events.append("replace")
        real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    cache.save_json(target, {"v": 1})
    assert events == ["fsync file", "replace", "fsync folder"]
    assert cache.load_json(target) == {"v": 1}


def test_a_file_system_that_cannot_sync_folders_still_writes(tmp_path, monkeypatch):
    """EINVAL from a folder's fsync (some file systems): the entry stands."""
    real_fsync = os.fsync

    def fsync(fd):
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "Invalid argument")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    cache.save_json(tmp_path / "entry.json", {"v": 1})
    assert cache.load_json(tmp_path / "entry.json") == {"v": 1}


FULL_DISK = """
import resource, signal, sys
from pathlib import Path
from mlp_lab import cache
from mlp_lab.errors import CacheError
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write beyond the limit: EFBIG
resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, 100_000))
try:
    cache.save_json(Path(sys.argv[1]), {"v": "new" * 100_000})
except CacheError as exc:
    print(exc)
"""


def test_a_file_system_refusing_the_write_leaves_the_old_file(tmp_path):
    """As on a full disk: the write itself fails, in a process whose files
    may not grow beyond 100 kB."""
    target = tmp_path / "entry.json"
    cache.save_json(target, {"v": "old"})
    proc = subprocess.run([sys.executable, "-c", FULL_DISK, str(target)],
                          env=dict(os.environ, PYTHONPATH=str(ROOT)), cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"cannot write {target}: File too large")
    assert cache.load_json(target) == {"v": "old"}
    assert leftovers(tmp_path, target) == []


# ---------------------------------------------------------------- loads, keys

@pytest.mark.parametrize("text", ['{"a": 1', "", "\xff not json"])
def test_a_damaged_json_file_is_a_miss_with_a_warning(tmp_path, text):
    path = tmp_path / "x.json"
    path.write_text(text, encoding="latin-1")
    with pytest.warns(cache.CacheWarning, match=f"cache file {path} is damaged"):
        assert cache.load_json(path) is None
    assert cache.load_json(tmp_path / "missing.json") is None  # silent miss


def test_stable_hash_is_canonical_and_complete():
    assert cache.stable_hash({"a": 1, "b": [1, 2]}) == cache.stable_hash(
        {"b": [1, 2], "a": 1})
    assert cache.stable_hash({"a": 1, "b": [1, 2]}) != cache.stable_hash(
        {"a": 1, "b": [2, 1]})
    assert cache.stable_hash([0.1]) != cache.stable_hash([0.1 + 1e-16 * 2])
    assert len(cache.stable_hash("x", n=40)) == 40

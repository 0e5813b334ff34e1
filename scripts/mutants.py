"""Plant realistic bugs one at a time and check that the tests catch each.

Not part of the test suite or of CI: run it by hand after changing tests,

    .venv/bin/python scripts/mutants.py              # every mutant
    .venv/bin/python scripts/mutants.py M01 M07      # some of them
    .venv/bin/python scripts/mutants.py --ref HEAD   # the committed files
    .venv/bin/python scripts/mutants.py --list

It never touches this checkout. For each mutant it copies the tracked files
(``git ls-files``, as they are in the working tree, or ``git archive REF``
with ``--ref``) into a fresh temporary folder, replaces one exact string in
one file (the string must occur exactly once), and runs the mutant's pytest
selection there with this project's
``.venv`` Python, ``cwd`` and ``PYTHONPATH`` set to the copy (so the copy's
``mlp_lab`` is imported, not the editable install's: checked once) and no
bytecode written. Each selection is first run on the unmutated copy and must
pass there. A mutant is caught when its selection fails; the failing tests
are listed. Exit status 1 when a mutant expected to be caught survives.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = ROOT / ".venv" / "bin" / "python"


@dataclass(frozen=True)
class Mutant:
    id: str
    file: str
    what: str           # the bug, in words
    old: str
    new: str
    tests: tuple[str, ...]  # pytest arguments: files, ::names, -k expressions
    expect_caught: bool = True


EXP = ("tests/test_experiments.py",)
MUTANTS = [
    # ----------------------------------------------------------- cache keys
    Mutant("M01", "mlp_lab/experiments.py", "results cache key ignores epochs",
           'if k not in ("name", "class_names", "data_dir", "settings")}',
           'if k not in ("name", "class_names", "data_dir", "settings", '
           '"epochs")}', EXP),
    Mutant("M02", "mlp_lab/experiments.py",
           "results cache key ignores a setting's weight_decay",
           "cache.stable_hash([fields, dataclasses.asdict(setting), fingerprint,",
           "cache.stable_hash([fields, [setting.lr, setting.momentum], "
           "fingerprint,", EXP),
    Mutant("M03", "mlp_lab/experiments.py",
           "results cache key ignores batch_size and seed",
           'if k not in ("name", "class_names", "data_dir", "settings")}',
           'if k not in ("name", "class_names", "data_dir", "settings", '
           '"batch_size", "seed")}', EXP),
    Mutant("M04", "mlp_lab/experiments.py",
           "results cache key ignores the data fingerprint",
           'keys = [setting_key(cfg, s, data.provenance["fingerprint"]) for s',
           'keys = [setting_key(cfg, s, "") for s', EXP),
    Mutant("M05", "mlp_lab/results.py", "record key ignores epochs",
           "cache.stable_hash([RECORD_FORMAT, cfg.to_dict(), device or",
           "cache.stable_hash([RECORD_FORMAT, {k: v for k, v in "
           'cfg.to_dict().items() if k != "epochs"}, device or',
           ("tests/test_results.py",)),
    Mutant("M06", "mlp_lab/results.py", "record key ignores the computing source",
           "                              cache.source_hash(cache.COMPUTE_MODULES),",
           '                              "",', ("tests/test_results.py",)),
    Mutant("M07", "mlp_lab/results.py",
           "record key ignores the torch and torchvision releases",
           "cache.releases()])", '"torch"])', ("tests/test_results.py",)),
    Mutant("M08", "mlp_lab/cache.py",
           "computing source leaves out trainers.py",
           '"models", "trainers", ', '"models", ', ("tests/test_results.py",)),
    Mutant("M09", "mlp_lab/cache.py",
           "computing source leaves out environment.py (as before the fix)",
           '"environment", "timing", ', '"timing", ',
           ("tests/test_results.py",)),
    Mutant("M10", "mlp_lab/results.py", "a record of another key is accepted",
           'if not isinstance(raw, dict) or raw.get("key") != key:',
           "if not isinstance(raw, dict):", ("tests/test_results.py",)),
    Mutant("M11", "mlp_lab/data.py",
           "data cache ignores the pipeline's source (as before the fix)",
           "source_key(cfg),\n                                 "
           "cache.source_hash(PIPELINE_MODULES),",
           "source_key(cfg),", ("tests/test_data.py",)),
    # ----------------------------------------------------------- atomic writes
    Mutant("M12", "mlp_lab/cache.py",
           "cache writes straight into the target file",
           "        with os.fdopen(fd, \"wb\") as f:\n            write(f)\n"
           "            f.flush()\n            os.fsync(f.fileno())\n"
           "        os.replace(tmp, path)\n",
           "        os.close(fd)\n        with open(path, \"wb\") as f:\n"
           "            write(f)\n            f.flush()\n"
           "            os.fsync(f.fileno())\n        os.remove(tmp)\n",
           ("tests/test_cache.py", "tests/test_robustness.py::"
            "test_sigkill_during_cache_writes_leaves_no_partial_entry")),
    Mutant("M13", "mlp_lab/cache.py",
           "temp file renamed into place before it is flushed",
           "            write(f)\n            f.flush()\n"
           "            os.fsync(f.fileno())\n        os.replace(tmp, path)\n",
           "            write(f)\n            os.replace(tmp, path)\n"
           "            f.flush()\n            os.fsync(f.fileno())\n",
           ("tests/test_cache.py",)),
    Mutant("M14", "mlp_lab/cache.py",
           "a failed write leaves its temp file behind",
           "        Path(tmp).unlink(missing_ok=True)\n", "",
           ("tests/test_cache.py",)),
    Mutant("M15", "mlp_lab/cache.py",
           "no fsync before the rename (after a power loss the new name may "
           "hold no data)", "            os.fsync(f.fileno())\n", "",
           ("tests/test_cache.py",)),
    # ----------------------------------------------------------- confusion matrix
    Mutant("M16", "mlp_lab/book/narrative.py",
           "narrative reads the confusion matrix transposed",
           "(e0, e1), (r0, r1) = res.best.errors, res.best.error_rates",
           "(e1, e0), (r1, r0) = res.best.errors, res.best.error_rates",
           ("tests/test_narrative.py", *EXP)),
    Mutant("M17", "mlp_lab/results.py", "BestModel.errors transposed",
           "return self.confusion[0][1], self.confusion[1][0]",
           "return self.confusion[1][0], self.confusion[0][1]",
           ("tests/test_results.py", "tests/test_narrative.py", *EXP)),
    Mutant("M18", "mlp_lab/results.py", "error rates over columns, not rows",
           "rows = [sum(r) for r in self.confusion]",
           "rows = [sum(r) for r in zip(*self.confusion)]",
           ("tests/test_results.py", "tests/test_narrative.py", *EXP)),
    Mutant("M19", "mlp_lab/trainers.py",
           "confusion matrix counted transposed (rows predicted)",
           "matrix[true, predicted] += 1",
           "matrix[predicted, true] += 1",
           ("tests/test_trainers.py", *EXP)),
    Mutant("M20", "mlp_lab/book/plots.py", "figure writes cell (r, c) at (r, c)",
           'ax.text(c, r, f"{int(n)}', 'ax.text(r, c, f"{int(n)}',
           ("tests/test_plots.py",)),
    Mutant("M21", "mlp_lab/book/plots.py", "figure shows the transposed colours",
           'im = ax.imshow(pct, cmap="Blues"', 'im = ax.imshow(pct.T, cmap="Blues"',
           ("tests/test_plots.py",)),
    # ----------------------------------------------------------- splits
    Mutant("M22", "mlp_lab/training.py",
           "final validation accuracy computed on the training split",
           'accuracy(model, batches["val"]), correct)',
           'accuracy(model, batches["train"]), correct)', EXP),
    Mutant("M24", "mlp_lab/training.py",
           "training accuracy computed on the validation split",
           'state, accuracy(model, batches["train"]),',
           'state, accuracy(model, batches["val"]),', EXP),
    Mutant("M25", "mlp_lab/experiments.py", "best model tested on the validation split",
           'test = data.batches("test", cfg.batch_size, dtype, where)',
           'test = data.batches("val", cfg.batch_size, dtype, where)', EXP),
    Mutant("M26", "mlp_lab/experiments.py",
           "best model tested with its initial weights (state not loaded)",
           "    model.load_state_dict(state)\n", "", EXP),
    Mutant("M27", "mlp_lab/experiments.py",
           "best model tested with the first setting's weights",
           "evaluate_best(cfg, best, outcomes[best][1], settings[best], data)",
           "evaluate_best(cfg, best, outcomes[0][1], settings[best], data)", EXP),
    Mutant("M28", "mlp_lab/experiments.py",
           "best model's train/val accuracies taken from the first setting",
           "evaluate_best(cfg, best, outcomes[best][1], settings[best], data)",
           "evaluate_best(cfg, best, outcomes[best][1], settings[0], data)", EXP),
    Mutant("M29", "mlp_lab/experiments.py",
           "data summary: normalized moments of the validation split",
           'mean, std = data.normalized_moments("train")',
           'mean, std = data.normalized_moments("val")', EXP),
    Mutant("M30", "mlp_lab/experiments.py", "data summary: samples of the test split",
           "samples=data.samples(SAMPLES_PER_CLASS).tolist())",
           'samples=data.samples(SAMPLES_PER_CLASS, "test").tolist())', EXP),
    # ----------------------------------------------------------- selection
    Mutant("M31", "mlp_lab/experiments.py",
           "best chosen by training accuracy (end-to-end tests only)",
           "key=lambda i: (runs[i].val_acc, -i))",
           "key=lambda i: (runs[i].train_acc, -i))",
           (*EXP, "-k", "not select_best")),
    Mutant("M32", "mlp_lab/experiments.py",
           "best is the last of equal accuracies (end-to-end tests only)",
           "key=lambda i: (runs[i].val_acc, -i))",
           "key=lambda i: (runs[i].val_acc, i))",
           (*EXP, "-k", "not select_best")),
    # ----------------------------------------------------------- freeze
    Mutant("M33", "mlp_lab/book/freeze.py", "fingerprint ignores the library source",
           '"source": cache.source_hash(),', '"source": "",',
           ("tests/test_freeze.py",)),
    Mutant("M34", "mlp_lab/cache.py",
           "source hash of the whole package skips subpackages",
           'paths = sorted(PACKAGE.rglob("*.py"))',
           'paths = sorted(PACKAGE.glob("*.py"))', ("tests/test_freeze.py",)),
    Mutant("M35", "mlp_lab/book/freeze.py", "fingerprint: data always unavailable",
           "        data = source_key(cfg)\n", '        data = "unavailable"\n',
           ("tests/test_freeze.py",)),
    # ----------------------------------------------------------- reporting
    Mutant("M36", "mlp_lab/book/tables.py",
           "test table: validation and test accuracy swapped",
           "[b.train_acc, b.val_acc, b.test_acc]",
           "[b.train_acc, b.test_acc, b.val_acc]", ("tests/test_tables.py",)),
    Mutant("M37", "mlp_lab/book/tables.py",
           "results table: val_acc column shows the training accuracy",
           '"val_acc": s.val_acc,', '"val_acc": s.train_acc,',
           ("tests/test_tables.py", "tests/test_cli.py::"
            "test_run_prints_the_table_and_writes_json")),
    Mutant("M38", "mlp_lab/speed/bench.py", "speed-up inverted",
           'report["speedup"] = report["reference_s"] / report["mlp_lab_s"]',
           'report["speedup"] = report["mlp_lab_s"] / report["reference_s"]',
           ("tests/test_bench.py::test_cli_bench_quick_writes_every_figure",)),
    Mutant("M39", "mlp_lab/speed/bench.py", "min and max swapped",
           'report[f"{name}_min"], report[f"{name}_max"] = min(values), '
           'max(values)',
           'report[f"{name}_min"], report[f"{name}_max"] = max(values), '
           'min(values)', ("tests/test_bench.py",)),
    # ----------------------------------------------------------- environment
    Mutant("M40", "mlp_lab/training.py", "optimizer on the multi-tensor path",
           "weight_decay=setting.weight_decay, foreach=False)",
           "weight_decay=setting.weight_decay, foreach=True)",
           ("tests/test_trainers.py", "tests/test_environment.py")),
    Mutant("M41", "mlp_lab/environment.py", "record names another SGD path",
           'sgd_path="single-tensor")', 'sgd_path="foreach")',
           ("tests/test_environment.py",)),
    Mutant("M42", "mlp_lab/environment.py", "record names torchvision's version",
           "torch=torch.__version__,", 'torch=metadata.version("torchvision"),',
           ("tests/test_environment.py",)),
    # ----------------------------------------------------------- config
    Mutant("M43", "mlp_lab/config.py", "TOML loss value ignored (default kept)",
           "    for key, value in raw.items():\n",
           "    raw = {k: v for k, v in raw.items() if k != \"loss\"}\n"
           "    for key, value in raw.items():\n", ("tests/test_config.py",)),
    Mutant("M44", "mlp_lab/data.py",
           "data cache ignores the torchvision release (which resizes)",
           "cache.source_hash(PIPELINE_MODULES),\n"
           "                                 cache.releases()])",
           "cache.source_hash(PIPELINE_MODULES)])", ("tests/test_data.py",)),
    Mutant("M45", "mlp_lab/experiments.py",
           "setting key ignores the torchvision release",
           "code, torch.__version__, cache.releases(),",
           "code, torch.__version__,", EXP),
]


def tracked_copy(dest: Path, ref: str | None = None) -> None:
    """The tracked files of this checkout, as they are now (or as commit
    ``ref`` has them), under ``dest``."""
    if ref:
        archive = subprocess.run(["git", "archive", ref], cwd=ROOT, check=True,
                                 capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
        return
    names = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, check=True,
                           capture_output=True).stdout.decode().split("\0")
    for name in filter(None, names):
        src = ROOT / name
        if src.is_file():  # deleted in the working tree: not copied
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)


def environment(copy: Path) -> dict:
    env = {k: v for k, v in os.environ.items()
           if k not in ("MLP_LAB_CONFIG", "MLP_LAB_CACHE", "PYTHONPATH")}
    env.update(PYTHONPATH=str(copy), PYTHONDONTWRITEBYTECODE="1",
               MPLBACKEND="Agg")
    return env


def pytest(copy: Path, args: tuple[str, ...], timeout: int) -> tuple[bool, list[str],
                                                                    str]:
    """(passed, failing test ids, output tail) of ``pytest args`` in ``copy``."""
    proc = subprocess.run(
        [str(PYTHON), "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rf",
         "--no-header", *args], cwd=copy, env=environment(copy),
        capture_output=True, text=True, timeout=timeout)
    failed = sorted(set(re.findall(r"^(?:FAILED|ERROR) (.+?)(?: - .*)?$",
                                   proc.stdout, re.MULTILINE)))
    return proc.returncode == 0, failed, proc.stdout[-2000:] + proc.stderr[-2000:]


def check_import(copy: Path) -> str:
    """The mlp_lab the copy's tests import: it must be the copy's."""
    out = subprocess.run([str(PYTHON), "-c", "import mlp_lab; print(mlp_lab.__file__)"],
                         cwd=copy, env=environment(copy), capture_output=True,
                         text=True, check=True).stdout.strip()
    if not out.startswith(str(copy)):
        raise SystemExit(f"the copy imports {out}, not its own mlp_lab")
    return out


def run_one(m: Mutant, timeout: int, verbose: bool,
            ref: str | None) -> tuple[bool, list[str]]:
    with tempfile.TemporaryDirectory(prefix=f"mlp_lab-{m.id}-") as tmp:
        copy = Path(tmp)
        tracked_copy(copy, ref)
        ok, failed, tail = pytest(copy, m.tests, timeout)
        if not ok:
            raise SystemExit(f"{m.id}: the selection fails WITHOUT the mutation "
                             f"({', '.join(failed)}):\n{tail}")
        path = copy / m.file
        text = path.read_text(encoding="utf-8")
        count = text.count(m.old)
        if count != 1:
            raise SystemExit(f"{m.id}: the string to replace occurs {count} times "
                             f"in {m.file}:\n{m.old}")
        path.write_text(text.replace(m.old, m.new), encoding="utf-8")
        passed, failed, tail = pytest(copy, m.tests, timeout)
        if verbose and not passed:
            print(tail)
        return not passed, failed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("ids", nargs="*", help="mutant ids (default: all)")
    parser.add_argument("--list", action="store_true", help="list and exit")
    parser.add_argument("--ref", help="copy the files of this commit (e.g. HEAD) "
                        "instead of the working tree's")
    parser.add_argument("--timeout", type=int, default=600)
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    chosen = [m for m in MUTANTS if not args.ids or m.id in args.ids]
    if args.list or not chosen:
        for m in MUTANTS:
            print(f"{m.id}  {m.file:<28} {m.what}")
        return 0
    with tempfile.TemporaryDirectory(prefix="mlp_lab-import-") as tmp:
        tracked_copy(Path(tmp), args.ref)
        print(f"files: {args.ref or 'the working tree'}'s tracked files")
        print(f"imports checked: a copy imports {check_import(Path(tmp))}")
    surprises, start = 0, time.perf_counter()
    for m in chosen:
        t0 = time.perf_counter()
        caught, failed = run_one(m, args.timeout, args.verbose, args.ref)
        verdict = "caught" if caught else "NOT CAUGHT"
        if caught != m.expect_caught:
            surprises += 1
            verdict += " (UNEXPECTED)"
        print(f"{m.id} {m.file}: {m.what}\n    {verdict} in "
              f"{time.perf_counter() - t0:.0f} s"
              + "".join(f"\n    - {t}" for t in failed), flush=True)
    print(f"{len(chosen)} mutants, {surprises} unexpected, "
          f"{time.perf_counter() - start:.0f} s")
    return 1 if surprises else 0


if __name__ == "__main__":
    sys.exit(main())

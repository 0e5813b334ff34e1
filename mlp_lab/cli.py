"""Command line: ``python -m mlp_lab {run,data,bench,book-bench,handin}``."""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
import warnings
from contextlib import contextmanager
from pathlib import Path

from .config import load_config, model_name
from .errors import CacheError, ClusterError, ConfigError, DataError, WorkerError


@contextmanager
def _tqdm_bar(desc: str, total: int):
    """A progress bar of ``total`` steps (a training's epochs, or the settings
    done in a pool); yields its ``tick(loss=None)``, one step each call."""
    from tqdm.auto import tqdm

    with tqdm(total=total, desc=desc, unit="", leave=False,
              file=sys.stderr) as bar:
        def tick(loss: float | None = None) -> None:
            bar.update(1)
            if loss is not None:
                bar.set_postfix(loss=f"{loss:.4f}")
        yield tick


def _execution(cfg, args: argparse.Namespace):
    """``cfg`` with ``--workers`` and ``--scheduler`` applied; a bad count is
    a ConfigError naming the flag."""
    changes = {}
    if args.workers is not None:
        try:
            changes["workers"] = int(args.workers)
        except ValueError:
            changes["workers"] = -1
        if changes["workers"] < 1:
            raise ConfigError(f"--workers {args.workers} is not a whole number >= "
                              "1. Fix: pass a count of processes, e.g. --workers "
                              "2, or leave it out to use every usable core.")
    if args.scheduler is not None:
        changes["scheduler"] = args.scheduler
    return dataclasses.replace(cfg, **changes)


def cmd_run(args: argparse.Namespace) -> int:
    # first: a bad config or flag fails before torch loads
    cfg = _execution(load_config(args.config), args)
    if cfg.scheduler:
        from .cluster import check_scheduler

        check_scheduler(cfg.scheduler)
    else:
        _warm_pool(cfg)
    from . import cache
    from .book.tables import results_table
    from .experiments import run
    from .results import json_safe

    start = time.perf_counter()
    results = run(cfg, progress=_tqdm_bar)
    elapsed = time.perf_counter() - start
    table = results_table(results)
    d = results.data
    print(f"{cfg.name}: {d.n_train} train / {d.n_val} val / {d.n_test} test images "
          f"({d.source})")
    print(table.to_string(float_format=lambda v: f"{v:.4f}"))
    if results.best is None:
        print("No setting converged: every one diverged.")
    else:
        b = results.best
        print(f"Best: {model_name(b.index)} (val acc {b.val_acc:.4f}), "
              f"test acc {b.test_acc:.4f}, confusion {b.confusion}")
    n_cached = sum(s.from_cache for s in results.settings)
    print(f"{elapsed:.1f} s ({n_cached} of {len(results.settings)} settings "
          "from the results cache)")
    if args.json:
        cache.save_json(Path(args.json), json_safe(results.to_dict()))
        print(f"wrote {args.json}")
    return 0


def _warm_pool(cfg) -> None:
    """With no results record yet (trainings ahead), start the workers' fork
    server now, so that it imports torch while this process does."""
    from .device import device_type
    from .pool import plan_workers, warm
    from .results import load_record

    if load_record(cfg) is None:
        warm(plan_workers(device_type(), cfg.workers, 2 * len(cfg.settings)))


def cmd_data(args: argparse.Namespace) -> int:
    cfg = load_config(args.config)
    from .data import load_data

    data = load_data(cfg)
    prov = data.provenance
    print(f"source: {prov['source']} ({prov['location']}), {prov['n_files']} files, "
          f"fingerprint {prov['fingerprint']}")
    names = data.class_names
    for split, counts in data.counts().items():
        per_class = ", ".join(f"{n} {c}" for n, c in zip(counts, names))
        print(f"{split:>5}: {sum(counts):6d} images ({per_class})")
    print("mean:", [round(v, 4) for v in data.mean.tolist()],
          "std:", [round(v, 4) for v in data.std.tolist()])
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    repeats = (1 if args.quick else 3) if args.repeats is None else args.repeats
    if repeats < 1:
        print("error: --repeats must be >= 1", file=sys.stderr)
        return 2
    cfg = load_config(args.config)  # first: a bad config fails before torch loads
    from . import cache
    from .results import json_safe
    from .speed.bench import bench, format_report

    report = bench(cfg, repeats=repeats, quick=args.quick, threads=args.threads,
                   handins=tuple(Path(h) for h in args.handin or ()))
    print(format_report(report))
    if args.json:
        cache.save_json(Path(args.json), json_safe(report))
        print(f"wrote {args.json}")
    return 0


def cmd_book_bench(args: argparse.Namespace) -> int:
    cfg = load_config(args.config)  # first: a bad config fails before torch loads
    from . import cache
    from .book.timing import book_timing, format_timing
    from .experiments import run

    run(cfg)  # the results record every chapter reads: the cache is warm
    env = dict(os.environ, **({"MLP_LAB_CONFIG": args.config} if args.config else {}))
    timing = book_timing(env=env)
    print(f"{cfg.name}: each chapter in a fresh kernel, results record in place")
    print(format_timing(timing))
    if args.json:
        cache.save_json(Path(args.json), timing)
        print(f"wrote {args.json}")
    return 0


def cmd_handin(args: argparse.Namespace) -> int:
    cfg = load_config(args.config)  # first: a bad config fails before torch loads
    from .handin.build import HandinError, build

    # The report and the notebooks' kernels follow --config too, for this
    # command only: an in-process caller's environment is restored after it.
    previous = os.environ.get("MLP_LAB_CONFIG")
    if args.config:
        os.environ["MLP_LAB_CONFIG"] = args.config
    try:
        build(cfg, Path(args.out))
    except HandinError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        if previous is None:
            os.environ.pop("MLP_LAB_CONFIG", None)
        else:
            os.environ["MLP_LAB_CONFIG"] = previous
    return 0


def parser() -> argparse.ArgumentParser:
    # The docstring for the terminal: without reStructuredText's ``literal``.
    p = argparse.ArgumentParser(prog="python -m mlp_lab",
                                description=__doc__.replace("``", ""))
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="train every setting and print the results table")
    r.add_argument("--config", help="TOML file overriding the defaults "
                   "(default: $MLP_LAB_CONFIG)")
    r.add_argument("--json", metavar="OUT", help="also write the results as JSON")
    r.add_argument("--workers", metavar="N", help="processes that train at once, "
                   "one training each (default: the config's workers, 0 = every "
                   "usable core; 1 = in this process; CUDA: always 1)")
    r.add_argument("--scheduler", metavar="ADDRESS", help="send the trainings to "
                   "this Dask scheduler, e.g. tcp://host:8786 (needs "
                   "mlp_lab[cluster])")
    r.set_defaults(func=cmd_run)
    d = sub.add_parser("data", help="prepare the data; print split sizes and counts")
    d.add_argument("--config", help="TOML file overriding the defaults")
    d.set_defaults(func=cmd_data)
    b = sub.add_parser("bench", help="time mlp_lab against the course pipeline "
                       "and the matmul bound")
    b.add_argument("--config", help="TOML file overriding the defaults")
    b.add_argument("--json", metavar="OUT", help="also write the figures as JSON")
    b.add_argument("--repeats", type=int, help="timed repeats (default 3; "
                   "1 with --quick)")
    b.add_argument("--quick", action="store_true", help="500 images per class, "
                   "2 epochs, 1 repeat: a smoke run")
    b.add_argument("--handin", metavar="CONFIG", action="append", help="also "
                   "time a cold make handin of this config (repeatable; minutes "
                   "each; needs Quarto)")
    b.add_argument("--threads", type=int, help="torch.set_num_threads for every "
                   "timing (default: torch's own, one per core)")
    b.set_defaults(func=cmd_bench)
    k = sub.add_parser("book-bench", help="time each chapter of the book in a "
                       "fresh kernel, as one format of a render runs it")
    k.add_argument("--config", help="TOML file overriding the defaults")
    k.add_argument("--json", metavar="OUT", help="also write the times as JSON")
    k.set_defaults(func=cmd_book_bench)
    h = sub.add_parser("handin", help="the course hand-in: both notebooks "
                       "executed, report.pdf, README.txt and handin.zip")
    h.add_argument("--config", help="TOML file overriding the defaults")
    h.add_argument("--out", default="handin", help="output folder (default handin)")
    h.set_defaults(func=cmd_handin)
    return p


def _one_line_warning(message, category, filename, lineno, file=None, line=None):
    """Show a warning as one ``warning: ...`` line (no file, line or source)."""
    print(f"warning: {message}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    with warnings.catch_warnings():
        warnings.showwarning = _one_line_warning  # e.g. a damaged cache file
        try:
            return args.func(args)
        except (ConfigError, DataError, CacheError, ClusterError,
                WorkerError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:  # the workers are stopped; no partial entry
            print("interrupted: the settings finished before are cached; run "
                  "again to train the rest", file=sys.stderr)
            return 130

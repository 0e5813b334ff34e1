"""Experiment configuration: defaults that reproduce the assignment, TOML overrides.

A config is a frozen dataclass. ``load_config(path)`` reads an optional TOML
file (its path may also come from ``MLP_LAB_CONFIG``) whose keys override the
defaults; unknown keys and invalid values raise :class:`ConfigError` naming
the field and what would fix it.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from .errors import ConfigError

CIFAR10_CLASSES = (
    "airplane", "automobile", "bird", "cat", "deer",
    "dog", "frog", "horse", "ship", "truck",
)
DISPLAY_NAMES = {"automobile": "car"}
CIFAR_SIZE = 32  # CIFAR-10's images are 32 x 32 pixels
DTYPES = ("float64", "float32")
LOSSES = ("cross_entropy",)

# The gradient checks (mlp_lab.gradcheck); the book's table of four checks
# also runs each batch size of CHECK_BATCHES.
FD_STEP = 1e-5  # the step h of the central differences (float64)
CHECK_ENTRIES = 20  # random entries of each parameter checked
CHECK_BATCHES = (1, 32)


def model_name(i: int) -> str:
    """Display name of setting ``i`` (0-based), as every table and figure shows it."""
    return f"Model {i + 1}"


def setting_label(s, sep: str = ", ") -> str:
    """A setting's hyper-parameters as ``torch.optim.SGD`` names them, e.g.
    ``lr=0.01, momentum=0.85, weight_decay=0.01``: the one label of a setting
    in figures, tables, prose and progress bars (``sep`` joins the three)."""
    return sep.join([f"lr={s.lr:g}", f"momentum={s.momentum:g}",
                     f"weight_decay={s.weight_decay:g}"])


@dataclass(frozen=True)
class Setting:
    """One SGD hyper-parameter setting (a "model" in the assignment's table)."""

    lr: float
    momentum: float = 0.0
    weight_decay: float = 0.0

    def __str__(self) -> str:
        return (f"lr={self.lr:g}, momentum={self.momentum:g}, "
                f"weight_decay={self.weight_decay:g}")


# Fields that say where the trainings run, not what they compute.
EXECUTION_FIELDS = ("workers", "scheduler")

DEFAULT_SETTINGS = (
    Setting(0.01, 0.0, 0.0),
    Setting(0.01, 0.0, 0.01),
    Setting(0.01, 0.85, 0.0),
    Setting(0.01, 0.85, 0.01),
    Setting(0.05, 0.85, 0.01),
)


@dataclass(frozen=True)
class Config:
    """Everything that determines the data, the trainings and their results.

    ``sizes`` are the MLP layer widths; ``sizes[0]`` must equal
    ``3 * image_size**2`` and ``sizes[-1]`` the number of classes (2).
    ``limit_per_class`` (0 = all) keeps only the first N images of each class
    in each split: a fast, small variant for tests and drafts. ``workers`` and
    ``scheduler`` (:data:`EXECUTION_FIELDS`) say where the trainings run, not
    what they compute: the results are the same for any value, so they are
    left out of :meth:`to_dict`, and with it of every cache key and record.
    """

    name: str = "car vs cat, 16x16"
    classes: tuple[str, str] = ("automobile", "cat")
    class_names: tuple[str, ...] = ()  # () -> derived from classes
    image_size: int = 16
    train_fraction: float = 0.9
    split_seed: int = 42
    limit_per_class: int = 0
    sizes: tuple[int, ...] = (768, 128, 32, 2)
    epochs: int = 30
    batch_size: int = 256
    seed: int = 265
    dtype: str = "float64"
    loss: str = "cross_entropy"
    data_dir: str = ""
    workers: int = 0      # 0 = the usable cores (see experiments.run)
    scheduler: str = ""   # "" = this machine; else a Dask scheduler's address
    settings: tuple[Setting, ...] = DEFAULT_SETTINGS

    def __post_init__(self) -> None:
        if not self.class_names:  # display names: CIFAR's, "automobile" -> "car"
            names = tuple(DISPLAY_NAMES.get(c, c) for c in self.classes)
            object.__setattr__(self, "class_names", names)
        validate(self)

    def to_dict(self) -> dict:
        """Plain JSON-able dict (tuples become lists) of the fields that
        determine the results: all but the :data:`EXECUTION_FIELDS`."""
        d = dataclasses.asdict(self)
        for key in EXECUTION_FIELDS:
            del d[key]
        return d

    def data_dict(self) -> dict:
        """The fields that determine the prepared data set."""
        keys = ("classes", "image_size", "train_fraction", "split_seed",
                "limit_per_class")
        return {k: getattr(self, k) for k in keys}


def to_toml(cfg: Config) -> str:
    """``cfg`` as the TOML file that :func:`load_config` reads back into it."""
    def value(v) -> str:
        return json.dumps(list(v) if isinstance(v, tuple) else v)

    d = cfg.to_dict()
    settings = d.pop("settings")
    lines = [f"{k} = {value(v)}" for k, v in d.items()]
    for s in settings:
        lines += ["", "[[settings]]"] + [f"{k} = {value(v)}" for k, v in s.items()]
    return "\n".join(lines) + "\n"


def _fail(name: str, problem: str, fix: str) -> None:
    raise ConfigError(f"config field '{name}': {problem}. Fix: {fix}.")


def _validate_setting(i: int, s: Setting) -> None:
    where = f"settings[{i}]"
    for key in ("lr", "momentum", "weight_decay"):
        value = getattr(s, key)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            _fail(f"{where}.{key}", f"{value!r} is not a number", "give a number")
        if not math.isfinite(value):
            _fail(f"{where}.{key}", f"{value!r} is not finite", "give a finite number")
    if s.lr <= 0:
        _fail(f"{where}.lr", f"{s.lr} is not > 0", "use a positive learning rate")
    if not 0 <= s.momentum < 1:
        _fail(f"{where}.momentum", f"{s.momentum} is outside [0, 1)",
              "use a momentum in [0, 1), e.g. 0.9")
    if s.weight_decay < 0:
        _fail(f"{where}.weight_decay", f"{s.weight_decay} is negative",
              "use a weight decay >= 0")


def _positive_int(cfg: Config, name: str) -> None:
    value = getattr(cfg, name)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        _fail(name, f"{value!r} is not a whole number >= 1", f"set {name} >= 1")


# Expected TOML type of each field: a type, or (list, item type).
FIELD_TYPES = {
    "name": str, "classes": (list, str), "class_names": (list, str),
    "image_size": int, "train_fraction": float, "split_seed": int,
    "limit_per_class": int, "sizes": (list, int), "epochs": int,
    "batch_size": int, "seed": int, "dtype": str, "loss": str, "data_dir": str,
    "workers": int, "scheduler": str,
}


def _type_ok(value: object, kind: type) -> bool:
    if kind is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, kind)


def check_types(raw: dict) -> None:
    """Raise ConfigError naming the first field whose value has the wrong type."""
    names = {str: "a string", int: "a whole number", float: "a number"}
    for key, kind in FIELD_TYPES.items():
        if key not in raw:
            continue
        value = raw[key]
        if isinstance(kind, tuple):
            item = kind[1]
            ok = isinstance(value, (list, tuple)) and all(_type_ok(v, item)
                                                         for v in value)
            want = f"a list of {names[item].split(' ', 1)[1]}s"
        else:
            ok, want = _type_ok(value, kind), names[kind]
        if not ok:
            _fail(key, f"{value!r} is not {want}", f"write {key} as {want}")


def validate(cfg: Config) -> None:
    """Raise ConfigError for the first invalid field of ``cfg``."""
    check_types(dataclasses.asdict(cfg))
    for name in ("seed", "split_seed"):
        if getattr(cfg, name) < 0:
            _fail(name, f"{getattr(cfg, name)} is negative", "use a seed >= 0")
    if len(cfg.classes) != 2:
        _fail("classes", f"{list(cfg.classes)} does not name exactly two classes",
              'name two CIFAR-10 classes, e.g. ["automobile", "cat"]')
    for c in cfg.classes:
        if c not in CIFAR10_CLASSES:
            _fail("classes", f"unknown class {c!r}",
                  f"choose from {', '.join(CIFAR10_CLASSES)}")
    if cfg.classes[0] == cfg.classes[1]:
        _fail("classes", f"both classes are {cfg.classes[0]!r}",
              "name two different classes")
    if len(cfg.class_names) != 2 or not all(cfg.class_names):
        _fail("class_names", f"{list(cfg.class_names)} is not two non-empty names",
              "give one display name per class")
    for name in ("image_size", "epochs", "batch_size"):
        _positive_int(cfg, name)
    if not 0 < cfg.train_fraction < 1:
        _fail("train_fraction", f"{cfg.train_fraction} is outside (0, 1)",
              "use a fraction such as 0.9")
    if isinstance(cfg.limit_per_class, bool) or not isinstance(
            cfg.limit_per_class, int) or cfg.limit_per_class < 0:
        _fail("limit_per_class", f"{cfg.limit_per_class!r} is not an integer >= 0",
              "use 0 (all images) or a positive count")
    n_in = 3 * cfg.image_size ** 2
    if len(cfg.sizes) < 2 or any(
            isinstance(n, bool) or not isinstance(n, int) or n < 1 for n in cfg.sizes):
        _fail("sizes", f"{list(cfg.sizes)} is not a list of >= 2 positive integers",
              f"e.g. [{n_in}, 128, 32, 2]")
    if cfg.sizes[0] != n_in:
        _fail("sizes", f"input width {cfg.sizes[0]} does not match 3 x "
              f"{cfg.image_size} x {cfg.image_size} = {n_in}",
              f"start sizes with {n_in} or change image_size")
    if cfg.sizes[-1] != 2:
        _fail("sizes", f"output width {cfg.sizes[-1]} is not 2 (two classes)",
              "end sizes with 2")
    if cfg.workers < 0:
        _fail("workers", f"{cfg.workers} is negative",
              "use 0 (one worker per usable core) or a count >= 1")
    if cfg.dtype not in DTYPES:
        _fail("dtype", f"{cfg.dtype!r} is not supported", f"use one of {DTYPES}")
    if cfg.loss not in LOSSES:
        _fail("loss", f"{cfg.loss!r} is not supported", f"use one of {LOSSES}")
    if not cfg.settings:
        _fail("settings", "no hyper-parameter setting given",
              "add at least one [[settings]] table with lr")
    for i, s in enumerate(cfg.settings):
        _validate_setting(i, s)


def _settings_from(raw: object) -> tuple[Setting, ...]:
    if not isinstance(raw, list):
        _fail("settings", "is not a list of tables", "write [[settings]] tables")
    out = []
    known = {f.name for f in dataclasses.fields(Setting)}
    for i, item in enumerate(raw):
        if not isinstance(item, dict):
            _fail(f"settings[{i}]", "is not a table", "write lr = ..., momentum = ...")
        unknown = sorted(set(item) - known)
        if unknown:
            _fail(f"settings[{i}].{unknown[0]}", "unknown key",
                  f"use only {sorted(known)}")
        if "lr" not in item:
            _fail(f"settings[{i}].lr", "missing", "give every setting an lr")
        out.append(Setting(**item))
    return tuple(out)


def config_from_dict(raw: dict) -> Config:
    """Build a Config from a dict of overrides (e.g. parsed TOML)."""
    known = {f.name for f in dataclasses.fields(Config)}
    unknown = sorted(set(raw) - known)
    if unknown:
        _fail(unknown[0], "unknown key", f"remove it; known keys are {sorted(known)}")
    kwargs = {}
    for key, value in raw.items():
        if key == "settings":
            kwargs[key] = _settings_from(value)
        elif isinstance(value, list):
            kwargs[key] = tuple(value)
        else:
            kwargs[key] = value
    check_types(raw)
    return Config(**kwargs)


def load_config(path: str | os.PathLike | None = None) -> Config:
    """Load the config: ``path``, else ``$MLP_LAB_CONFIG``, else the defaults."""
    path = path or os.environ.get("MLP_LAB_CONFIG") or None
    if path is None:
        return Config()
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"config file {p} does not exist. Fix: pass an existing "
                          "TOML file (--config or MLP_LAB_CONFIG), or unset it.")
    try:
        raw = tomllib.loads(p.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {p} is not valid TOML: {exc}. "
                          "Fix: correct the syntax.") from exc
    return config_from_dict(raw)

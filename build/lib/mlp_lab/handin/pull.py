"""The library definitions a notebook needs: each named one and what it uses.

A :class:`Library` hands out code cells of mlp_lab's own definitions (a
function, class or module-level constant, read with
:func:`mlp_lab.book.report.source_text`). For each it walks the source for the
module-level names used outside annotations: a definition of the same module,
or one imported from another module of mlp_lab, is pulled first (depth first,
once per notebook), and a package import (torch, numpy, ...) is kept for the
notebook's import block. So a refactor of the library (a new helper, a moved
constant) reaches the notebooks without a list to update. A module of mlp_lab
used as an object (``cache.X``) cannot be inlined: the build stops, naming it,
unless the notebook defines that name itself (``provided``).
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass, field
from functools import lru_cache

from ..book.report import source_text
from ..cache import PACKAGE

Key = tuple[str, str]  # (mlp_lab module, top-level name)


class PullError(ValueError):
    """A definition needs something a notebook cannot hold."""


@dataclass
class Module:
    """What one mlp_lab module defines and imports, by top-level name."""

    defs: dict[str, ast.AST] = field(default_factory=dict)
    ours: dict[str, Key] = field(default_factory=dict)       # from .x import y
    modules: set[str] = field(default_factory=set)           # from . import x
    packages: dict[str, str] = field(default_factory=dict)   # name -> import line


def _bound(node: ast.AST) -> list[str]:
    if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
        return [node.name]
    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
    return [t.id for t in targets if isinstance(t, ast.Name)]


@lru_cache(maxsize=None)
def module(name: str) -> Module:
    """The definitions and imports of mlp_lab module ``name`` (``book.plots``)."""
    path = PACKAGE.joinpath(*name.split(".")).with_suffix(".py")
    out, package = Module(), name.split(".")[:-1]
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.Assign, ast.AnnAssign)):
            out.defs.update(dict.fromkeys(_bound(node), node))
        elif isinstance(node, ast.ImportFrom) and node.level:
            base = package[:len(package) - node.level + 1]
            for a in node.names:
                if node.module:
                    source = ".".join(base + node.module.split("."))
                    out.ours[a.asname or a.name] = (source, a.name)
                else:
                    out.modules.add(a.asname or a.name)
        elif isinstance(node, ast.ImportFrom) and node.module != "__future__":
            for a in node.names:
                alias = f" as {a.asname}" if a.asname else ""
                out.packages[a.asname or a.name] = (f"from {node.module} import "
                                                    f"{a.name}{alias}")
        elif isinstance(node, ast.Import):
            for a in node.names:
                alias = f" as {a.asname}" if a.asname else ""
                bound = a.asname or a.name.split(".")[0]
                out.packages[bound] = f"import {a.name}{alias}"
    return out


def used_names(node: ast.AST) -> set[str]:
    """Names a definition reads, annotations left out (they stay strings)."""
    names: set[str] = set()

    def visit(n: ast.AST) -> None:
        if isinstance(n, ast.arg):
            return
        if isinstance(n, ast.FunctionDef):
            for child in [*n.decorator_list, *n.args.defaults,
                          *[d for d in n.args.kw_defaults if d], *n.body]:
                visit(child)
            return
        if isinstance(n, ast.AnnAssign):
            if n.value is not None:
                visit(n.value)
            return
        if isinstance(n, ast.Name):
            names.add(n.id)
        for child in ast.iter_child_nodes(n):
            visit(child)
    visit(node)
    return names


@dataclass
class Library:
    """The definitions one notebook has pulled so far, and its imports."""

    provided: frozenset[str] = frozenset()
    done: dict[str, Key] = field(default_factory=dict)      # name -> its origin
    imports: dict[str, str] = field(default_factory=dict)   # name -> import line

    def pull(self, key: Key, out: list[str]) -> None:
        """Append the sources ``key`` needs, then its own, to ``out``."""
        mod, name = key
        if name in self.provided or self.done.get(name) == key:
            return
        if name in self.done:
            raise PullError(f"{mod}.{name} and {'.'.join(self.done[name])} "
                            "would share one name in the notebook")
        self.done[name] = key
        info = module(mod)
        node = info.defs[name]
        for used in sorted(used_names(node) - {name}):
            if used in self.provided:
                continue
            if used in info.defs and used not in _bound(node):
                self.pull((mod, used), out)
            elif used in info.ours:
                origin = info.ours[used]
                self.pull(origin, out)
                if origin[1] != used:  # imported under another name
                    out.append(f"{used} = {origin[1]}")
            elif used in info.modules:
                raise PullError(f"{mod}.{name} uses the module {used} of mlp_lab; "
                                "a notebook cannot hold it")
            elif used in info.packages:
                self.imports.setdefault(used, info.packages[used])
        out.append(source_text(f"{mod}.{name}").rstrip())

    def sources(self, *names: str) -> tuple[list[str], list[str]]:
        """(sources, names defined) for ``"module.name"`` entries and their needs."""
        out: list[str] = []
        before = set(self.done)
        for entry in names:
            mod, _, name = entry.rpartition(".")
            self.pull((mod, name), out)
        return out, [n for n in self.done if n not in before]

    def need(self, *lines: str) -> None:
        """Import lines the notebook's own glue cells need."""
        for line in lines:
            self.imports.setdefault(line, line)

    def import_block(self) -> str:
        """``from __future__``, then the standard library, then the packages;
        in each, ``import x`` lines first, then one ``from x import ...`` a module."""
        def group(lines: list[str]) -> str:
            froms: dict[str, list[str]] = {}
            for line in lines:
                if line.startswith("from "):
                    _, mod, _, names = line.split(" ", 3)
                    froms.setdefault(mod, []).append(names)
            plain = sorted(s for s in lines if s.startswith("import "))
            return "\n".join(plain + [f"from {m} import {', '.join(sorted(n))}"
                                      for m, n in sorted(froms.items())])
        lines = sorted(set(self.imports.values()))
        std = [s for s in lines
               if s.split()[1].split(".")[0] in sys.stdlib_module_names]
        rest = [s for s in lines if s not in std]
        groups = ["from __future__ import annotations", group(std), group(rest)]
        if any("matplotlib" in s for s in rest):
            groups.append("%matplotlib inline")
        return "\n\n".join(g for g in groups if g)

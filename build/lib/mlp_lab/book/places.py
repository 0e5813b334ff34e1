"""Places as the book prints them: never the layout of the rendering machine.

A render is handed in, published or shared, so it must not print where the
images or the config lay on the machine that rendered it (a student's home
directory, say). The data are identified by their source, file count and
content fingerprint; a place is printed at most relative to the project or to
the home folder. The results record keeps the absolute path (the cache and
the freeze check need it); only what is shown changes.
"""

from __future__ import annotations

from pathlib import Path

from ..cache import PROJECT_ROOT

# Stands for the leading folders of a path that is printed by its last one.
ELIDED = "\N{HORIZONTAL ELLIPSIS}/"


def shown_place(location: str, root: Path = PROJECT_ROOT,
                home: Path | None = None) -> str:
    """``location`` as the book prints it.

    A URL as it is; a relative path as given (it is relative to the project,
    where the book's kernels run); an absolute path inside the project
    relative to it ("data/cifar10-jpg"), else inside the home folder as
    "~/data/cifar10-jpg", else by its last component only ("…/cifar10-jpg").
    """
    if "://" in location or not location:
        return location
    path = Path(location)
    if not path.is_absolute():
        return path.as_posix()
    path = _resolved(path)
    inside_root = _relative(path, _resolved(root))
    if inside_root is not None:
        return inside_root or "."
    inside_home = _relative(path, _resolved(home or Path.home()))
    if inside_home is not None:
        return "~/" + inside_home if inside_home else "~"
    return ELIDED + path.name if path.name else ELIDED


def _resolved(path: Path) -> Path:
    """``path`` without symlinks or ``..`` (as far as it exists)."""
    try:
        return path.resolve()
    except OSError:
        return path


def _relative(path: Path, base: Path) -> str | None:
    """``path`` relative to ``base`` in POSIX form, or None if outside it."""
    if base == Path(base.anchor):  # a home folder "/" would contain everything
        return None
    try:
        relative = path.relative_to(base).as_posix()
    except ValueError:
        return None
    return "" if relative == "." else relative

"""The canonical CIFAR-10 on disk: downloaded, checked and extracted by torchvision.

:func:`fetch_cifar` makes sure ``<root>/cifar-10-batches-py`` holds the seven
files of CIFAR-10 (five training batches, the test batch, ``batches.meta``)
with the MD5 sums torchvision lists for them (``CIFAR10.train_list``,
``test_list``, ``meta``). When any is missing or differs, it downloads the
archive (``CIFAR10.url``) with torchvision's ``download_and_extract_archive``,
which compares the archive's MD5 with ``CIFAR10.tgz_md5`` before it extracts
anything. ``CIFAR10`` reads the batches with pickle, so these checks are what
stands between a download and the unpickler: a file is read only when its MD5
is torchvision's. Every failure is a :class:`DataError` that says what
happened and what to do, and leaves nothing a later run would take as valid:
an archive that fails its MD5 is deleted, so the next run downloads it afresh.
"""

from __future__ import annotations

import http.client
import socket
import urllib.error
from pathlib import Path

from .errors import DataError

FOLDER = "cifar-10-batches-py"
NETWORK_ERRORS = (urllib.error.URLError, http.client.HTTPException, ConnectionError,
                  TimeoutError, socket.gaierror)
OFFLINE = ("or work offline: set MLP_LAB_DATA to an ImageFolder tree "
           "ROOT/{train,test}/<class>/<image> of CIFAR-10's classes")


def expected_files() -> list[tuple[str, str]]:
    """(file name, MD5) of every file ``CIFAR10`` reads, as torchvision lists them."""
    from torchvision.datasets import CIFAR10

    return [(name, md5) for name, md5 in CIFAR10.train_list + CIFAR10.test_list] + [
        (CIFAR10.meta["filename"], CIFAR10.meta["md5"])]


def damaged_files(root: Path) -> list[str]:
    """Names of the files of ``root/cifar-10-batches-py`` that are missing or
    whose MD5 differs from torchvision's list."""
    from torchvision.datasets.utils import check_integrity

    return [name for name, md5 in expected_files()
            if not check_integrity(root / FOLDER / name, md5)]


def _archive_failure(archive: Path, url: str, md5: str) -> DataError | None:
    """The error for a downloaded archive whose MD5 is not ``md5`` (deleted),
    or None when the archive is absent or intact."""
    from torchvision.datasets.utils import calculate_md5

    got = calculate_md5(archive) if archive.is_file() else md5
    if got == md5:
        return None
    size = archive.stat().st_size
    archive.unlink()  # so that no later run finds it, and it fills no disk
    return DataError(
        f"no data: the CIFAR-10 archive downloaded from {url} is damaged or "
        f"incomplete ({size} bytes, MD5 {got} instead of {md5}); it was deleted. "
        f"Fix: run again to download it afresh, {OFFLINE}.")


def _failure(exc: Exception, root: Path, missing: list[str]) -> DataError:
    """The DataError for ``exc``, raised while fetching CIFAR-10 into ``root``."""
    from torchvision.datasets import CIFAR10

    if isinstance(exc, NETWORK_ERRORS):
        # urlopen's URLError wraps the socket's error; HTTPError says the status
        reason = exc.reason if type(exc) is urllib.error.URLError else exc
        what = (f"{root / FOLDER} lacks or has damaged {', '.join(missing)}, and "
                if (root / FOLDER).is_dir() else "")
        return DataError(f"no data: {what}CIFAR-10 cannot be downloaded from "
                         f"{CIFAR10.url} ({reason}). Fix: go online and run again, "
                         f"{OFFLINE}.")
    archive = root / CIFAR10.filename
    if isinstance(exc, OSError):  # a full disk, a file where a folder should be
        _archive_failure(archive, CIFAR10.url, CIFAR10.tgz_md5)  # a partial one
        where = f" ({exc.filename})" if exc.filename else ""
        return DataError(
            f"no data: cannot write the CIFAR-10 download into {root}: "
            f"{exc.strerror or exc}{where}. Fix: make {root} a writable folder "
            f"(not a file) with room for about 350 MB, {OFFLINE}.")
    damaged = _archive_failure(archive, CIFAR10.url, CIFAR10.tgz_md5)
    return damaged or DataError(
        f"no data: CIFAR-10 could not be prepared in {root} "
        f"({type(exc).__name__}: {exc}). Fix: delete {archive} and "
        f"{root / FOLDER}, then run again, {OFFLINE}.")


def fetch_cifar(root: Path) -> str:
    """Make sure ``root`` holds CIFAR-10's files with torchvision's MD5 sums,
    downloading and extracting the archive when one is missing or differs.

    Returns the URL the files come from. Raises DataError.
    """
    from torchvision.datasets import CIFAR10
    from torchvision.datasets.utils import download_and_extract_archive

    missing = damaged_files(root)
    if not missing:
        return CIFAR10.url
    try:
        download_and_extract_archive(CIFAR10.url, str(root), filename=CIFAR10.filename,
                                     md5=CIFAR10.tgz_md5)
    except Exception as exc:  # network, file system, MD5, tar: each its own message
        raise _failure(exc, root, missing) from exc
    still = damaged_files(root)
    if still:
        raise DataError(
            f"no data: the CIFAR-10 archive from {CIFAR10.url} passed its MD5 check "
            f"but lacks or has damaged {', '.join(still)} once extracted into "
            f"{root / FOLDER}. Fix: delete {root / CIFAR10.filename} and run again, "
            f"{OFFLINE}.")
    return CIFAR10.url

"""A quiet render log: the book's kernels drop ipykernel's notice "Kernel is
running over TCP without encryption" and nothing else, and still listen on
loopback only (book/_ipython, set by scripts/render_book.sh)."""

from __future__ import annotations

import os
import re
import tempfile

import pytest
from jupyter_client.manager import KernelManager

from mlp_lab.cache import PROJECT_ROOT

BOOK_IPYTHONDIR = PROJECT_ROOT / "book" / "_ipython"
NOTICE = "Kernel is running over TCP without encryption"
# A warning and an error logged by the kernel application itself, through the
# same logger and handler as the notice.
REAL = ("import logging\nlog = logging.getLogger('IPKernelApp')\n"
        "log.warning('a real warning stays visible')\n"
        "log.error('a real error stays visible')\n")


def _kernel_stderr(ipythondir) -> tuple[str, dict]:
    """What a python3 kernel started as Quarto starts it (jupyter_client's
    KernelManager) with ``IPYTHONDIR=ipythondir`` prints on stderr while it
    starts and runs ``REAL``, and its connection info."""
    env = {**os.environ, "IPYTHONDIR": str(ipythondir)}
    with tempfile.TemporaryFile("w+") as err:
        km = KernelManager(kernel_name="python3")
        km.start_kernel(env=env, stderr=err)
        try:
            client = km.client()
            client.start_channels()
            client.wait_for_ready(timeout=300)
            client.execute_interactive(REAL, timeout=300)
            client.stop_channels()
            info = km.get_connection_info()
        finally:
            km.shutdown_kernel(now=True)
        err.seek(0)
        return err.read(), info


def test_render_script_points_the_kernels_at_the_projects_profile():
    script = (PROJECT_ROOT / "scripts" / "render_book.sh").read_text()
    assert re.search(r'^export IPYTHONDIR="\$\(pwd\)/book/_ipython"$', script,
                     re.MULTILINE)
    assert (BOOK_IPYTHONDIR / "profile_default" / "ipython_kernel_config.py"
            ).is_file()


def test_the_books_kernel_drops_the_tcp_notice_and_nothing_else(tmp_path):
    plain, _ = _kernel_stderr(tmp_path / "empty-ipythondir")
    if NOTICE not in plain:
        pytest.skip("this ipykernel does not print the TCP notice")
    assert "a real warning stays visible" in plain  # the control shows both
    quiet, info = _kernel_stderr(BOOK_IPYTHONDIR)
    assert NOTICE not in quiet, quiet
    assert "WARNING | a real warning stays visible" in quiet, quiet
    assert "ERROR | a real error stays visible" in quiet, quiet
    assert info["transport"] == "tcp" and info["ip"] == "127.0.0.1", info

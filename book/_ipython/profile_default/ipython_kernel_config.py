# The IPython kernel that executes the book's chapters: scripts/render_book.sh
# (make book, make report) sets IPYTHONDIR to book/_ipython, so every kernel
# Quarto starts reads this file, and not the user's ~/.ipython profile (whose
# startup scripts would make a render depend on the machine); make handin
# (mlp_lab/handin/build.py, KERNEL_PROFILE) gives its notebooks' kernels the same.
#
# Why a filter: ipykernel (7.4 here) logs "Kernel is running over TCP without
# encryption ..." (ipykernel/kernelapp.py, init_sockets) at WARNING level each
# time a kernel starts, which is once per chapter and format: 16 times in one
# `make book`, burying the progress lines. The notice is true and harmless
# here: Quarto's kernel manager (jupyter_client) binds the kernel to
# 127.0.0.1, so only processes on this machine can reach it, and it accepts
# only messages signed with the key of its connection file (readable by this
# user alone); the kernel runs the book's own code anyway. Raising the log
# level would silence every other warning too; this filter drops that one
# message and nothing else, so real warnings and errors still reach the render
# log. The kernel still
# listens on loopback only: nothing here changes its transport or address.

UNENCRYPTED_TCP_NOTICE = "Kernel is running over TCP without encryption."


def drop_unencrypted_tcp_notice():
    """A logging filter: False (drop) for ipykernel's TCP notice only."""
    return lambda record: not str(record.msg).startswith(UNENCRYPTED_TCP_NOTICE)


c = get_config()  # noqa: F821 (defined by IPython when it reads this file)

# Merged into traitlets' default logging config (a StreamHandler "console" to
# stderr, at the app's log level): the same handler, with the filter added.
c.IPKernelApp.logging_config = {
    "filters": {"no_tcp_notice": {"()": drop_unencrypted_tcp_notice}},
    "handlers": {"console": {"filters": ["no_tcp_notice"]}},
}
# A render is not an interactive session: no command history on disk.
c.HistoryManager.enabled = False

"""The errors a user can fix; each message names the problem and the fix.

They live here, apart from the modules that raise them, so that the command
line can catch them without importing torch.
"""


class ConfigError(ValueError):
    """A config field is unknown or has an invalid value."""


class DataError(RuntimeError):
    """The data cannot be found or read."""


class CacheError(OSError):
    """The cache folder cannot be created or written."""


class WorkerError(RuntimeError):
    """A worker process (local or on a cluster) died while it trained."""


class ClusterError(RuntimeError):
    """The Dask scheduler cannot be used (not installed, unreachable)."""

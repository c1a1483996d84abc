"""A SciCat-compatible server that ships with scisync (``scisync sandbox``).

It implements the parts of the SciCat backend's REST API (v5.x) that scisync, scitacean
and pyscicat use, with the backend's quirks, persisting to a folder.  See
``docs/sandbox.md`` for what it does and does not reproduce.
"""

from scisync.sandbox.auth import DEFAULT_ACCOUNTS
from scisync.sandbox.server import SandboxInfo, SandboxServer
from scisync.sandbox.settings import FaultInjection, SandboxSettings

__all__ = [
    "DEFAULT_ACCOUNTS",
    "FaultInjection",
    "SandboxInfo",
    "SandboxServer",
    "SandboxSettings",
]

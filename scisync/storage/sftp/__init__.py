"""The SFTP storage backend, by job: :mod:`.backend` (:class:`SftpStorage`, the Storage
implementation), :mod:`.upload`, :mod:`.download`, :mod:`.hashing` (checksums on the
server), :mod:`.server` (what they share) and :mod:`.stream` (the fast SFTP client).
Connecting lives in :mod:`scisync.storage.ssh`.

``SftpStorage`` is loaded on first use rather than here: :mod:`scisync.storage.ssh` imports
:mod:`.stream`, and importing any submodule runs this file first, so an eager import of
:mod:`.backend` (which needs ``ssh``) would fail whenever ``ssh`` is imported first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from scisync.storage.sftp.backend import SftpStorage

__all__ = ["SftpStorage"]


def __getattr__(name: str) -> object:
    if name == "SftpStorage":
        from scisync.storage.sftp.backend import SftpStorage

        return SftpStorage
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

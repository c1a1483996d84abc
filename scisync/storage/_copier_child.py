"""The child's side of :mod:`scisync.storage._copier`: copies the small-file batches its
parent sends, with LocalStorage's own per-file code and flush, until its socket closes.

Run as ``python -m scisync.storage._copier_child FD`` by
:class:`scisync.storage._copier.CopyProcess` only.
"""

from __future__ import annotations

import contextlib
import select
import sys
import threading
from collections.abc import Sequence
from multiprocessing.connection import Connection
from pathlib import Path

from scisync.errors import StorageError
from scisync.storage import local
from scisync.storage._copier import failure
from scisync.storage._durable import PendingBatch
from scisync.storage._transfer import run_each
from scisync.storage.base import RemotePath, UploadJob


class _ParentSpeaks:
    """The child's cancel token: set once anything arrives mid-batch (the parent's cancel)
    or the socket closes (the parent is gone).

    A ``poll`` of the socket every :data:`_LOOK_EVERY` questions (a file asks twice):
    ``Connection.poll`` builds a selector each time, and even a bare ``poll`` for every
    question was a tenth of the child's work."""

    def __init__(self, connection: Connection) -> None:
        self._poller = select.poll()
        self._poller.register(connection.fileno(), select.POLLIN | select.POLLHUP)
        self._set = False
        self._asked = 0

    def is_set(self) -> bool:
        if not self._set:
            self._asked += 1
            if self._asked % _LOOK_EVERY == 0 and self._poller.poll(0):
                self._set = True
        return self._set

    def reset(self) -> None:
        self._set = False
        self._asked = -1  # the batch's first question looks


_LOOK_EVERY = 16
"""Questions between looks at the socket: a stop is seen within eight small files."""


def _serve(connection: Connection) -> None:
    _, roots = connection.recv()
    storage = local.LocalStorage(workers=1, roots=roots, offload=False)
    connection.send(("ready", None))
    asks = _ParentSpeaks(connection)
    batch, folders = PendingBatch(), local._WriteFolders(storage)

    def work(job: UploadJob, abort: threading.Event) -> None:
        storage._upload_one(job, None, abort, batch, folders, None)

    while True:
        try:
            message = connection.recv()
        except EOFError:
            return
        if message[0] == "place":
            asks.reset()
            jobs = [
                UploadJob(Path(local), RemotePath(remote), size, blake3)
                for local, remote, size, blake3 in message[1]
            ]
            outcomes = run_each(work, jobs, 1, asks)
            placed = [None if o is None else failure(o) for o in outcomes]
            connection.send(("placed", placed))
        elif message[0] == "flush":
            try:
                local._flush(batch)
            except StorageError as error:
                connection.send(("flushed", failure(error)))
            else:
                connection.send(("flushed", None))
            # The next batch starts afresh (work reads these names when it runs).
            batch, folders = PendingBatch(), local._WriteFolders(storage)
        # ("cancel",) read here came after its batch ended: nothing to stop


def main(argv: Sequence[str]) -> int:
    connection = Connection(int(argv[1]))
    try:
        _serve(connection)
    except (EOFError, OSError):
        return 0  # the parent is gone: nothing to answer to
    except BaseException as exc:  # a bug: tell the parent, which raises it
        with contextlib.suppress(OSError):
            connection.send(("bug", repr(exc)))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

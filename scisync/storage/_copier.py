"""A second process that copies the small-file upload batches of a :class:`LocalStorage`.

A small file's copy is a few system calls and a little Python.  In the applying process it
competes for the one GIL with the SciCat requests of the other datasets in flight, so a
first apply of 100,000 files of 16 B ran on about one core however many workers it had
(docs/performance.md).  Here the copying runs on the machine's other core.

Only *where* the copy runs changes: the child runs LocalStorage's own per-file code
(``_upload_one``: the roots, the checks against the hashed content, the temporaries and
their marks) and its flush, on the same jobs, with the same results.  The parent checks
nothing the child says about the files: it only reports the outcome of each job.

Lifetime: the child starts at the first batch that qualifies and serves the storage until
:meth:`CopyProcess.close`.  It runs in its own session, so a terminal's Ctrl-C reaches only
the parent, which stops the copy through its cancel token.  Between files the child looks
at its socket: a cancel from the parent, or the parent gone (the socket reads as closed),
stops it there, so it never outlives an interrupted apply by more than the file in hand.

The child's side is :mod:`scisync.storage._copier_child`, run as
``python -m scisync.storage._copier_child FD`` by :class:`CopyProcess` only.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import weakref
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from typing import Any

from scisync.errors import ChecksumMismatch, Problem, StorageError
from scisync.storage._transfer import failures, raise_errors
from scisync.storage.base import CancelToken, UploadJob
from scisync.storage.roots import Roots

CHUNK = 1_000
"""Jobs per message: the parent reports progress and passes a cancel between chunks."""

_WAIT = 0.05
"""Seconds between the parent's looks at its cancel token while the child works."""

# What crosses the socket about a failed job: the error's class and its problems (an
# exception pickles by its message alone, which would fold its problems into one).
Failure = tuple[bool, tuple[Problem, ...]]  # (is a checksum mismatch, problems)


def failure(error: StorageError) -> Failure:
    return isinstance(error, ChecksumMismatch), error.problems


def _error(failure: Failure) -> StorageError:
    mismatch, problems = failure
    return (ChecksumMismatch if mismatch else StorageError)(problems=problems)


def _stopped(code: int | None) -> StorageError:
    ended = "" if code is None else f" (exit status {code})"
    return StorageError(
        f"the process copying small files stopped unexpectedly{ended}",
        hint="run apply again: it resumes, re-checking the files this batch placed",
    )


class CopyProcess:
    """The parent's end: one child, started on first use, serving one batch at a time.

    The caller serialises batches (LocalStorage's small-file lane); a batch is sent in
    chunks of :data:`CHUNK` jobs, then flushed once.
    """

    def __init__(self, roots: Roots | None) -> None:
        self._roots = roots
        self._child: subprocess.Popen[bytes] | None = None
        self._connection: Connection | None = None
        self._finalizer: weakref.finalize[Any, Any] | None = None
        self._unavailable = False  # a child could not be started: copy in-process

    def upload(
        self,
        jobs: Sequence[UploadJob],
        finished: Callable[[UploadJob], None],
        progress: Callable[[int], None] | None,
        cancel: CancelToken | None,
    ) -> bool:
        """Copy *jobs* in the child, then flush them; raise as an in-process batch does.

        False, having done nothing, where no child can be started here (no process may
        be created, or the interpreter cannot run it): the caller copies in-process, and
        so does every later batch."""
        connection = self._started()
        if connection is None:
            return False
        errors: list[StorageError] = []
        try:
            for start in range(0, len(jobs), CHUNK):
                if cancel is not None and cancel.is_set():
                    break
                chunk = jobs[start : start + CHUNK]
                # Plain values: a pickled Path is rebuilt from its parts, parsing each.
                plain = [(str(j.local), str(j.remote), j.size, j.blake3) for j in chunk]
                outcomes = self._ask(connection, ("place", plain), cancel)
                for job, outcome in zip(chunk, outcomes, strict=True):
                    if outcome is None:
                        finished(job)
                        if progress is not None:
                            progress(job.size)
                    else:
                        errors.append(_error(outcome))
        finally:
            # Unless the child died (its error is on its way): the batch ends with a flush.
            alive = self._connection is connection
            flushed = self._ask(connection, ("flush",), None) if alive else None
        if flushed is not None:
            raise _error(flushed)
        raise_errors(failures(errors, cancel))
        return True

    def _started(self) -> Connection | None:
        if self._unavailable:
            return None
        if self._connection is not None and self._child is not None:
            if self._child.poll() is None:
                return self._connection
            self._discard()
        ours, theirs = socket.socketpair()
        try:
            child = subprocess.Popen(
                [*_CHILD_COMMAND, json.dumps(_import_path()), str(theirs.fileno())],
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
                env=_child_environment(),
                start_new_session=True,
            )
        except OSError:
            ours.close()
            self._unavailable = True
            return None
        finally:
            theirs.close()
        connection = Connection(ours.detach())
        self._child, self._connection = child, connection
        # A storage dropped without close() still stops and reaps its child.
        self._finalizer = weakref.finalize(self, _stop, connection, child)
        try:
            self._ask(connection, ("start", self._roots), None)
        except StorageError:
            self._unavailable = True  # it died before its first answer: it cannot run here
            return None
        return connection

    def _ask(
        self, connection: Connection, message: tuple[Any, ...], cancel: CancelToken | None
    ) -> Any:
        """Send *message*; wait for the answer, passing on a cancel meanwhile."""
        try:
            connection.send(message)
            asked_to_stop = False
            while not connection.poll(_WAIT):
                if self._child is not None and self._child.poll() is not None:
                    raise EOFError
                if cancel is not None and cancel.is_set() and not asked_to_stop:
                    connection.send(("cancel",))
                    asked_to_stop = True
            kind, answer = connection.recv()
        except (EOFError, OSError):
            code = self._child.poll() if self._child is not None else None
            self._discard()
            raise _stopped(code) from None
        if kind == "bug":
            # A real bug in the child: an internal error, as it would be in-process.  The
            # child has exited; discarded here, so the batch's flush is not asked of it.
            self._discard()
            raise RuntimeError(f"in the process copying small files: {answer}")
        return answer

    def _discard(self) -> None:
        self._connection = self._child = None
        if self._finalizer is not None:
            self._finalizer()
            self._finalizer = None

    def close(self) -> None:
        """Stop the child (it exits when its socket closes) and wait for it."""
        self._discard()


_CHILD_COMMAND = (
    sys.executable,
    # -P: nothing from the current folder is imported before the path below is set (a
    # project folder holding, say, a socket.py must not change the child's modules).
    "-P",
    "-c",
    "import json, sys; sys.path[:] = json.loads(sys.argv[1]); "
    "from scisync.storage._copier_child import main; sys.exit(main(sys.argv[1:]))",
)


_PASSED_ON = frozenset({"PATH", "LANG", "LANGUAGE", "PYTHONUTF8", "TMPDIR", "HOME"})
"""Environment variables the child gets (and every ``LC_*``): what decides how it encodes
file names, nothing else.  Tokens and passwords in the environment stay with the parent."""


def _child_environment() -> dict[str, str]:
    return {
        name: value
        for name, value in os.environ.items()
        if name in _PASSED_ON or name.startswith("LC_")
    }


def _import_path() -> list[str]:
    """This process's module path, for the child: it imports this very scisync (and
    blake3), wherever they were found; "" (the current folder) spelled out, as it was."""
    return [str(entry) or os.getcwd() for entry in sys.path]


def _stop(connection: Connection, child: subprocess.Popen[bytes]) -> None:
    """Close the socket (the child exits at once, or after the file in hand) and reap it."""
    connection.close()
    try:
        child.wait(timeout=10)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()

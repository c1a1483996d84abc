"""One apply at a time: an exclusive advisory lock (``flock``) in the project's state folder.

The kernel drops an ``flock`` when its holder exits, however it exits, so a crashed
apply never leaves a stale lock behind.  The holder writes who it is (pid, host,
command) into the lock file so that a second apply can say whom it is waiting for.
The file itself is never deleted: deleting a lock file lets two processes lock two
different files of the same name.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import math
import os
import socket
import sys
import time
from pathlib import Path
from types import TracebackType

from scisync._util.secrets import redact
from scisync.errors import ConcurrencyError

APPLY_LOCK_NAME = "apply.lock"
STATE_DIR_NAME = ".scisync"
_POLL_SECONDS = 0.05


def default_apply_lock_path(project_dir: Path) -> Path:
    """Where the apply lock lives: ``<project>/.scisync/apply.lock`` (git-ignored)."""
    return project_dir / STATE_DIR_NAME / APPLY_LOCK_NAME


class ApplyLock:
    """Hold an exclusive lock on *path* while in the ``with`` block.

    Waits up to *timeout* seconds (0: try once; ``math.inf``: wait forever), then raises
    :class:`ConcurrencyError` naming the holder.  *command* is recorded for that
    message (default: this process's command line).
    """

    def __init__(self, path: Path, timeout: float, *, command: str | None = None) -> None:
        if timeout < 0 or math.isnan(timeout):
            raise ValueError(f"timeout must be >= 0, not {timeout}")
        self.path = path
        self.timeout = timeout
        self.command = command if command is not None else " ".join(sys.argv)
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> None:
        if self._fd is not None:
            raise RuntimeError("ApplyLock is not re-entrant")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            self._wait(fd)
            self._record_holder(fd)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)  # nobody holds it now: no stale name in the next message
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def __enter__(self) -> ApplyLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.release()

    def _wait(self, fd: int) -> None:
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                pass
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ConcurrencyError(
                    f"another scisync apply is running ({describe_holder(self.path)})",
                    where=str(self.path),
                    hint="wait for it to finish and run again, or give a longer lock timeout",
                )
            time.sleep(min(_POLL_SECONDS, remaining))

    def _record_holder(self, fd: int) -> None:
        holder = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "command": redact(self.command),
            "since": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        data = (json.dumps(holder) + "\n").encode("utf-8")
        os.ftruncate(fd, 0)
        os.pwrite(fd, data, 0)


def describe_holder(path: Path) -> str:
    """Who holds the lock at *path*, in words, from what the holder wrote into it."""
    try:
        holder = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        holder = None
    if not isinstance(holder, dict):
        return "holder unknown"
    parts = [f"pid {holder.get('pid', '?')} on {holder.get('host', '?')}"]
    if holder.get("command"):
        parts.append(f"running {redact(str(holder['command']))!r}")
    if holder.get("since"):
        parts.append(f"since {holder['since']}")
    return " ".join(parts)

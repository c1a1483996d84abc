"""One exception family for everything scisync reports to a user.

Every error carries *what* went wrong, *where* (``file:line:col: manifest.path`` for
manifests, the dataset key and server message for the API, a path for storage) and
*what to do*.  The CLI's single error boundary formats these; nothing else prints them.
Messages are passed through :func:`scisync._util.secrets.redact` when formatted so that a
token can never leak through an exception text.
"""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass
from enum import IntEnum
from typing import TypeGuard

from scisync._util.secrets import redact


class ExitCode(IntEnum):
    """Stable process exit codes (documented in docs/; CI pipelines branch on them)."""

    OK = 0
    ERROR = 1
    CHANGES = 2  # only with --detailed-exitcode: the plan has changes
    INTERRUPTED = 130  # SIGINT (Ctrl-C) stopped an apply or pull: 128 + 2, as shells report it
    TERMINATED = 143  # SIGTERM stopped an apply or pull: 128 + 15


@dataclass(frozen=True)
class Problem:
    """One thing that is wrong: what, where, and what to do about it."""

    what: str
    where: str | None = None
    hint: str | None = None

    def format(self) -> str:
        text = f"{self.where}: {self.what}" if self.where else self.what
        if self.hint:
            text = f"{text} ({self.hint})"
        return redact(text)


class ScisyncError(Exception):
    """Base of every error scisync reports.  Carries one or more :class:`Problem`."""

    def __init__(
        self,
        what: str | None = None,
        *,
        where: str | None = None,
        hint: str | None = None,
        problems: tuple[Problem, ...] | list[Problem] | None = None,
    ) -> None:
        found = list(problems or [])
        if what is not None:
            found.insert(0, Problem(what=what, where=where, hint=hint))
        if not found:
            raise ValueError("a ScisyncError needs at least one problem")
        self.problems: tuple[Problem, ...] = tuple(found)
        super().__init__(self.format())

    def format(self) -> str:
        return "\n".join(problem.format() for problem in self.problems)

    def __str__(self) -> str:
        return self.format()


class ManifestError(ScisyncError):
    """The manifest is invalid (YAML, schema, templates, references)."""


class ConfigError(ScisyncError):
    """Configuration outside the manifest is wrong: missing env vars, credential files."""


class ApiError(ScisyncError):
    """SciCat answered with an error, or could not be reached."""

    def __init__(
        self,
        what: str,
        *,
        where: str | None = None,
        hint: str | None = None,
        status: int | None = None,
        server_message: str | None = None,
    ) -> None:
        self.status = status
        self.server_message = server_message
        super().__init__(what, where=where, hint=hint)


class AuthError(ApiError):
    """Authentication failed, or the token expired."""


class QueryLimitError(ScisyncError):
    """A dataset query matches more datasets than its limit allows."""


class StorageError(ScisyncError):
    """The file storage (local or SFTP) failed or holds something unexpected."""


class ChecksumMismatch(StorageError):
    """A file's content does not match the checksum SciCat or the lockfile holds."""


class LockfileError(ScisyncError):
    """scisync.lock is unreadable, from a newer scisync, or inconsistent."""


class PlanError(ScisyncError):
    """The plan cannot be made or applied (stale saved plan, refused replace, cycles)."""


class ConcurrencyError(ScisyncError):
    """Another scisync apply holds the lock."""


class FileSystemError(ScisyncError):
    """The operating system refused a file operation (see :func:`from_os_error`)."""


# What to do about each errno, worded for the person at the terminal.  The one table:
# every place that reports an OSError takes its hint from here.
_OS_HINTS: dict[int, str] = {
    errno.ENOENT: "check the path: create the missing file or folder, or correct the name "
    "in the manifest or on the command line",
    errno.EACCES: "give your user access (ls -l shows owner and mode; chmod or chown fixes "
    "it), or choose a path you may use",
    errno.EPERM: "the operation is not permitted on this file (immutable, or owned by "
    "another user); choose another path or ask the owner",
    errno.ENOSPC: "free some space (df -h shows each file system) or choose another place, "
    "then run the command again (apply and pull continue where they stopped)",
    errno.EDQUOT: "your disk quota is used up: free some space or ask for a larger quota, "
    "then run the command again (apply and pull continue where they stopped)",
    errno.ENAMETOOLONG: "shorten the name (a name holds at most 255 bytes, a path 4096)",
    errno.ENOTDIR: "a file stands where a folder is expected in this path: rename or move "
    "the file, or correct the path",
    errno.EISDIR: "a folder stands where a file is expected: give a file name, or move the "
    "folder away",
    errno.EMFILE: "too many files are open: raise the limit (ulimit -n 4096) or run with "
    "fewer --workers",
    errno.ENFILE: "the system has too many files open: close other programs or raise fs.file-max",
    errno.EROFS: "the file system is mounted read-only: choose a writable place",
    errno.ELOOP: "a symlink in this path points (in a loop) back at itself: fix the link",
    errno.EEXIST: "something already exists at this path: move it away",
}
_OS_HINT_DEFAULT = "check the path exists, is on a mounted file system and is writable"


def is_file_system_error(error: BaseException) -> TypeGuard[OSError]:
    """Whether *error* is the operating system refusing a file operation (not a network
    error: requests' and socket errors are OSErrors too, but name no file)."""
    if not isinstance(error, OSError) or isinstance(error, ConnectionError | TimeoutError):
        return False
    return error.filename is not None or error.errno in _OS_HINTS


def os_error_hint(error: OSError) -> str:
    """What to do about *error*, by its errno."""
    return _OS_HINTS.get(error.errno or 0, _OS_HINT_DEFAULT)


def from_os_error(
    error: OSError, action: str | None = None, path: str | os.PathLike[str] | None = None
) -> FileSystemError:
    """*error* as a message naming the path and what to do: ``cannot <action>: <reason>``."""
    reason = error.strerror or type(error).__name__
    where = os.fsdecode(path) if path is not None else _paths(error)
    what = f"cannot {action}: {reason}" if action else f"file system error: {reason}"
    return FileSystemError(what, where=where, hint=os_error_hint(error))


def _paths(error: OSError) -> str | None:
    names = [n for n in (error.filename, error.filename2) if n is not None]
    shown = [repr(os.fsdecode(n)) if isinstance(n, bytes | str) else str(n) for n in names]
    return " -> ".join(shown) or None


class Interrupted(ScisyncError):
    """A signal stopped an apply, pull or import: nothing new was started after it, and
    what completed is recorded.

    ``exit_code`` is 128 + the signal number (130 for SIGINT, 143 for SIGTERM), as a shell
    reports a process the signal ended, so scripts see the same code either way.
    """

    def __init__(self, signal_name: str, exit_code: int, *, problems: list[Problem] | None = None):
        self.signal_name = signal_name
        self.exit_code = exit_code
        super().__init__(
            f"interrupted by {signal_name}: nothing new was started after it, and "
            "scisync.lock records what completed",
            hint="run the same command again (`scisync apply`, `scisync pull` or "
            "`scisync import`) to resume; what completed is found again and nothing is "
            "created twice",
            problems=problems,
        )

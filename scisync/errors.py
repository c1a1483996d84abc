"""One exception family for everything scisync reports to a user.

Every error carries *what* went wrong, *where* (``file:line:col: manifest.path`` for
manifests, the dataset key and server message for the API, a path for storage) and
*what to do*.  The CLI's single error boundary formats these; nothing else prints them.
Messages are passed through :func:`scisync._util.secrets.redact` when formatted so that a
token can never leak through an exception text.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from scisync._util.secrets import redact


class ExitCode(IntEnum):
    """Stable process exit codes (documented in docs/; CI pipelines branch on them)."""

    OK = 0
    ERROR = 1
    CHANGES = 2  # only with --detailed-exitcode: the plan has changes


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

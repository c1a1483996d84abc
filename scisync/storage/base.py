"""The storage Protocol every backend (local, sftp) implements, and its value types.

Remote paths are :class:`RemotePath` (absolute POSIX paths on the file server), never
:class:`pathlib.Path`, so a local path can never be passed where a remote one is meant.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Protocol, runtime_checkable

RemotePath = PurePosixPath
"""An absolute POSIX path on the file server (SciCat's ``sourceFolder`` + file path)."""

ProgressCallback = Callable[[int], None]
"""Called with the number of bytes just transferred (from any worker thread)."""

FileDoneCallback = Callable[[int], None]
"""Called with the index (in the jobs given) of a file whose bytes are all transferred,
or that was found already in place (from any worker thread), so that file counts advance
with the bytes instead of all at the end of a batch."""


class LinkWitness(Protocol):
    """Vouches for local files before ``hardlink: true`` links them into the store, and
    hears each link (from any worker thread; *index* is the job's place in the jobs given).

    A copy verifies the bytes it writes; a link writes none, so a file edited after it was
    hashed (same size: a detector still writing) would be stored under the digest of its
    old content.  The rule (one place: ``LocalStorage``): a file is linked only when its
    stat just before the link is one the witness vouches for with the job's blake3;
    otherwise the storage reads and hashes it first, and refuses it if it changed.
    """

    def vouches(self, index: int, before: os.stat_result) -> bool:
        """True when *before* (the local file's stat just before the link) is a stamp
        under which the file was hashed to the job's blake3."""
        ...

    def linked(self, index: int, before: os.stat_result, after: os.stat_result) -> None:
        """The file was linked: a link moves its ctime (its link count changed) and nothing
        else, so what was keyed on the old ctime (the hash cache) can follow it instead of
        reading the file again."""
        ...


class CancelToken(Protocol):
    """Asks transfers to stop: checked before each job starts and between chunks.

    :class:`scisync.apply.cancel.Cancellation` is the one the applier passes; a
    ``threading.Event`` works too.  A cancelled transfer removes its temporary file and
    places nothing; the transfer call then raises :class:`scisync.errors.StorageError`.
    """

    def is_set(self) -> bool: ...


@dataclass(frozen=True, slots=True)  # one per file, by the million
class Checksum:
    """A checksum with its algorithm, e.g. ``Checksum("blake3", "af13...")``.

    ``algorithm`` is always normalised (see ``scisync._util.hashing.normalise_algorithm``):
    lower case, no dashes, so ``SHA-256`` and ``sha256`` compare equal.
    """

    algorithm: str
    value: str

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.value}"


@dataclass(frozen=True, slots=True)  # one per file, by the million
class RemoteStat:
    """What the storage knows about one file without reading it."""

    path: RemotePath
    size: int
    mtime: float
    is_symlink: bool = False


@dataclass(frozen=True, slots=True)  # one per file, by the million
class UploadJob:
    """Put ``local`` at ``remote``; ``blake3`` is the local content's digest."""

    local: Path
    remote: RemotePath
    size: int
    blake3: str


@dataclass(frozen=True, slots=True)  # one per file, by the million
class DownloadJob:
    """Fetch ``remote`` to ``local``, verifying ``expected`` checksums when given."""

    remote: RemotePath
    local: Path
    size: int | None
    expected: tuple[Checksum, ...] = ()
    within: Path | None = None  # the target folder: ``local`` must resolve inside it


class Storage(Protocol):
    """A file server holding dataset files.

    Implementations are thread-safe for the calls below and own their connections
    (pooled, reused across calls); :meth:`close` releases them.
    """

    def describe(self) -> str:
        """A short, secret-free description for plans and messages, e.g. ``sftp://host``."""
        ...

    def stat(self, path: RemotePath) -> RemoteStat | None:
        """The file's size and mtime, or None if there is no file at *path*."""
        ...

    def list_tree(self, folder: RemotePath) -> Mapping[RemotePath, RemoteStat]:
        """Every file below *folder* (recursively), in few round trips; {} if absent."""
        ...

    def remote_checksum(self, path: RemotePath, algorithm: str) -> str | None:
        """The file's checksum computed on the server, or None where it cannot be."""
        ...

    def upload(
        self,
        jobs: Sequence[UploadJob],
        progress: ProgressCallback | None = None,
        done: FileDoneCallback | None = None,
        *,
        cancel: CancelToken | None = None,
        links: LinkWitness | None = None,
    ) -> None:
        """Upload files in parallel: temporary name, then rename; size verified after.

        An existing remote file with the same size and checksum is skipped; one that
        differs raises :class:`scisync.errors.StorageError` (never overwritten).  Once
        *cancel* is set no job starts and running ones stop at their next chunk.
        """
        ...

    def download(
        self,
        jobs: Sequence[DownloadJob],
        progress: ProgressCallback | None = None,
        done: FileDoneCallback | None = None,
        *,
        cancel: CancelToken | None = None,
    ) -> None:
        """Download files in parallel: temporary file, verify, then rename into place.

        A checksum mismatch raises :class:`scisync.errors.ChecksumMismatch` and leaves
        no file behind.  *cancel* stops it as for :meth:`upload`.
        """
        ...

    def close(self) -> None:
        """Release connections.  Safe to call twice."""
        ...


DigestsCallback = Callable[[int, Mapping[str, str], os.stat_result], None]
"""Called with the index of a downloaded file, the digests computed while it was copied
(blake3 and the job's expected algorithms) and the placed file's ``lstat``, so that the
caller need not read the file again to hash it."""


@runtime_checkable
class ReportsDownloadDigests(Protocol):
    """A storage whose downloads can report the digests they computed (local storage)."""

    def download_reporting(
        self,
        jobs: Sequence[DownloadJob],
        progress: ProgressCallback | None = None,
        done: FileDoneCallback | None = None,
        *,
        cancel: CancelToken | None = None,
        digests: DigestsCallback | None = None,
    ) -> None:
        """:meth:`Storage.download`, calling *digests* for each file it placed."""
        ...


def done_by_job(
    jobs: Sequence[UploadJob] | Sequence[DownloadJob], done: FileDoneCallback | None
) -> Callable[[UploadJob | DownloadJob], None]:
    """A callback taking the job itself, for implementations that work job by job."""
    index = {id(job): i for i, job in enumerate(jobs)}

    def call(job: UploadJob | DownloadJob) -> None:
        if done is not None:
            done(index[id(job)])

    return call

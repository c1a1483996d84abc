"""A file server reached over SFTP, with fabric (so ~/.ssh/config, agents and ProxyJump work).

Safety: unknown host keys are refused unless the caller opts in (:mod:`scisync.storage.ssh`);
uploads go to a hidden temporary name, are checked, then renamed with SFTP's no-overwrite
rename (:mod:`.upload`); downloads land in a local temporary file, are hashed while streaming
and renamed only when they match (:mod:`.download`).
Speed: see :mod:`.stream`; several connections work in parallel, on different files or on
the blocks of one large file.
"""

from __future__ import annotations

import stat as stat_mod
from collections.abc import Mapping, Sequence
from pathlib import Path

from scisync._util.hashing import normalise_algorithm
from scisync._util.limits import SshLimits
from scisync.errors import StorageError
from scisync.storage._transfer import is_temp_name
from scisync.storage.base import (
    CancelToken,
    DownloadJob,
    FileDoneCallback,
    LinkWitness,
    ProgressCallback,
    RemotePath,
    RemoteStat,
    UploadJob,
)
from scisync.storage.roots import Roots
from scisync.storage.sftp.download import Downloader
from scisync.storage.sftp.hashing import RemoteHashing
from scisync.storage.sftp.server import Server
from scisync.storage.sftp.upload import Uploader
from scisync.storage.ssh import TRANSFER_ERRORS, is_missing


class SftpStorage:
    """Dataset files on an SFTP server (``sftp://user@host/path``).

    *host* may be an alias from ``~/.ssh/config`` (or *ssh_config_path*): HostName, Port,
    User, IdentityFile, ProxyJump and UserKnownHostsFile are honoured.  Keys come from the
    ssh-agent, the config's IdentityFile or ``~/.ssh/id_*``; no password is ever asked for.
    """

    def __init__(
        self,
        host: str,
        port: int | None = None,
        user: str | None = None,
        *,
        connections: int = 4,
        ssh_config_path: Path | None = None,
        known_hosts: Path | None = None,
        trust_unknown_hosts: bool = False,
        connect_timeout: float = 15,
        io_timeout: float = 120,
        verify_remote_checksum: bool = True,
        roots: Roots | None = None,
        limits: SshLimits | None = None,
    ) -> None:
        self.roots = roots  # every path read or written is checked (lexically) against them
        self._server = Server(
            host,
            port,
            user,
            connections=connections,
            ssh_config_path=ssh_config_path,
            known_hosts=known_hosts,
            trust_unknown_hosts=trust_unknown_hosts,
            connect_timeout=connect_timeout,
            io_timeout=io_timeout,
            limits=limits or SshLimits(),
        )
        self.verify_remote_checksum = verify_remote_checksum
        self._hashing = RemoteHashing(self._server)
        self._uploader = Uploader(self._server, self._hashing, verify=verify_remote_checksum)
        self._downloader = Downloader(self._server)

    @property
    def host(self) -> str:
        return self._server.host

    @property
    def connections(self) -> int:
        return self._server.connections

    def describe(self) -> str:
        return self._server.describe()

    def close(self) -> None:
        self._server.close()

    def __enter__(self) -> SftpStorage:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def server_has_shell(self) -> bool | None:
        """Whether commands run on the server (None until remote_checksum needed to know)."""
        return self._hashing.has_shell

    # -- reading the tree ------------------------------------------------------------

    def _check_read(self, path: RemotePath) -> None:
        if self.roots is not None:
            self.roots.check_read(path)

    def stat(self, path: RemotePath) -> RemoteStat | None:
        self._check_read(path.parent)
        with self._server.pool.lease() as session:
            try:
                attrs = session.sftp.lstat(str(path))
            except TRANSFER_ERRORS as exc:
                if is_missing(exc):
                    return None
                raise self._server.error(exc, "read file information", path) from exc
        mode = attrs.st_mode or 0
        if stat_mod.S_ISDIR(mode):
            raise StorageError(
                "expected a file but found a folder",
                where=self._server.where(path),
                hint="a dataset file path must name a file",
            )
        return RemoteStat(
            path=path,
            size=attrs.st_size or 0,
            mtime=float(attrs.st_mtime or 0),
            is_symlink=stat_mod.S_ISLNK(mode),
        )

    def list_tree(self, folder: RemotePath) -> Mapping[RemotePath, RemoteStat]:
        """One listdir round trip per folder; symlinks reported, not followed."""
        self._check_read(folder)
        found: dict[RemotePath, RemoteStat] = {}
        with self._server.pool.lease() as session:
            pending = [folder]
            while pending:
                current = pending.pop()
                try:
                    entries = session.sftp.listdir_attr(str(current))
                except TRANSFER_ERRORS as exc:
                    if is_missing(exc) and current == folder:
                        return {}
                    raise self._server.error(exc, "list folder", current) from exc
                for entry in entries:
                    path = current / entry.filename
                    mode = entry.st_mode or 0
                    if stat_mod.S_ISDIR(mode):
                        pending.append(path)
                    elif not is_temp_name(entry.filename):
                        found[path] = RemoteStat(
                            path=path,
                            size=entry.st_size or 0,
                            mtime=float(entry.st_mtime or 0),
                            is_symlink=stat_mod.S_ISLNK(mode),
                        )
        return dict(sorted(found.items()))

    # -- checksums, uploads, downloads -----------------------------------------------

    def remote_checksum(self, path: RemotePath, algorithm: str) -> str | None:
        """Run ``sha256sum``/``b3sum``/... on the server; None without a shell or the tool."""
        name = normalise_algorithm(algorithm)
        self._check_read(path)
        with self._server.pool.lease() as session:
            try:
                session.sftp.stat(str(path))
            except TRANSFER_ERRORS as exc:
                if is_missing(exc):
                    raise self._server.missing(path) from None
                raise self._server.error(exc, "read file information", path) from exc
            return self._hashing.checksum(session, path, name)

    def upload(
        self,
        jobs: Sequence[UploadJob],
        progress: ProgressCallback | None = None,
        done: FileDoneCallback | None = None,
        *,
        cancel: CancelToken | None = None,
        links: LinkWitness | None = None,
    ) -> None:
        """See :meth:`.upload.Uploader.upload` (*links* is never asked: SFTP copies)."""
        if self.roots is not None:
            for job in jobs:
                self.roots.check_write(job.remote)
        self._uploader.upload(jobs, progress, done, cancel=cancel)

    def download(
        self,
        jobs: Sequence[DownloadJob],
        progress: ProgressCallback | None = None,
        done: FileDoneCallback | None = None,
        *,
        cancel: CancelToken | None = None,
    ) -> None:
        for job in jobs:
            self._check_read(job.remote)
        self._downloader.download(jobs, progress, done, cancel=cancel)

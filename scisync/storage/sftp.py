"""A file server reached over SFTP, with fabric (so ~/.ssh/config, agents and ProxyJump work).

Safety: unknown host keys are refused unless the caller opts in; uploads go to a hidden
temporary name, are checked, then renamed with SFTP's no-overwrite rename; downloads land in
a local temporary file, are hashed while streaming and renamed only when they match.
Speed: see :mod:`scisync.storage.sftp_stream`; several connections work in parallel, on
different files or on the blocks of one large file.
"""

from __future__ import annotations

import errno
import os
import shlex
import stat as stat_mod
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, suppress
from pathlib import Path
from typing import Any, TypeVar

import paramiko
from fabric import Config, Connection

from scisync._util.hashing import StreamingHasher, normalise_algorithm
from scisync.errors import ChecksumMismatch, StorageError
from scisync.storage import sftp_stream
from scisync.storage._transfer import (
    copy_stream,
    download_algorithms,
    fsync_dir,
    is_temp_name,
    names_by_folder,
    place_without_overwrite,
    raise_errors,
    run_each,
    run_parallel,
    stale_temporaries,
    sweep_local_temporaries,
    temp_name,
    verify_download,
)
from scisync.storage.base import (
    DownloadJob,
    FileDoneCallback,
    ProgressCallback,
    RemotePath,
    RemoteStat,
    UploadJob,
    done_by_job,
)
from scisync.storage.local import local_copy_matches
from scisync.storage.sftp_stream import (
    WRITE_REQUEST_SIZE,
    FastSFTPClient,
    OrderedDownload,
)
from scisync.storage.ssh import (
    TRANSFER_ERRORS,
    Pool,
    RefuseUnknown,
    Session,
    TrustUnknown,
    UnknownHostKey,
    fast_transport,
    is_missing,
    responds,
)

SPLIT_THRESHOLD = 64 * 2**20
"""Downloads at least this large use every idle connection at once."""

_CHECKSUM_TOOLS = {
    "sha256": "sha256sum",
    "blake3": "b3sum",
    "blake2b": "b2sum",
    "md5": "md5sum",
    "sha1": "sha1sum",
}
_DIGEST_LENGTHS = {"sha256": 64, "blake3": 64, "blake2b": 128, "md5": 32, "sha1": 40}
_SHELL_PROBE = "echo scisync-shell-ok"
_MAX_COMMAND_CHARS = 32_000  # well below every server's ARG_MAX
_MAX_EXEC_OUTPUT = 16 * 2**20
_EXEC_TIMEOUT = 3600.0  # hashing a very large file on a slow server may take this long

T = TypeVar("T")


def _batches(items: Sequence[str], max_chars: int) -> Iterator[list[str]]:
    """Consecutive groups whose quoted lengths add up to at most *max_chars*."""
    batch: list[str] = []
    used = 0
    for item in items:
        cost = len(shlex.quote(item)) + 1
        if batch and used + cost > max_chars:
            yield batch
            batch, used = [], 0
        batch.append(item)
        used += cost
    if batch:
        yield batch


def _split(items: list[T], parts: int) -> list[list[T]]:
    """*items* in up to *parts* interleaved groups (one per connection)."""
    count = max(1, min(parts, len(items)))
    return [group for group in (items[i::count] for i in range(count)) if group]


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
    ) -> None:
        self.host = host
        self.port = port
        self.user = user
        self.connections = max(1, connections)
        self.ssh_config_path = ssh_config_path
        self.known_hosts = known_hosts
        self.trust_unknown_hosts = trust_unknown_hosts
        self.connect_timeout = connect_timeout
        self.io_timeout = io_timeout
        self.verify_remote_checksum = verify_remote_checksum
        self._pool = Pool(self.connections, self._connect)
        self._facts_lock = threading.Lock()
        self._has_shell: bool | None = None
        self._missing_tools: set[str] = set()
        self._known_dirs: set[str] = set()
        try:
            self._resolved = self._make_connection()  # resolves ssh config; not connected
        except Exception as exc:
            raise StorageError(
                f"cannot read the SSH configuration: {exc}",
                where=str(ssh_config_path or "~/.ssh/config"),
                hint="fix the ssh config file (check it with `ssh -G HOST`)",
            ) from exc

    # -- connecting ------------------------------------------------------------------

    def describe(self) -> str:
        user = self._resolved.user
        port = self._resolved.port
        suffix = f":{port}" if port and port != 22 else ""
        return f"sftp://{user}@{self.host}{suffix}" if user else f"sftp://{self.host}{suffix}"

    def _make_connection(self) -> Any:
        config = (
            Config(runtime_ssh_path=str(self.ssh_config_path))
            if self.ssh_config_path is not None
            else Config()
        )
        return Connection(
            self.host,
            user=self.user,
            port=self.port,
            config=config,
            connect_timeout=max(1, round(self.connect_timeout)),
            connect_kwargs={"transport_factory": fast_transport},
        )

    def _known_hosts_files(self, connection: Any) -> list[Path]:
        if self.known_hosts is not None:
            return [self.known_hosts]
        configured = connection.ssh_config.get("userknownhostsfile")
        names = configured.split() if configured else ["~/.ssh/known_hosts", "~/.ssh/known_hosts2"]
        return [Path(os.path.expanduser(n)) for n in names] + [Path("/etc/ssh/ssh_known_hosts")]

    def _secure(self, connection: Any) -> None:
        """Replace fabric's accept-anything host key policy, on the host and every jump host."""
        while isinstance(connection, Connection):
            client = connection.client
            client.set_missing_host_key_policy(
                TrustUnknown() if self.trust_unknown_hosts else RefuseUnknown()
            )
            for file in self._known_hosts_files(connection):
                if file.is_file():
                    client.load_system_host_keys(str(file))
            connection = connection.gateway

    def _connect(self) -> Session:
        connection = self._make_connection()
        self._secure(connection)
        where = self.describe()
        try:
            connection.open()
            transport = connection.client.get_transport()
            transport.set_keepalive(30)
            sftp = FastSFTPClient.open_on(transport)
            # A silent peer (network cut) raises socket.timeout instead of hanging forever.
            channel = sftp.get_channel()
            if channel is not None:
                channel.settimeout(self.io_timeout)
        except UnknownHostKey as exc:
            _close_quietly(connection)
            port = connection.port
            keyscan = (
                f"ssh-keyscan -p {port} {connection.host}"
                if port != 22
                else (f"ssh-keyscan {connection.host}")
            )
            raise StorageError(
                f"the SSH host key of {exc.hostname} is not known "
                f"({exc.key_type} {exc.fingerprint}); refusing to connect",
                where=where,
                hint=(
                    "check the fingerprint with the server's administrators, then trust it: "
                    f"run `ssh {self.host}` once and accept it, or `{keyscan} >> "
                    "~/.ssh/known_hosts` (or the manifest's storage.sftp.known_hosts file)"
                ),
            ) from None
        except paramiko.BadHostKeyException as exc:
            _close_quietly(connection)
            raise StorageError(
                f"the SSH host key of {exc.hostname} does not match known_hosts: the server "
                "was reinstalled, or someone is intercepting the connection",
                where=where,
                hint=f"ask the server's administrators; if the key really changed, run "
                f"`ssh-keygen -R {exc.hostname}` and connect again",
            ) from None
        except paramiko.AuthenticationException as exc:
            _close_quietly(connection)
            raise StorageError(
                f"SSH authentication failed for user {connection.user!r}: {exc}",
                where=where,
                hint="load your key into ssh-agent or set IdentityFile in ~/.ssh/config; "
                f"check with `ssh {self.host}`",
            ) from None
        except (OSError, EOFError, paramiko.SSHException) as exc:
            _close_quietly(connection)
            raise StorageError(
                f"cannot open an SFTP session to {connection.host}:{connection.port}: "
                f"{exc or type(exc).__name__}",
                where=where,
                hint=f"check the host name, port and network; try `sftp {self.host}`",
            ) from None
        return Session(connection=connection, sftp=sftp)

    def close(self) -> None:
        self._pool.close()

    def __enter__(self) -> SftpStorage:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def server_has_shell(self) -> bool | None:
        """Whether commands run on the server (None until remote_checksum needed to know)."""
        with self._facts_lock:
            return self._has_shell

    # -- reading the tree ------------------------------------------------------------

    def stat(self, path: RemotePath) -> RemoteStat | None:
        with self._pool.lease() as session:
            try:
                attrs = session.sftp.lstat(str(path))
            except TRANSFER_ERRORS as exc:
                if is_missing(exc):
                    return None
                raise self._error(exc, "read file information", path) from exc
        mode = attrs.st_mode or 0
        if stat_mod.S_ISDIR(mode):
            raise StorageError(
                "expected a file but found a folder",
                where=self._where(path),
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
        found: dict[RemotePath, RemoteStat] = {}
        with self._pool.lease() as session:
            pending = [folder]
            while pending:
                current = pending.pop()
                try:
                    entries = session.sftp.listdir_attr(str(current))
                except TRANSFER_ERRORS as exc:
                    if is_missing(exc) and current == folder:
                        return {}
                    raise self._error(exc, "list folder", current) from exc
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

    # -- checksums on the server -----------------------------------------------------

    def remote_checksum(self, path: RemotePath, algorithm: str) -> str | None:
        """Run ``sha256sum``/``b3sum``/... on the server; None without a shell or the tool."""
        name = normalise_algorithm(algorithm)
        with self._pool.lease() as session:
            try:
                session.sftp.stat(str(path))
            except TRANSFER_ERRORS as exc:
                if is_missing(exc):
                    raise StorageError(
                        "file not found on the server",
                        where=self._where(path),
                        hint="the dataset's files may have been moved or deleted",
                    ) from None
                raise self._error(exc, "read file information", path) from exc
            return self._checksum_via_shell(session, path, name)

    def _checksum_via_shell(self, session: Session, path: RemotePath, name: str) -> str | None:
        return self._checksums_via_shell(session, [str(path)], name).get(str(path))

    def _checksums_via_shell(
        self, session: Session, paths: Sequence[str], name: str
    ) -> dict[str, str]:
        """Digests of many files with one command per batch (starting a command is slow).

        Files the server could not hash are missing from the result.
        """
        tool = _CHECKSUM_TOOLS[name]
        found: dict[str, str] = {}
        for batch in _batches(paths, _MAX_COMMAND_CHARS):
            with self._facts_lock:
                if self._has_shell is False or tool in self._missing_tools:
                    return found
                probe = self._has_shell is None
            command = f"{tool} -- " + " ".join(shlex.quote(p) for p in batch)
            if probe:
                # Learn whether commands run at all in the same round trip (exec is slow).
                command = f"{_SHELL_PROBE}; {command}"
            status, out = self._exec(session, command)
            if probe:
                marker, _, out = out.partition("\n")
                has_shell = marker == "scisync-shell-ok"
                with self._facts_lock:
                    self._has_shell = has_shell
                if not has_shell:
                    return found
            if status == 127:
                with self._facts_lock:
                    self._missing_tools.add(tool)
                return found
            lines = out.splitlines()
            if len(lines) != len(batch):
                continue  # some file failed (vanished?): trust none of this batch's lines
            for path, line in zip(batch, lines, strict=True):
                digest = line.split(maxsplit=1)[0].lstrip("\\").lower() if line else ""
                if len(digest) == _DIGEST_LENGTHS[name] and all(
                    c in "0123456789abcdef" for c in digest
                ):
                    found[path] = digest
        return found

    def _exec(self, session: Session, command: str) -> tuple[int, str]:
        """Run *command* over an exec channel; (-1, "") if the server will not run it.

        Under ``ForceCommand internal-sftp`` the command is replaced by an SFTP server
        waiting on stdin, so stdin is closed at once and the probe's echo never appears.
        """
        try:
            channel = session.transport.open_session(timeout=self.connect_timeout)
        except TRANSFER_ERRORS:
            return -1, ""
        try:
            channel.settimeout(_EXEC_TIMEOUT)
            channel.exec_command(command)
            channel.shutdown_write()
            chunks: list[bytes] = []
            received = 0
            while data := channel.recv(65536):
                chunks.append(data)
                received += len(data)
                if received > _MAX_EXEC_OUTPUT:
                    return -1, ""
            status = channel.recv_exit_status()
            return status, b"".join(chunks).decode("utf-8", "replace")
        except TRANSFER_ERRORS:
            return -1, ""
        finally:
            channel.close()

    def _remote_blake3(self, paths: Sequence[tuple[RemotePath, int]]) -> dict[str, str]:
        """blake3 of remote files: b3sum on the server if possible, else streamed here."""
        groups = _split(list(paths), self.connections)

        def by_shell(
            group: list[tuple[RemotePath, int]], _abort: threading.Event
        ) -> dict[str, str]:
            with self._pool.lease() as session:
                return self._checksums_via_shell(session, [str(p) for p, _ in group], "blake3")

        found: dict[str, str] = {}
        for outcome in run_each(by_shell, groups, self.connections):
            if isinstance(outcome, StorageError):
                raise outcome
            found.update(outcome)
        rest = [(p, size) for p, size in paths if str(p) not in found]

        def by_stream(item: tuple[RemotePath, int], abort: threading.Event) -> tuple[str, str]:
            path, size = item
            hasher = StreamingHasher(["blake3"], size_hint=size)
            with self._pool.lease() as session:
                try:
                    with session.sftp.open(str(path), "rb") as remote:
                        session.sftp.read_pipelined(remote.handle, size, hasher.update, abort)
                except TRANSFER_ERRORS as exc:
                    raise self._error(exc, "read", path) from exc
            return str(path), hasher.hexdigests()["blake3"]

        for streamed in run_each(by_stream, rest, self.connections):
            if isinstance(streamed, StorageError):
                raise streamed
            found[streamed[0]] = streamed[1]
        return found

    # -- uploads ---------------------------------------------------------------------

    def upload(
        self,
        jobs: Sequence[UploadJob],
        progress: ProgressCallback | None = None,
        done: FileDoneCallback | None = None,
    ) -> None:
        """Upload in phases so that slow per-command costs are paid per batch, not per file.

        1. lstat every target (parallel): absent, or present with the same size, or a conflict;
        2. blake3 of same-size present files (one b3sum per batch, else streamed): equal is
           skipped, different is refused;
        3. send the others to temporary names (parallel, pipelined, hashed while read);
        4. verify the temporaries' blake3 on the server (batched; skipped without a shell);
        5. rename each into place with SFTP's no-overwrite rename.
        Temporaries not renamed are removed whatever happens, including interruptions.
        """
        errors: list[StorageError] = []
        workers = self.connections
        finished = done_by_job(jobs, done)
        self._sweep_stale_temporaries(jobs)

        def probe(job: UploadJob, _abort: threading.Event) -> bool:
            with self._pool.lease() as session:
                try:
                    return self._present_same_size(session, job)
                except TRANSFER_ERRORS as exc:
                    raise self._error(exc, "prepare upload to", job.remote) from exc

        present: list[UploadJob] = []
        absent: list[UploadJob] = []
        for job, outcome in zip(jobs, run_each(probe, jobs, workers), strict=True):
            if isinstance(outcome, StorageError):
                errors.append(outcome)
            else:
                (present if outcome else absent).append(job)

        if present:
            remote = self._remote_blake3([(j.remote, j.size) for j in present])
            for job in present:
                if remote.get(str(job.remote)) == job.blake3:
                    if progress is not None:
                        progress(job.size)
                    finished(job)
                else:
                    errors.append(self._differs(job.remote))

        pending: dict[UploadJob, str] = {}  # job -> temporary path on the server
        pending_lock = threading.Lock()
        try:
            on_server: dict[str, str] = {}

            def send(job: UploadJob, abort: threading.Event) -> None:
                with self._pool.lease() as session:
                    tmp = self._send(session, job, progress, abort)
                    if self.verify_remote_checksum and job.size >= SPLIT_THRESHOLD:
                        # Check a large file now, while other workers still send.
                        found = self._checksums_via_shell(session, [tmp], "blake3")
                        with pending_lock:
                            on_server.update(found)
                with pending_lock:
                    pending[job] = tmp
                finished(job)  # its bytes are on the server (renamed into place below)

            outcomes = run_each(send, absent, workers)
            errors.extend(o for o in outcomes if isinstance(o, StorageError))

            if self.verify_remote_checksum and pending:
                sent = list(pending.items())
                unchecked = [tmp for job, tmp in sent if job.size < SPLIT_THRESHOLD]
                groups = _split(unchecked, workers) if unchecked else []

                def verify(group: list[str], _abort: threading.Event) -> dict[str, str]:
                    with self._pool.lease() as session:
                        return self._checksums_via_shell(session, group, "blake3")

                for found in run_each(verify, groups, workers):
                    if isinstance(found, StorageError):
                        raise found
                    on_server.update(found)
                for job, tmp in sent:
                    if tmp in on_server and on_server[tmp] != job.blake3:
                        errors.append(
                            ChecksumMismatch(
                                "the uploaded copy's blake3 differs from the local file",
                                where=self._where(job.remote),
                                hint="the transfer was corrupted; re-run to upload again",
                            )
                        )
                        del pending[job]
                        self._remove_paths([tmp])

            def rename(job: UploadJob, _abort: threading.Event) -> None:
                with self._pool.lease() as session:
                    try:
                        self._rename_into_place(session, pending[job], job)
                    except TRANSFER_ERRORS as exc:
                        raise self._error(exc, "upload", job.remote) from exc
                with pending_lock:
                    del pending[job]

            outcomes = run_each(rename, list(pending), workers)
            errors.extend(o for o in outcomes if isinstance(o, StorageError))
        finally:
            if pending:
                self._remove_paths(list(pending.values()))
        raise_errors(errors)

    def _sweep_stale_temporaries(self, jobs: Sequence[UploadJob]) -> None:
        """Remove temporaries a killed upload left for these files (one listing per folder)."""
        with self._pool.lease() as session:
            for folder, names in names_by_folder(job.remote for job in jobs).items():
                try:
                    listing = session.sftp.listdir(str(folder))
                except TRANSFER_ERRORS as exc:
                    if is_missing(exc):
                        continue
                    raise self._error(exc, "list folder", folder) from exc
                for name in stale_temporaries(listing, names):
                    try:
                        session.sftp.remove(str(folder / name))
                    except TRANSFER_ERRORS as exc:
                        if not is_missing(exc):
                            raise self._error(exc, "remove stale temporary", folder / name) from exc

    def _present_same_size(self, session: Session, job: UploadJob) -> bool:
        """False if nothing is at the target; True if a file of the same size is; else error."""
        try:
            attrs = session.sftp.lstat(str(job.remote))
        except TRANSFER_ERRORS as exc:
            if is_missing(exc):
                return False
            raise
        if not stat_mod.S_ISREG(attrs.st_mode or 0):
            raise StorageError(
                "something other than a regular file is in the way",
                where=self._where(job.remote),
                hint="move it away on the server and re-run",
            )
        if attrs.st_size != job.size:
            raise self._differs(job.remote)
        return True

    def _differs(self, path: RemotePath) -> StorageError:
        return StorageError(
            "a different file already exists on the server",
            where=self._where(path),
            hint="scisync never overwrites a file that differs; move it away and re-run",
        )

    def _send(
        self,
        session: Session,
        job: UploadJob,
        progress: ProgressCallback | None,
        abort: threading.Event,
    ) -> str:
        """Write the file to a temporary name beside its target; return that name."""
        sftp = session.sftp
        tmp = str(job.remote.parent / temp_name(job.remote.name))
        created = False
        try:
            self._makedirs(session, job.remote.parent)
            hasher = StreamingHasher(["blake3"], size_hint=job.size)
            with job.local.open("rb") as source:
                remote = sftp.open(tmp, "wbx")
                created = True
                with remote:
                    remote.MAX_REQUEST_SIZE = WRITE_REQUEST_SIZE
                    remote.set_pipelined(True)
                    # One connection per file: splitting an upload over several measured
                    # slower (about 2x for a lone 256 MiB file), unlike downloads.
                    size = copy_stream(
                        source, remote.write, hasher, progress, abort, 4 * WRITE_REQUEST_SIZE
                    )
                if os.fstat(source.fileno()).st_size != size:
                    size = -1  # the local file grew or shrank meanwhile
            if size != job.size or hasher.hexdigests()["blake3"] != job.blake3:
                raise StorageError(
                    "the local file changed since it was hashed",
                    where=str(job.local),
                    hint="re-run plan so the new content is checksummed, then apply",
                )
            written = sftp.stat(tmp).st_size
            if written != size:
                raise StorageError(
                    f"the server stored {written} bytes of {size}",
                    where=self._where(job.remote),
                    hint="the server's disk may be full or a quota reached; re-run to retry",
                )
            created = False
            return tmp
        except TRANSFER_ERRORS as exc:
            raise self._error(exc, "upload", job.remote) from exc
        finally:
            if created:
                self._remove_quietly(session, tmp)

    def _rename_into_place(self, session: Session, tmp: str, job: UploadJob) -> None:
        """SFTP rename refuses to replace an existing file (OpenSSH uses link()).

        If it fails because a file appeared meanwhile, an identical one is accepted and a
        different one refused.  Only if it failed with nothing in the way (a server whose
        rename is unusual) is ``posix-rename`` tried.
        """
        sftp = session.sftp
        final = str(job.remote)
        try:
            sftp.rename(tmp, final)
            return
        except OSError:
            pass
        try:
            sftp.lstat(final)
        except TRANSFER_ERRORS as exc:
            if not is_missing(exc):
                raise
            sftp.posix_rename(tmp, final)
            return
        self._remove_quietly(session, tmp)
        if not self._present_same_size(session, job) or (
            self._remote_blake3([(job.remote, job.size)]).get(final) != job.blake3
        ):
            raise self._differs(job.remote)

    def _makedirs(self, session: Session, folder: RemotePath) -> None:
        with self._facts_lock:
            if str(folder) in self._known_dirs:
                return
        missing: list[RemotePath] = []
        current = folder
        while True:
            try:
                attrs = session.sftp.stat(str(current))
            except TRANSFER_ERRORS as exc:
                if not is_missing(exc) or current == current.parent:
                    raise
                missing.append(current)
                current = current.parent
                continue
            if not stat_mod.S_ISDIR(attrs.st_mode or 0):
                raise StorageError(
                    "a file is in the way of a folder",
                    where=self._where(current),
                    hint="move the file away on the server and re-run",
                )
            break
        for path in reversed(missing):
            try:
                session.sftp.mkdir(str(path))
            except OSError:
                # Another worker may have created it a moment ago; anything else shows below.
                attrs = session.sftp.stat(str(path))
                if not stat_mod.S_ISDIR(attrs.st_mode or 0):
                    raise
        with self._facts_lock:
            self._known_dirs.add(str(folder))

    def _remove_paths(self, paths: Sequence[str]) -> None:
        """Best-effort removal of temporaries, on a pooled or else a fresh connection."""
        try:
            with self._pool.lease() as session:
                for path in paths:
                    self._remove_quietly(session, path)
        except Exception:
            for path in paths:
                with suppress(Exception):
                    fresh = self._connect()
                    try:
                        fresh.sftp.remove(path)
                    finally:
                        fresh.close()

    def _remove_quietly(self, session: Session, path: str) -> None:
        """Best effort: on a dead connection, use a fresh one so no temp file remains."""
        try:
            session.sftp.remove(path)
            return
        except TRANSFER_ERRORS as exc:
            if is_missing(exc) or responds(session):
                return
        with suppress(Exception):
            fresh = self._connect()
            try:
                fresh.sftp.remove(path)
            finally:
                fresh.close()

    # -- downloads -------------------------------------------------------------------

    def download(
        self,
        jobs: Sequence[DownloadJob],
        progress: ProgressCallback | None = None,
        done: FileDoneCallback | None = None,
    ) -> None:
        finished = done_by_job(jobs, done)

        def work(job: DownloadJob, abort: threading.Event) -> None:
            if local_copy_matches(job):
                if progress is not None and job.size is not None:
                    progress(job.size)
                finished(job)
                return
            with self._pool.lease() as session:
                self._download_one(session, job, progress, abort)
            finished(job)

        sweep_local_temporaries(job.local for job in jobs)
        run_parallel(work, jobs, self.connections)

    def _download_one(
        self,
        session: Session,
        job: DownloadJob,
        progress: ProgressCallback | None,
        abort: threading.Event,
    ) -> None:
        target = job.local
        try:
            attrs = session.sftp.stat(str(job.remote))
        except TRANSFER_ERRORS as exc:
            if is_missing(exc):
                raise StorageError(
                    "file not found on the server",
                    where=self._where(job.remote),
                    hint="the dataset's files may have been moved or deleted",
                ) from None
            raise self._error(exc, "read file information", job.remote) from exc
        size = attrs.st_size or 0
        if job.size is not None and size != job.size:
            raise ChecksumMismatch(
                f"the file on the server has {size} bytes, {job.size} were expected",
                where=self._where(job.remote),
                hint="the file changed on the server; no local file was written",
            )
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(
                f"cannot create folder: {exc.strerror or exc}",
                where=str(target.parent),
                hint="check that the download folder is writable",
            ) from exc
        tmp = target.parent / temp_name(target.name)
        try:
            hasher = StreamingHasher(download_algorithms(job), size_hint=size)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            with os.fdopen(fd, "wb") as sink:

                def consume(data: memoryview) -> None:
                    hasher.update(data)
                    sink.write(data)
                    if progress is not None:
                        progress(len(data))

                received = self._fetch(session, job.remote, size, consume, abort)
                sink.flush()
                os.fsync(sink.fileno())
            digests = hasher.hexdigests()
            verify_download(job, digests, received)
            place_without_overwrite(tmp, target, digests["blake3"])
            fsync_dir(target.parent)
        except TRANSFER_ERRORS as exc:
            raise self._error(exc, "download", job.remote) from exc
        finally:
            tmp.unlink(missing_ok=True)

    def _idle_sessions(self, stack: ExitStack, size: int) -> list[Session]:
        """Sessions nobody is using right now (for one large file), returned via *stack*."""
        found: list[Session] = []
        for _ in range(min(self.connections, size // sftp_stream.SPLIT_BLOCK) - 1):
            extra = stack.enter_context(self._pool.lease_if_free())
            if extra is None:
                break
            found.append(extra)
        return found

    def _fetch(
        self,
        session: Session,
        remote: RemotePath,
        size: int,
        consume: Callable[[memoryview], None],
        abort: threading.Event,
    ) -> int:
        """Stream *remote* to *consume* in order; large files also use idle connections.

        On two cores two connections downloaded a large file about a third faster than
        one (bench notes in the report), because paramiko's per-connection work then
        runs in parallel.  Blocks are fetched by whichever connection is free but handed
        to *consume* strictly in order, so hashing still happens while streaming and
        memory stays at most one block per connection.
        """
        if size < SPLIT_THRESHOLD or self.connections == 1:
            with session.sftp.open(str(remote), "rb") as handle:
                return session.sftp.read_pipelined(handle.handle, size, consume, abort)
        with ExitStack() as stack:
            sessions = [session, *self._idle_sessions(stack, size)]
            if len(sessions) == 1:
                with session.sftp.open(str(remote), "rb") as handle:
                    return session.sftp.read_pipelined(handle.handle, size, consume, abort)
            fetcher = OrderedDownload(remote, size, consume, abort)
            return fetcher.run([s.sftp for s in sessions])

    # -- messages --------------------------------------------------------------------

    def _where(self, path: RemotePath | str) -> str:
        return f"{self.describe()}{path}"

    def _error(self, exc: BaseException, action: str, path: RemotePath | str) -> StorageError:
        if isinstance(exc, StorageError):
            return exc
        if isinstance(exc, PermissionError) or (
            isinstance(exc, OSError) and exc.errno == errno.EACCES
        ):
            return StorageError(
                f"cannot {action}: permission denied",
                where=self._where(path),
                hint="check that your user may write there (ask the server's administrators)",
            )
        detail = str(exc) or type(exc).__name__
        return StorageError(
            f"cannot {action}: {detail}",
            where=self._where(path),
            hint="re-run to retry; finished files are kept and no partial file is left",
        )


def _close_quietly(connection: Any) -> None:
    with suppress(Exception):
        connection.close()

"""Many files' SFTP requests in flight on one connection, instead of one round trip after another.

paramiko's SFTPClient waits for each reply before it sends the next request, so a small file
costs four or five round trips through ssh, sshd and sftp-server, and most of the time is
spent waiting.  Here each file's work is a *step generator*: it yields a batch of requests
(``open``; then ``write``s, ``fstat`` and ``close`` together; then ``rename``) and receives
their replies when all have arrived.  :func:`run_steps` keeps up to ``MAX_FILES`` files and
``MAX_BYTES`` of request payload in flight on one connection, reads replies as they come and
resumes whichever file they belong to.  A step generator that raises fails only its own
file; a broken connection fails the files in flight on it, and the rest continue on a fresh
connection (:func:`spread`).

OpenSSH's sftp-server handles a connection's requests strictly in order, so a batch such as
``write, write, fstat, close`` behaves exactly as if it were sent one by one.
"""

from __future__ import annotations

import errno
import struct
import threading
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import paramiko
from paramiko.sftp import (
    CMD_ATTRS,
    CMD_DATA,
    CMD_HANDLE,
    CMD_STATUS,
    SFTP_EOF,
    SFTP_NO_SUCH_FILE,
    SFTP_OK,
    SFTP_PERMISSION_DENIED,
    int64,
)

from scisync.errors import StorageError
from scisync.storage._transfer import cancelled
from scisync.storage.base import CancelToken
from scisync.storage.sftp.stream import FastSFTPClient
from scisync.storage.ssh import TRANSFER_ERRORS

MAX_FILES = 64
"""Files in flight per connection: enough to hide the round trips, few open handles."""

MAX_BYTES = 4 * 2**20
"""Request payload (write data) in flight per connection: bounds memory whatever the files."""

FLUSH_BYTES = 2**18
"""Queued request bytes sent without waiting for the replies already in to be handled."""

_MAX_REPLY = 2**24  # paramiko's own sanity limit for one SFTP message

Job = TypeVar("Job")
Result = TypeVar("Result")


@dataclass(frozen=True)
class Request:
    """One SFTP request: its type (``CMD_*``) and arguments as paramiko packs them."""

    kind: int
    args: tuple[Any, ...]
    payload: int = 0  # bytes of file data it carries (counted against MAX_BYTES)


@dataclass(frozen=True)
class Reply:
    """One SFTP reply: its type and the message body after the request id."""

    kind: int
    body: memoryview

    def check(self) -> None:
        """Raise the OSError (or EOFError) a failure status stands for, as paramiko does."""
        if self.kind != CMD_STATUS:
            raise paramiko.SFTPError(f"unexpected SFTP reply type {self.kind}")
        message = paramiko.Message(bytes(self.body))
        code = message.get_int()
        text = message.get_text()
        if code == SFTP_OK:
            return
        if code == SFTP_EOF:
            raise EOFError(text)
        if code == SFTP_NO_SUCH_FILE:
            raise FileNotFoundError(errno.ENOENT, text)
        if code == SFTP_PERMISSION_DENIED:
            raise PermissionError(errno.EACCES, text)
        raise OSError(text)

    def handle(self) -> bytes:
        if self.kind != CMD_HANDLE:
            self.check()
        (length,) = struct.unpack_from(">I", self.body, 0)
        return bytes(self.body[4 : 4 + length])

    def attrs(self) -> paramiko.SFTPAttributes:
        if self.kind != CMD_ATTRS:
            self.check()
        internals: Any = paramiko.SFTPAttributes
        return internals._from_msg(paramiko.Message(bytes(self.body)))  # type: ignore[no-any-return]

    def data(self) -> memoryview:
        """The bytes of a read reply (empty at end of file)."""
        if self.kind == CMD_STATUS:
            try:
                self.check()
            except EOFError:
                return memoryview(b"")
        if self.kind != CMD_DATA:
            raise paramiko.SFTPError("the server answered a read with something else")
        (length,) = struct.unpack_from(">I", self.body, 0)
        return self.body[4 : 4 + length]


Steps = Generator[Sequence[Request], Sequence[Reply], Result]
"""A file's work: yields request batches, receives their replies, returns its result."""


def then(steps: Steps[Result], after: Callable[[], None]) -> Steps[Result]:
    """*steps*, then *after()* once they succeeded (reports a file done as it finishes)."""
    result = yield from steps
    after()
    return result


@dataclass
class _Running(Generic[Result]):
    index: int
    steps: Steps[Result]
    replies: list[Reply | None] = field(default_factory=list)
    missing: int = 0
    payload: int = 0


class _Feed(Generic[Job]):
    """The jobs not started yet, shared by every connection's worker."""

    def __init__(self, jobs: Sequence[Job]) -> None:
        self._jobs = jobs
        self._next = 0
        self._lock = threading.Lock()

    def left(self) -> bool:
        """Whether a job is still to be started."""
        with self._lock:
            return self._next < len(self._jobs)

    def take(self) -> int | None:
        with self._lock:
            if self._next >= len(self._jobs):
                return None
            self._next += 1
            return self._next - 1


class _Connection(Generic[Result]):
    """The requests in flight on one SFTP channel and the files they belong to."""

    def __init__(self, client: FastSFTPClient, outcomes: list[Result | BaseException]) -> None:
        self.client = client
        self.internals: Any = client  # paramiko's stubs omit the private request API
        self.outcomes = outcomes
        self.waiting: dict[int, tuple[_Running[Result], int]] = {}
        self.running: dict[int, _Running[Result]] = {}  # by job index
        self.payload = 0
        self.outgoing: list[bytes] = []  # encoded requests not sent yet
        self.outgoing_size = 0

    @property
    def files(self) -> int:
        return len(self.running)

    def start(self, task: _Running[Result]) -> None:
        self.running[task.index] = task
        self.advance(task, None)

    def advance(self, task: _Running[Result], replies: Sequence[Reply] | None) -> None:
        """Resume *task* with *replies* and send its next batch (or record its end)."""
        try:
            batch = task.steps.send(replies)  # type: ignore[arg-type]
        except StopIteration as stop:
            self._finish(task, stop.value)
            return
        except Exception as exc:  # the file's own failure, named by its step generator
            self._finish(task, exc)
            return
        if not batch:
            raise ValueError("a step generator yielded no request")  # a bug: never waits
        task.replies = [None] * len(batch)
        task.missing = len(batch)
        for slot, request in enumerate(batch):
            self.waiting[self._queue(request)] = (task, slot)
            task.payload += request.payload
            self.payload += request.payload

    def _queue(self, request: Request) -> int:
        """Encode *request* (numbered as paramiko would) into the outgoing buffer."""
        with self.internals._lock:
            num: int = self.internals.request_number
            self.internals.request_number += 1
        message = paramiko.Message()
        message.add_int(num)
        args = request.args
        data = args[-1] if request.payload and isinstance(args[-1], bytes) else None
        if data is not None:
            args = args[:-1]  # a write's data is queued as it is: no copy into the message
        for item in args:
            if isinstance(item, int64):
                message.add_int64(item)
            elif isinstance(item, int):
                message.add_int(item)
            elif isinstance(item, paramiko.SFTPAttributes):
                internals: Any = item
                internals._pack(message)
            else:
                message.add_string(item)
        body = message.asbytes()
        length = len(body) + (4 + len(data) if data is not None else 0)
        self.outgoing.append(struct.pack(">IB", length + 1, request.kind) + body)
        if data is not None:
            self.outgoing.append(struct.pack(">I", len(data)))
            self.outgoing.append(data)
        self.outgoing_size += length + 5
        return num

    def flush(self) -> None:
        """Send the queued requests at once: many SFTP messages share an SSH packet, so
        ssh, sshd and sftp-server wake up once per batch rather than once per request."""
        if self.outgoing:
            data = b"".join(self.outgoing)
            self.outgoing.clear()
            self.outgoing_size = 0
            self.internals._write_all(data)

    def must_flush(self) -> bool:
        """Before blocking for a reply, or once enough is queued to keep the server busy."""
        if not self.outgoing:
            return False
        channel = self.client.get_channel()
        return self.outgoing_size >= FLUSH_BYTES or channel is None or not channel.recv_ready()

    def _finish(self, task: _Running[Result], outcome: Result | BaseException) -> None:
        self.outcomes[task.index] = outcome
        del self.running[task.index]

    def receive(self) -> None:
        """Read one reply; resume its file once its whole batch is answered."""
        (length,) = struct.unpack(">I", self.internals._read_all(4))
        if length > _MAX_REPLY or length < 5:
            raise paramiko.SFTPError("garbage packet received")
        body = memoryview(self.internals._read_all(length))
        kind = body[0]
        (num,) = struct.unpack_from(">I", body, 1)
        with self.internals._lock:
            self.internals._expecting.pop(num, None)
        entry = self.waiting.pop(num, None)
        if entry is None:
            return  # e.g. the close of a file object paramiko collected meanwhile
        task, slot = entry
        task.replies[slot] = Reply(kind, body[5:])
        task.missing -= 1
        if task.missing == 0:
            self.payload -= task.payload
            task.payload = 0
            self.advance(task, [r for r in task.replies if r is not None])

    def abandon(self) -> list[_Running[Result]]:
        """The files in flight when the connection broke (their generators are closed)."""
        tasks = list(self.running.values())
        for task in tasks:
            task.steps.close()
        self.waiting.clear()
        self.running.clear()
        return tasks


def run_steps(
    client: FastSFTPClient,
    feed: _Feed[Job],
    jobs: Sequence[Job],
    make_steps: Callable[[Job], Steps[Result]],
    outcomes: list[Result | BaseException],
    abort: threading.Event,
) -> None:
    """Run jobs taken from *feed* on *client*, up to MAX_FILES / MAX_BYTES in flight.

    Each job's result or exception lands in *outcomes*.  A broken connection raises (after
    recording it as the outcome of every file that was in flight).
    """
    connection: _Connection[Result] = _Connection(client, outcomes)
    exhausted = False
    try:
        while True:
            while (
                not exhausted
                and connection.files < MAX_FILES
                and connection.payload < MAX_BYTES
                and not abort.is_set()
            ):
                index = feed.take()
                if index is None:
                    exhausted = True
                    break
                connection.start(_Running(index, make_steps(jobs[index])))
            if not connection.waiting:
                if exhausted or abort.is_set():
                    return
                continue
            if connection.must_flush():
                connection.flush()
            connection.receive()
    except TRANSFER_ERRORS as exc:
        for task in connection.abandon():
            outcomes[task.index] = exc
        raise


class Abort(threading.Event):
    """Set on an interruption, or when the caller's *cancel* token is: no new file starts."""

    def __init__(self, cancel: CancelToken | None) -> None:
        super().__init__()
        self._cancel = cancel

    def is_set(self) -> bool:
        return super().is_set() or (self._cancel is not None and self._cancel.is_set())


def spread(
    lease: Callable[[], Any],
    workers: int,
    jobs: Sequence[Job],
    make_steps: Callable[[Job], Steps[Result]],
    abort: threading.Event,
) -> list[Result | BaseException]:
    """Run every job's steps over up to *workers* pooled connections at once.

    *lease* is the pool's ``lease`` (a context manager giving a session).  When a connection
    breaks, the files in flight on it fail with that error and its worker goes on with a
    fresh session; jobs never started because of *abort* fail as cancelled.  An unexpected
    exception (a bug) is re-raised here once every worker has stopped.
    """
    outcomes: list[Result | BaseException] = [cancelled()] * len(jobs)
    if not jobs:
        return outcomes
    feed: _Feed[Job] = _Feed(jobs)
    unexpected: list[BaseException] = []

    def worker() -> None:
        try:
            # No session is opened (nor re-opened after a break) once no job is left to
            # start: a reconnection through a stalled link would only delay the error.
            while not abort.is_set() and feed.left():
                try:
                    with lease() as session:
                        run_steps(session.sftp, feed, jobs, make_steps, outcomes, abort)
                    return
                except TRANSFER_ERRORS:
                    continue  # the files in flight are failed; the rest go on a new session
        except StorageError as exc:  # cannot connect: every job not started fails so
            while (index := feed.take()) is not None:
                outcomes[index] = exc
        except BaseException as exc:
            unexpected.append(exc)
            abort.set()

    threads = [
        threading.Thread(target=worker, name="scisync-pipe", daemon=True)
        for _ in range(max(1, min(workers, len(jobs))))
    ]
    for thread in threads:
        thread.start()
    try:
        for thread in threads:
            thread.join()
    except BaseException:
        abort.set()  # Ctrl-C: the files in flight finish, no new one starts
        for thread in threads:
            thread.join()
        raise
    if unexpected:
        raise unexpected[0]
    return outcomes

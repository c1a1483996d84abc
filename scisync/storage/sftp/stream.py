"""Fast, memory-bounded SFTP streaming on top of paramiko.

paramiko is pure Python, so every SSH packet and SFTP message costs interpreter time.  This
module asks for large SFTP requests (fewer messages), a channel window and packets as large
as OpenSSH allows (fewer packets), keeps a bounded number of reads in flight, and can
download one large file over several connections while still handing its bytes on strictly
in order (so it is hashed as it streams, without a second read).  Memory per connection is
bounded by the window plus one block, whatever the file size.
"""

from __future__ import annotations

import struct
import threading
import time
from collections import deque
from collections.abc import Callable
from contextlib import suppress
from typing import Any

import paramiko
from paramiko.buffered_pipe import PipeTimeout
from paramiko.sftp import CMD_DATA, CMD_READ, CMD_STATUS, int64

from scisync._util.limits import SshLimits
from scisync.errors import StorageError
from scisync.storage.base import RemotePath
from scisync.storage.sftp.stall import WATCHDOG, StallWatch, transport_bytes

WINDOW_SIZE = 2**24
"""SSH channel window we grant the server: bounds in-flight download bytes per connection."""

MAX_PACKET_SIZE = 2**18
"""Largest SSH packet we accept: OpenSSH's own limit, so one SFTP read reply is one packet."""

READ_REQUEST_SIZE = 255 * 1024
"""Bytes per SFTP read request: OpenSSH's sftp-server serves at most 255 KiB per read."""

WRITE_REQUEST_SIZE = 255 * 1024
"""Bytes per SFTP write request (sftp-server accepts messages up to 256 KiB)."""

PREFETCH_REQUESTS = max(4, WINDOW_SIZE // READ_REQUEST_SIZE)
"""Read requests kept in flight per download: enough to fill the window, no more."""

_MAX_REPLY = 2**24  # paramiko's own sanity limit for one SFTP message

SPLIT_BLOCK = 8 * 2**20
"""Unit of work when one file is split over connections: at most one block in memory each."""

SPLIT_THRESHOLD = 64 * 2**20
"""Downloads at least this large use every idle connection at once (and uploads this large
are checked on the server right after sending)."""


class ChunkPipe:
    """Drop-in for paramiko's ``BufferedPipe`` (a channel's receive buffer), without its
    quadratic cost.

    BufferedPipe keeps received data in one array and deletes each read from its front,
    which moves everything still buffered: with a window of megabytes and SFTP reading
    every message as a 4-byte length and then a body, downloads spent most of their time
    in that memmove.  Here received packets are kept as a queue of chunks; a read takes
    whole chunks (no copy) or slices the first one.  Same interface and semantics: blocking
    read with timeout (``PipeTimeout``), ``b""`` once closed and drained, optional event.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._chunks: deque[memoryview] = deque()
        self._size = 0
        self._closed = False
        self._event: threading.Event | None = None

    def set_event(self, event: threading.Event) -> None:
        with self._cond:
            self._event = event
            if self._closed or self._size > 0:
                event.set()
            else:
                event.clear()

    def feed(self, data: bytes | str) -> None:
        chunk = data.encode() if isinstance(data, str) else bytes(data)
        with self._cond:
            if self._event is not None:
                self._event.set()
            if chunk:
                self._chunks.append(memoryview(chunk))
                self._size += len(chunk)
            self._cond.notify_all()

    def read_ready(self) -> bool:
        with self._cond:
            return self._size > 0

    def read(self, nbytes: int, timeout: float | None = None) -> bytes:
        with self._cond:
            if self._size == 0:
                if self._closed:
                    return b""
                if timeout == 0.0:
                    raise PipeTimeout()
                while self._size == 0 and not self._closed:
                    then = time.monotonic()
                    self._cond.wait(timeout)
                    if timeout is not None:
                        timeout -= time.monotonic() - then
                        if timeout <= 0.0 and self._size == 0:
                            raise PipeTimeout()
                if self._size == 0:
                    return b""
            parts: list[memoryview] = []
            wanted = nbytes
            while wanted > 0 and self._chunks:
                head = self._chunks[0]
                if len(head) <= wanted:
                    parts.append(self._chunks.popleft())
                    wanted -= len(head)
                else:
                    parts.append(head[:wanted])
                    self._chunks[0] = head[wanted:]
                    wanted = 0
            self._size -= nbytes - wanted
            if self._size == 0 and self._event is not None and not self._closed:
                self._event.clear()
        if len(parts) == 1:
            only = parts[0]
            if isinstance(only.obj, bytes) and len(only) == len(only.obj):
                return only.obj  # a whole received packet: no copy
            return only.tobytes()
        return b"".join(parts)

    def empty(self) -> bytes:
        with self._cond:
            out = b"".join(self._chunks)
            self._chunks.clear()
            self._size = 0
            if self._event is not None and not self._closed:
                self._event.clear()
            return out

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
            if self._event is not None:
                self._event.set()

    def __len__(self) -> int:
        with self._cond:
            return self._size


class FastSFTPClient(paramiko.SFTPClient):
    """SFTPClient over a :class:`ChunkPipe` channel, with a pipelined file reader.

    :meth:`open_on` opens the channel itself so the receive buffer can be swapped before
    any data arrives.  :meth:`read_pipelined` uses paramiko internals (``_async_request``,
    ``_read_response``); the tests pin that they still behave.
    """

    stall_watch: StallWatch | None = None
    """The minimum-throughput rule for this connection (see :mod:`.stall`), once watched."""

    @classmethod
    def open_on(
        cls, transport: paramiko.Transport, limits: SshLimits | None = None
    ) -> FastSFTPClient:
        """The client on a new SFTP channel; with *limits*, its connection is watched for
        stalls (``min_transfer_rate`` over ``stall_window``) while scisync waits on it."""
        channel = transport.open_session(window_size=WINDOW_SIZE, max_packet_size=MAX_PACKET_SIZE)
        internals: Any = channel
        internals.in_buffer = ChunkPipe()  # nothing arrives before the subsystem starts
        channel.invoke_subsystem("sftp")
        client = cls(channel)
        if limits is not None:
            client.stall_watch = StallWatch(
                limits, lambda: transport_bytes(transport), transport.close
            )
            WATCHDOG.add(client.stall_watch)
        return client

    def close(self) -> None:
        if self.stall_watch is not None:
            WATCHDOG.remove(self.stall_watch)
        super().close()

    # Every wait on the server passes here (paramiko's requests and replies, and the
    # pipelined reader below), so the stall rule sees it whichever path sent the request.
    def _write_all(self, out: bytes) -> None:
        self._waiting_on_server(self._send_all, out)

    def _send_all(self, out: bytes) -> None:
        """paramiko's ``_write_all`` without its copy of the rest after every SSH packet
        (``out = out[n:]``): the channel takes at most one packet (32 KiB for OpenSSH's
        sshd) per call, so a pipelined batch of 2 MiB cost 64 MiB of copying."""
        channel: Any = self.sock  # its stubs say bytes; a memoryview slices without copying
        view = memoryview(out)
        while view:
            sent = channel.send(view)
            if sent <= 0:
                raise EOFError()
            view = view[sent:]

    def _read_all(self, n: int) -> bytes:
        return bytes(self._waiting_on_server(self._receive_all, n))

    def _receive_all(self, n: int) -> bytes:
        """paramiko's ``_read_all`` without ``out += x``, which copies what came so far
        each time more arrives (a 255 KiB reply in 32 KiB packets: 1.1 MiB copied)."""
        channel: Any = self.sock  # always a channel here (:meth:`open_on`)
        parts: list[bytes] = []
        left = n
        while left > 0:
            part = channel.recv(left)
            if not part:
                raise EOFError()
            parts.append(part)
            left -= len(part)
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def _waiting_on_server(self, wait: Callable[[Any], Any], argument: Any) -> Any:
        watch = self.stall_watch
        if watch is None:
            return wait(argument)
        try:
            with watch.waiting():
                return wait(argument)
        except (EOFError, OSError):
            stalled = watch.error()
            if stalled is None:
                raise
            raise stalled from None

    def read_pipelined(
        self,
        handle: Any,
        size: int,
        consume: Callable[[memoryview], None],
        abort: threading.Event,
        start: int = 0,
    ) -> int:
        """Read bytes [0, size) of an open file with up to PREFETCH_REQUESTS reads in flight.

        Replies arrive in request order (the server handles requests sequentially), so
        each one is consumed as it comes and memory is bounded by the requests in flight.
        A short read (never seen with OpenSSH below EOF) drains the pipeline and restarts
        it at the first missing byte.
        """
        internals: Any = self  # paramiko's stubs omit the private request API
        offset = start  # next byte to request
        done = start  # bytes consumed, in order
        size += start  # from here on: the end offset
        in_flight: deque[tuple[int, int, int]] = deque()
        while done < size:
            if abort.is_set():
                raise StorageError("transfer cancelled", hint="re-run to resume")
            while offset < size and len(in_flight) < PREFETCH_REQUESTS:
                length = min(READ_REQUEST_SIZE, size - offset)
                num = internals._async_request(
                    type(None), CMD_READ, handle, int64(offset), int(length)
                )
                in_flight.append((num, offset, length))
                offset += length
            num, first, length = in_flight.popleft()
            data = self._read_data_reply(num)
            if first != done:
                continue  # a reply to a request issued before a restart
            consume(data)
            done += len(data)
            if len(data) < length:
                if not data:
                    raise EOFError("the file ended early (it changed on the server)")
                offset = done  # drain: later replies no longer line up with `done`
        for num, _start, _length in in_flight:
            with suppress(EOFError):
                self._read_data_reply(num)
        return done - start

    def _read_data_reply(self, num: int) -> memoryview:
        """The payload of the DATA reply to request *num*, as a view (no copy).

        paramiko's own path copies each payload three more times (``data[1:]``, Message,
        ``get_string``), which is a large share of a download's CPU.  Replies to other
        requests (e.g. the close of a file object garbage-collected meanwhile) are skipped
        as paramiko would.
        """
        internals: Any = self
        while True:
            (length,) = struct.unpack(">I", internals._read_all(4))
            if length > _MAX_REPLY:
                raise paramiko.SFTPError("garbage packet received")
            body = internals._read_all(length)
            kind = body[0]
            (reply,) = struct.unpack_from(">I", body, 1)
            with internals._lock:
                internals._expecting.pop(reply, None)
            if reply != num:
                continue
            if kind == CMD_DATA:
                (count,) = struct.unpack_from(">I", body, 5)
                return memoryview(body)[9 : 9 + count]
            if kind == CMD_STATUS:
                internals._convert_status(paramiko.Message(body[5:]))  # raises EOF, errors
            raise paramiko.SFTPError("the server answered a read with something else")


class OrderedDownload:
    """Fetch one file's blocks over several sessions; hand them on strictly in order."""

    def __init__(
        self,
        remote: RemotePath,
        size: int,
        consume: Callable[[memoryview], None],
        abort: threading.Event,
    ) -> None:
        self.remote = remote
        self.size = size
        self.consume = consume
        self.abort = abort
        self.blocks = [(o, min(SPLIT_BLOCK, size - o)) for o in range(0, size, SPLIT_BLOCK)]
        self.next_block = 0  # next block to fetch
        self.committed = 0  # blocks handed to consume
        self.cond = threading.Condition()
        self.failure: BaseException | None = None

    def run(self, clients: list[FastSFTPClient]) -> int:
        helpers = [
            threading.Thread(target=self._work, args=(s,), name="scisync-block", daemon=True)
            for s in clients[1:]
        ]
        for thread in helpers:
            thread.start()
        try:
            self._work(clients[0])
        finally:
            for thread in helpers:
                thread.join()
        if self.failure is not None:
            raise self.failure
        return self.size

    def _work(self, client: FastSFTPClient) -> None:
        try:
            with client.open(str(self.remote), "rb") as handle:
                while True:
                    with self.cond:
                        if self.failure is not None or self.next_block >= len(self.blocks):
                            return
                        index = self.next_block
                        self.next_block += 1
                    offset, length = self.blocks[index]
                    parts: list[memoryview] = []
                    got = client.read_pipelined(
                        handle.handle, length, parts.append, self.abort, start=offset
                    )
                    if got != length:
                        raise EOFError("the file ended early (it changed on the server)")
                    with self.cond:
                        while self.committed != index and self.failure is None:
                            self.cond.wait()
                        if self.failure is not None:
                            return
                        for part in parts:
                            self.consume(part)
                        self.committed += 1
                        self.cond.notify_all()
        except BaseException as exc:
            with self.cond:
                if self.failure is None:
                    self.failure = exc
                self.cond.notify_all()

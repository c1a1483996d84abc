"""The minimum-throughput rule for SFTP: a connection that scisync waits on must move data.

The I/O timeout only catches silence, and every byte resets it: a server trickling one byte
a second would hold a transfer forever.  The rule here: while a thread waits on an SFTP
connection (to send a request or to read a reply), that connection must move at least
``SshLimits.min_transfer_rate`` bytes per second, averaged over ``SshLimits.stall_window``
seconds.  A connection that does not is closed, and the operation waiting on it fails with
:class:`TransferStalled`, which the storage reports naming the file and the host.

One watchdog thread checks every watched connection about once a second; the transfer
paths pay only a counter increment per wait (:class:`StallWatch.waiting`).  Bytes are the
SSH connection's own counts (both directions, per packet), so the rule holds whatever code
path sends the requests.  An idle connection (in the pool, or while scisync hashes or
writes locally) is never judged: only time spent waiting on the server counts.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any

from scisync._util.limits import SshLimits

TICK_S = 1.0
"""How often the watchdog looks (a stall is caught at most one tick after its window)."""


class TransferStalled(OSError):
    """The connection moved too little while scisync waited on it, and was closed."""

    def __init__(self, limits: SshLimits) -> None:
        self.min_rate = limits.min_transfer_rate
        self.window = limits.stall_window
        super().__init__(
            f"the transfer stalled: the server moved less than {_rate(self.min_rate)} "
            f"for {self.window:g} s"
        )


def _rate(bytes_per_second: float) -> str:
    if bytes_per_second >= 1024 * 1024:
        return f"{bytes_per_second / (1024 * 1024):g} MiB/s"
    if bytes_per_second >= 1024:
        return f"{bytes_per_second / 1024:g} KiB/s"
    return f"{bytes_per_second:g} bytes/s"


def transport_bytes(transport: Any) -> int:
    """Bytes this SSH connection sent plus received since its last key exchange.

    paramiko counts them per packet for rekeying (and resets them at each rekey); it has no
    public accessor.  tests/storage/test_sftp_stall.py pins that they still move.
    """
    packetizer = transport.packetizer
    sent = getattr(packetizer, "_Packetizer__sent_bytes", 0)
    received = getattr(packetizer, "_Packetizer__received_bytes", 0)
    return int(sent) + int(received)


class StallWatch:
    """The rule for one SSH connection: counts waits, samples bytes, closes on a stall."""

    def __init__(
        self,
        limits: SshLimits,
        moved: Callable[[], int],
        close: Callable[[], None],
    ) -> None:
        self.limits = limits
        self._moved = moved
        self._close = close
        self._lock = threading.Lock()
        self._waiting = 0
        self._waited_since_tick = False
        self._last_count = 0
        self._total = 0
        self._samples: deque[tuple[float, int]] = deque()
        self.stalled = False

    @contextmanager
    def waiting(self) -> Iterator[None]:
        """Around every wait on the server (a send or a read)."""
        with self._lock:
            self._waiting += 1
            self._waited_since_tick = True
        try:
            yield
        finally:
            with self._lock:
                self._waiting -= 1

    def error(self) -> TransferStalled | None:
        return TransferStalled(self.limits) if self.stalled else None

    def tick(self, now: float) -> bool:
        """One look; True when the connection was found stalled (and closed)."""
        total = self._advance()
        with self._lock:
            waited = self._waiting > 0 or self._waited_since_tick
            self._waited_since_tick = False
        if not waited or self.stalled:
            self._samples.clear()  # idle time is not judged
            return False
        self._samples.append((now, total))
        window = self.limits.stall_window
        while len(self._samples) > 1 and self._samples[1][0] <= now - window:
            self._samples.popleft()
        start, moved_then = self._samples[0]
        if now - start < window or total - moved_then >= self.limits.min_transfer_rate * window:
            return False
        self.stalled = True
        with suppress(Exception):  # already closing: the wait ends either way
            self._close()
        return True

    def _advance(self) -> int:
        """A running total of bytes moved, across paramiko's counter resets at rekeys."""
        count = self._moved()
        self._total += count - self._last_count if count >= self._last_count else count
        self._last_count = count
        return self._total


class _Watchdog:
    """One daemon thread for every watched connection; it ends when none is left."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._watches: weakref.WeakSet[StallWatch] = weakref.WeakSet()
        self._thread: threading.Thread | None = None

    def add(self, watch: StallWatch) -> None:
        with self._lock:
            self._watches.add(watch)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="scisync-sftp-stall", daemon=True
                )
                self._thread.start()

    def remove(self, watch: StallWatch) -> None:
        with self._lock:
            self._watches.discard(watch)

    def _run(self) -> None:
        while True:
            with self._lock:
                watches = list(self._watches)
                if not watches:
                    self._thread = None
                    return
            tick = min(TICK_S, min(w.limits.stall_window for w in watches) / 4)
            time.sleep(tick)
            now = time.monotonic()
            for watch in watches:
                watch.tick(now)


WATCHDOG = _Watchdog()

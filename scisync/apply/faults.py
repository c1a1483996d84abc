"""Kill and signal points for crash and interruption testing.

``SCISYNC_TEST_KILL_AT=N`` makes the process SIGKILL itself at the N-th checkpoint of an
apply (1-based); ``SCISYNC_TEST_CHECKPOINT_LOG=FILE`` appends each checkpoint's name to
FILE so a test harness can count them.

``SCISYNC_TEST_SIGNAL_AT=SIGINT@NAME`` sends the process a real signal at the first
checkpoint called NAME (e.g. ``before-create:dataset.raw-1``) and waits until its handler
ran, so the test knows where the apply stood; ``SIGINT+SIGINT@NAME`` sends a second one
after the first was handled.
``SCISYNC_TEST_SIGNAL_IN_TRANSFER=SIGTERM`` does the same after the first chunk a
transfer reports, i.e. with the transfer in flight.

All are unset in normal use, where :func:`checkpoint` costs a few dictionary lookups.
"""

from __future__ import annotations

import os
import signal
import threading

from scisync.apply.cancel import wait_until_handled

_lock = threading.Lock()
_count = 0
_transfer_signalled = False
_signalled_at: set[str] = set()
HANDLER_WAIT_S = 10.0


def checkpoint(name: str) -> None:
    global _count
    kill_at = os.environ.get("SCISYNC_TEST_KILL_AT")
    log = os.environ.get("SCISYNC_TEST_CHECKPOINT_LOG")
    signal_at = os.environ.get("SCISYNC_TEST_SIGNAL_AT")
    if kill_at is None and log is None and signal_at is None:
        return
    with _lock:
        _count += 1
        number = _count
        if log:
            with open(log, "a", encoding="utf-8") as stream:
                stream.write(f"{number} {name}\n")
        if kill_at is not None and int(kill_at) == number:
            os.kill(os.getpid(), signal.SIGKILL)
        if signal_at is not None:
            signals, _, at = signal_at.partition("@")
            if at == name and at not in _signalled_at:
                _signalled_at.add(at)
                _send(signals)


def in_transfer() -> None:
    """Called after each chunk a transfer reports; signals once if the test asks."""
    global _transfer_signalled
    signals = os.environ.get("SCISYNC_TEST_SIGNAL_IN_TRANSFER")
    if signals is None:
        return
    with _lock:
        if _transfer_signalled:
            return
        _transfer_signalled = True
        _send(signals)


def _send(signals: str) -> None:
    """Send each named signal (``SIGINT+SIGINT``), waiting for the first to be handled."""
    for number, name in enumerate(signals.split("+")):
        os.kill(os.getpid(), signal.Signals[name])
        if number == 0:
            wait_until_handled(HANDLER_WAIT_S)

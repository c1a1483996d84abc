"""Kill points for crash testing.

``SCISYNC_TEST_KILL_AT=N`` makes the process SIGKILL itself at the N-th checkpoint of an
apply (1-based); ``SCISYNC_TEST_CHECKPOINT_LOG=FILE`` appends each checkpoint's name to
FILE so a test harness can count them.  Both are unset in normal use, where
:func:`checkpoint` costs one dictionary lookup.
"""

from __future__ import annotations

import os
import signal
import threading

_lock = threading.Lock()
_count = 0


def checkpoint(name: str) -> None:
    global _count
    kill_at = os.environ.get("SCISYNC_TEST_KILL_AT")
    log = os.environ.get("SCISYNC_TEST_CHECKPOINT_LOG")
    if kill_at is None and log is None:
        return
    with _lock:
        _count += 1
        number = _count
        if log:
            with open(log, "a", encoding="utf-8") as stream:
                stream.write(f"{number} {name}\n")
        if kill_at is not None and int(kill_at) == number:
            os.kill(os.getpid(), signal.SIGKILL)

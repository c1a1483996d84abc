"""SIGINT and SIGTERM during a command: stop cleanly once, at once the second time.

Every command that writes (apply, pull, import) installs it, through
:func:`scisync.cli.options.writing`.  While its writes run (inside
:meth:`SignalGuard.deferred`), the first signal
only sets the apply's cancellation token: no new side effect starts, transfers in flight
are abandoned, SciCat requests in flight finish and are journaled, the lockfile records
what completed, and the command exits 130 (SIGINT) or 143 (SIGTERM).  A second signal
exits at once with the same codes; the journal lets the next apply resume.  Outside that
window (planning, the confirmation prompt) a signal stops the command as Ctrl-C always
did, with nothing written.  The previous handlers are restored when the command ends.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from scisync.apply.cancel import Cancellation

HANDLED = (signal.SIGINT, signal.SIGTERM)

_FIRST = (
    "\nStopping: no new step starts; SciCat requests in flight finish, transfers in flight "
    "are abandoned. Press Ctrl-C again to exit at once.\n"
)
_SECOND = (
    "\nInterrupted again: exiting at once. Run the same command again to resume; "
    "the journal in .scisync/ says what was in flight.\n"
)


class SignalStop(KeyboardInterrupt):
    """A signal outside the apply window: the command stops where it is (nothing written)."""

    def __init__(self, exit_code: int) -> None:
        super().__init__()
        self.exit_code = exit_code


def _exit_code(signal_number: int) -> int:
    return 128 + signal_number


class SignalGuard:
    """The handler for SIGINT and SIGTERM, and the cancellation token it sets."""

    def __init__(self) -> None:
        self.cancel = Cancellation()
        self._deferring = False

    @contextmanager
    def deferred(self) -> Iterator[Cancellation]:
        """Inside, a first signal cancels cooperatively instead of raising."""
        self._deferring = True
        try:
            yield self.cancel
        finally:
            self._deferring = False

    def handle(self, signal_number: int, _frame: FrameType | None) -> None:
        if not self._deferring:
            raise SignalStop(_exit_code(signal_number))
        if self.cancel.is_set():
            # os.write and os._exit: safe in a handler, whatever the main thread was doing.
            os.write(2, _SECOND.encode())
            os._exit(_exit_code(signal_number))
        os.write(2, _FIRST.encode())
        self.cancel.cancel(signal_number)


@contextmanager
def signals_handled() -> Iterator[SignalGuard]:
    """Install the guard's handler for the duration of a command, then restore the old ones.

    Commands use it through :func:`scisync.cli.options.writing`, never directly."""
    guard = SignalGuard()
    if threading.current_thread() is not threading.main_thread():
        yield guard  # handlers can only be installed from the main thread
        return
    previous = {number: signal.signal(number, guard.handle) for number in HANDLED}
    try:
        yield guard
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)

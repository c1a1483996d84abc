"""The cancellation token an interrupted apply is stopped by.

A signal handler (installed by the command line, see :mod:`scisync.cli.signals`) or any
other thread calls :meth:`Cancellation.cancel`; the applier checks the token before every
side effect and hands it to the storage, whose transfers check it between chunks.  A
request already sent to SciCat is never abandoned: it finishes and is journaled, and the
next check stops the work.  Nothing here raises asynchronously, so no step is cut in half.
"""

from __future__ import annotations

import signal
import threading

from scisync.errors import ExitCode, Interrupted

_any_cancelled = threading.Event()  # for the test fault hooks: "a signal has been handled"


class Cancellation:
    """Set once, from any thread or a signal handler; checked before each side effect.

    Satisfies :class:`scisync.storage.base.CancelToken` (``is_set``), so the storage can
    stop a transfer between two chunks.
    """

    def __init__(self) -> None:
        self._event = threading.Event()
        self.signal_number: int = signal.SIGINT

    def cancel(self, signal_number: int = signal.SIGINT) -> None:
        if not self._event.is_set():
            self.signal_number = signal_number
        self._event.set()
        _any_cancelled.set()

    def is_set(self) -> bool:
        return self._event.is_set()

    @property
    def signal_name(self) -> str:
        return signal.Signals(self.signal_number).name

    @property
    def exit_code(self) -> int:
        if self.signal_number == signal.SIGTERM:
            return int(ExitCode.TERMINATED)
        if self.signal_number == signal.SIGINT:
            return int(ExitCode.INTERRUPTED)
        return 128 + self.signal_number

    def error(self) -> Interrupted:
        return Interrupted(self.signal_name, self.exit_code)

    def check(self) -> None:
        """Raise :class:`~scisync.errors.Interrupted` if cancelled: call before a side effect."""
        if self._event.is_set():
            raise self.error()


def wait_until_handled(timeout: float) -> bool:
    """Block until some Cancellation was cancelled (test hooks use it after self-signalling)."""
    return _any_cancelled.wait(timeout)

"""Apply progress for people and machines, from the applier's events.

Three event sinks: JSON lines (one object per event, for CI logs and tools), plain lines
(for logs that are not a terminal), and a live progress line for a terminal with files,
bytes, rate and ETA.  Events arrive from worker threads, so every sink serialises its
writes with a lock.  All text passes through :func:`scisync._util.secrets.redact`.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from typing import TextIO

from scisync._util.jsontypes import JsonObject
from scisync._util.secrets import redact
from scisync.apply.events import (
    ApplyEvent,
    ApplyFinished,
    ApplyStarted,
    ApplyStopped,
    ApplySummary,
    BytesTransferred,
    EventSink,
    FileDone,
    StepFinished,
    StepStarted,
)
from scisync.render.safe import safe_message, safe_text
from scisync.render.units import human_bytes, human_duration, human_rate, plural
from scisync.scicat.auth import ExpiringToken
from scisync.scicat.http import RetryScheduled

_EVENT_NAMES: dict[type, str] = {
    ApplyStarted: "apply_started",
    StepStarted: "step_started",
    StepFinished: "step_finished",
    BytesTransferred: "bytes_transferred",
    FileDone: "file_done",
    ApplyFinished: "apply_finished",
    ApplyStopped: "apply_stopped",
}


def format_apply_summary(summary: ApplySummary) -> str:
    """``Apply complete: 2 created, 1 updated, ..., 12.3 MiB up, 0 B down in 4.2 s.``"""
    return (
        f"Apply complete: {summary.created} created, {summary.updated} updated, "
        f"{summary.replaced} replaced, {summary.adopted} adopted, "
        f"{summary.forgotten} forgotten, {summary.downloaded} downloaded, "
        + (f"{plural(summary.registered, 'DOI')} registered, " if summary.registered else "")
        + f"{human_bytes(summary.bytes_up)} up, {human_bytes(summary.bytes_down)} down "
        f"in {human_duration(summary.elapsed_s)}."
    )


def format_apply_stopped(event: ApplyStopped) -> str:
    """What an interrupted apply completed (the error that follows says how to resume)."""
    summary = event.summary
    return (
        f"Stopped by {event.signal}: {event.completed} of {event.changes} changes completed "
        f"({summary.created} created, {summary.updated} updated, {summary.replaced} replaced, "
        f"{summary.downloaded} downloaded, {human_bytes(summary.bytes_up)} up, "
        f"{human_bytes(summary.bytes_down)} down in {human_duration(summary.elapsed_s)}); "
        "transfers in flight were abandoned and their temporary files removed."
    )


def event_to_json(event: ApplyEvent) -> JsonObject:
    """``{"event": "file_done", "address": ..., ...}``: the event's fields plus its name."""
    data: JsonObject = {"event": _EVENT_NAMES[type(event)]}
    data.update(asdict(event))
    return data


class JsonLinesProgress:
    """Writes one JSON object per event, one per line, flushed at once."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._lock = threading.Lock()

    def __call__(self, event: ApplyEvent) -> None:
        line = redact(json.dumps(event_to_json(event), ensure_ascii=False, sort_keys=True))
        with self._lock:
            self._stream.write(line + "\n")
            self._stream.flush()


def plain_event_line(event: ApplyEvent) -> str | None:
    """The log line for *event*, or None for events too frequent to log (byte counts)."""
    match event:
        case ApplyStarted(changes=changes, files=files, bytes=size):
            return (
                f"Applying {plural(changes, 'change')}; {plural(files, 'file')} "
                f"({human_bytes(size)}) to transfer."
            )
        case StepStarted(address=address, step=step):
            return f"{safe_text(address)}: {safe_message(step)}..."
        case StepFinished(address=address, step=step, detail=detail):
            done = f"{safe_text(address)}: {safe_message(step)} done"
            return done + (f" ({safe_message(detail)})" if detail else "")
        case FileDone(address=address, path=path, size=size):
            return f"{safe_text(address)}: {safe_text(path)} ({human_bytes(size)}) transferred"
        case ApplyFinished(summary=summary):
            return format_apply_summary(summary)
        case ApplyStopped():
            return format_apply_stopped(event)
        case _:
            return None


class PlainProgress:
    """Plain log lines, for output that is not a terminal (CI logs, files)."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._lock = threading.Lock()

    def __call__(self, event: ApplyEvent) -> None:
        line = plain_event_line(event)
        if line is None:
            return
        with self._lock:
            self._stream.write(redact(line) + "\n")
            self._stream.flush()


_CLEAR_LINE = "\r\x1b[K"


class TtyProgress:
    """A live status line (files, bytes, bar, rate, ETA) with finished steps printed above it.

    Totals come from :class:`ApplyStarted` (or the constructor).  Redraws are throttled
    to one per ``min_interval`` seconds, except for lines that must appear.  The status
    is cut to ``width`` columns (default: the terminal's).  ``clock`` is injectable so
    tests control time.
    """

    def __init__(
        self,
        stream: TextIO,
        *,
        total_files: int = 0,
        total_bytes: int = 0,
        bar_width: int = 20,
        min_interval: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
        width: int | None = None,
    ) -> None:
        self._stream = stream
        self._lock = threading.Lock()
        self._clock = clock
        self._min_interval = min_interval
        self._bar_width = bar_width
        self._width = width
        self.total_files = total_files
        self.total_bytes = total_bytes
        self.files_done = 0
        self.bytes_done = 0
        self._started = clock()
        self._last_draw: float | None = None
        self._activity = ""
        self._status_shown = False

    def __call__(self, event: ApplyEvent) -> None:
        with self._lock:
            self._handle(event)

    def _handle(self, event: ApplyEvent) -> None:
        match event:
            case ApplyStarted(files=files, bytes=size):
                self.total_files, self.total_bytes = files, size
                self._started = self._clock()
                self._draw(force=True)
            case StepStarted(address=address, step=step):
                self._activity = f"{safe_text(address)}: {safe_message(step)}"
                self._draw(force=False)
            case StepFinished():
                self._print_above(f"✓ {plain_event_line(event)}")
            case BytesTransferred(n=n):
                self.bytes_done += n
                self._draw(force=False)
            case FileDone():
                self.files_done += 1
                self._draw(force=False)
            case ApplyFinished(summary=summary):
                self._clear_status()
                self._write(format_apply_summary(summary) + "\n")
            case ApplyStopped():
                self._clear_status()
                self._write(format_apply_stopped(event) + "\n")

    def close(self) -> None:
        """Clear the status line (call when an apply stops early, before printing an error)."""
        with self._lock:
            self._clear_status()

    def status_text(self) -> str:
        """The status line as it would be drawn now (without the line control codes)."""
        elapsed = max(self._clock() - self._started, 0.0)
        rate = self.bytes_done / elapsed if elapsed > 0 else 0.0
        parts = [f"{self.files_done}/{self.total_files} files"]
        parts.append(f"{human_bytes(self.bytes_done)}/{human_bytes(self.total_bytes)}")
        if self.total_bytes > 0:
            fraction = min(self.bytes_done / self.total_bytes, 1.0)
            filled = int(fraction * self._bar_width)  # full only when done
            bar = "#" * filled + "-" * (self._bar_width - filled)
            parts.append(f"[{bar}] {fraction * 100:3.0f}%")
        parts.append(human_rate(rate) if rate > 0 else "-- B/s")
        remaining = self.total_bytes - self.bytes_done
        if rate > 0 and remaining > 0:
            parts.append(f"ETA {human_duration(remaining / rate)}")
        if self._activity:
            parts.append(self._activity)
        return "  ".join(parts)

    def _draw(self, *, force: bool) -> None:
        now = self._clock()
        if not force and self._last_draw is not None and now - self._last_draw < self._min_interval:
            return
        self._last_draw = now
        # A status line wider than the terminal wraps, and "\r" then clears only its last
        # row, leaving a trail of half lines; so cut it to fit.
        columns = self._width or shutil.get_terminal_size(fallback=(80, 24)).columns
        status = self.status_text()
        if len(status) > columns - 1:
            status = status[: max(columns - 2, 0)] + "…"
        self._write(_CLEAR_LINE + status)
        self._status_shown = True

    def _print_above(self, line: str) -> None:
        self._clear_status()
        self._write(line + "\n")
        self._draw(force=True)

    def _clear_status(self) -> None:
        if self._status_shown:
            self._write(_CLEAR_LINE)
            self._status_shown = False

    def _write(self, text: str) -> None:
        self._stream.write(redact(text))
        self._stream.flush()


def progress_sink(stream: TextIO, *, json_lines: bool, tty: bool) -> EventSink:
    """The sink the CLI uses: JSON lines if asked, a live display on a terminal, else plain."""
    if json_lines:
        return JsonLinesProgress(stream)
    if tty:
        return TtyProgress(stream)
    return PlainProgress(stream)


def token_expiry_line(expiring: ExpiringToken, now: datetime | None = None) -> str:
    """What plan, apply, pull and import print on stderr when the token expires soon."""
    moment = now or datetime.now(tz=UTC)
    minutes = max(0, int((expiring.expires_at - moment).total_seconds() // 60))
    return (
        f"Warning: the SciCat token from {safe_message(expiring.source)} expires in "
        f"{minutes} min, at {expiring.expires_at.isoformat(timespec='seconds')}; a long run "
        f"may fail part way. Run `scisync login`, or set a fresh token in "
        f"${safe_message(expiring.token_env)}."
    )


def retry_line(event: RetryScheduled) -> str:
    """What the CLI prints on stderr when a SciCat request is retried."""
    return f"Retrying: {safe_message(event.describe())}"

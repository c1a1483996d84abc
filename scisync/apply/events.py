"""What the applier reports while it works, as plain frozen data.

The applier never prints; it calls an :class:`EventSink` with these events (often from
worker threads), and a renderer in :mod:`scisync.render.progress` turns them into
JSON lines, plain log lines or a progress display.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, TypeAlias


@dataclass(frozen=True)
class ApplyStarted:
    """Emitted once before any work, with the totals a progress display needs."""

    changes: int  # resource changes to apply (no-ops excluded)
    files: int  # files to transfer (up and down)
    bytes: int  # bytes to transfer (up and down)


@dataclass(frozen=True)
class StepStarted:
    """A step of one change began, e.g. ``("dataset.run1", "upload files")``."""

    address: str
    step: str


@dataclass(frozen=True)
class StepFinished:
    """A step finished; ``detail`` says what came of it (e.g. the new pid)."""

    address: str
    step: str
    detail: str = ""


@dataclass(frozen=True)
class BytesTransferred:
    """``n`` more bytes of a file of ``address`` went over the wire (an increment)."""

    address: str
    n: int


@dataclass(frozen=True)
class FileDone:
    """One file was transferred (or verified) completely."""

    address: str
    path: str
    size: int


@dataclass(frozen=True)
class ApplySummary:
    """Totals of a finished apply."""

    created: int = 0
    updated: int = 0
    replaced: int = 0
    adopted: int = 0
    forgotten: int = 0
    downloaded: int = 0
    registered: int = 0  # publication DOIs registered
    bytes_up: int = 0
    bytes_down: int = 0
    elapsed_s: float = 0.0


@dataclass(frozen=True)
class ApplyFinished:
    """The apply completed; emitted last."""

    summary: ApplySummary


@dataclass(frozen=True)
class ApplyStopped:
    """A signal stopped the apply; emitted last, instead of :class:`ApplyFinished`.

    ``summary`` counts what completed (it is recorded in the lockfile); ``completed`` of
    ``changes`` changes finished, the rest were not started or stopped before their next
    side effect.
    """

    summary: ApplySummary
    signal: str  # "SIGINT" or "SIGTERM"
    completed: int
    changes: int


ApplyEvent: TypeAlias = (
    ApplyStarted
    | StepStarted
    | StepFinished
    | BytesTransferred
    | FileDone
    | ApplyFinished
    | ApplyStopped
)


class EventSink(Protocol):
    """Receives apply events; must be safe to call from several threads at once."""

    def __call__(self, event: ApplyEvent) -> None: ...


def discard_events(event: ApplyEvent) -> None:
    """An :class:`EventSink` that ignores everything (library use without output)."""

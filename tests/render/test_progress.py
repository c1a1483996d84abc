from __future__ import annotations

import io
import json
import threading

from scisync._util.secrets import forget_secrets, register_secret
from scisync.apply.events import (
    ApplyEvent,
    ApplyFinished,
    ApplyStarted,
    ApplySummary,
    BytesTransferred,
    EventSink,
    FileDone,
    StepFinished,
    StepStarted,
    discard_events,
)
from scisync.render.progress import (
    JsonLinesProgress,
    PlainProgress,
    TtyProgress,
    event_to_json,
    format_apply_summary,
    progress_sink,
)

MiB = 1024 * 1024
SUMMARY = ApplySummary(
    created=2,
    updated=1,
    replaced=0,
    adopted=0,
    forgotten=1,
    downloaded=0,
    bytes_up=int(12.3 * MiB),
    bytes_down=0,
    elapsed_s=4.21,
)
EVENTS: list[ApplyEvent] = [
    ApplyStarted(changes=3, files=2, bytes=12 * MiB),
    StepStarted("dataset.run1", "upload files"),
    BytesTransferred("dataset.run1", 4 * MiB),
    FileDone("dataset.run1", "a.h5", 4 * MiB),
    StepFinished("dataset.run1", "create dataset", "pid 20.500/x"),
    ApplyFinished(SUMMARY),
]


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_summary_line() -> None:
    assert format_apply_summary(SUMMARY) == (
        "Apply complete: 2 created, 1 updated, 0 replaced, 0 adopted, 1 forgotten, "
        "0 downloaded, 12.3 MiB up, 0 B down in 4.2 s."
    )


def test_json_lines_one_object_per_event() -> None:
    stream = io.StringIO()
    sink = JsonLinesProgress(stream)
    for event in EVENTS:
        sink(event)
    lines = stream.getvalue().splitlines()
    assert len(lines) == len(EVENTS)
    decoded = [json.loads(line) for line in lines]
    assert [d["event"] for d in decoded] == [
        "apply_started",
        "step_started",
        "bytes_transferred",
        "file_done",
        "step_finished",
        "apply_finished",
    ]
    assert decoded[3] == {
        "event": "file_done",
        "address": "dataset.run1",
        "path": "a.h5",
        "size": 4 * MiB,
    }
    assert decoded[5]["summary"]["bytes_up"] == int(12.3 * MiB)
    assert event_to_json(EVENTS[1]) == {
        "event": "step_started",
        "address": "dataset.run1",
        "step": "upload files",
    }


def test_plain_lines_skip_byte_counts() -> None:
    stream = io.StringIO()
    sink = PlainProgress(stream)
    for event in EVENTS:
        sink(event)
    assert stream.getvalue().splitlines() == [
        "Applying 3 changes; 2 files (12.0 MiB) to transfer.",
        "dataset.run1: upload files...",
        "dataset.run1: a.h5 (4.0 MiB) transferred",
        "dataset.run1: create dataset done (pid 20.500/x)",
        format_apply_summary(SUMMARY),
    ]
    assert "\x1b" not in stream.getvalue() and "\r" not in stream.getvalue()


def test_tty_status_has_files_bytes_rate_and_eta() -> None:
    clock = FakeClock()
    stream = io.StringIO()
    progress = TtyProgress(stream, clock=clock, bar_width=10)
    progress(ApplyStarted(changes=1, files=4, bytes=8 * MiB))
    progress(StepStarted("dataset.run1", "upload files"))
    clock.now += 2.0
    progress(BytesTransferred("dataset.run1", 2 * MiB))
    progress(FileDone("dataset.run1", "a.h5", 2 * MiB))
    status = progress.status_text()
    assert status == (
        "1/4 files  2.0 MiB/8.0 MiB  [##--------]  25%  1.0 MiB/s  ETA 6.0 s  "
        "dataset.run1: upload files"
    )
    assert "\r\x1b[K" in stream.getvalue()


def test_tty_throttles_redraws_but_prints_finished_steps() -> None:
    clock = FakeClock()
    stream = io.StringIO()
    progress = TtyProgress(stream, clock=clock, min_interval=1.0)
    progress(ApplyStarted(changes=1, files=100, bytes=100))
    drawn = stream.getvalue().count("\r\x1b[K")
    for _ in range(50):
        progress(BytesTransferred("dataset.run1", 1))  # same instant: no redraw
    assert stream.getvalue().count("\r\x1b[K") == drawn
    assert progress.bytes_done == 50
    progress(StepFinished("dataset.run1", "create dataset", "pid p1"))
    assert "✓ dataset.run1: create dataset done (pid p1)\n" in stream.getvalue()
    progress(ApplyFinished(SUMMARY))
    assert stream.getvalue().endswith("\r\x1b[K" + format_apply_summary(SUMMARY) + "\n")


def test_tty_without_totals_has_no_bar_or_eta() -> None:
    clock = FakeClock()
    progress = TtyProgress(io.StringIO(), clock=clock)
    assert progress.status_text() == "0/0 files  0 B/0 B  -- B/s"


def test_tty_is_thread_safe() -> None:
    clock = FakeClock()
    stream = io.StringIO()
    progress = TtyProgress(stream, clock=clock, min_interval=0.0)
    progress(ApplyStarted(changes=1, files=800, bytes=800 * 10))

    def worker() -> None:
        for _ in range(100):
            progress(BytesTransferred("dataset.run1", 10))
            progress(FileDone("dataset.run1", "f", 10))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert progress.files_done == 800
    assert progress.bytes_done == 8000
    assert progress.status_text().startswith("800/800 files  7.8 KiB/7.8 KiB")


def test_secrets_masked_in_progress() -> None:
    register_secret("p4ssw0rd-xyz")
    try:
        for make in (JsonLinesProgress, PlainProgress, TtyProgress):
            stream = io.StringIO()
            sink: EventSink = make(stream)
            sink(StepFinished("dataset.a", "login", "as p4ssw0rd-xyz"))
            assert "p4ssw0rd-xyz" not in stream.getvalue()
            assert "***" in stream.getvalue()
    finally:
        forget_secrets()


def test_progress_sink_choice() -> None:
    stream = io.StringIO()
    assert isinstance(progress_sink(stream, json_lines=True, tty=True), JsonLinesProgress)
    assert isinstance(progress_sink(stream, json_lines=False, tty=True), TtyProgress)
    assert isinstance(progress_sink(stream, json_lines=False, tty=False), PlainProgress)
    discard_events(EVENTS[0])  # an EventSink that does nothing


def test_tty_status_cut_to_terminal_width() -> None:
    stream = io.StringIO()
    progress = TtyProgress(stream, clock=FakeClock(), width=30)
    progress(ApplyStarted(changes=1, files=4, bytes=8 * MiB))
    progress(StepStarted("dataset.a-very-long-key-indeed", "upload files"))
    drawn = stream.getvalue().split("\r\x1b[K")[-1]
    assert len(drawn) == 29
    assert drawn.endswith("…")


def test_tty_close_clears_an_unfinished_status_line() -> None:
    stream = io.StringIO()
    progress = TtyProgress(stream, clock=FakeClock())
    progress(ApplyStarted(changes=1, files=1, bytes=10))
    progress.close()
    assert stream.getvalue().endswith("\r\x1b[K")
    before = stream.getvalue()
    progress.close()  # nothing shown any more: nothing written
    assert stream.getvalue() == before


def test_plain_start_line_counts_in_words() -> None:
    from scisync.render.progress import plain_event_line

    assert plain_event_line(ApplyStarted(changes=1, files=1, bytes=10)) == (
        "Applying 1 change; 1 file (10 B) to transfer."
    )
    assert plain_event_line(ApplyStarted(changes=2, files=0, bytes=0)) == (
        "Applying 2 changes; 0 files (0 B) to transfer."
    )


def test_stopped_apply_says_what_completed_in_every_sink() -> None:
    from scisync.apply.events import ApplyStopped

    stopped = ApplyStopped(SUMMARY, "SIGTERM", completed=2, changes=5)
    plain, tty, lines = io.StringIO(), io.StringIO(), io.StringIO()
    PlainProgress(plain)(stopped)
    TtyProgress(tty, clock=FakeClock())(stopped)
    JsonLinesProgress(lines)(stopped)
    for text in (plain.getvalue(), tty.getvalue()):
        assert "Stopped by SIGTERM: 2 of 5 changes completed (2 created" in text
        assert "temporary files removed" in text
    data = json.loads(lines.getvalue())
    assert data["event"] == "apply_stopped" and data["signal"] == "SIGTERM"
    assert data["completed"] == 2 and data["summary"]["created"] == 2

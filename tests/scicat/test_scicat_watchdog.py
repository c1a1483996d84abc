"""The one deadline thread of all SciCat exchanges (scisync.scicat.http.Watchdog).

Real threads, real sockets and real time (scaled down): overlapping deadlines fire in
due order, a cancelled one never fires, the thread is one for many exchanges, and it is
gone once idle, so the plan's stamp walk can fork again.
"""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass

import pytest

from scisync.scicat import http
from scisync.scicat.http import Watchdog, _Deadline

TICK = 0.15  # seconds per time unit of the table: generous against a loaded machine
IDLE_EXIT = 2 * TICK


class _Recorded(_Deadline):
    """A deadline that notes when it fired, in order."""

    def __init__(self, name: str, watchdog: Watchdog, fired: list[str]) -> None:
        super().__init__(60.0, watchdog)
        self.name = name
        self._log = fired

    def fire(self) -> None:
        self._log.append(self.name)
        super().fire()


@dataclass(frozen=True)
class Case:
    name: str
    due: dict[str, float]  # deadline -> due, in ticks after the start
    cancel: dict[str, float]  # deadline -> cancelled at, in ticks after the start
    fires: list[str]  # the order the watchdog fires them in


CASES = [
    Case("one fires", {"a": 1}, {}, ["a"]),
    Case(
        "fire in due order, not in the order added", {"a": 3, "b": 1, "c": 2}, {}, ["b", "c", "a"]
    ),
    Case("a later one added first", {"late": 4, "early": 1}, {}, ["early", "late"]),
    Case("cancelled before its time never fires", {"a": 2, "b": 3}, {"a": 1}, ["b"]),
    Case("all cancelled: nothing fires", {"a": 2, "b": 3}, {"a": 1, "b": 1}, []),
    Case(
        "overlapping: the earliest cancelled, the rest fire",
        {"a": 1, "b": 2, "c": 3, "d": 3.5},
        {"a": 0.5, "c": 2.5},
        ["b", "d"],
    ),
    Case("same due time: first added fires first", {"x": 2, "y": 2}, {}, ["x", "y"]),
    Case("cancelled after it fired: stays fired", {"a": 1}, {"a": 2}, ["a"]),
]


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_deadlines_fire_in_due_order_and_cancelled_ones_never(case: Case) -> None:
    before = threading.active_count()
    watchdog = Watchdog(idle_exit=IDLE_EXIT)
    fired: list[str] = []
    deadlines = {name: _Recorded(name, watchdog, fired) for name in case.due}
    start = time.monotonic()
    for name, due in case.due.items():
        watchdog.add(deadlines[name], start + due * TICK)
    assert watchdog.running
    for name, at in sorted(case.cancel.items(), key=lambda item: item[1]):
        time.sleep(max(0.0, start + at * TICK - time.monotonic()))
        watchdog.cancel(deadlines[name])
    last = max(case.due.values())
    time.sleep(max(0.0, start + (last + 1) * TICK - time.monotonic()))
    assert fired == case.fires
    assert {name for name, d in deadlines.items() if d.fired} == set(case.fires)
    # nothing left to watch: the thread exits on its own
    _wait_until(lambda: not watchdog.running, IDLE_EXIT + 5.0)
    _wait_until(lambda: threading.active_count() == before, 5.0)


def test_a_fired_deadline_shuts_down_its_sockets_and_later_ones_at_once() -> None:
    watchdog = Watchdog(idle_exit=IDLE_EXIT)
    ours, theirs = socket.socketpair()
    late_ours, late_theirs = socket.socketpair()
    try:
        deadline = _Deadline(60.0, watchdog)
        watchdog.add(deadline, time.monotonic() + TICK)
        deadline.watch(ours)
        ours.settimeout(10.0)
        started = time.monotonic()
        assert ours.recv(1) == b""  # the blocked read returns: shut down, not a timeout
        assert time.monotonic() - started < 5.0
        assert deadline.fired
        deadline.watch(late_ours)  # a socket handed over after the deadline passed
        late_ours.settimeout(10.0)
        assert late_ours.recv(1) == b""
    finally:
        for sock in (ours, theirs, late_ours, late_theirs):
            sock.close()
    watchdog.cancel(deadline)
    watchdog.stop_if_idle()
    assert not watchdog.running


def test_one_thread_serves_many_exchanges_in_a_row() -> None:
    watchdog = Watchdog(idle_exit=30.0)
    idents = set()
    for _ in range(50):
        with _Deadline(60.0, watchdog) as deadline:
            assert watchdog._thread is not None
            idents.add(watchdog._thread.ident)
        assert not deadline.fired
    assert len(idents) == 1
    watchdog.stop_if_idle()
    assert not watchdog.running


def test_stop_if_idle_ends_the_thread_at_once_but_never_under_a_live_deadline() -> None:
    watchdog = Watchdog(idle_exit=30.0)  # it would linger half a minute on its own
    deadline = _Deadline(60.0, watchdog)
    watchdog.add(deadline, time.monotonic() + 60.0)
    watchdog.stop_if_idle()
    assert watchdog.running  # an exchange is in flight: its deadline stays watched
    watchdog.cancel(deadline)
    started = time.monotonic()
    watchdog.stop_if_idle()
    assert not watchdog.running
    assert time.monotonic() - started < 5.0
    assert not deadline.fired
    again = _Deadline(60.0, watchdog)  # the next exchange starts a new thread
    watchdog.add(again, time.monotonic() + TICK)
    _wait_until(lambda: again.fired, 10.0)
    watchdog.stop_if_idle()
    assert not watchdog.running


def test_the_module_watchdog_leaves_a_single_thread_for_the_stamp_walk_fork() -> None:
    """What ``api`` does before the plan's stamp walk: no deadline thread remains."""
    with _Deadline(60.0):
        thread = http._watchdog._thread
        assert thread is not None and thread.is_alive()
    http.stop_idle_watchdog()
    assert not thread.is_alive()
    assert not http._watchdog.running


def _wait_until(condition: object, seconds: float) -> None:
    assert callable(condition)
    limit = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < limit, "timed out"
        time.sleep(0.01)

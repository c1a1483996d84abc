from __future__ import annotations

import pytest

from scisync.render.units import human_bytes, human_duration, human_rate, plural


@pytest.mark.parametrize(
    ("n", "text"),
    [
        (0, "0 B"),
        (1, "1 B"),
        (1023, "1023 B"),
        (1024, "1.0 KiB"),
        (1536, "1.5 KiB"),
        (1024 * 1024 - 1, "1.0 MiB"),
        (int(12.3 * 1024 * 1024), "12.3 MiB"),
        (3 * 1024**3, "3.0 GiB"),
        (5 * 1024**4, "5.0 TiB"),
    ],
)
def test_human_bytes(n: int, text: str) -> None:
    assert human_bytes(n) == text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0.0 s"),
        (0.0004, "1 ms"),
        (0.042, "42 ms"),
        (0.094, "94 ms"),
        (0.096, "0.1 s"),
        (4.24, "4.2 s"),
        (59.96, "1:00"),
        (65, "1:05"),
        (3723, "1:02:03"),
        (-1, "0.0 s"),
    ],
)
def test_human_duration(seconds: float, text: str) -> None:
    assert human_duration(seconds) == text


def test_human_rate() -> None:
    assert human_rate(2.5 * 1024 * 1024) == "2.5 MiB/s"


@pytest.mark.parametrize(
    ("n", "text"), [(0, "0 files"), (1, "1 file"), (2, "2 files"), (1000, "1000 files")]
)
def test_plural(n: int, text: str) -> None:
    assert plural(n, "file") == text
    assert plural(1, "entry", "entries") == "1 entry"
    assert plural(3, "entry", "entries") == "3 entries"

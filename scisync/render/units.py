"""Human-readable sizes, rates and durations (binary units, one decimal)."""

from __future__ import annotations

import math

_UNITS = ("KiB", "MiB", "GiB", "TiB", "PiB", "EiB")


def human_bytes(n: int | float) -> str:
    """``0 B``, ``512 B``, ``1.0 KiB``, ``12.3 MiB``: binary units, one decimal from KiB up."""
    if n < 1024:
        return f"{int(n)} B"
    value = float(n)
    unit = "B"
    for unit in _UNITS:
        value /= 1024
        # Round first so 1023.96 KiB becomes "1.0 MiB" rather than "1024.0 KiB".
        if round(value, 1) < 1024 or unit == _UNITS[-1]:
            break
    return f"{value:.1f} {unit}"


def human_rate(bytes_per_second: float) -> str:
    """``12.3 MiB/s``."""
    return f"{human_bytes(max(0.0, bytes_per_second))}/s"


def human_duration(seconds: float) -> str:
    """``40 ms``, ``0.4 s``, ``4.2 s``, ``1:05`` (m:ss), ``1:02:03`` (h:mm:ss).

    Under a tenth of a second in milliseconds, so a quick apply does not claim 0.0 s.
    """
    if math.isnan(seconds) or seconds < 0:
        seconds = 0.0
    if 0 < seconds < 0.095:
        return f"{max(1, round(seconds * 1000))} ms"
    if round(seconds, 1) < 60:
        return f"{seconds:.1f} s"
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def plural(n: int, noun: str, many: str | None = None) -> str:
    """``1 file``, ``2 files``, ``0 files`` (``many`` for irregular plurals)."""
    return f"{n} {noun}" if n == 1 else f"{n} {many or noun + 's'}"

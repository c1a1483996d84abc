"""Columns whose values are often all the same: kept once when they are.

A pull's file lists carry, per file, a checksum algorithm (the same for a whole block),
a checksum that may be missing for every file (a catalogue without checksums) and a
blake3 that a first download does not know yet (None for every file).  Kept per file,
such a column costs an entry per file even as packed digests (:class:`PackedHex` keeps
each None beside its blob, by index); kept once, it costs nothing per file (issue 13).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from scisync._util.columns import PackedHex, TupleLike

_T = TypeVar("_T")


class Same(TupleLike[_T]):
    """*count* times one value."""

    __slots__ = ("_count", "_value")

    def __init__(self, value: _T, count: int) -> None:
        self._value = value
        self._count = count

    def _item(self, index: int) -> _T:
        return self._value

    def __len__(self) -> int:
        return self._count


def repeated(values: Sequence[_T]) -> Sequence[_T]:
    """*values* as :class:`Same` when they are all one value, else as a tuple."""
    if values and all(value == values[0] for value in values):
        return Same(values[0], len(values))
    return tuple(values)


def hex_column(values: Sequence[str | None]) -> Sequence[str | None]:
    """Hex digests (or None) as :class:`Same` when they are all one value (all None, say),
    else packed (:class:`PackedHex`)."""
    if values and all(value == values[0] for value in values):
        return Same(values[0], len(values))
    return PackedHex(values)

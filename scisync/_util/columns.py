"""Packed columns: a list of a million small values kept in a few large objects.

A Python object per value costs its header (16-56 B) besides the value: a million file
names of 9 characters as ``str`` objects take 58 MB, packed into one ``str`` with an
offset each they take 13 MB; a blake3 digest as hex text takes 113 B, as one 32-byte
slot of a shared ``bytes`` blob 32 B (issue 13).  The containers here keep such
columns and make a value only when it is read.

A column whose values are often all one (a block's checksum algorithm, a blake3 that a
first download does not know yet: None for every file) is kept once when it is:
:class:`Same`, chosen by :func:`repeated` (else the column is packed as the caller says).

Every container is an immutable :class:`~collections.abc.Sequence` that compares and
hashes like the tuple of its values (``Packed(values) == tuple(values)`` both ways
round, and ``hash`` equal), so a record holding one compares equal to one holding the
plain tuple.  Packing is exact: what is read back is always what was given; a value the
packed form cannot hold exactly is kept as it is, beside the column.
"""

from __future__ import annotations

import operator
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import accumulate, chain, repeat
from typing import TypeVar, overload

_T = TypeVar("_T")
_T_co = TypeVar("_T_co", covariant=True)


class TupleLike(Sequence[_T_co]):
    """A read-only sequence whose values are made when read, equal to and hashed like the
    tuple of them.  Subclasses give ``__len__`` and ``_item`` (an index in range)."""

    __slots__ = ()

    def _item(self, index: int) -> _T_co:
        raise NotImplementedError

    def __len__(self) -> int:
        raise NotImplementedError

    @overload
    def __getitem__(self, index: int) -> _T_co: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[_T_co, ...]: ...
    def __getitem__(self, index: int | slice) -> _T_co | tuple[_T_co, ...]:
        if isinstance(index, slice):
            return tuple(map(self._item, range(len(self))[index]))
        return self._item(range(len(self))[index])  # negative indexes, IndexError

    def __iter__(self) -> Iterator[_T_co]:
        return map(self._item, range(len(self)))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (tuple, TupleLike)):
            return len(self) == len(other) and all(map(operator.eq, self, other))
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({tuple(self)!r})"


class Same(TupleLike[_T]):
    """*count* times one value: nothing kept per element."""

    __slots__ = ("_count", "_value")

    def __init__(self, value: _T, count: int) -> None:
        self._value = value
        self._count = count

    @property
    def value(self) -> _T:
        """The value every element has (for a reader that would repeat it per element)."""
        return self._value

    def _item(self, index: int) -> _T:
        return self._value

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[_T]:
        return repeat(self._value, self._count)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Same):
            return self._count == other._count and (not self._count or self._value == other._value)
        return super().__eq__(other)

    def __hash__(self) -> int:
        return super().__hash__()


def _offsets(ends: Iterable[int], last: int) -> array[int]:
    """Ascending offsets in the smallest array type that holds *last* (the largest)."""
    return array("I" if last < 2**32 else "Q", ends)


class PackedStrings(TupleLike[str]):
    """Strings kept as one ``str`` and the offset where each ends."""

    __slots__ = ("_ends", "_text")

    def __init__(self, values: Iterable[str] = ()) -> None:
        values = values if isinstance(values, (list, tuple)) else list(values)
        if not all(type(value) is str for value in values):
            raise TypeError("PackedStrings holds str values only")
        self._text = "".join(values)
        self._ends = _offsets(accumulate(map(len, values)), len(self._text))

    def _item(self, index: int) -> str:
        start = self._ends[index - 1] if index else 0
        return self._text[start : self._ends[index]]

    def __len__(self) -> int:
        return len(self._ends)

    def __iter__(self) -> Iterator[str]:
        ends = self._ends  # all in a row: slices made in C, no index checks
        return map(self._text.__getitem__, map(slice, chain((0,), ends), ends))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, PackedStrings):
            return self._text == other._text and self._ends == other._ends
        return super().__eq__(other)

    def __hash__(self) -> int:
        return super().__hash__()


class PackedInts(TupleLike[int]):
    """Integers kept in an ``array('q')``; a column with a value outside 64 bits is kept
    as a tuple instead (exact whatever the values)."""

    __slots__ = ("_values",)

    def __init__(self, values: Iterable[int] = ()) -> None:
        values = values if isinstance(values, (list, tuple)) else list(values)
        if not all(type(value) is int for value in values):
            raise TypeError("PackedInts holds int values only")
        kept: array[int] | tuple[int, ...]
        try:
            kept = array("q", values)
        except OverflowError:
            kept = tuple(values)
        self._values = kept

    def _item(self, index: int) -> int:
        return self._values[index]

    def __len__(self) -> int:
        return len(self._values)

    def __iter__(self) -> Iterator[int]:
        return iter(self._values)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, PackedInts):
            return self._values == other._values  # one kind each: a tuple only past 64 bits
        return super().__eq__(other)

    def __hash__(self) -> int:
        return super().__hash__()


class PackedHex(TupleLike[_T]):
    """Hex digests of one length, each kept as its bytes in a slot of one shared blob.

    Only a value that :meth:`bytes.hex` gives back exactly (lower-case hex of whole bytes,
    as long as the column's width) is packed; any other value (upper case, odd length,
    another length, not hex, ``None``) is kept as it is, by index, beside the blob.  The
    width is *width* bytes, or that of the first value that packs.
    """

    __slots__ = ("_blob", "_count", "_odd", "_width")

    def __init__(self, values: Iterable[_T] = (), width: int | None = None) -> None:
        values = list(values)
        packed = [_packed(value) for value in values]
        if width is None:
            width = next((len(raw) for raw in packed if raw is not None), 0)
        odd: dict[int, _T] = {
            index: value
            for index, (value, raw) in enumerate(zip(values, packed, strict=True))
            if raw is None or len(raw) != width
        }
        blank = b"\0" * width
        self._width = width
        self._blob = b"".join(
            raw if raw is not None and index not in odd else blank
            for index, raw in enumerate(packed)
        )
        self._count = len(values)
        self._odd: dict[int, _T] | None = odd or None

    def _item(self, index: int) -> _T:
        odd = self._odd
        if odd is not None and index in odd:
            return odd[index]
        start = index * self._width
        return self._blob[start : start + self._width].hex()  # type: ignore[return-value]

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[_T]:
        if self._odd is not None or not self._width:
            return super().__iter__()
        width, blob = self._width, self._blob  # all packed: hex of each slot, made in C
        starts = range(0, width * self._count, width)
        slots = map(
            blob.__getitem__, map(slice, starts, range(width, width * (self._count + 1), width))
        )
        return map(bytes.hex, slots)  # type: ignore[arg-type]

    def __eq__(self, other: object) -> bool:
        if (
            isinstance(other, PackedHex)
            and self._odd is None
            and other._odd is None
            and self._width == other._width
        ):
            return self._blob == other._blob
        return super().__eq__(other)

    def __hash__(self) -> int:
        return super().__hash__()


def _packed(value: object) -> bytes | None:
    """*value*'s bytes when it is hex text that :meth:`bytes.hex` gives back exactly."""
    if type(value) is not str:
        return None
    try:
        raw = bytes.fromhex(value)
    except ValueError:
        return None
    return raw if raw and raw.hex() == value else None  # "" has no width: kept as it is


def repeated(
    values: Sequence[_T], pack: Callable[[Sequence[_T]], Sequence[_T]] = tuple
) -> Sequence[_T]:
    """*values* as :class:`Same` when there are some and they are all one value, else as
    *pack* keeps them (a tuple, or a packed column such as :class:`PackedStrings`)."""
    if values:
        first = values[0]
        if all(value == first for value in values):
            return Same(first, len(values))
    return pack(values)


def hex_column(values: Sequence[str | None]) -> Sequence[str | None]:
    """Hex digests (or None) as :class:`Same` when they are all one value (all None, say),
    else packed (:class:`PackedHex`)."""
    return repeated(values, PackedHex)


__all__ = [
    "PackedHex",
    "PackedInts",
    "PackedStrings",
    "Same",
    "TupleLike",
    "hex_column",
    "repeated",
]

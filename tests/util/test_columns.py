"""Packed columns give back exactly what they were given, and compare and hash like the
tuple of their values (scisync._util.columns)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pytest

from scisync._util.columns import PackedHex, PackedInts, PackedStrings, TupleLike

B3 = "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"
SHA = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
ODD_CHARACTERS = "".join(chr(c) for c in range(1, 128) if not chr(c).isalnum())

STRINGS: list[tuple[str, tuple[str, ...]]] = [
    ("empty", ()),
    ("one", ("f0000.dat",)),
    ("one empty string", ("",)),
    ("empty strings between others", ("", "a", "", "", "b", "")),
    ("unicode names", ("données/é.dat", "日本語.txt", "emoji 😀.bin", "plain")),
    ("every odd character", (ODD_CHARACTERS, "a\nb", "tab\there", "nul\x00", "\\", '"')),
    ("newline only", ("\n", "\r\n", "\n\n")),
    ("surrogates kept as given", ("\udcff", "x")),
    ("many", tuple(f"sub/{n:05d}/f{n}.dat" for n in range(1000))),
]

HEX: list[tuple[str, tuple[str | None, ...]]] = [
    ("empty", ()),
    ("one", (B3,)),
    ("same width", (B3, SHA, B3)),
    ("upper case kept", (B3.upper(), B3)),
    ("odd length kept", ("abc", B3)),
    ("other width kept", (SHA, "abcd", "")),
    ("not hex kept", ("zz" * 32, "not a digest", B3)),
    ("spaces (fromhex skips them) kept", ("ab cd", B3[:-2] + " " + B3[-2:])),
    ("nothing packs", ("X", "", "0x12")),
    ("None kept", (None, B3, None)),
    ("first odd, then packed", ("", B3, "ABCD", SHA)),
    ("short digests", ("00", "ff", "0a")),
    ("unicode digits kept", ("١٢", B3)),
]

INTS: list[tuple[str, tuple[int, ...]]] = [
    ("empty", ()),
    ("one", (16,)),
    ("zero and negatives", (0, -1, -(2**63))),
    ("64-bit edge", (2**63 - 1, 0)),
    ("past 64 bits kept", (2**63, 1)),
    ("far past 64 bits kept", (-(2**200), 7)),
]


def _check_like_tuple(packed: Sequence[object], values: tuple[object, ...]) -> None:
    assert tuple(packed) == values
    assert len(packed) == len(values)
    assert [packed[i] for i in range(len(values))] == list(values)
    assert [packed[-i] for i in range(1, len(values) + 1)] == [
        values[-i] for i in range(1, len(values) + 1)
    ]
    assert packed[1:] == values[1:] and packed[::-2] == values[::-2]
    assert packed == values and values == packed
    assert (packed != values) is False and (values != packed) is False
    assert hash(packed) == hash(values)
    assert packed != [*values] or not values  # type: ignore[comparison-overlap]  # like a tuple
    assert packed != (*values, "extra")
    assert (*values, "extra") != packed
    with pytest.raises(IndexError):
        packed[len(values)]
    for value in values:
        assert value in packed


def _check_equal_packed(
    make: Callable[[tuple[object, ...]], Sequence[object]], values: tuple[object, ...]
) -> None:
    assert make(values) == make(values)
    assert hash(make(values)) == hash(make(values))
    if values:
        changed = (*values[:-1], "changed")
        assert make(values) != make(changed)


@pytest.mark.parametrize(("case", "values"), STRINGS, ids=[c for c, _ in STRINGS])
def test_strings_round_trip(case: str, values: tuple[str, ...]) -> None:
    _check_like_tuple(PackedStrings(values), values)
    _check_like_tuple(PackedStrings(iter(values)), values)
    _check_equal_packed(PackedStrings, values)  # type: ignore[arg-type]


@pytest.mark.parametrize(("case", "values"), HEX, ids=[c for c, _ in HEX])
def test_hex_round_trip(case: str, values: tuple[str | None, ...]) -> None:
    _check_like_tuple(PackedHex(values), values)
    _check_like_tuple(PackedHex(iter(values)), values)
    _check_like_tuple(PackedHex(values, width=32), values)
    _check_equal_packed(PackedHex, values)
    assert all(type(got) is type(want) for got, want in zip(PackedHex(values), values, strict=True))


@pytest.mark.parametrize(("case", "values"), INTS, ids=[c for c, _ in INTS])
def test_ints_round_trip(case: str, values: tuple[int, ...]) -> None:
    _check_like_tuple(PackedInts(values), values)
    _check_like_tuple(PackedInts(iter(values)), values)
    assert PackedInts(values) == PackedInts(values)
    assert hash(PackedInts(values)) == hash(values)
    if values:
        assert PackedInts(values) != PackedInts((*values[:-1], values[-1] + 1))


def test_hex_columns_of_one_content_are_equal_however_packed() -> None:
    values = (B3, "ABCD", SHA)
    assert PackedHex(values) == PackedHex(values, width=2)  # other slots, same values
    assert hash(PackedHex(values)) == hash(PackedHex(values, width=2))
    assert PackedHex((B3, SHA)) != PackedHex((SHA, B3))


def test_packed_digests_take_their_bytes_only() -> None:
    column = PackedHex([B3] * 1000)
    assert len(column._blob) == 32 * 1000 and column._odd is None


def test_packed_columns_of_one_kind_compare_across_kinds() -> None:
    assert PackedStrings(("a", "b")) == PackedHex(("a", "b"))  # equal values, like two tuples
    assert PackedStrings(("ab",)) == PackedHex(("ab",))
    assert PackedStrings(("ab",)) != PackedHex(("ab", "cd"))
    assert PackedInts((1, 2)) != PackedStrings(("1", "2"))


def test_strings_refuse_what_they_cannot_give_back() -> None:
    with pytest.raises(TypeError):
        PackedStrings([b"bytes"])  # type: ignore[list-item]
    with pytest.raises(TypeError):
        PackedInts([1.0])  # type: ignore[list-item]
    with pytest.raises(TypeError):
        PackedInts([True])


def test_tuple_like_subclass_gets_the_tuple_behaviour() -> None:
    class Squares(TupleLike[int]):
        __slots__ = ("_n",)

        def __init__(self, n: int) -> None:
            self._n = n

        def _item(self, index: int) -> int:
            return index * index

        def __len__(self) -> int:
            return self._n

    _check_like_tuple(Squares(5), (0, 1, 4, 9, 16))
    assert Squares(3) == PackedInts((0, 1, 4))
    assert repr(Squares(2)) == "Squares((0, 1))"

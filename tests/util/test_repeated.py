"""Columns of one repeated value kept once (Same, repeated and hex_column in
scisync._util.columns): read back exactly, compared and hashed like the tuple, whichever
form was chosen."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from scisync._util.columns import PackedHex, PackedStrings, Same, hex_column, repeated

D = "ab" * 32
CASES: list[tuple[list[str | None], type]] = [
    ([], PackedHex),
    ([None], Same),
    ([None] * 5, Same),
    ([D] * 3, Same),
    ([D, None, D], PackedHex),
    ([D, D.upper()], PackedHex),
    (["", ""], Same),
    (["0a", D, "x"], PackedHex),
]


@pytest.mark.parametrize(("values", "kind"), CASES)
def test_hex_column_keeps_a_repeated_value_once_and_reads_back_exactly(
    values: list[str | None], kind: type
) -> None:
    column = hex_column(values)
    assert isinstance(column, kind)
    _same_as_tuple(column, values)


@pytest.mark.parametrize(("values", "kind"), [([], tuple), (["a"] * 4, Same), (["a", None], tuple)])
def test_repeated_keeps_one_value_once(values: list[str | None], kind: type) -> None:
    column = repeated(values)
    assert isinstance(column, kind)
    _same_as_tuple(column, values)


@pytest.mark.parametrize(
    ("values", "kind"),
    [([], PackedStrings), (["sha256"] * 3, Same), (["md5", "sha256"], PackedStrings)],
)
def test_repeated_packs_as_told_when_the_values_differ(values: list[str], kind: type) -> None:
    column = repeated(values, PackedStrings)
    assert isinstance(column, kind)
    _same_as_tuple(column, values)  # type: ignore[arg-type]


def test_same_gives_its_value_and_compares_by_value_and_count() -> None:
    assert Same("sha256", 3).value == "sha256" and Same(None, 0).value is None
    assert Same("a", 3) == Same("a", 3) and hash(Same("a", 3)) == hash(Same("a", 3))
    assert Same("a", 3) != Same("a", 2) and Same("a", 3) != Same("b", 3)
    assert Same("a", 0) == Same("b", 0) == () == PackedStrings()  # empty: all alike
    assert Same("a", 2) == PackedStrings(["a", "a"]) and Same("a", 2) != PackedStrings(["a", "b"])


def _same_as_tuple(column: Sequence[str | None], values: list[str | None]) -> None:
    assert list(column) == values and len(column) == len(values)
    assert [column[i] for i in range(-len(values), len(values))] == values + values
    assert column == tuple(values) and tuple(values) == column
    assert hash(column) == hash(tuple(values))
    assert column != (*values, "other")
    with pytest.raises(IndexError):
        column[len(values)]

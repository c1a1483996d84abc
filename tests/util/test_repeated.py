"""Columns of one repeated value kept once (scisync._util.repeated): read back exactly,
compared and hashed like the tuple, whichever form was chosen."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from scisync._util.columns import PackedHex
from scisync._util.repeated import Same, hex_column, repeated

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


def _same_as_tuple(column: Sequence[str | None], values: list[str | None]) -> None:
    assert list(column) == values and len(column) == len(values)
    assert [column[i] for i in range(-len(values), len(values))] == values + values
    assert column == tuple(values) and tuple(values) == column
    assert hash(column) == hash(tuple(values))
    assert column != (*values, "other")
    with pytest.raises(IndexError):
        column[len(values)]

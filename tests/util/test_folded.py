"""Compact per-file strings (issue 13) always give back exactly what they were given."""

from __future__ import annotations

import pytest

from scisync._util.folded import fold, pack_hex, unfold, unpack_hex


@pytest.mark.parametrize(
    ("text", "packed"),
    [
        ("ab" * 32, True),  # a digest as scisync computes it
        ("", True),
        ("AB" * 32, False),  # upper case would come back lower
        ("abc", False),  # half a byte
        ("ab cd", False),  # fromhex skips spaces
        (" abcd", False),
        ("xyz!", False),
        ("0a1b\n", False),
    ],
)
def test_pack_hex_round_trips_and_packs_only_what_comes_back_the_same(
    text: str, packed: bool
) -> None:
    value = pack_hex(text)
    assert unpack_hex(value) == text
    assert isinstance(value, bytes) is packed


@pytest.mark.parametrize(
    ("full", "relative", "joined"),
    [
        ("/data/run/f.dat", "f.dat", True),
        ("/data/run/sub/f.dat", "sub/f.dat", True),
        ("/data/run/xf.dat", "f.dat", False),
        ("f.dat", "f.dat", False),
        ("/f.dat", "f.dat", True),
        ("/data/", "", True),
        (None, "f.dat", False),
    ],
)
def test_fold_round_trips(full: str | None, relative: str, joined: bool) -> None:
    kept, was_joined = fold(full, relative)
    assert was_joined is joined
    assert unfold(kept, was_joined, relative) == full

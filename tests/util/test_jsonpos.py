from __future__ import annotations

import pytest

from scisync._util.jsonpos import locate

TEXT = """{
  "a": {"b": [1, {"c": true}, "x"]},
  "d": "e\\"}",
  "f": []
}"""


@pytest.mark.parametrize(
    ("path", "where"),
    [
        ([], (1, 1)),
        (["a"], (2, 8)),
        (["a", "b", 1, "c"], (2, 24)),
        (["a", "b", 2], (2, 31)),
        (["d"], (3, 8)),
        (["f"], (4, 8)),
    ],
)
def test_locate(path: list[str | int], where: tuple[int, int]) -> None:
    assert locate(TEXT, path) == where


@pytest.mark.parametrize("path", [["zz"], ["a", "b", 7], ["f", 0], ["a", 0], ["d", "x"]])
def test_missing_paths(path: list[str | int]) -> None:
    assert locate(TEXT, path) is None

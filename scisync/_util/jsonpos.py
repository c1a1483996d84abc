"""Find where a JSON path points in JSON text, so errors can say ``file:line:column``.

jsonschema reports a path (``$.datasets.run1.files[3].size``); people need a line.
This walks the text with the standard library's own decoder, without building a
position-annotated tree for the whole document.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

_DECODER = json.JSONDecoder()
_WHITESPACE = " \t\n\r"


def locate(text: str, path: Sequence[str | int]) -> tuple[int, int] | None:
    """``(line, column)``, both 1-based, of the value at *path* in *text*; None if not found.

    *text* must be valid JSON.  The position is that of the value's first character.
    """
    try:
        offset = _find(text, _skip(text, 0), list(path))
    except (ValueError, IndexError):
        return None
    if offset is None:
        return None
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, column


def _skip(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in _WHITESPACE:
        pos += 1
    return pos


def _find(text: str, pos: int, path: list[str | int]) -> int | None:
    if not path:
        return pos
    target, rest = path[0], path[1:]
    if text[pos] == "{" and isinstance(target, str):
        pos = _skip(text, pos + 1)
        while text[pos] != "}":
            key, pos = _DECODER.raw_decode(text, pos)
            pos = _skip(text, _skip(text, pos) + 1)  # past the colon
            if key == target:
                return _find(text, pos, rest)
            pos = _skip(text, _value_end(text, pos))
            if text[pos] == ",":
                pos = _skip(text, pos + 1)
        return None
    if text[pos] == "[" and isinstance(target, int):
        pos = _skip(text, pos + 1)
        index = 0
        while text[pos] != "]":
            if index == target:
                return _find(text, pos, rest)
            pos = _skip(text, _value_end(text, pos))
            if text[pos] == ",":
                pos = _skip(text, pos + 1)
            index += 1
        return None
    return None


def _value_end(text: str, pos: int) -> int:
    _, end = _DECODER.raw_decode(text, pos)
    return end

"""Parse a JSON file scisync wrote (scisync.lock, a saved plan) that a person may have edited.

Three things the standard parser lets through are refused here, each with a position:
objects that repeat a key (``json`` silently keeps the last one, so an edited lockfile
could hold two entries of which one is ignored), nesting deeper than
:data:`~scisync._util.limits.MAX_JSON_DEPTH` (``json`` itself ends in RecursionError near
1,000 levels), and files over a size limit (checked before reading).

The common case costs one ``json.loads`` with a cheap hook; the slow scan that finds the
line and column of a problem runs only once a problem is known to exist.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import cast

from scisync._util.jsontypes import Json
from scisync._util.limits import MAX_JSON_DEPTH

_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}:,]', re.DOTALL)


class JsonProblem(Exception):
    """Why a JSON text was refused, with a 1-based line and column when known."""

    def __init__(self, what: str, line: int = 1, column: int = 1) -> None:
        super().__init__(what)
        self.what = what
        self.line = line
        self.column = column

    def where(self, source: str) -> str:
        return f"{source}:{self.line}:{self.column}"


class _DuplicateKey(Exception):
    pass


def _no_duplicates(pairs: list[tuple[str, Json]]) -> dict[str, Json]:
    found = dict(pairs)
    if len(found) != len(pairs):
        raise _DuplicateKey
    return found


def read_bounded(path: Path, limit: int) -> bytes | None:
    """The bytes of *path*, or None when it does not exist.

    Raises :class:`JsonProblem` when it is larger than *limit* (without reading it all);
    other OS errors propagate for the caller to name.
    """
    try:
        with path.open("rb") as handle:
            # The size first: a huge (or sparse) file is refused without reading it.
            if os.fstat(handle.fileno()).st_size > limit:
                raise JsonProblem(f"the file is larger than the limit of {limit:,} bytes")
            data = handle.read(limit + 1)  # and a file growing meanwhile stops here
    except FileNotFoundError:
        return None
    if len(data) > limit:
        raise JsonProblem(f"the file is larger than the limit of {limit:,} bytes")
    return data


def parse_json(text: str, *, max_depth: int = MAX_JSON_DEPTH, check_depth: bool = True) -> Json:
    """*text* parsed; raises :class:`JsonProblem` for a repeated key or too deep nesting,
    and ``json.JSONDecodeError`` for a syntax error.

    ``check_depth=False`` skips the walk over the parsed value for documents whose schema
    already fixes their shape (nesting past ~1,000 is still caught).
    """
    try:
        data = cast(Json, json.loads(text, object_pairs_hook=_no_duplicates))
    except (_DuplicateKey, RecursionError):
        raise _locate_problem(text, max_depth) from None
    if check_depth and _depth_exceeds(data, max_depth):
        raise _locate_problem(text, max_depth) from None
    return data


def _depth_exceeds(value: Json, limit: int) -> bool:
    stack: list[tuple[Json, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item  # type: ignore[assignment]
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def _locate_problem(text: str, max_depth: int) -> JsonProblem:
    """Walk *text* token by token (slow: only on the error path) to the first problem."""
    frames: list[set[str] | None] = []  # a set of keys per object, None per array
    expect_key = False
    for match in _TOKEN.finditer(text):
        token = match.group()
        if token in "{[":
            frames.append(set() if token == "{" else None)
            expect_key = token == "{"
            if len(frames) > max_depth:
                return _problem(f"nested deeper than {max_depth} levels", text, match.start())
        elif token in "}]":
            if frames:
                frames.pop()
            expect_key = False
        elif token == ",":
            expect_key = bool(frames) and frames[-1] is not None
        elif token == ":":
            expect_key = False
        elif expect_key and frames and frames[-1] is not None:
            key = cast(str, json.loads(token))
            if key in frames[-1]:
                return _problem(f"key {key!r} is written twice in one object", text, match.start())
            frames[-1].add(key)
            expect_key = False
    return JsonProblem(f"nested deeper than {max_depth} levels")


def _problem(what: str, text: str, offset: int) -> JsonProblem:
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return JsonProblem(what, line, column)

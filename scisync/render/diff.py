"""The structure of a value change, for renderers: pure functions, no formatting.

A field's ``before`` and ``after`` (JSON) are compared key by key and item by item down
to their leaves, so a renderer can show *what* changed, with the path to it, instead of
two truncated blobs: objects (scientific_metadata, sample_characteristics,
job_parameters) give one leaf per added, removed or changed key; quantities
(``{"value", "unit"}``) are leaves of their own; strings are compared line by line
(multi-line) or by the changed span (one line).  The planner already dropped what the
server derives (``valueSI``/``unitSI``), so it never shows up here as a change.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from scisync._util.jsontypes import Json


class Sign(StrEnum):
    ADD = "+"
    REMOVE = "-"
    CHANGE = "~"
    KEEP = " "


class _Absent:
    """A key or item that is not there (unlike ``None``, which is JSON null)."""

    def __repr__(self) -> str:
        return "ABSENT"


ABSENT = _Absent()
"""The side of a leaf that does not exist (an added or a removed key)."""


@dataclass(frozen=True)
class Leaf:
    """One changed leaf of a value: its path below the field, and both sides."""

    sign: Sign
    path: str  # "" for the field itself; "sample.temperature", "keywords[2]", '["a b"].c'
    before: Json | _Absent
    after: Json | _Absent


@dataclass(frozen=True)
class Leaves:
    """The changed leaves of a value, and how many leaves stayed the same (not shown)."""

    changed: tuple[Leaf, ...]
    unchanged: int


def is_quantity(value: Json | _Absent) -> bool:
    """``{"value": ..., "unit": ...}`` (and nothing else): shown as ``value unit``."""
    return isinstance(value, dict) and set(value) == {"value", "unit"}


def _is_branch(value: Json | _Absent) -> bool:
    return isinstance(value, dict) and bool(value) and not is_quantity(value)


_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*\Z")


def child_path(path: str, key: str | int) -> str:
    """``a.b``, ``a[3]``, ``a["odd key"]``: a path a reader can follow into the JSON."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    if _PLAIN_KEY.match(key):
        return f"{path}.{key}" if path else key
    quoted = '"' + key.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return f"{path}[{quoted}]"


def leaf_changes(before: Json | _Absent, after: Json | _Absent, path: str = "") -> Leaves:
    """Every leaf where *before* and *after* differ, in the order of *after*'s keys."""
    if (
        isinstance(before, dict)
        and isinstance(after, dict)
        and not is_quantity(before)
        and not is_quantity(after)
        and (before or after)
    ):
        return _object_changes(before, after, path)
    if isinstance(before, list) and isinstance(after, list) and (before or after):
        return _list_changes(before, after, path)
    if not isinstance(before, _Absent) and not isinstance(after, _Absent) and same(before, after):
        return Leaves((), 1)
    if isinstance(before, _Absent) and isinstance(after, dict) and _is_branch(after):
        return _one_sided(after, path, Sign.ADD)
    if isinstance(after, _Absent) and isinstance(before, dict) and _is_branch(before):
        return _one_sided(before, path, Sign.REMOVE)
    if isinstance(before, _Absent):
        return Leaves((Leaf(Sign.ADD, path, before, after),), 0)
    if isinstance(after, _Absent):
        return Leaves((Leaf(Sign.REMOVE, path, before, after),), 0)
    return Leaves((Leaf(Sign.CHANGE, path, before, after),), 0)


def _object_changes(before: dict[str, Json], after: dict[str, Json], path: str) -> Leaves:
    changed: list[Leaf] = []
    unchanged = 0
    for key in [*after, *(k for k in before if k not in after)]:
        sub = leaf_changes(before.get(key, ABSENT), after.get(key, ABSENT), child_path(path, key))
        changed.extend(sub.changed)
        unchanged += sub.unchanged
    return Leaves(tuple(changed), unchanged)


def _list_changes(before: Sequence[Json], after: Sequence[Json], path: str) -> Leaves:
    """Items matched by content (an insertion does not show every later item as changed);
    items replaced one for one are compared in depth."""
    keys_before = [_canonical(item) for item in before]
    keys_after = [_canonical(item) for item in after]
    matcher = difflib.SequenceMatcher(a=keys_before, b=keys_after, autojunk=False)
    changed: list[Leaf] = []
    unchanged = 0
    for op, b1, b2, a1, a2 in matcher.get_opcodes():
        if op == "equal":
            unchanged += b2 - b1
            continue
        if op == "replace" and b2 - b1 == a2 - a1:
            for offset in range(b2 - b1):
                sub = leaf_changes(
                    before[b1 + offset], after[a1 + offset], f"{path}[{a1 + offset}]"
                )
                changed.extend(sub.changed)
                unchanged += sub.unchanged
            continue
        changed.extend(Leaf(Sign.REMOVE, f"{path}[{i}]", before[i], ABSENT) for i in range(b1, b2))
        changed.extend(Leaf(Sign.ADD, f"{path}[{i}]", ABSENT, after[i]) for i in range(a1, a2))
    return Leaves(tuple(changed), unchanged)


def _one_sided(value: Json, path: str, sign: Sign) -> Leaves:
    """An added or removed object: each of its leaves, so every key shows its path."""
    assert isinstance(value, dict)
    leaves: list[Leaf] = []
    for key, item in value.items():
        sub = child_path(path, key)
        if _is_branch(item):
            leaves.extend(_one_sided(item, sub, sign).changed)
        elif sign is Sign.ADD:
            leaves.append(Leaf(sign, sub, ABSENT, item))
        else:
            leaves.append(Leaf(sign, sub, item, ABSENT))
    return Leaves(tuple(leaves), 0)


def _canonical(value: Json) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def same(left: Json, right: Json) -> bool:
    """JSON equality that tells ``true`` from ``1`` (as SciCat does)."""
    if isinstance(left, bool) or isinstance(right, bool):
        return isinstance(left, bool) and isinstance(right, bool) and left == right
    return _canonical(left) == _canonical(right)


# --- strings --------------------------------------------------------------------------


@dataclass(frozen=True)
class Span:
    """Where two one-line strings differ: a common head, then the changed middles."""

    head: int  # characters both start with
    before_end: int  # the changed part of before is before[head:before_end]
    after_end: int  # ... and of after, after[head:after_end]


def changed_span(before: str, after: str) -> Span:
    """The middle part that differs (common head and tail excluded), widened to whole
    words so that "two" → "three" reads as that, not as "t[wo]" → "t[hree]"."""
    if before == after:
        return Span(len(before), len(before), len(after))
    head = 0
    limit = min(len(before), len(after))
    while head < limit and before[head] == after[head]:
        head += 1
    tail = 0
    while tail < limit - head and before[-1 - tail] == after[-1 - tail]:
        tail += 1
    while head > 0 and before[head - 1].isalnum():
        head -= 1
    while tail > 0 and before[len(before) - tail].isalnum():
        tail -= 1
    return Span(head, len(before) - tail, len(after) - tail)


@dataclass(frozen=True)
class LineChange:
    sign: Sign  # ADD, REMOVE or KEEP
    text: str


@dataclass(frozen=True)
class Fold:
    """Unchanged lines left out in compact mode."""

    lines: int


def line_diff(before: str, after: str) -> list[LineChange]:
    """Every line of a multi-line string change, each kept, removed or added."""
    old, new = before.split("\n"), after.split("\n")
    result: list[LineChange] = []
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for op, b1, b2, a1, a2 in matcher.get_opcodes():
        if op == "equal":
            result.extend(LineChange(Sign.KEEP, line) for line in old[b1:b2])
            continue
        result.extend(LineChange(Sign.REMOVE, line) for line in old[b1:b2])
        result.extend(LineChange(Sign.ADD, line) for line in new[a1:a2])
    return result


def fold_context(lines: Sequence[LineChange], context: int) -> list[LineChange | Fold]:
    """Keep changed lines and *context* lines around each; fold longer unchanged runs."""
    near: set[int] = set()
    for i, line in enumerate(lines):
        if line.sign is not Sign.KEEP:
            near.update(range(i - context, i + context + 1))
    result: list[LineChange | Fold] = []
    skipped = 0
    for i, line in enumerate(lines):
        if i in near or line.sign is not Sign.KEEP:
            if skipped:
                result.append(Fold(skipped))
                skipped = 0
            result.append(line)
        else:
            skipped += 1
    if skipped:
        result.append(Fold(skipped))
    return result

"""A YAML document as a tree of nodes that remember where they were written.

Every stage of the manifest pipeline (render, validate, build the typed model) works
on :class:`Node` trees, so that any problem found late can still point at the
``file:line:col`` of the value the user wrote.  Rendering and ``for_each`` expansion
create new nodes but copy the position of the node they came from.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from scisync._util.jsontypes import Json

PathPart = str | int
_PLAIN_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
NodePath = tuple[PathPart, ...]


@dataclass(frozen=True)
class Position:
    """1-based line and column in a manifest file."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True)
class Node:
    """One YAML value: a mapping (``dict[str, Node]``), a sequence or a scalar.

    ``key_positions`` holds, for a mapping, where each key was written (an unknown key is
    reported at the key, a wrong value at the value).  ``origin`` says how a node came
    to be when it was not written literally (e.g. ``for_each item 2``).
    """

    value: Any  # dict[str, Node] | list[Node] | str | int | float | bool | None
    position: Position
    key_positions: dict[str, Position] = field(default_factory=dict)
    origin: str | None = None

    @property
    def is_mapping(self) -> bool:
        return isinstance(self.value, dict)

    @property
    def is_sequence(self) -> bool:
        return isinstance(self.value, list)

    def mapping(self) -> dict[str, Node]:
        assert isinstance(self.value, dict)
        return self.value

    def sequence(self) -> list[Node]:
        assert isinstance(self.value, list)
        return self.value

    def get(self, key: str) -> Node | None:
        return self.value.get(key) if isinstance(self.value, dict) else None

    def with_value(self, value: Any) -> Node:
        # The constructor, not dataclasses.replace: rendering calls this once per value.
        return Node(value, self.position, self.key_positions, self.origin)

    def to_plain(self) -> Json:
        """The value as plain JSON-like Python data (positions dropped)."""
        if isinstance(self.value, dict):
            return {key: child.to_plain() for key, child in self.value.items()}
        if isinstance(self.value, list):
            return [child.to_plain() for child in self.value]
        plain: Json = self.value
        return plain

    def child(self, part: PathPart) -> Node | None:
        """The child at *part* (a key or an index), or None."""
        if isinstance(self.value, dict) and isinstance(part, str):
            found: Node | None = self.value.get(part)
            return found
        if isinstance(self.value, list) and isinstance(part, int) and 0 <= part < len(self.value):
            item: Node = self.value[part]
            return item
        return None

    def find(self, path: NodePath) -> tuple[Node, NodePath]:
        """The deepest node along *path*, and the part of *path* that led to it."""
        node = self
        walked: list[PathPart] = []
        for part in path:
            child = node.child(part)
            if child is None:
                break
            node = child
            walked.append(part)
        return node, tuple(walked)


def format_path(path: NodePath) -> str:
    """``("datasets", 2, "files")`` -> ``datasets[2].files``; the root is ``(top level)``."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        elif not _PLAIN_KEY.match(part):
            text += f"[{json.dumps(part)}]"
        else:
            text += f".{part}" if text else part
    return text or "(top level)"


def where(position: Position, path: NodePath) -> str:
    """The ``where`` of a :class:`~scisync.errors.Problem`: ``file:line:col: path``."""
    return f"{position}: {format_path(path)}"


def from_plain(value: Json, position: Position, origin: str | None = None) -> Node:
    """Wrap plain data (from a template or a --var) as nodes that all sit at *position*."""
    if isinstance(value, dict):
        return Node(
            {str(k): from_plain(v, position, origin) for k, v in value.items()},
            position,
            {str(k): position for k in value},
            origin,
        )
    if isinstance(value, list | tuple):
        return Node([from_plain(v, position, origin) for v in value], position, origin=origin)
    return Node(value, position, origin=origin)

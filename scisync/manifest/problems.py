"""Collecting manifest problems: every stage reports all it finds, then we raise once."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from scisync.errors import ManifestError, Problem
from scisync.manifest.nodes import NodePath, Position, where


def did_you_mean(word: str, choices: Iterable[str]) -> str | None:
    """``"did you mean 'owner_group'?"`` when *word* looks like a misspelling of a choice."""
    close = difflib.get_close_matches(word, sorted(set(choices)), n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}?" if close else None


class Problems:
    """An ordered, de-duplicated list of :class:`Problem` found in a manifest."""

    def __init__(self) -> None:
        self._found: list[Problem] = []
        self._seen: set[tuple[str | None, str]] = set()
        # Values whose template failed: already reported, so later stages skip them.
        self.failed_values: set[Position] = set()

    def add(self, position: Position, path: NodePath, what: str, hint: str | None = None) -> None:
        self.add_problem(Problem(what=what, where=where(position, path), hint=hint))

    def add_problem(self, problem: Problem) -> None:
        if (problem.where, problem.what) not in self._seen:
            self._seen.add((problem.where, problem.what))
            self._found.append(problem)

    def extend(self, other: Problems) -> None:
        for problem in other.found:
            self.add_problem(problem)

    @property
    def found(self) -> tuple[Problem, ...]:
        return tuple(self._found)

    def __bool__(self) -> bool:
        return bool(self._found)

    def raise_if_any(self) -> None:
        if self._found:
            raise ManifestError(problems=sorted(self._found, key=_sort_key))


def _sort_key(problem: Problem) -> tuple[str, int, int]:
    """Problems in file order: ``file:line:col: ...`` compared numerically."""
    parts = (problem.where or "").split(":")
    try:
        return parts[0], int(parts[1]), int(parts[2])
    except (IndexError, ValueError):
        return parts[0], 0, 0

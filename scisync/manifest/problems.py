"""Collecting manifest problems: every stage reports all it finds, then we raise once."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable

from scisync.errors import ManifestError, Problem
from scisync.manifest.nodes import NodePath, Position, where


def did_you_mean(word: str, choices: Iterable[str]) -> str | None:
    """``"did you mean 'owner_group'?"`` when *word* looks like a misspelling of a choice."""
    close = difflib.get_close_matches(word, sorted(set(choices)), n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}?" if close else None


class Problems:
    """An ordered list of :class:`Problem` found in a manifest, one per root cause.

    A value written once but used many times (a ``defaults:`` key, a shared template, a
    ``for_each`` body) fails at the same file position, with the same message (up to the
    quoted values a template rendered differently), for every entry it reaches: that is
    one cause, reported once with the number of entries it affects.
    """

    def __init__(self) -> None:
        self._found: list[Problem] = []
        self._cause: dict[tuple[str, str], int] = {}  # (file:line:col, what) -> index
        self._repeats: dict[int, int] = {}  # index -> further entries with the same cause
        # Values whose template failed: already reported, so later stages skip them.
        self.failed_values: set[Position] = set()

    def add(self, position: Position, path: NodePath, what: str, hint: str | None = None) -> None:
        self.add_problem(Problem(what=what, where=where(position, path), hint=hint))

    def add_problem(self, problem: Problem) -> None:
        cause = (_position_of(problem.where), _QUOTED.sub("…", problem.what))
        index = self._cause.get(cause)
        if index is None:
            self._cause[cause] = len(self._found)
            self._found.append(problem)
        elif problem.where != self._found[index].where:
            self._repeats[index] = self._repeats.get(index, 0) + 1

    def extend(self, other: Problems) -> None:
        for problem in other.found:
            self.add_problem(problem)

    @property
    def found(self) -> tuple[Problem, ...]:
        return tuple(
            _with_count(problem, self._repeats.get(index, 0))
            for index, problem in enumerate(self._found)
        )

    def __bool__(self) -> bool:
        return bool(self._found)

    def raise_if_any(self) -> None:
        if self._found:
            raise ManifestError(problems=sorted(self.found, key=_sort_key))


_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
"""Quoted values in a message: they differ between the entries one template renders."""


def _position_of(where_text: str | None) -> str:
    """``file:line:col`` of a problem's place (the whole place when it has none)."""
    return (where_text or "").split(": ", 1)[0]


def _with_count(problem: Problem, repeats: int) -> Problem:
    if not repeats:
        return problem
    note = f"the same in {repeats} more {'entry' if repeats == 1 else 'entries'}"
    hint = f"{problem.hint}; {note}" if problem.hint else note
    return Problem(what=problem.what, where=problem.where, hint=hint)


def _sort_key(problem: Problem) -> tuple[str, int, int]:
    """Problems in file order: ``file:line:col: ...`` compared numerically."""
    parts = (problem.where or "").split(":")
    try:
        return parts[0], int(parts[1]), int(parts[2])
    except (IndexError, ValueError):
        return parts[0], 0, 0

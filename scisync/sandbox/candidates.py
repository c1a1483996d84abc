"""Which stored documents a list query has to look at: few, when its ``where`` allows.

A list query answers with the documents matching its ``where`` (the caller's filter ANDed
with the read rule).  Evaluating that on every stored body costs the whole store, so
:meth:`Candidates.matching` first picks a smaller set that surely holds every match, and
the caller still runs the full ``where`` over it: the answer is the same as a scan's, at
a cost that follows the answer.  In order of preference:

1. a conjunct pinning ids (``pid``/``_id``) or an indexed path (``store.INDEXED``) to
   strings, ``{f: s}``, ``{f: {"$eq": s}}`` or ``{f: {"$in": [s, ...]}}``: the documents
   the primary key or the index lists for those strings (exactly the conjunct's matches);
2. otherwise the conjuncts that read only access fields (the read rule, fullquery's
   ``userGroups``), run once per distinct stored access combination: only the documents
   with a combination that passes are read;
3. otherwise every document.

A conjunct is a top-level key of the ``where``, or one inside a top-level ``$and``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from scisync.sandbox.filters import FilterError, Matcher
from scisync.sandbox.store import ACCESS_FIELDS, INDEXED, LISTED, Store


def conjuncts(where: Any) -> Iterator[dict[str, Any]]:
    """The parts of *where* that must all hold, as one-key documents."""
    if not isinstance(where, dict):
        return
    for key, condition in where.items():
        if (
            key == "$and"
            and isinstance(condition, list)
            and all(isinstance(part, dict) for part in condition)
        ):
            for part in condition:
                yield from conjuncts(part)
        else:
            yield {key: condition}


def pinned_strings(condition: Any) -> list[str] | None:
    """The strings a field condition allows, when it allows only strings; else None."""
    if isinstance(condition, str):
        return [condition]
    if isinstance(condition, dict) and len(condition) == 1:
        ((op, arg),) = condition.items()
        if op == "$eq" and isinstance(arg, str):
            return [arg]
        if op == "$in" and isinstance(arg, list) and all(isinstance(v, str) for v in arg):
            return list(arg)
    return None


def reads_only_access(where: Any) -> bool:
    """Does *where* look at the stored access fields and nothing else?"""
    if not isinstance(where, dict) or not where:
        return False
    for key, condition in where.items():
        if key in ("$and", "$or", "$nor"):
            if not isinstance(condition, list) or not all(map(reads_only_access, condition)):
                return False
        elif key.startswith("$") or key.split(".", 1)[0] not in ACCESS_FIELDS:
            return False
    return True


@dataclass(frozen=True)
class Candidates:
    """Candidate selection for one collection (see the module docstring)."""

    store: Store
    collection: str
    matcher: Matcher
    id_fields: tuple[str, ...] = ()
    date_paths: frozenset[str] = frozenset()

    def matching(self, where: Any) -> list[dict[str, Any]]:
        """Documents that include every one matching *where*, in insertion order."""
        parts = list(conjuncts(where))
        pinned = self._pinned(parts)
        if pinned is not None:
            return pinned
        checks = [part for part in parts if reads_only_access(part)]
        accesses = self._passing_accesses(checks) if checks else None
        if accesses is not None:
            return self.store.by_access(self.collection, [text for text, _ in accesses])
        return self.store.all(self.collection)

    def count(self, where: Any) -> int:
        """How many documents match *where*; without reading a body when it reads only
        access fields (a plain count, the read rule)."""
        parts = list(conjuncts(where))
        if all(map(reads_only_access, parts)):
            accesses = self._passing_accesses(parts)
            if accesses is not None:
                return sum(count for _, count in accesses)
        return len(self.matcher.select(self.matching(where), where))

    def _pinned(self, parts: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
        by_path: dict[str, list[str]] = {}
        for part in parts:
            ((path, condition),) = part.items()
            values = pinned_strings(condition)
            if values is not None and path not in self.date_paths:
                by_path.setdefault(path, values)
        for path in self.id_fields:
            if path in by_path:
                return self.store.by_ids(self.collection, by_path[path])
        for path in INDEXED.get(self.collection, ()):
            if path in by_path:
                return self.store.by_index(self.collection, path, by_path[path])
        return None

    def _passing_accesses(self, checks: list[dict[str, Any]]) -> list[tuple[str, int]] | None:
        """``(access JSON, documents)`` of the stored access combinations that pass every
        access-only conjunct in *checks*; None when the collection has no access index or
        a check is malformed (the scan then meets it and reports it, as it always did)."""
        if self.collection not in LISTED:
            return None
        rows = self.store.access_counts(self.collection)
        clause = {"$and": checks}
        try:
            return [row for row in rows if self.matcher.matches(json.loads(row[0]), clause)]
        except FilterError:
            return None

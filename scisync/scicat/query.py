"""Dataset queries: what a ``downloads:`` entry selects, as SciCat's search runs it.

A :class:`DatasetQuery` becomes the ``fields`` of ``GET /api/v3/datasets/fullquery``
(``src/datasets/datasets.controller.ts``, ``src/common/utils.ts``
``createFullqueryFilter`` and ``mapScientificQuery``): the query runs in SciCat, which
converts each condition's unit to SI with the same code that computed the stored
``valueSI``/``unitSI``, so ``temperature > 4 K`` also matches a dataset recorded in
``degC`` and never one whose temperature has no unit.  Semantics (docs/downloads.md):

- ``proposal_ids``, ``owner_groups``: any of them; ``keywords``: all of them;
- ``dataset_type``: exactly; ``name_pattern``: a glob (``*``, ``?``) over the whole
  ``datasetName``, case-sensitive;
- ``created_from`` <= ``creationTime`` < ``created_until``;
- each metadata condition must hold; ``range`` is open at both ends, as the backend's.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from scisync._util.jsontypes import Json, JsonObject

Relation = Literal["<", "<=", ">", ">=", "==", "range"]
RELATIONS: tuple[Relation, ...] = ("<", "<=", ">", ">=", "==", "range")
_BACKEND_RELATION = {
    "<": "LESS_THAN",
    "<=": "LESS_THAN_OR_EQUAL",
    ">": "GREATER_THAN",
    ">=": "GREATER_THAN_OR_EQUAL",
    "range": "RANGE",
}
# Metadata keys that mean the same to the backend (which stores them percent-encoded)
# and to a dotted Mongo path: no dots, no characters encodeURIComponent changes.
_KEY = re.compile(r"^[A-Za-z0-9_-]{1,200}$")
_MAX_VALUES = 1000


def _finite(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


@dataclass(frozen=True)
class MetadataCondition:
    """``scientificMetadata.<key> <relation> <value> [unit]``.

    With a unit, SciCat compares SI values (``valueSI``) and requires the stored quantity's
    SI unit to be the same (``unitSI``); without one it compares the raw value (the key
    itself, or its ``value``).  ``==`` on a string compares strings; ``range`` takes a
    ``(low, high)`` pair and excludes both ends.
    """

    key: str
    relation: Relation
    value: float | str | tuple[float, float]
    unit: str | None = None

    def __post_init__(self) -> None:
        if not _KEY.match(self.key):
            raise ValueError(f"metadata key {self.key!r} must be 1-200 letters, digits, '_' or '-'")
        if self.relation not in RELATIONS:
            raise ValueError(f"relation {self.relation!r} is not one of {', '.join(RELATIONS)}")
        if self.unit is not None and (not self.unit.strip() or len(self.unit) > 100):
            raise ValueError("a unit must be a non-empty string of at most 100 characters")
        if self.relation == "range":
            pair = self.value
            if not (isinstance(pair, tuple) and len(pair) == 2 and all(map(_finite, pair))):
                raise ValueError("a range needs a (low, high) pair of numbers")
        elif isinstance(self.value, str):
            if self.relation != "==" or self.unit is not None:
                raise ValueError(f"{self.relation} needs a number; only == compares strings")
        elif not _finite(self.value):
            raise ValueError(f"{self.relation} needs a finite number")

    def to_backend(self) -> JsonObject:
        """One ``scientific`` entry of the fullquery ``fields``."""
        if self.relation == "==":
            relation = "EQUAL_TO_STRING" if isinstance(self.value, str) else "EQUAL_TO_NUMERIC"
        else:
            relation = _BACKEND_RELATION[self.relation]
        rhs: Json = list(self.value) if isinstance(self.value, tuple) else self.value
        entry: JsonObject = {"lhs": self.key, "relation": relation, "rhs": rhs}
        if self.unit is not None:
            entry["unit"] = self.unit
        return entry


@dataclass(frozen=True)
class DatasetQuery:
    """Which datasets a query download selects; every given criterion must hold."""

    proposal_ids: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    dataset_type: str | None = None
    owner_groups: tuple[str, ...] = ()
    created_from: datetime | None = None
    created_until: datetime | None = None
    name_pattern: str | None = None
    metadata: tuple[MetadataCondition, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        lists = {
            "proposal_ids": self.proposal_ids,
            "keywords": self.keywords,
            "owner_groups": self.owner_groups,
        }
        for name, values in lists.items():
            if len(values) > _MAX_VALUES or not all(isinstance(v, str) and v for v in values):
                raise ValueError(f"{name} must hold at most {_MAX_VALUES} non-empty strings")
        for name, moment in (
            ("created_from", self.created_from),
            ("created_until", self.created_until),
        ):
            if moment is not None and moment.tzinfo is None:
                raise ValueError(f"{name} needs a timezone (e.g. 2026-01-01T00:00:00Z)")
        if self.created_from and self.created_until and self.created_from >= self.created_until:
            raise ValueError("created_from must be earlier than created_until")
        if self.name_pattern is not None and not self.name_pattern:
            raise ValueError("name_pattern must not be empty")
        if not self.has_condition:
            raise ValueError(
                "a dataset query needs at least one condition (scisync never lists the "
                "whole catalogue)"
            )

    @property
    def has_condition(self) -> bool:
        return bool(
            self.proposal_ids
            or self.keywords
            or self.dataset_type
            or self.owner_groups
            or self.created_from
            or self.created_until
            or self.name_pattern
            or self.metadata
        )

    def to_fullquery_fields(self) -> JsonObject:
        """The ``fields`` parameter of ``GET /datasets/fullquery``.

        Plain conditions go into ``mode`` (a raw Mongo ``where`` the backend spreads into
        its query), so their meaning does not depend on the form fields' type guessing;
        ``mode`` never holds ``$and``/``$or``, which the backend's spreads would replace.
        """
        mode: JsonObject = {}
        if self.proposal_ids:
            mode["proposalIds"] = {"$in": list(self.proposal_ids)}
        if self.keywords:
            mode["keywords"] = {"$all": list(self.keywords)}
        if self.dataset_type:
            mode["type"] = {"$in": [self.dataset_type]}
        if self.owner_groups:
            mode["ownerGroup"] = {"$in": list(self.owner_groups)}
        span: JsonObject = {}
        if self.created_from:
            span["$gte"] = _iso(self.created_from)
        if self.created_until:
            span["$lt"] = _iso(self.created_until)
        if span:
            mode["creationTime"] = span
        if self.name_pattern:
            mode["datasetName"] = {"$regex": glob_to_regex(self.name_pattern)}
        fields: JsonObject = {"mode": mode} if mode else {}
        if self.metadata:
            fields["scientific"] = [condition.to_backend() for condition in self.metadata]
        return fields


def glob_to_regex(pattern: str) -> str:
    """``run-*`` -> ``^run\\-.*$``: the same in MongoDB's PCRE and Python's ``re``."""
    parts = []
    for char in pattern:
        if char == "*":
            parts.append(".*")
        elif char == "?":
            parts.append(".")
        elif char.isalnum() or char in "_ ":
            parts.append(char)
        else:
            parts.append("\\" + char if char.isascii() else char)
    return "^" + "".join(parts) + "$"


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{moment.microsecond // 1000:03d}Z"
    )

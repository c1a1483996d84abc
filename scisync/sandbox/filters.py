"""The ``filter`` query parameter: parsing, ``where`` evaluation, limits, projection.

``where`` is evaluated with MongoDB's semantics on the stored JSON documents: dotted
paths walk into objects and across arrays, a scalar condition matches an array that
contains it, and comparisons only match values of the same kind.  v3 filters get the
backend's LoopBack renames and its string-to-date conversion first.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from scisync.sandbox.quirks import looks_like_date, parse_date


class FilterError(Exception):
    """The filter cannot be used; the message is what the backend says (400)."""


@dataclass(frozen=True)
class DateValue:
    """A ``where`` string the v3 filter pipe turned into a JavaScript Date."""

    moment: datetime


_MISSING = object()

# LoopBack operator names the v3 filter pipe renames to MongoDB's.
_LOOPBACK = {
    "inq": "$in",
    "nin": "$nin",
    "and": "$and",
    "or": "$or",
    "gt": "$gt",
    "gte": "$gte",
    "lt": "$lt",
    "lte": "$lte",
    "like": "$regex",
}

V4_OPERATORS = frozenset(
    [
        "$in",
        "$or",
        "$and",
        "$nor",
        "$eq",
        "$gt",
        "$gte",
        "$lt",
        "$lte",
        "$ne",
        "$nin",
        "$not",
        "$exists",
        "$regex",
        "$options",
        "$elemMatch",
    ]
)
V4_FILTER_KEYS = frozenset({"where", "fields", "include", "limits"})
V4_LIMIT_KEYS = frozenset({"limit", "skip", "sort"})


def parse_json_param(raw: str | None, name: str = "filter") -> dict[str, Any]:
    """Parse a JSON query parameter; absent or empty means ``{}``."""
    if raw is None or raw.strip() == "":
        return {}
    try:
        parsed = json.loads(raw)
    except ValueError as exc:
        raise FilterError(f"Invalid JSON in {name}: {exc}") from None
    if not isinstance(parsed, dict):
        raise FilterError(f"Invalid JSON in {name}: expected an object")
    return parsed


# --- v3 preprocessing ---------------------------------------------------------------
def v3_where(where: Any) -> Any:
    """Apply the v3 filter pipe: LoopBack renames and strings-that-look-like-dates."""
    if isinstance(where, dict):
        result: dict[str, Any] = {}
        for key, value in where.items():
            name = str(key)
            if name == "ilike":
                result["$regex"] = value
                result["$options"] = "i"
                continue
            if name == "like":
                result["$regex"] = value  # a pattern, never a date
                continue
            result[_LOOPBACK.get(name) or name] = v3_where(value)
        return result
    if isinstance(where, list):
        # Values inside arrays are left alone (so {"inq": ["2024-01-01 run"]} stays literal),
        # but objects inside arrays ($and/$or branches) are still walked.
        return [v3_where(item) if isinstance(item, dict) else item for item in where]
    if isinstance(where, str) and looks_like_date(where):
        parsed = parse_date(where)
        if parsed is None:
            parsed = parse_date(where[:10])
        if parsed is not None:
            return DateValue(parsed)
    return where


def check_v4_filter(filter_: dict[str, Any], allowed_fields: frozenset[str]) -> None:
    """The v4 FilterValidationPipe: only known keys, fields and operators."""
    for key in filter_:
        if key not in V4_FILTER_KEYS:
            raise FilterError(f"Property {key} should not exist in the filter object")
    limits = filter_.get("limits", {})
    if limits is not None and not isinstance(limits, dict):
        raise FilterError("Property limits should be an object in the filter object")
    for key in limits or {}:
        if key not in V4_LIMIT_KEYS:
            raise FilterError(f"Property {key} should not exist in the filter object")
    _check_v4_where(filter_.get("where", {}), allowed_fields)


_FREE_FORM = ("scientificMetadata", "jobParameters", "sampleCharacteristics")


def _check_v4_where(where: Any, allowed: frozenset[str]) -> None:
    if isinstance(where, list):
        for item in where:
            _check_v4_where(item, allowed)
        return
    if not isinstance(where, dict):
        return
    for key, value in where.items():
        if key.startswith("$"):
            if key not in V4_OPERATORS:
                raise FilterError(f"Property {key} should not exist in the filter object")
            _check_v4_where(value, allowed)
            continue
        head = key.split(".", 1)[0]
        if head not in allowed:
            raise FilterError(f"Property {key} should not exist in the filter object")
        if head in _FREE_FORM:
            continue
        if isinstance(value, dict):
            for op in value:
                if op.startswith("$") and op not in V4_OPERATORS:
                    raise FilterError(f"Property {op} should not exist in the filter object")


# --- evaluation ---------------------------------------------------------------------
def _resolve(node: Any, parts: Sequence[str]) -> list[Any]:
    """All values at a dotted path, expanding arrays like MongoDB does."""
    if not parts:
        return [node]
    head, rest = parts[0], parts[1:]
    if isinstance(node, dict):
        if head not in node:
            return []
        return _resolve(node[head], rest)
    if isinstance(node, list):
        found: list[Any] = []
        if head.isdigit() and int(head) < len(node):
            found.extend(_resolve(node[int(head)], rest))
        for item in node:
            if isinstance(item, dict | list):
                found.extend(_resolve(item, parts))
        return found
    return []


def _flatten(values: Iterable[Any]) -> list[Any]:
    """Candidates for scalar comparisons: each value, and the elements of array values."""
    out: list[Any] = []
    for value in values:
        out.append(value)
        if isinstance(value, list):
            out.extend(value)
    return out


def strings_at(doc: dict[str, Any], path: str) -> list[str]:
    """The strings a condition on the dotted *path* compares with (for an index).

    A document matches ``{path: s}``, ``{path: {"$eq": s}}`` or ``{path: {"$in": [s, ...]}}``
    (strings, on a path that is not a Date field) exactly when one of these is ``s``.
    """
    found = _flatten(_resolve(doc, path.split(".")))
    return list(dict.fromkeys(value for value in found if isinstance(value, str)))


class Matcher:
    """Evaluates ``where`` documents; *date_paths* are schema Date fields (mongoose casts)."""

    def __init__(self, date_paths: frozenset[str]) -> None:
        self._date_paths = date_paths

    def select(self, docs: Iterable[dict[str, Any]], where: Any) -> list[dict[str, Any]]:
        """The documents matching *where* (prepared once for the whole batch)."""
        prepared = _prepare(where)
        return [doc for doc in docs if self.matches(doc, prepared)]

    def matches(self, doc: dict[str, Any], where: Any) -> bool:
        if where is None:
            return True
        if not isinstance(where, dict):
            raise FilterError("Invalid where clause: expected an object")
        return all(self._clause(doc, key, condition) for key, condition in where.items())

    def _clause(self, doc: dict[str, Any], key: str, condition: Any) -> bool:
        if key == "$and":
            return all(self.matches(doc, sub) for sub in _as_list(condition, key))
        if key == "$or":
            return any(self.matches(doc, sub) for sub in _as_list(condition, key))
        if key == "$nor":
            return not any(self.matches(doc, sub) for sub in _as_list(condition, key))
        if key.startswith("$"):
            raise FilterError(f"unknown top level operator: {key}")
        values = _resolve(doc, key.split("."))
        return self._condition(key, values, condition)

    def _condition(self, path: str, values: list[Any], condition: Any) -> bool:
        if isinstance(condition, dict) and condition and all(k.startswith("$") for k in condition):
            return all(
                self._operator(path, values, op, arg, condition)
                for op, arg in condition.items()
                if op != "$options"
            )
        return self._equals(path, values, condition)

    def _operator(
        self, path: str, values: list[Any], op: str, arg: Any, whole: dict[str, Any]
    ) -> bool:
        if op == "$eq":
            return self._equals(path, values, arg)
        if op == "$ne":
            return not self._equals(path, values, arg)
        if op == "$in":
            return self._in(path, values, arg if isinstance(arg, InList) else _as_list(arg, op))
        if op == "$nin":
            return not self._in(path, values, arg if isinstance(arg, InList) else _as_list(arg, op))
        if op == "$exists":
            return bool(values) == bool(arg)
        if op in ("$gt", "$gte", "$lt", "$lte"):
            return any(self._compare(path, value, op, arg) for value in _flatten(values))
        if op == "$regex":
            flags = re.IGNORECASE if "i" in str(whole.get("$options", "")) else 0
            flags |= re.MULTILINE if "m" in str(whole.get("$options", "")) else 0
            try:
                pattern = re.compile(str(arg), flags)
            except re.error as exc:
                raise FilterError(f"Invalid regular expression: {exc}") from None
            return any(isinstance(v, str) and pattern.search(v) for v in _flatten(values))
        if op == "$not":
            return not self._condition(path, values, arg)
        if op == "$elemMatch":
            for value in values:
                for element in value if isinstance(value, list) else []:
                    if isinstance(arg, dict) and all(k.startswith("$") for k in arg):
                        if self._condition(path, [element], arg):
                            return True
                    elif isinstance(element, dict) and self.matches(element, arg):
                        return True
            return False
        if op == "$size":
            return any(isinstance(v, list) and len(v) == arg for v in values)
        if op == "$all":
            return all(self._equals(path, values, item) for item in _as_list(arg, op))
        raise FilterError(f"unknown operator: {op}")

    def _in(self, path: str, values: list[Any], items: Any) -> bool:
        """``$in``: hashable scalars by set lookup (batched lookups send 1,000 of them)."""
        prepared = items if isinstance(items, InList) else InList.of(items)
        if self._is_date_path(path):
            return any(self._equals(path, values, item) for item in prepared.items)
        if prepared.keys and any(_scalar_key(v) in prepared.keys for v in _flatten(values)):
            return True
        return any(self._equals(path, values, item) for item in prepared.others)

    def _is_date_path(self, path: str) -> bool:
        return path in self._date_paths

    def _equals(self, path: str, values: list[Any], target: Any) -> bool:
        if target is None:
            return not values or any(v is None for v in _flatten(values))
        if isinstance(target, DateValue) or (isinstance(target, str) and self._is_date_path(path)):
            wanted = target.moment if isinstance(target, DateValue) else parse_date(target)
            if wanted is None or not self._is_date_path(path):
                return False
            return any(isinstance(v, str) and parse_date(v) == wanted for v in _flatten(values))
        for value in values:
            if _same(value, target):
                return True
            if isinstance(value, list) and any(_same(item, target) for item in value):
                return True
        return False

    def _compare(self, path: str, value: Any, op: str, arg: Any) -> bool:
        left: Any
        right: Any
        if isinstance(arg, DateValue) or (isinstance(arg, str) and self._is_date_path(path)):
            if not self._is_date_path(path) or not isinstance(value, str):
                return False
            left = parse_date(value)
            right = arg.moment if isinstance(arg, DateValue) else parse_date(arg)
            if left is None or right is None:
                return False
        elif (_is_number(value) and _is_number(arg)) or (
            isinstance(value, str) and isinstance(arg, str)
        ):
            left, right = value, arg
        else:
            return False
        if op == "$gt":
            return bool(left > right)
        if op == "$gte":
            return bool(left >= right)
        if op == "$lt":
            return bool(left < right)
        return bool(left <= right)


@dataclass(frozen=True)
class InList:
    """An ``$in``/``$nin`` list split into set-searchable scalars and the rest."""

    items: tuple[Any, ...]
    keys: frozenset[tuple[str, Any]]
    others: tuple[Any, ...]

    @classmethod
    def of(cls, items: list[Any]) -> InList:
        keys = set()
        others = []
        for item in items:
            key = _scalar_key(item)
            if key is None:
                others.append(item)
            else:
                keys.add(key)
        return cls(tuple(items), frozenset(keys), tuple(others))


def _prepare(where: Any) -> Any:
    """Copy of *where* with ``$in``/``$nin`` lists turned into :class:`InList`."""
    if isinstance(where, dict):
        out: dict[str, Any] = {}
        for key, value in where.items():
            if key in ("$in", "$nin") and isinstance(value, list):
                out[key] = InList.of(value)
            else:
                out[key] = _prepare(value)
        return out
    if isinstance(where, list):
        return [_prepare(item) for item in where]
    return where


def _scalar_key(value: Any) -> tuple[str, Any] | None:
    """A set key with MongoDB's equality (1 == 1.0, True != 1); None if not a plain scalar."""
    if isinstance(value, bool):
        return ("b", value)
    if isinstance(value, int | float):
        return ("n", value)
    if isinstance(value, str):
        return ("s", value)
    return None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    return bool(a == b)


def _as_list(value: Any, op: str) -> list[Any]:
    if not isinstance(value, list):
        raise FilterError(f"{op} needs an array")
    return value


# --- limits, sort and projection ----------------------------------------------------
@dataclass(frozen=True)
class Page:
    limit: int
    skip: int
    sort: tuple[tuple[str, int], ...]


def _int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise FilterError(f"Invalid {name} in filter limits")
    try:
        number = int(value)
    except ValueError:
        raise FilterError(f"Invalid {name} in filter limits") from None
    if number < 0:
        raise FilterError(f"Invalid {name} in filter limits")
    return number


def page_v3(limits: Any, default_limit: int = 100) -> Page:
    """v3 ``limits``: ``{"limit", "skip", "order": "field:asc,other:desc"}``."""
    if not isinstance(limits, dict):
        limits = {}
    sort: list[tuple[str, int]] = []
    order = limits.get("order")
    if isinstance(order, str) and order:
        for part in order.split(","):
            name, _, direction = part.strip().replace(" ", ":").partition(":")
            if name:
                sort.append((name, -1 if direction.lower() == "desc" else 1))
    limit = _int(limits.get("limit", default_limit), "limit")
    return Page(limit=limit, skip=_int(limits.get("skip", 0), "skip"), sort=tuple(sort))


def page_v4(limits: Any, default_limit: int = 10) -> Page:
    """v4 ``limits``: ``{"limit", "skip", "sort": {"field": "asc"|"desc"}}``."""
    if not isinstance(limits, dict):
        limits = {}
    sort: list[tuple[str, int]] = []
    raw_sort = limits.get("sort")
    if isinstance(raw_sort, dict) and raw_sort:
        for name, direction in raw_sort.items():
            desc = str(direction).lower() in ("desc", "-1", "descending")
            sort.append((name, -1 if desc else 1))
    else:
        sort.append(("createdAt", -1))
    limit = _int(limits.get("limit", default_limit), "limit")
    return Page(limit=limit, skip=_int(limits.get("skip", 0), "skip"), sort=tuple(sort))


def _sort_key(value: Any) -> tuple[int, Any]:
    # MongoDB's cross-type order: missing/null < numbers < strings < objects < arrays < bools.
    if value is _MISSING or value is None:
        return (0, 0)
    if isinstance(value, bool):
        return (5, value)
    if _is_number(value):
        return (1, value)
    if isinstance(value, str):
        return (2, value)
    if isinstance(value, dict):
        return (3, json.dumps(value, sort_keys=True))
    return (4, json.dumps(value, sort_keys=True))


def apply_page(docs: list[dict[str, Any]], page: Page) -> list[dict[str, Any]]:
    """Sort (stable, last key first), then skip and limit.  ``limit`` 0 means no limit."""
    ordered = list(docs)
    if page.sort and page.sort[0][1] < 0:
        # Documents arrive in insertion order; for "newest first" let ties keep that too.
        ordered.reverse()
    for name, direction in reversed(page.sort):
        parts = name.split(".")

        def key(doc: dict[str, Any], parts: list[str] = parts) -> tuple[int, Any]:
            found = _resolve(doc, parts)
            return _sort_key(found[0] if found else _MISSING)

        ordered.sort(key=key, reverse=direction < 0)
    end = None if page.limit == 0 else page.skip + page.limit
    return ordered[page.skip : end]


def project(doc: dict[str, Any], fields: Any) -> dict[str, Any]:
    """Keep only *fields* (a list of names, dotted allowed); empty keeps everything."""
    if not fields or not isinstance(fields, list):
        return doc
    result: dict[str, Any] = {}
    for name in fields:
        if not isinstance(name, str):
            continue
        parts = name.split(".")
        source: Any = doc
        for part in parts:
            source = source.get(part, _MISSING) if isinstance(source, dict) else _MISSING
        if source is _MISSING:
            continue
        target = result
        for part in parts[:-1]:
            target = target.setdefault(part, {})
        target[parts[-1]] = source
    if "_id" in doc:
        result.setdefault("_id", doc["_id"])
    return result


_SCOPE_KEYS = frozenset({"fields"})


def include_fields(include: Any) -> dict[str, list[str]]:
    """``relation -> fields`` of each ``{relation, scope: {fields: [...]}}`` include.

    SciCat (since v4.24) runs a scope's ``fields`` as a ``$project`` of the included
    documents (``_id`` always kept); the sandbox does the same.  It implements no other
    scope key (SciCat also takes ``where`` and ``limits``): those are refused, never
    ignored, so a client relying on them learns it here."""
    if include is None:
        return {}
    items = include if isinstance(include, list) else [include]
    found: dict[str, list[str]] = {}
    for item in items:
        if not isinstance(item, dict) or item.get("scope") is None:
            continue
        scope = item["scope"]
        if not isinstance(scope, dict):
            raise FilterError(f"Invalid include scope in filter: {scope!r}")
        unknown = sorted(set(scope) - _SCOPE_KEYS)
        if unknown:
            raise FilterError(f"the sandbox does not implement include scope {unknown[0]!r}")
        fields = scope.get("fields")
        if fields is None:
            continue
        if not isinstance(fields, list) or not all(isinstance(f, str) for f in fields):
            raise FilterError("Fields must be an array or a valid projection object")
        if any(not f or '"' in f for f in fields):
            raise FilterError(f"the sandbox does not implement the field names {fields!r}")
        found[str(item.get("relation"))] = list(fields)
    return found


def include_names(include: Any) -> list[str]:
    """Relation names from ``include`` (strings or ``{relation: ...}`` objects)."""
    if include is None:
        return []
    items = include if isinstance(include, list) else [include]
    names: list[str] = []
    for item in items:
        if isinstance(item, str):
            names.extend(part.strip() for part in item.split(",") if part.strip())
        elif isinstance(item, dict) and isinstance(item.get("relation"), str):
            names.append(item["relation"])
        else:
            raise FilterError(f"Invalid include in filter: {item!r}")
    return names

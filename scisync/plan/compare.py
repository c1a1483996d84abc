"""Comparing what the manifest wants with what SciCat holds, field by field.

SciCat rewrites some values on store (timestamps normalised, ``valueSI``/``unitSI``
added to quantities), so values are normalised before they are compared; and PATCH
bodies are RFC 7386 merge patches that send only what differs.
"""

from __future__ import annotations

from datetime import UTC, datetime

from scisync._util.jsontypes import Json, JsonObject

TIME_FIELDS = frozenset({"creationTime", "startTime", "endTime"})
SERVER_ADDED_QUANTITY_KEYS = frozenset({"valueSI", "unitSI"})


def _parse_time(value: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _is_quantity(value: Json) -> bool:
    return isinstance(value, dict) and "value" in value and "unit" in value


def normalise_observed(desired: Json, observed: Json) -> Json:
    """Drop what the server added that the manifest did not ask for (valueSI/unitSI)."""
    if isinstance(desired, dict) and isinstance(observed, dict):
        result: JsonObject = {}
        for name, value in observed.items():
            if name in SERVER_ADDED_QUANTITY_KEYS and name not in desired:
                continue
            result[name] = normalise_observed(desired.get(name), value)
        return result
    if isinstance(desired, list) and isinstance(observed, list) and len(desired) == len(observed):
        return [normalise_observed(d, o) for d, o in zip(desired, observed, strict=True)]
    return observed


def values_equal(name: str, desired: Json, observed: Json) -> bool:
    """Whether SciCat's value of field *name* already is what the manifest wants."""
    if name in TIME_FIELDS and isinstance(desired, str) and isinstance(observed, str):
        left, right = _parse_time(desired), _parse_time(observed)
        if left is not None and right is not None:
            return left == right
    return _same(desired, normalise_observed(desired, observed))


def _same(left: Json, right: Json) -> bool:
    # bool is an int in Python; SciCat distinguishes them, and so must we.
    if isinstance(left, bool) or isinstance(right, bool):
        return isinstance(left, bool) and isinstance(right, bool) and left == right
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(_same(left[k], right[k]) for k in left)
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(
            _same(a, b) for a, b in zip(left, right, strict=True)
        )
    return left == right


def merge_patch(desired: Json, observed: Json) -> Json:
    """The RFC 7386 patch turning *observed* into *desired* for one nested object.

    Quantities (objects with ``value`` and ``unit``) are sent whole, because SciCat
    rejects a patch that sends only one of the two.
    """
    if not isinstance(desired, dict) or not isinstance(observed, dict) or _is_quantity(desired):
        return desired
    patch: JsonObject = {}
    for name, value in desired.items():
        if name not in observed:
            patch[name] = value
        elif not _same(value, normalise_observed(value, observed[name])):
            patch[name] = merge_patch(value, observed[name])
    for name in observed:
        if name not in desired and name not in SERVER_ADDED_QUANTITY_KEYS:
            patch[name] = None  # merge-patch: null deletes the key
    return patch

"""``{"$ref": address}`` placeholders: resolving them to pids known so far, and the
field-level diff that treats a not-yet-known pid as "known after apply"."""

from __future__ import annotations

from collections.abc import Mapping

from scisync._util.jsontypes import Json, JsonObject
from scisync.plan.compare import merge_patch, normalise_observed, values_equal
from scisync.plan.context import PlanContext
from scisync.plan.model import FieldChange

UNKNOWN = object()
"""Stands for a value that will be known after apply (the pid of an entry not created yet)."""


def resolve(ctx: PlanContext, value: Json) -> object:
    """Replace {"$ref": address} placeholders by pids; UNKNOWN if any is not known yet."""
    if isinstance(value, dict):
        if set(value) == {"$ref"} and isinstance(value["$ref"], str):
            pid = ctx.pids.get(value["$ref"], UNKNOWN)
            return UNKNOWN if pid is None else pid
        resolved_dict: dict[str, object] = {}
        for name, item in value.items():
            resolved_dict[name] = resolve(ctx, item)
        if any(item is UNKNOWN for item in resolved_dict.values()):
            return UNKNOWN
        return resolved_dict
    if isinstance(value, list):
        items = [resolve(ctx, item) for item in value]
        return UNKNOWN if any(item is UNKNOWN for item in items) else items
    return value


def depends_on(body: Json) -> tuple[str, ...]:
    found: list[str] = []

    def walk(value: Json) -> None:
        if isinstance(value, dict):
            if set(value) == {"$ref"} and isinstance(value["$ref"], str):
                found.append(value["$ref"])
                return
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(body)
    return tuple(sorted(set(found)))


def diff_fields(
    ctx: PlanContext,
    body: JsonObject,
    current: Mapping[str, Json],
    *,
    drift: bool,
    ignore: frozenset[str] = frozenset(),
) -> tuple[list[FieldChange], JsonObject]:
    """Field-level differences and the merge patch that removes them."""
    changes: list[FieldChange] = []
    patch: JsonObject = {}
    for name in sorted(body):
        if name in ignore:
            continue
        wanted = body[name]
        resolved = resolve(ctx, wanted)
        before = current.get(name)
        if resolved is UNKNOWN:
            changes.append(FieldChange(name, before, wanted, after_unknown=True))
            patch[name] = wanted
            continue
        resolved_json: Json = resolved  # type: ignore[assignment]
        if values_equal(name, resolved_json, before):
            continue
        # Shown without what the server derives (valueSI/unitSI): never a change to show.
        shown = normalise_observed(resolved_json, before)
        changes.append(FieldChange(name, shown, resolved_json, drift=drift))
        patch[name] = merge_patch(resolved_json, before) if isinstance(before, dict) else wanted
    return changes, patch

"""``GET /datasets/fullquery``: the search form's ``fields`` turned into a ``where``.

Follows the backend (783086a0) step by step, quirks included:

- ``src/datasets/datasets.controller.ts`` ``fullquery``: anonymous callers get
  ``isPublished: true``; other non-admins get their groups as ``userGroups`` unless they
  ask for ``isPublished`` themselves (so, unlike list queries, no published datasets of
  other groups and no ``sharedWith``);
- ``src/common/utils.ts`` ``createFullqueryFilter``: the keys are applied in the JSON's
  order onto one object, so ``mode`` and ``scientific`` are *spread* into it (a later
  ``$or``/``$and`` replaces an earlier one); ``userGroups`` becomes
  ``$and: [{$or: [ownerGroup, accessGroups]}]``;
- ``searchExpression``: a String field with a one-element list matches that value, a
  longer list is ``$in``; a Date field (or an unknown one whose value has ``begin``) is
  ``{$gte: begin, $lte: end}``; a Boolean is ``$eq``; an Array field is ``$in``; a Number
  with ``{min, max}`` is a closed range;
- ``mapScientificQuery``: with a unit, ``rhs`` is converted to SI and compared with
  ``<key>.valueSI``, and ``<key>.unitSI`` must equal the converted unit (so a quantity in
  another unit of the same dimension matches, one without a unit never does); without a
  unit, ``GREATER_THAN`` & co. compare the raw ``<key>``, ``<key>.v`` or ``<key>.value``;
  ``EQUAL_TO_NUMERIC`` without unit compares ``<key>.value``; ``RANGE`` is open at both
  ends; ``CONTAINS_STRING`` builds an operator named ``/rhs/``, which MongoDB rejects
  (the sandbox answers 500 like the backend's unhandled error).
"""

from __future__ import annotations

from typing import Any

from scisync.sandbox import dto
from scisync.sandbox.quirks import si_value

DATE_FIELDS = frozenset({"creationTime", "startTime", "endTime", "createdAt", "updatedAt"})
BOOLEAN_FIELDS = frozenset({"isPublished"})
NUMBER_FIELDS = frozenset(
    {"size", "packedSize", "numberOfFiles", "numberOfFilesArchived", "dataQualityMetrics"}
)
ARRAY_FIELDS = frozenset(
    {
        "keywords",
        "accessGroups",
        "sharedWith",
        "proposalIds",
        "sampleIds",
        "instrumentIds",
        "principalInvestigators",
        "inputDatasets",
        "usedSoftware",
        "techniques",
        "relationships",
    }
)


# schemaTypeOf: a path the schema knows has its type; an unknown one is a String, or a
# Date when its value has "begin".
_SCHEMA_PATHS = frozenset(dto.V4_DATASET_CREATE.fields) | frozenset(
    {"pid", "_id", "version", "createdBy", "updatedBy", "createdAt", "updatedAt"}
)


class BrokenQuery(Exception):
    """A query the backend builds but MongoDB refuses (answered 500)."""


def access_fields(
    fields: dict[str, Any], *, anonymous: bool, admin: bool, groups: list[str]
) -> None:
    """The controller's additions to ``fields`` for who is asking (in place)."""
    if anonymous:
        fields["isPublished"] = True
    elif not admin and not fields.get("isPublished"):
        user_groups = fields.get("userGroups")
        fields["userGroups"] = [*(user_groups if isinstance(user_groups, list) else []), *groups]


def fullquery_where(fields: dict[str, Any]) -> dict[str, Any]:
    """``createFullqueryFilter(model, "pid", fields)``."""
    query: dict[str, Any] = {}
    for key, value in fields.items():
        if key == "mode":
            mode = dict(value) if isinstance(value, dict) else {}
            if "pid" in mode:
                mode["_id"] = mode.pop("pid")
            query.update(mode)
        elif key == "text":
            query["$text"] = {"$search": value}
        elif key in ("scientific", "characteristics"):
            query.update(scientific_where(key, value if isinstance(value, list) else []))
        elif key == "userGroups":
            access = {
                "$or": [
                    {"ownerGroup": search_expression("ownerGroup", value)},
                    {"accessGroups": search_expression("accessGroups", value)},
                ]
            }
            existing = query.get("$and")
            query["$and"] = [*existing, access] if isinstance(existing, list) else [access]
        else:
            query[key] = search_expression(key, value)
    return query


def search_expression(key: str, value: Any) -> Any:
    """``searchExpression``: the condition for one form field, by its schema type."""
    if key in DATE_FIELDS or (
        key not in _SCHEMA_PATHS and isinstance(value, dict) and "begin" in value
    ):
        span = value if isinstance(value, dict) else {}
        return {"$gte": span.get("begin"), "$lte": span.get("end")}
    if key in BOOLEAN_FIELDS:
        return {"$eq": value}
    if key in ARRAY_FIELDS or key in NUMBER_FIELDS:
        if isinstance(value, list):
            return {"$in": value}
        if key in NUMBER_FIELDS and isinstance(value, dict) and {"min", "max"} <= set(value):
            return {"$gte": value["min"], "$lte": value["max"]}
        return value
    if isinstance(value, list):  # a String field
        return value[0] if len(value) == 1 else {"$in": value}
    return value


_OPERATORS = {
    "GREATER_THAN": "$gt",
    "LESS_THAN": "$lt",
    "GREATER_THAN_OR_EQUAL": "$gte",
    "LESS_THAN_OR_EQUAL": "$lte",
}
_FIELD_OF = {"scientific": "scientificMetadata", "characteristics": "sampleCharacteristics"}


def scientific_where(key: str, conditions: list[Any]) -> dict[str, Any]:
    """``mapScientificQuery``: SI comparisons with a unit, raw ones without."""
    query: dict[str, Any] = {}
    ors: list[dict[str, Any]] = []
    for condition in conditions:
        if not isinstance(condition, dict):
            continue
        lhs, relation = str(condition.get("lhs", "")), condition.get("relation")
        rhs, unit = condition.get("rhs"), condition.get("unit")
        # The backend stores metadata keys percent-encoded and encodes lhs the same way
        # (encodeURIComponentExtended); the sandbox stores them decoded, so lhs is used
        # as is (the same for keys of letters, digits, "_" and "-").
        base = f"{_FIELD_OF[key]}.{lhs}"
        unit = unit if isinstance(unit, str) else ""
        with_unit = len(unit) > 0
        if relation == "EQUAL_TO_STRING":
            ors.append(_any_form(base, rhs, "$eq"))
        elif relation == "CONTAINS_STRING":
            raise BrokenQuery(f"unknown operator: /{rhs}/")
        elif relation == "RANGE":
            if isinstance(rhs, list) and len(rhs) == 2:
                low, high = rhs
                if with_unit:
                    low_si, unit_si = si_value(_number(low), unit)
                    high_si, _ = si_value(_number(high), unit)
                    query[f"{base}.valueSI"] = {"$gt": low_si, "$lt": high_si}
                    query[f"{base}.unitSI"] = {"$eq": unit_si}
                else:
                    query[f"{base}.value"] = {"$gt": low, "$lt": high}
        elif relation == "EQUAL_TO_NUMERIC" or relation in _OPERATORS:
            operator = _OPERATORS.get(str(relation), "$eq")
            if with_unit:
                value_si, unit_si = si_value(_number(rhs), unit)
                query[f"{base}.valueSI"] = {operator: value_si}
                query[f"{base}.unitSI"] = {"$eq": unit_si}
            elif relation == "EQUAL_TO_NUMERIC":
                query[f"{base}.value"] = {"$eq": rhs}
            else:
                ors.append(_any_form(base, rhs, operator))
    if len(ors) == 1:
        query["$or"] = ors[0]["$or"]
    elif ors:
        query["$and"] = ors
    return query


def _any_form(base: str, value: Any, operator: str) -> dict[str, Any]:
    """``buildCondition``: the key itself, its ``.v`` or its ``.value``."""
    return {"$or": [{f"{base}{suffix}": {operator: value}} for suffix in ("", ".v", ".value")]}


def _number(value: Any) -> Any:
    """JavaScript's ``Number(x)`` for what a form sends (numbers and numeric strings)."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float):
        return value
    try:
        number = float(str(value).strip() or "0")
    except ValueError:
        return float("nan")
    return int(number) if number.is_integer() else number

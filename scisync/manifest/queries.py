"""A download's ``query:`` mapping -> :class:`DownloadQuery`.

The schema (from :data:`scisync.manifest.fields.QUERY_FIELDS`) has already checked each
criterion's shape; here the metadata conditions are parsed (with the same pattern the
schema uses) and the checks a schema cannot express are made: timezones, the time span's
order, finite numbers.
"""

from __future__ import annotations

import math
from datetime import datetime

from scisync.manifest.fields import METADATA_CONDITION
from scisync.manifest.model import DownloadQuery, MetadataFilter, MetadataRelation
from scisync.manifest.nodes import Node, NodePath
from scisync.manifest.problems import Problems


def download_query(node: Node, path: NodePath, problems: Problems) -> DownloadQuery:
    values = node.mapping()

    def strings(name: str) -> tuple[str, ...]:
        item = values.get(name)
        return tuple(str(v.value) for v in item.sequence()) if item is not None else ()

    def text(name: str) -> str | None:
        item = values.get(name)
        return str(item.value) if item is not None else None

    created_from = _moment(values.get("created_from"), (*path, "created_from"), problems)
    created_until = _moment(values.get("created_until"), (*path, "created_until"), problems)
    if created_from and created_until and created_from >= created_until:
        problems.add(
            values["created_until"].position,
            (*path, "created_until"),
            "created_until must be later than created_from",
        )
    conditions = values.get("metadata")
    metadata: list[MetadataFilter] = []
    for index, item in enumerate(conditions.sequence() if conditions is not None else []):
        parsed = parse_condition(str(item.value))
        if isinstance(parsed, str):
            problems.add(
                item.position,
                (*path, "metadata", index),
                parsed,
                "write '<key> <op> <value> [unit]', e.g. 'temperature > 4 K'",
            )
        else:
            metadata.append(parsed)
    return DownloadQuery(
        proposal_ids=strings("proposal_ids"),
        keywords=strings("keywords"),
        dataset_type=text("type"),
        owner_groups=strings("owner_groups"),
        created_from=created_from,
        created_until=created_until,
        name_pattern=text("name"),
        metadata=tuple(metadata),
    )


def parse_condition(text: str) -> MetadataFilter | str:
    """``temperature > 4 K`` -> a filter; a message when it is not one."""
    match = METADATA_CONDITION.match(text)
    if match is None:
        return f"metadata condition {text!r} is not '<key> <op> <value> [unit]'"
    key, unit = match["key"], match["unit"]
    if match["low"] is not None:
        low, high = float(match["low"]), float(match["high"])
        if not (math.isfinite(low) and math.isfinite(high)) or low >= high:
            return f"metadata condition {text!r}: the range needs finite numbers, low < high"
        return MetadataFilter(key, "range", (low, high), unit)
    relation: MetadataRelation = match["op"]  # type: ignore[assignment]  # the pattern's ops
    raw = match["value"]
    try:
        number = float(raw)
    except ValueError:
        if relation != "==" or unit is not None:
            return f"metadata condition {text!r}: {relation} needs a number"
        return MetadataFilter(key, "==", raw)
    if not math.isfinite(number):
        return f"metadata condition {text!r}: the value must be a finite number"
    return MetadataFilter(key, relation, number, unit)


def _moment(node: Node | None, path: NodePath, problems: Problems) -> datetime | None:
    if node is None:
        return None
    try:
        moment = datetime.fromisoformat(str(node.value).replace("Z", "+00:00"))
    except ValueError:
        problems.add(node.position, path, f"{node.value!r} is not an ISO-8601 time")
        return None
    if moment.tzinfo is None:
        problems.add(node.position, path, "the time needs a timezone, e.g. 2026-01-01T00:00:00Z")
        return None
    return moment

"""Things the real backend does to stored documents that clients can observe.

Kept in one place so each quirk is documented once: timestamps in JavaScript's
``toISOString`` form, ``valueSI``/``unitSI`` added to physical quantities, the overwritten
``classification``, ``datasetName`` derived from ``sourceFolder``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from scisync.sandbox import units

# Stored whatever the client sends: the pre-save hook derives it from the default policy.
CLASSIFICATION = "IN=medium,AV=low,CO=low"


def now_iso() -> str:
    """The current time as JavaScript's ``Date.toISOString()`` writes it."""
    return format_date(datetime.now(tz=UTC))


def format_date(moment: datetime) -> str:
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")


def parse_date(text: str) -> datetime | None:
    """Parse an ISO-8601 string; no offset means the server's local timezone."""
    if not _ISO_DATE.match(text):
        return None
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return parsed.astimezone()  # naive -> local time, aware -> unchanged instant


def normalize_date(text: str) -> str | None:
    """The stored form of a date string, or None when it is not a valid ISO date."""
    parsed = parse_date(text)
    return None if parsed is None else format_date(parsed)


def looks_like_date(text: str) -> bool:
    """The >= v4.28 rule for turning ``where`` strings into dates: starts with YYYY-MM-DD."""
    return bool(_ISO_DATE.match(text))


def dataset_name_from_source_folder(source_folder: str) -> str:
    """The backend fills a missing datasetName from the last two segments of sourceFolder."""
    segments = [s for s in source_folder.split("/") if s]
    return "/".join(segments[-2:])


# --- physical quantities -------------------------------------------------------------
def si_value(value: Any, unit: str) -> tuple[Any, str]:
    """``(valueSI, unitSI)`` as the backend's ``convertToSI``; what mathjs cannot convert
    (an unknown unit, a value that is not a number) is passed through unchanged."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return value, unit
    try:
        return units.to_si(value, unit)
    except units.UnknownUnit:
        return value, unit


def _is_quantity(node: dict[str, Any]) -> tuple[str, str] | None:
    value_key = "value" if "value" in node else next((k for k in node if k.startswith("v")), None)
    unit_key = "unit" if "unit" in node else next((k for k in node if k.startswith("u")), None)
    if value_key is None or unit_key is None:
        return None
    unit = node.get(unit_key)
    if not isinstance(unit, str) or not unit:
        return None
    return value_key, unit_key


def add_si_units(metadata: Any) -> Any:
    """Return a copy of *metadata* with ``valueSI``/``unitSI`` next to every quantity."""
    if isinstance(metadata, list):
        return [add_si_units(item) for item in metadata]
    if not isinstance(metadata, dict):
        return metadata
    result = {key: add_si_units(value) for key, value in metadata.items()}
    keys = _is_quantity(result)
    if keys is not None and keys[0] not in ("valueSI", "unitSI"):
        value_si, unit_si = si_value(result[keys[0]], result[keys[1]])
        result["valueSI"] = value_si
        result["unitSI"] = unit_si
    return result

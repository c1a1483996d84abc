"""Things the real backend does to stored documents that clients can observe.

Kept in one place so each quirk is documented once: timestamps in JavaScript's
``toISOString`` form, ``valueSI``/``unitSI`` added to physical quantities, the overwritten
``classification``, ``datasetName`` derived from ``sourceFolder``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

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
# unit -> (factor to SI, SI unit, offset).  SI value = value * factor + offset.
_UNITS: dict[str, tuple[float, str, float]] = {}


def _add(names: str, factor: float, si: str, offset: float = 0.0) -> None:
    for name in names.split():
        _UNITS[name] = (factor, si, offset)


_PREFIXES = {"G": 1e9, "M": 1e6, "k": 1e3, "": 1.0, "c": 1e-2, "m": 1e-3, "u": 1e-6,
             "µ": 1e-6, "n": 1e-9, "p": 1e-12}  # fmt: skip
for _base, _si in (("m", "m"), ("s", "s"), ("g", "kg"), ("Hz", "Hz"), ("V", "V"),
                   ("A", "A"), ("W", "W"), ("J", "J"), ("Pa", "Pa"), ("T", "T"),
                   ("N", "N"), ("eV", "J"), ("mol", "mol")):  # fmt: skip
    for _prefix, _factor in _PREFIXES.items():
        _scale = _factor / 1000.0 if _base == "g" else _factor
        if _base == "eV":
            _scale = _factor * 1.602176634e-19
        _add(_prefix + _base, _scale, _si)
_add("meter meters metre", 1.0, "m")
_add("second seconds sec", 1.0, "s")
_add("min minute minutes", 60.0, "s")
_add("h hour hours", 3600.0, "s")
_add("Å angstrom Angstrom", 1e-10, "m")
_add("K kelvin", 1.0, "K")
_add("mK", 1e-3, "K")
_add("degC °C celsius", 1.0, "K", 273.15)
_add("bar", 1e5, "Pa")
_add("mbar", 1e2, "Pa")
_add("deg degree degrees °", 0.017453292519943295, "rad")
_add("rad", 1.0, "rad")
_add("mrad", 1e-3, "rad")
_add("l L liter litre", 1e-3, "m^3")
_add("ml mL", 1e-6, "m^3")


def si_value(value: Any, unit: str) -> tuple[Any, str]:
    """Convert to SI; unknown units or non-numbers are passed through unchanged."""
    known = _UNITS.get(unit.strip())
    if known is None or isinstance(value, bool) or not isinstance(value, int | float):
        return value, unit
    factor, si_unit, offset = known
    converted = value * factor + offset
    # Keep integers where the conversion is exact, as JavaScript numbers print.
    if isinstance(converted, float) and converted.is_integer() and abs(converted) < 2**53:
        return int(converted), si_unit
    return converted, si_unit


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

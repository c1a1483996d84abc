"""The check publish and register run on a published-data record's ``metadata``.

The backend's ``ValidatorService`` (``src/published-data/validator.service.ts``) validates
``metadata`` with ajv against ``publishedDataConfig.metadataSchema``; without a
``PUBLISHED_DATA_CONFIG_FILE`` it falls back to the shipped
``publishedDataConfig.example.json`` (``src/config/configuration.ts``), which requires
``creators`` (at least one, each with a ``name``), ``publisher`` (with ``name`` and
``publisherIdentifierScheme``), an integer ``publicationYear`` (defaulted to the current
year when missing: ajv ``dynamicDefaults``) and a string ``resourceType``.  Errors are
answered as ajv's list, as the whole 400 body.

The sandbox reads ``publishedDataConfig.json`` from its data folder when there is one (its
``metadataSchema``; ``null`` turns the check off); otherwise it applies
:data:`DEFAULT_SCHEMA`, written here to the same requirements.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema

CONFIG_FILE = "publishedDataConfig.json"

DEFAULT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["creators", "publisher", "publicationYear", "resourceType"],
    "properties": {
        "creators": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["name"],
                "properties": {"name": {"type": "string"}},
            },
        },
        "publisher": {
            "type": "object",
            "required": ["name", "publisherIdentifierScheme"],
            "properties": {
                "name": {"type": "string"},
                "publisherIdentifierScheme": {"type": "string"},
            },
        },
        "publicationYear": {"type": "integer"},
        "resourceType": {"type": "string"},
    },
}
_DYNAMIC_DEFAULTS = {"publicationYear": "currentYear"}


class MetadataCheck:
    """Validates ``metadata`` as the backend's ValidatorService, or not at all."""

    def __init__(self, schema: dict[str, Any] | None, defaults: dict[str, str]) -> None:
        self._validator = None if schema is None else jsonschema.Draft201909Validator(schema)
        self._defaults = defaults

    @classmethod
    def for_data_dir(cls, data_dir: Path) -> MetadataCheck:
        path = data_dir / CONFIG_FILE
        if not path.exists():
            return cls(DEFAULT_SCHEMA, _DYNAMIC_DEFAULTS)
        config = json.loads(path.read_text(encoding="utf-8"))
        schema = config.get("metadataSchema") if isinstance(config, dict) else None
        if not isinstance(schema, dict):
            return cls(None, {})
        return cls(schema, _dynamic_defaults(schema))

    def errors(self, metadata: Any) -> list[dict[str, Any]]:
        """ajv-shaped errors (empty when valid); defaults apply to a copy, not stored."""
        if self._validator is None:
            return []
        document = copy.deepcopy(metadata) if isinstance(metadata, dict) else metadata
        if isinstance(document, dict):
            for name, function in self._defaults.items():
                if function == "currentYear" and document.get(name) in (None, ""):
                    document[name] = datetime.now(tz=UTC).year
        found = sorted(self._validator.iter_errors(document), key=lambda e: list(e.path))
        return [_ajv_shape(error) for error in found]


def _dynamic_defaults(schema: dict[str, Any]) -> dict[str, str]:
    parts = [schema, *(schema.get("allOf") or [])]
    defaults: dict[str, str] = {}
    for part in parts:
        found = part.get("dynamicDefaults") if isinstance(part, dict) else None
        if isinstance(found, dict):
            defaults.update({str(k): str(v) for k, v in found.items()})
    return defaults


def _ajv_shape(error: jsonschema.ValidationError) -> dict[str, Any]:
    path = "".join(f"/{part}" for part in error.absolute_path)
    schema_path = "#/" + "/".join(str(part) for part in error.absolute_schema_path)
    params: dict[str, Any] = {}
    message = error.message
    if error.validator == "required" and isinstance(error.validator_value, list):
        instance = error.instance if isinstance(error.instance, dict) else {}
        missing = next((n for n in error.validator_value if n not in instance), "")
        params = {"missingProperty": missing}
        message = f"must have required property '{missing}'"
    elif error.validator == "minItems":
        params = {"limit": error.validator_value}
        message = f"must NOT have fewer than {error.validator_value} items"
    elif error.validator == "type":
        params = {"type": error.validator_value}
        message = f"must be {error.validator_value}"
    return {
        "instancePath": path,
        "schemaPath": schema_path,
        "keyword": error.validator,
        "params": params,
        "message": message,
    }

"""Check a rendered document against the JSON Schema and turn every error into a
positioned, human :class:`~scisync.errors.Problem`.

jsonschema's own messages echo whole values and say little about what to do; here
each kind of error gets a sentence of its own, the position of the offending key or
value, and a "did you mean" for misspelt keys.
"""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from scisync.manifest.nodes import Node, NodePath
from scisync.manifest.problems import Problems, did_you_mean
from scisync.manifest.schema import (
    _KEY_OR_TEMPLATE,
    ENV_NAME_PATTERN,
    PROJECT_PATTERN,
    manifest_schema,
)

SECRET_KEYS = frozenset(
    {
        "token", "password", "secret", "passwd", "api_key", "apikey", "access_token",
        "jwt", "client_secret", "private_key", "pass",
    }
)  # fmt: skip
SECRET_HINT = (
    "secrets never live in manifests: put the token in an environment variable and name "
    "it with scicat.token_env (or username_env/password_env)"
)

_PATTERN_MESSAGES: dict[str, tuple[str, str | None]] = {
    _KEY_OR_TEMPLATE: (
        "is not a valid key",
        "keys use letters, digits, '.', '_' and '-', and start with a letter or digit",
    ),
    PROJECT_PATTERN: (
        "is not a valid project name",
        "use lowercase letters, digits, '.', '_', '-'",
    ),
    ENV_NAME_PATTERN: (
        "is not an environment variable name",
        "write the variable's NAME (e.g. SCICAT_TOKEN), never its value",
    ),
    "^/": ("must be an absolute path", "start it with '/'"),
    r"^https?://\S+$": ("is not an http(s) URL", "e.g. https://scicat.example.org/api/v3"),
}


def _validator() -> Draft202012Validator:
    return Draft202012Validator(manifest_schema())


def validate_document(root: Node, problems: Problems) -> None:
    """Add a problem for every schema violation in *root*."""
    for error in _validator().iter_errors(root.to_plain()):
        _map_error(error, root, problems)


def _map_error(error: ValidationError, root: Node, problems: Problems) -> None:
    path: NodePath = tuple(error.absolute_path)
    node, walked = root.find(path)
    if node.position in problems.failed_values:
        return  # its template failed and was reported; the raw text is no real value
    kind = error.validator
    value: Any = error.validator_value
    instance: Any = error.instance
    schema: Any = error.schema
    hint: str | None = None
    origin = _origin(root, path)
    if kind == "additionalProperties" and isinstance(instance, dict):
        allowed = set(schema.get("properties", {}) if isinstance(schema, dict) else ())
        for key in sorted(set(instance) - allowed):
            position = node.key_positions.get(key, node.position)
            if key.lower() in SECRET_KEYS:
                problems.add(position, (*walked, key), f"{key!r} cannot be set here", SECRET_HINT)
                continue
            hint = did_you_mean(key, allowed) or _allowed(allowed)
            problems.add(position, (*walked, key), f"unknown key {key!r}", _join(hint, origin))
        return
    if kind == "required" and isinstance(instance, dict):
        missing = [name for name in value if name not in instance]
        if missing:
            names = ", ".join(repr(name) for name in missing)
            plural = "s" if len(missing) > 1 else ""
            problems.add(
                node.position,
                walked,
                f"missing required field{plural} {names}{_context(walked, instance)}",
                _join(_required_hint(walked, missing, instance), origin),
            )
        return
    if kind == "type":
        what = f"expected {_types(value)}, got {_json_type(instance)}"
        if (
            isinstance(instance, str)
            and "{{" not in instance
            and any(t in ("integer", "number", "boolean") for t in _as_list(value))
        ):
            hint = "templates always give strings; write this value literally"
    elif kind == "enum":
        what = f"must be one of {', '.join(map(str, value))}; got {_short(instance)}"
        hint = did_you_mean(str(instance), map(str, value))
    elif kind == "const":
        what = f"must be {value!r}; got {_short(instance)}"
    elif kind == "pattern":
        message, hint = _PATTERN_MESSAGES.get(value, ("has the wrong format", None))
        if "\\d{4}-\\d{2}-\\d{2}" in value:
            message = "is not an ISO-8601 date/time"
            hint = "e.g. 2026-03-01T12:00:00Z"
        elif "@" in value:
            message = "is not an email address (or a ';'-separated list of them)"
        what = f"{_short(instance)} {message}"
    elif kind == "minLength":
        what = "must not be empty"
    elif kind == "minItems":
        what = f"needs at least {value} item{'s' if value != 1 else ''}"
    elif kind in ("minProperties", "maxProperties") and walked == ("storage",):
        what = "storage needs exactly one of 'local' or 'sftp'"
    elif kind in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        what = f"{_short(instance)} is out of range ({kind} {value})"
    else:
        what = error.message
    problems.add(node.position, walked, what, _join(hint, origin))


def _origin(root: Node, path: NodePath) -> str | None:
    node = root
    origin = None
    for part in path:
        try:
            node = node.value[part]
        except (KeyError, IndexError, TypeError):
            break
        origin = node.origin or origin
    return f"in {origin}" if origin else None


def _join(*parts: str | None) -> str | None:
    text = "; ".join(part for part in parts if part)
    return text or None


_ENTRY_KINDS = {"datasets": "dataset", "samples": "sample", "downloads": "download"}


def _context(walked: NodePath, instance: dict[str, Any]) -> str:
    """`` (raw dataset 'scan-1')`` for an entry of a section, else nothing."""
    key = instance.get("key")
    if len(walked) != 2 or walked[0] not in _ENTRY_KINDS or not isinstance(key, str):
        return ""
    kind = instance.get("type")
    prefix = f"{kind} " if walked[0] == "datasets" and isinstance(kind, str) else ""
    return f" ({prefix}{_ENTRY_KINDS[str(walked[0])]} {key!r})"


def _required_hint(walked: NodePath, missing: list[str], instance: dict[str, Any]) -> str | None:
    if len(walked) != 2 or walked[0] not in ("datasets", "samples"):
        return None
    kind = instance.get("type")
    if kind == "raw" and "creation_location" in missing:
        return "SciCat requires creation_location for raw datasets"
    if kind == "derived" and {"investigator", "used_software", "input_datasets"} & set(missing):
        return "SciCat requires investigator, used_software and input_datasets for derived datasets"
    section = str(walked[0])
    return f"SciCat requires {'them' if len(missing) > 1 else 'it'}; set it here or once under defaults.{section}"


def _allowed(allowed: set[str]) -> str | None:
    if 0 < len(allowed) <= 8:
        return "allowed here: " + ", ".join(sorted(allowed))
    return None


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _types(value: Any) -> str:
    names = {"object": "a mapping", "array": "a list", "string": "a string",
             "integer": "an integer", "number": "a number", "boolean": "true or false",
             "null": "nothing"}  # fmt: skip
    return " or ".join(names.get(v, v) for v in _as_list(value))


def _json_type(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, int | float):
        return f"a number ({value})"
    if isinstance(value, str):
        return f"a string ({_short(value)})"
    if isinstance(value, list):
        return "a list"
    return "a mapping"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."

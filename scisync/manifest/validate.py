"""Check a rendered document against the JSON Schema and turn every error into a
positioned, human :class:`~scisync.errors.Problem`.

jsonschema's own messages echo whole values and say little about what to do; here
each kind of error gets a sentence of its own, the position of the offending key or
value, and a "did you mean" for misspelt keys.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from scisync._util.schemacheck import Check, compile_check
from scisync._util.secrets import register_secret
from scisync.manifest.fields import DATASET_FIELDS, METADATA_CONDITION, SAMPLE_FIELDS
from scisync.manifest.nodes import Node, NodePath
from scisync.manifest.problems import Problems, did_you_mean
from scisync.manifest.schema import (
    ENV_NAME_PATTERN,
    KEY_PATTERN,
    PROJECT_PATTERN,
    TEMPLATE_ALTERNATIVE,
    manifest_schema,
    required_fields,
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
SSH_HINT = (
    "secrets never live in manifests: SSH keys, agents and passwords come from "
    "~/.ssh/config and your SSH agent"
)

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError

_PATTERN_MESSAGES: dict[str, tuple[str, str | None]] = {
    METADATA_CONDITION.pattern: (
        "is not a metadata condition",
        "write '<key> <op> <value> [unit]' (op: < <= > >= ==), e.g. 'temperature > 4 K', "
        "or '<key> range <low> <high> [unit]'",
    ),
    KEY_PATTERN: (
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
    # imported here: a valid manifest is recognised by the compiled check alone
    from jsonschema import Draft202012Validator

    return Draft202012Validator(manifest_schema())


@cache
def _fast_check() -> Check | None:
    return compile_check(manifest_schema())


def validate_document(root: Node, problems: Problems) -> None:
    """Add a problem for every schema violation in *root*, and for missing SciCat fields.

    A valid document (the common case) is recognised by the compiled check alone, which
    is never more lenient than jsonschema; otherwise jsonschema finds every error, so each
    message is exactly what it would be without the check."""
    plain = root.to_plain()
    check = _fast_check()
    if check is None or not check(plain):
        for error in _validator().iter_errors(plain):
            _map_error(error, root, problems)
    check_required_fields(root, problems)


_PI = ("principal_investigator", "principal_investigators")


def _needed(section: str, kind: object, values: dict[str, Node]) -> list[str]:
    """The fields an entry of *section* (a dataset of type *kind*) must have."""
    has_pi = any(name in values for name in _PI)
    if not isinstance(kind, str):
        kind = None  # any other value: the schema reports it; only the common fields
    return list(_needed_by_kind(section, kind, has_pi))


@cache
def _needed_by_kind(section: str, kind: str | None, has_pi: bool) -> tuple[str, ...]:
    # asked once per entry (10,000 times for a large for_each), answered once per kind
    if section == "samples":
        return tuple(required_fields(SAMPLE_FIELDS, "raw"))
    common = [f for f in required_fields(DATASET_FIELDS, "raw") if f in
              required_fields(DATASET_FIELDS, "derived")]  # fmt: skip
    if kind not in ("raw", "derived"):
        return tuple(common)  # a wrong type is reported by the schema
    needed = common + [f for f in required_fields(DATASET_FIELDS, str(kind)) if f not in common]
    if kind == "derived":
        needed.append("input_datasets")
    elif not has_pi:
        needed.append(_PI[0])
    return tuple(needed)


def check_required_fields(root: Node, problems: Problems) -> None:
    """Fields SciCat requires, checked after ``defaults`` were applied.

    Kept out of the JSON Schema so that editors do not flag a dataset that gets its
    owner etc. from ``defaults``.
    """
    for section in ("datasets", "samples"):
        entries = root.get(section)
        if entries is None or not entries.is_sequence:
            continue
        for index, entry in enumerate(entries.sequence()):
            if not entry.is_mapping:
                continue
            values = entry.mapping()
            kind = values["type"].value if "type" in values else None
            needed = _needed(section, kind, values)
            missing = [
                name
                for name in needed
                if name not in values and not _misspelt(name, values, section)
            ]
            if missing:
                path: NodePath = (section, index)
                names = ", ".join(repr(name) for name in missing)
                plural = "s" if len(missing) > 1 else ""
                problems.add(
                    entry.position,
                    path,
                    f"missing required field{plural} {names}{_context(path, entry.to_plain())}",  # type: ignore[arg-type]
                    _join(_required_hint(path, missing, values), _origin(root, path)),
                )


def _map_error(error: ValidationError, root: Node, problems: Problems) -> None:
    path: NodePath = tuple(error.absolute_path)
    node, walked = root.find(path)
    if node.position in problems.failed_values:
        return  # its template failed and was reported; the raw text is no real value
    kind = error.validator
    instance: Any = error.instance
    origin = _origin(root, path)
    if kind == "additionalProperties" and isinstance(instance, dict):
        _unknown_keys(error, node, walked, origin, problems)
        return
    if kind == "required" and isinstance(instance, dict):
        required: list[str] = error.validator_value  # type: ignore[assignment]
        missing = [name for name in required if name not in instance]
        if missing:
            names = ", ".join(repr(name) for name in missing)
            plural = "s" if len(missing) > 1 else ""
            top = (
                "start the manifest with 'version: 1' and 'project: <name>'" if not walked else None
            )
            problems.add(
                node.position,
                walked,
                f"missing required field{plural} {names}",
                _join(top, origin),
            )
        return
    what, hint = _describe(error, walked, origin)
    problems.add(node.position, walked, what, _join(hint, origin))


def _unknown_keys(
    error: ValidationError, node: Node, walked: NodePath, origin: str | None, problems: Problems
) -> None:
    """One problem per key the schema does not allow: a secret, or a (misspelt) unknown."""
    instance: dict[str, Any] = error.instance  # type: ignore[assignment]
    schema: Any = error.schema
    allowed = set(schema.get("properties", {}) if isinstance(schema, dict) else ())
    for key in sorted(set(instance) - allowed):
        position = node.key_positions.get(key, node.position)
        if key.lower() in SECRET_KEYS:
            secret = instance[key]
            if isinstance(secret, str):
                register_secret(secret)  # masked in every message from now on
            secret_hint = SSH_HINT if walked[:1] == ("storage",) else SECRET_HINT
            problems.add(position, (*walked, key), f"{key!r} cannot be set here", secret_hint)
            continue
        hint = did_you_mean(key, allowed) or _allowed(allowed)
        problems.add(position, (*walked, key), f"unknown key {key!r}", _join(hint, origin))


def _describe(
    error: ValidationError, walked: NodePath, origin: str | None
) -> tuple[str, str | None]:
    """(what, hint) for a violation of one value's own constraints."""
    kind = error.validator
    value: Any = error.validator_value
    instance: Any = error.instance
    hint: str | None = None
    if kind == "type":
        what = f"expected {_types(value)}, got {_json_type(instance)}"
        if (
            isinstance(instance, str)
            and _looks_scalar(instance)
            and any(t in ("integer", "number", "boolean") for t in _as_list(value))
        ):
            hint = "write it without quotes (templates always give strings)"
        elif "string" in _as_list(value) and isinstance(instance, int | float):
            hint = f"quote it: '{instance}'"
    elif kind == "enum":
        what = f"must be one of {', '.join(map(str, value))}; got {_short(instance)}"
        hint = did_you_mean(str(instance), map(str, value))
    elif kind == "const":
        what = f"must be {value!r}; got {_short(instance)}"
    elif kind == "pattern":
        what, hint = _pattern_problem(str(value), instance, origin)
    elif kind == "minLength":
        what = "must not be empty"
    elif kind == "minItems":
        what = f"needs at least {value} item{'s' if value != 1 else ''}"
    elif kind in ("minProperties", "maxProperties") and walked == ("storage",):
        what = "storage needs exactly one of 'local' or 'sftp'"
    elif kind == "oneOf" and walked[:1] == ("downloads",):
        what = "a download needs exactly one of 'dataset' or 'query'"
        hint = "name one dataset with `dataset:`, or select several with `query:`"
    elif kind in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        what = f"{_short(instance)} is out of range ({kind} {value})"
    else:
        what = error.message
    return what, hint


def _pattern_problem(pattern: str, instance: Any, origin: str | None) -> tuple[str, str | None]:
    """What and hint for a value that does not match its schema pattern."""
    pattern = pattern.removesuffix(TEMPLATE_ALTERNATIVE)
    message, hint = _PATTERN_MESSAGES.get(pattern, ("has the wrong format", None))
    if "\\d{4}-\\d{2}-\\d{2}" in pattern:
        message = "is not an ISO-8601 date/time"
        hint = "e.g. 2026-03-01T12:00:00Z"
    elif "@" in pattern:
        message = "is not an email address (or a ';'-separated list of them)"
    if pattern == KEY_PATTERN and origin and "/" in str(instance):
        # for_each over a glob: the items are paths, and folders do not belong in a key.
        hint = f'{hint}; use the last part of each path, e.g. "run-{{{{ each | basename }}}}"'
    return f"{_short(instance)} {message}", hint


def _looks_scalar(text: str) -> bool:
    """A quoted number or boolean, e.g. ``"22"`` or ``"true"`` (or a rendered template)."""
    if text.strip().lower() in ("true", "false"):
        return True
    try:
        float(text)
    except ValueError:
        return False
    return True


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


_ENTRY_KINDS = {
    "datasets": "dataset",
    "samples": "sample",
    "downloads": "download",
    "published_data": "publication",
}


def _context(walked: NodePath, instance: dict[str, Any]) -> str:
    """`` (raw dataset 'scan-1')`` for an entry of a section, else nothing."""
    key = instance.get("key")
    if len(walked) != 2 or walked[0] not in _ENTRY_KINDS or not isinstance(key, str):
        return ""
    kind = instance.get("type")
    prefix = f"{kind} " if walked[0] == "datasets" and isinstance(kind, str) else ""
    return f" ({prefix}{_ENTRY_KINDS[str(walked[0])]} {key!r})"


def _misspelt(name: str, values: dict[str, Node], section: str) -> bool:
    """Whether the entry has an unknown key that is a misspelling of *name*: then the
    "unknown key ... did you mean" problem already is the one message for this cause."""
    kind = "sample" if section == "samples" else "dataset"
    allowed = manifest_schema()["$defs"][kind]["properties"]
    unknown = [key for key in values if key not in allowed]
    return bool(unknown) and did_you_mean(name, unknown) is not None


def _required_hint(walked: NodePath, missing: list[str], values: dict[str, Node]) -> str | None:
    if len(walked) != 2 or walked[0] not in ("datasets", "samples"):
        return None
    kind = values["type"].value if "type" in values else None
    if kind == "raw" and "principal_investigator" in missing:
        return (
            "SciCat requires a principal investigator for raw datasets "
            "(principal_investigator or principal_investigators)"
        )
    if kind == "raw" and "creation_location" in missing:
        return "SciCat requires creation_location for raw datasets"
    if kind == "derived" and {"investigator", "used_software", "input_datasets"} & set(missing):
        return "SciCat requires investigator, used_software and input_datasets for derived datasets"
    section = str(walked[0])
    them = "them" if len(missing) > 1 else "it"
    return f"SciCat requires {them}; set {them} here or once under defaults.{section}"


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

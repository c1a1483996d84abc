"""A fast yes/no check of a JSON document against a JSON Schema (a keyword subset).

jsonschema walks a document through its general machinery (a validator object per
level, lazy error iterators), about a millisecond per manifest dataset: 10 s for
10,000 ``for_each`` items.  Most documents are valid, so :func:`compile_check` turns a
schema into nested closures that only answer "valid?"; the caller runs jsonschema only
when the answer is no, for its positioned error messages.  That split keeps one rule:

* the check is never more lenient than jsonschema: a keyword it does not implement
  makes :func:`compile_check` return ``None`` (the caller validates with jsonschema
  alone), and where its semantics are unsure it answers "invalid" (jsonschema then
  decides, so a wrong "invalid" costs time, never a message);
* a "valid" answer therefore means jsonschema would find no error.

Only Draft 2020-12 keywords used by scisync's schemas are implemented; annotations
(``description``, ``title``, ``$schema``, ``default``, ``examples``) are ignored.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from typing import Any

Check = Callable[[Any], bool]

_ANNOTATIONS = frozenset({"$schema", "title", "description", "default", "examples", "$comment"})
_TYPES: dict[str, Callable[[Any], bool]] = {
    "object": lambda value: isinstance(value, dict),
    "array": lambda value: isinstance(value, list),
    "string": lambda value: isinstance(value, str),
    "boolean": lambda value: isinstance(value, bool),
    "null": lambda value: value is None,
    "number": lambda value: isinstance(value, int | float) and not isinstance(value, bool),
    "integer": lambda value: (
        (isinstance(value, int) and not isinstance(value, bool))
        or (isinstance(value, float) and value.is_integer())
    ),
}


# The keywords implemented below (each by the method named after it, without "$").
_KEYWORDS = frozenset(
    {
        "$ref", "type", "properties", "additionalProperties", "required", "minProperties",
        "maxProperties", "items", "minItems", "maxItems", "pattern", "minLength", "maxLength",
        "enum", "const", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
        "oneOf", "anyOf", "allOf",
    }
)  # fmt: skip


class _Unsupported(Exception):
    """The schema uses a keyword (or form) this checker does not implement."""


def compile_check(schema: Mapping[str, Any]) -> Check | None:
    """A predicate that is True only for documents *schema* accepts, or None when the
    schema uses something outside the supported subset."""
    try:
        return _Compiler(schema).compile(schema)
    except _Unsupported:
        return None


class _Compiler:
    def __init__(self, root: Mapping[str, Any]) -> None:
        self.root = root
        self.refs: dict[str, Check] = {}

    def compile(self, schema: Any) -> Check:
        if schema is True:
            return lambda value: True
        if schema is False:
            return lambda value: False
        if not isinstance(schema, Mapping):
            raise _Unsupported(schema)
        checks: list[Check] = []
        for keyword, argument in schema.items():
            if keyword in _ANNOTATIONS or keyword == "$defs":
                continue
            if keyword not in _KEYWORDS:
                raise _Unsupported(keyword)
            build = getattr(self, "_" + keyword.lstrip("$"))
            checks.append(build(argument, schema))
        return _all(checks)

    def _ref(self, target: Any, _: Any) -> Check:
        if not isinstance(target, str) or not target.startswith("#/$defs/"):
            raise _Unsupported(target)
        if target not in self.refs:
            self.refs[target] = lambda value: False  # placeholder while compiling (recursion)
            name = target.removeprefix("#/$defs/")
            if "/" in name or "~" in name:
                raise _Unsupported(target)
            self.refs[target] = self.compile(self.root["$defs"][name])
        refs = self.refs
        return lambda value: refs[target](value)

    def _type(self, argument: Any, _: Any) -> Check:
        names = argument if isinstance(argument, list) else [argument]
        if not all(name in _TYPES for name in names):
            raise _Unsupported(argument)
        tests = [_TYPES[name] for name in names]
        return lambda value: any(test(value) for test in tests)

    def _properties(self, argument: Any, _: Any) -> Check:
        compiled = {name: self.compile(sub) for name, sub in argument.items()}

        def check(value: Any) -> bool:
            if not isinstance(value, dict):
                return True
            for name, item in value.items():
                sub = compiled.get(name)
                if sub is not None and not sub(item):
                    return False
            return True

        return check

    def _additionalProperties(self, argument: Any, schema: Any) -> Check:
        if "patternProperties" in schema:
            raise _Unsupported("patternProperties")
        known = frozenset(schema.get("properties", {}))
        if argument is False:
            return lambda value: not isinstance(value, dict) or known.issuperset(value)
        sub = self.compile(argument)
        return lambda value: (
            not isinstance(value, dict)
            or all(sub(item) for name, item in value.items() if name not in known)
        )

    def _required(self, argument: Any, _: Any) -> Check:
        names = tuple(argument)
        return lambda value: not isinstance(value, dict) or all(name in value for name in names)

    def _minProperties(self, argument: Any, _: Any) -> Check:
        return lambda value: not isinstance(value, dict) or len(value) >= argument

    def _maxProperties(self, argument: Any, _: Any) -> Check:
        return lambda value: not isinstance(value, dict) or len(value) <= argument

    def _items(self, argument: Any, schema: Any) -> Check:
        if "prefixItems" in schema:
            raise _Unsupported("prefixItems")
        sub = self.compile(argument)
        return lambda value: not isinstance(value, list) or all(sub(item) for item in value)

    def _minItems(self, argument: Any, _: Any) -> Check:
        return lambda value: not isinstance(value, list) or len(value) >= argument

    def _maxItems(self, argument: Any, _: Any) -> Check:
        return lambda value: not isinstance(value, list) or len(value) <= argument

    def _pattern(self, argument: Any, _: Any) -> Check:
        search = re.compile(argument).search
        return lambda value: not isinstance(value, str) or search(value) is not None

    def _minLength(self, argument: Any, _: Any) -> Check:
        return lambda value: not isinstance(value, str) or len(value) >= argument

    def _maxLength(self, argument: Any, _: Any) -> Check:
        return lambda value: not isinstance(value, str) or len(value) <= argument

    def _enum(self, argument: Any, _: Any) -> Check:
        tests = [self._const(item, None) for item in argument]
        if all(isinstance(item, str) for item in argument):
            allowed = frozenset(argument)
            return lambda value: isinstance(value, str) and value in allowed
        return lambda value: any(test(value) for test in tests)

    def _const(self, argument: Any, _: Any) -> Check:
        # Equal and of the same Python type: 1 == True == 1.0 in Python but not in JSON
        # Schema, and a float equal to an int answers "invalid" (jsonschema decides).
        if argument is not None and not isinstance(argument, str | int):
            raise _Unsupported(argument)
        kind = type(argument)
        return lambda value: type(value) is kind and value == argument

    def _minimum(self, argument: Any, _: Any) -> Check:
        return _numeric(lambda number: number >= argument)

    def _maximum(self, argument: Any, _: Any) -> Check:
        return _numeric(lambda number: number <= argument)

    def _exclusiveMinimum(self, argument: Any, _: Any) -> Check:
        return _numeric(lambda number: number > argument)

    def _exclusiveMaximum(self, argument: Any, _: Any) -> Check:
        return _numeric(lambda number: number < argument)

    def _oneOf(self, argument: Any, _: Any) -> Check:
        subs = [self.compile(sub) for sub in argument]
        return lambda value: sum(1 for sub in subs if sub(value)) == 1

    def _anyOf(self, argument: Any, _: Any) -> Check:
        subs = [self.compile(sub) for sub in argument]
        return lambda value: any(sub(value) for sub in subs)

    def _allOf(self, argument: Any, _: Any) -> Check:
        return _all([self.compile(sub) for sub in argument])


def _numeric(test: Callable[[Any], bool]) -> Check:
    """A bound on numbers; other types pass; NaN and infinities answer "invalid"."""

    def check(value: Any) -> bool:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return True
        return (not isinstance(value, float) or math.isfinite(value)) and test(value)

    return check


def _all(checks: list[Check]) -> Check:
    if not checks:
        return lambda value: True
    if len(checks) == 1:
        return checks[0]
    return lambda value: all(check(value) for check in checks)


__all__ = ["Check", "compile_check"]

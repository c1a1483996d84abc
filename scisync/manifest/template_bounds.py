"""Jinja's sandbox with the size of what a template builds bounded.

Jinja's sandbox keeps templates away from Python internals, but not from memory: one
line such as ``{{ 'x' * 10**9 }}``, ``{{ 'x' | center(10**9) }}``, a chain of
``replace`` calls or thirty ``{% set s = s ~ s %}`` asks for gigabytes.  Each operation
that can make a value much larger than its inputs is checked *before* it runs: ``*``,
``**`` and ``%``, the padding and replacing filters and the same ``str`` methods; ``+``
and ``~`` are checked as they finish (they at most double a bounded value); and what a
template writes out is counted as it is generated (:func:`render_bounded`), which bounds
loops.  Time is not bounded: a template can still loop for long.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

from jinja2 import Template, nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.sandbox import ImmutableSandboxedEnvironment

from scisync._util.limits import MAX_TEMPLATE_INT_BITS, MAX_TEMPLATE_VALUE

_HINT = "build smaller values; a manifest value needs no more"
# A width or precision in a printf-style ("%9d") or str.format ("{:>9}") specification.
_PRINTF_WIDTHS = re.compile(r"%[-#0 +]*(\d*)(?:\.(\d+))?")
_FORMAT_WIDTHS = re.compile(r"\{[^{}]*:[^{}\d]*(\d+)(?:\.(\d+))?[^{}]*\}")


class TemplateLimitError(Exception):
    """A template asked for a value over a limit; the message is for the user."""

    def __init__(self, message: str, hint: str = _HINT) -> None:
        super().__init__(message)
        self.hint = hint


def _check_size(size: int, what: str) -> None:
    if size > MAX_TEMPLATE_VALUE:
        raise TemplateLimitError(
            f"{what} would build a value of {size:,} characters or items, more than the "
            f"limit of {MAX_TEMPLATE_VALUE:,}"
        )


def _check_widths(pattern: re.Pattern[str], spec: object, what: str) -> None:
    if isinstance(spec, str):
        for match in pattern.finditer(spec):
            _check_size(max(int(group or 0) for group in match.groups()), what)


def _replaced_size(text: object, old: object, new: object) -> int:
    if not (isinstance(text, str) and isinstance(old, str) and isinstance(new, str)):
        return 0
    matches = text.count(old) if old else len(text) + 1
    return len(text) + matches * max(0, len(new) - len(old))


def _indented_size(text: object, width: object) -> int:
    lines = text.count("\n") + 1 if isinstance(text, str) else 0
    pad = len(width) if isinstance(width, str) else width if isinstance(width, int) else 0
    return (len(text) if isinstance(text, str) else 0) + lines * pad


def _guard_call(name: str, args: tuple[Any, ...]) -> None:
    """Check a call of the str method or filter *name*: ``args[0]`` is the string."""
    text = args[0] if args else None
    if name in ("center", "ljust", "rjust", "zfill") and len(args) > 1:
        if isinstance(args[1], int):
            _check_size(args[1], f"{name}()")
    elif name == "replace" and len(args) > 2:
        _check_size(_replaced_size(text, args[1], args[2]), "replace()")
    elif name == "indent":
        _check_size(_indented_size(text, args[1] if len(args) > 1 else 4), "indent()")
    elif name == "expandtabs" and len(args) > 1 and isinstance(text, str):
        if isinstance(args[1], int):
            _check_size(len(text) + text.count("\t") * args[1], "expandtabs()")
    elif name == "format":
        _check_widths(_PRINTF_WIDTHS, text, "format")
        _check_widths(_FORMAT_WIDTHS, text, "format")


def _guarded_filter(name: str, original: Callable[..., Any]) -> Callable[..., Any]:
    passes_context = hasattr(original, "jinja_pass_arg")

    @functools.wraps(original)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        values = args[1:] if passes_context else args  # the eval context comes first
        _guard_call(name, tuple(values) + tuple(kwargs.values()))
        return original(*args, **kwargs)

    return guarded


class _BoundedCodeGenerator(CodeGenerator):
    """Compiles ``a ~ b`` so that the joined string passes the size check."""

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.checked_concat(")
        super().visit_Concat(node, frame)
        self.write(")")


class BoundedSandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox, with every value-multiplying operation bounded."""

    intercepted_binops = frozenset({"*", "**", "%", "+"})
    code_generator_class = _BoundedCodeGenerator

    @staticmethod
    def checked_concat(value: str) -> str:
        _check_size(len(value), "'~'")
        return value

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("center", "replace", "indent", "format"):
            self.filters[name] = _guarded_filter(name, self.filters[name])

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            for sequence, count in ((left, right), (right, left)):
                if isinstance(sequence, str | list | tuple) and isinstance(count, int):
                    _check_size(len(sequence) * count, "'*'")
        elif operator == "**" and _power_bits(left, right) > MAX_TEMPLATE_INT_BITS:
            raise TemplateLimitError(
                f"'**' would build a number of more than {MAX_TEMPLATE_INT_BITS:,} bits",
                "use smaller numbers",
            )
        elif operator == "%":
            _check_widths(_PRINTF_WIDTHS, left, "'%'")
        elif operator == "+" and isinstance(left, str | list | tuple):
            _check_size(
                len(left) + (len(right) if isinstance(right, str | list | tuple) else 0), "'+'"
            )
        return super().call_binop(context, operator, left, right)

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        # str.format reaches here wrapped by the sandbox (functools.update_wrapper)
        method = getattr(__obj, "__wrapped__", __obj)
        owner = getattr(method, "__self__", None)
        if isinstance(owner, str):
            _guard_call(getattr(method, "__name__", ""), (owner, *args, *kwargs.values()))
        return super().call(__context, __obj, *args, **kwargs)


def _power_bits(left: Any, right: Any) -> int:
    """About how many bits ``left ** right`` has (0 when it cannot grow large)."""
    if not (isinstance(left, int) and isinstance(right, int)) or abs(left) <= 1 or right <= 0:
        return 0
    return int(left.bit_length() * right)


def render_bounded(template: Template, context: dict[str, Any]) -> str:
    """*template* rendered, refusing output over the limit as it is generated (a loop
    writing a character a billion times stops at the limit, not at the end)."""
    pieces: list[str] = []
    size = 0
    for piece in template.generate(context):
        size += len(piece)
        _check_size(size, "the template's output")
        pieces.append(piece)
    return "".join(pieces)

"""Field changes as text: every change visible, values in full.

What changed is worked out by :mod:`scisync.render.diff` (pure); this module only lays
it out.  Strings are never cut so that a change is hidden: a multi-line string is shown
as a line diff, a long one-line string as its two versions with the changed span
marked (``[-old-]``/``{+new+}`` without colour, red/green with colour).  Objects are
shown key by key with the path of each changed key; quantities as ``value unit``.
Compact mode folds unchanged context (lines of a text, the head and tail of a long
line) but never a change.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from scisync._util.jsontypes import Json
from scisync._util.secrets import redact
from scisync.plan.model import FieldChange
from scisync.render.diff import (
    ABSENT,
    Fold,
    Leaf,
    Sign,
    _Absent,
    changed_span,
    fold_context,
    is_quantity,
    leaf_changes,
    line_diff,
)
from scisync.render.safe import safe_message
from scisync.render.units import plural

KNOWN_AFTER_APPLY = "(known after apply)"
DRIFT_NOTE = "[drift: changed in SciCat since the last apply]"
CONTEXT_LINES = 2  # compact mode: unchanged lines kept around a changed one
CONTEXT_CHARS = 30  # compact mode: characters kept around a changed span

Paint = Callable[..., str]

_SIGN_COLOURS = {Sign.ADD: "green", Sign.REMOVE: "red", Sign.CHANGE: "yellow", Sign.KEEP: None}


@dataclass(frozen=True)
class Layout:
    paint: Paint
    color: bool
    width: int  # a change shown on one line when it fits in about this many characters
    compact: bool


def safe_text(text: str) -> str:
    """A catalogue string's characters made harmless for a terminal.

    The single place where text from SciCat or the manifest is escaped before it is
    shown unquoted (a line of a multi-line string, a unit).  JSON escaping turns control
    characters (ESC, CR, ...) into visible ``\\u001b``-style escapes;
    :func:`scisync.render.safe.safe_message` then escapes what JSON leaves raw (C1
    controls, bidi overrides, line separators, zero-width characters).
    """
    return safe_message(json.dumps(text, ensure_ascii=False)[1:-1])


def value_text(value: Json | _Absent) -> str:
    """One value on one line, in full: JSON, except quantities (``2.5 mm``)."""
    if isinstance(value, _Absent):
        return "(absent)"
    if is_quantity(value):
        assert isinstance(value, dict)
        unit = value["unit"]
        shown_unit = safe_text(unit) if isinstance(unit, str) else value_text(unit)
        return f"{value_text(value['value'])} {shown_unit}".rstrip()
    dumped = json.dumps(value, ensure_ascii=False, separators=(", ", ": "), sort_keys=True)
    return safe_message(dumped)


def field_lines(field: FieldChange, creating: bool, layout: Layout) -> list[str]:
    """The lines of one field (indented by the caller)."""
    note = "  " + layout.paint(DRIFT_NOTE, "magenta") if field.drift else ""
    if field.after_unknown:
        if creating:
            return [f"{safe_text(field.name)}: {KNOWN_AFTER_APPLY}"]
        return [
            f"{layout.paint('~', 'yellow')} {safe_text(field.name)}: {value_text(field.before)} → "
            f"{KNOWN_AFTER_APPLY}{note}"
        ]
    # Secrets are masked before diffing: a marked span must not split one in two.
    after = _masked(field.after)
    if creating:
        return _new_value_lines(safe_text(field.name), after, layout)
    before: Json | _Absent = ABSENT if field.before is None else _masked(field.before)
    leaves = leaf_changes(before, after)
    if len(leaves.changed) == 1 and leaves.changed[0].path == "":
        lines = _leaf_lines(leaves.changed[0], safe_text(field.name), layout)
        lines[0] += note
        return lines
    lines = [f"{layout.paint('~', 'yellow')} {safe_text(field.name)}:{note}"]
    for leaf in leaves.changed:
        lines.extend("    " + line for line in _leaf_lines(leaf, leaf.path, layout))
    if leaves.unchanged:
        lines.append(f"    ({_plural(leaves.unchanged, 'unchanged value')} not shown)")
    return lines


def _masked(value: Json) -> Json:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list):
        return [_masked(item) for item in value]
    if isinstance(value, dict):
        return {redact(key): _masked(item) for key, item in value.items()}
    return value


def _new_value_lines(name: str, value: Json, layout: Layout) -> list[str]:
    """A value being created: objects key by key, multi-line strings line by line."""
    if isinstance(value, str) and "\n" in value:
        return [f"{name}: |"] + [f"  {safe_text(line)}" for line in value.split("\n")]
    if isinstance(value, dict) and value and not is_quantity(value):
        lines = [f"{name}:"]
        for leaf in leaf_changes(ABSENT, value).changed:
            shown = _new_value_lines(leaf.path, leaf.after, layout)  # type: ignore[arg-type]
            lines.extend("  " + line for line in shown)
        return lines
    return [f"{name}: {value_text(value)}"]


def _leaf_lines(leaf: Leaf, label: str, layout: Layout) -> list[str]:
    paint = layout.paint
    sign = paint(leaf.sign.value, _SIGN_COLOURS[leaf.sign])
    before, after = leaf.before, leaf.after
    if isinstance(before, str) and isinstance(after, str):
        if "\n" in before or "\n" in after:
            return [f"{sign} {label}:", *_text_diff(before, after, layout)]
        if len(before) + len(after) + len(label) > layout.width:
            return [f"{sign} {label}:", *_span_diff(before, after, layout)]
    if leaf.sign is Sign.ADD:
        return _new_value_lines(f"{sign} {label}", after, layout)  # type: ignore[arg-type]
    if leaf.sign is Sign.REMOVE:
        return [f"{sign} {label}: {value_text(before)}"]
    return [f"{sign} {label}: {value_text(before)} → {value_text(after)}"]


def _text_diff(before: str, after: str, layout: Layout) -> list[str]:
    changes = line_diff(before, after)
    shown = fold_context(changes, CONTEXT_LINES) if layout.compact else list(changes)
    lines = []
    for item in shown:
        if isinstance(item, Fold):
            lines.append(f"      … {_plural(item.lines, 'unchanged line')}")
            continue
        colour = _SIGN_COLOURS[item.sign]
        lines.append(f"    {layout.paint(item.sign.value, colour)} {safe_text(item.text)}")
    return lines


def _span_diff(before: str, after: str, layout: Layout) -> list[str]:
    """Both versions of a long line in full, the part that differs marked."""
    span = changed_span(before, after)
    paint = layout.paint
    old_mid = before[span.head : span.before_end]
    new_mid = after[span.head : span.after_end]
    head = before[: span.head]
    old_tail, new_tail = before[span.before_end :], after[span.after_end :]
    if layout.compact:
        head = _fold_head(head)
        old_tail = new_tail = _fold_tail(old_tail)
    if layout.color:
        marked_old = paint(safe_text(old_mid), "red", bold=True)
        marked_new = paint(safe_text(new_mid), "green", bold=True)
    else:
        marked_old, marked_new = f"[-{safe_text(old_mid)}-]", f"{{+{safe_text(new_mid)}+}}"
    chars = f"({len(before)} → {len(after)} characters; differs from character {span.head + 1})"
    return [
        f'    {paint("-", "red")} "{safe_text(head)}{marked_old}{safe_text(old_tail)}"',
        f'    {paint("+", "green")} "{safe_text(head)}{marked_new}{safe_text(new_tail)}"',
        f"    {chars}",
    ]


def _fold_head(text: str) -> str:
    return text if len(text) <= CONTEXT_CHARS else "…" + text[-CONTEXT_CHARS:]


def _fold_tail(text: str) -> str:
    return text if len(text) <= CONTEXT_CHARS else text[:CONTEXT_CHARS] + "…"


_plural = plural

"""A plan as text for people: one block per change, field diffs, a summary line.

Formatting only: every decision (what changes, why, which files move) was made by
the planner and is read from the Plan.  Colour is the caller's choice (the CLI turns
it off for NO_COLOR and for output that is not a terminal).  The result passes
through :func:`scisync._util.secrets.redact`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import cast

import click

from scisync._util.secrets import redact
from scisync.plan.model import (
    Action,
    AttachmentAction,
    AttachmentChange,
    Conflict,
    FileAction,
    FileChange,
    Plan,
    ResourceChange,
    ResourceKind,
)
from scisync.render.fields import KNOWN_AFTER_APPLY, Layout, field_lines
from scisync.render.safe import safe_message, safe_text
from scisync.render.units import human_bytes, plural

NO_CHANGES = "No changes. SciCat and the storage match the manifest."
FORGET_DATASET = (
    "forget: dropped from scisync.lock; the dataset stays in SciCat "
    "(SciCat datasets cannot be deleted)"
)
FORGET_SAMPLE = "forget: dropped from scisync.lock; the sample stays in SciCat"
FORGET_DOWNLOAD = "forget: dropped from scisync.lock; the downloaded files stay where they are"
FORGET_PUBLICATION = "forget: dropped from scisync.lock; the record and its DOI stay in SciCat"
ADOPT_NOTE = "adopt: recorded in scisync.lock, not created again"
REGISTER_NOTE = "register: the DOI will be registered; after that SciCat keeps its content as it is"

MAX_LISTED_FILES = 10
VALUE_WIDTH = 60


@dataclass(frozen=True)
class _Look:
    symbol: str
    headline: str
    colour: str


_LOOKS: dict[Action, _Look] = {
    Action.CREATE: _Look("+", "will be created", "green"),
    Action.UPDATE: _Look("~", "will be updated in place", "yellow"),
    Action.REPLACE: _Look("-/+", "must be replaced", "magenta"),
    Action.FORGET: _Look("-", "will be forgotten", "red"),
    Action.DOWNLOAD: _Look("<=", "will be downloaded", "cyan"),
    Action.ADOPT: _Look("<-", "will be adopted", "blue"),
    Action.MARK: _Look("*", "will get scisync's marker", "blue"),
    Action.REGISTER: _Look("@", "will have its DOI registered", "cyan"),
    Action.NOOP: _Look(" ", "is unchanged", "white"),
}
_LEGEND_ORDER = (
    Action.CREATE,
    Action.UPDATE,
    Action.REPLACE,
    Action.FORGET,
    Action.DOWNLOAD,
    Action.ADOPT,
    Action.MARK,
    Action.REGISTER,
)


def action_symbol(action: Action) -> str:
    """The symbol a change's block starts with (``+``, ``~``, ``-/+``, ``-``, ``<=``, ``<-``)."""
    return _LOOKS[action].symbol


class _Painter:
    def __init__(self, color: bool) -> None:
        self.color = color

    def __call__(self, text: str, fg: str | None = None, *, bold: bool = False) -> str:
        if not self.color:
            return text
        return click.style(text, fg=fg, bold=bold)


def render_plan_text(
    plan: Plan,
    *,
    color: bool,
    max_listed_files: int = MAX_LISTED_FILES,
    value_width: int = VALUE_WIDTH,
    compact: bool = False,
) -> str:
    """The plan as terminal text.  ``color`` adds ANSI styles; the caller decides.

    Every change is shown in full; ``compact`` folds unchanged context (never a change).
    """
    paint = _Painter(color)
    layout = Layout(paint, color, value_width, compact)
    conflicted = {conflict.address for conflict in plan.conflicts}
    changes = [c for c in plan.changes if c.has_changes or c.address in conflicted]
    lines: list[str] = []
    if changes:
        used = {change.action for change in changes}
        legend = "  ".join(
            f"{paint(_LOOKS[action].symbol, _LOOKS[action].colour)} {action.value}"
            for action in _LEGEND_ORDER
            if action in used
        )
        if legend:
            lines.append(f"scisync will perform these actions ({legend}):")
        else:
            lines.append("scisync cannot plan these entries:")
        for change in changes:
            lines.append("")
            lines.extend(_change_lines(change, layout, max_listed_files))
            lines.extend(_conflict_lines(plan.conflicts_of(change.address), paint))
        lines.append("")
    orphans = [c for c in plan.conflicts if c.address not in {ch.address for ch in changes}]
    if orphans:
        # Conflicts about entries that have no change of their own (none today; kept so
        # that no conflict is ever left off the screen).
        lines.extend(_conflict_lines(orphans, paint, with_address=True))
        lines.append("")
    if plan.warnings:
        lines.append(paint("Warnings:", "yellow", bold=True))
        lines.extend(
            f"  {paint('!', 'yellow')} {safe_message(warning)}" for warning in plan.warnings
        )
        lines.append("")
    if plan.has_changes or not plan.conflicts:
        lines.append(paint(summary_line(plan), bold=True) if plan.has_changes else NO_CHANGES)
    if plan.conflicts:
        lines.append(paint(conflicts_line(plan), "red", bold=True))
    return redact("\n".join(lines) + "\n")


def conflicts_line(plan: Plan) -> str:
    """The closing line of a plan with conflicts."""
    return (
        f"{_count(len(plan.conflicts), 'conflict')}: this plan cannot be applied; "
        "fix each as its hint says and plan again."
    )


def summary_line(plan: Plan) -> str:
    """``Plan: 2 to create, 1 to update, ...`` (or the no-changes sentence)."""
    if not plan.has_changes:
        return NO_CHANGES
    counts = plan.counts()
    parts = [
        f"{counts.get(Action.CREATE, 0)} to create",
        f"{counts.get(Action.UPDATE, 0)} to update",
        f"{counts.get(Action.REPLACE, 0)} to replace",
    ]
    if counts.get(Action.ADOPT, 0):
        parts.append(f"{counts[Action.ADOPT]} to adopt")
    if counts.get(Action.MARK, 0):
        parts.append(f"{counts[Action.MARK]} to mark")
    registering = sum(1 for change in plan.changes if change.registers)
    if registering:
        parts.append(f"{registering} DOI{'s' if registering != 1 else ''} to register")
    parts.append(f"{counts.get(Action.FORGET, 0)} to forget")
    parts.append(_transfer_phrase(plan, ResourceKind.DATASET, "upload"))
    parts.append(_transfer_phrase(plan, ResourceKind.DOWNLOAD, "download"))
    return "Plan: " + ", ".join(parts) + "."


def _transfer_phrase(plan: Plan, kind: ResourceKind, verb: str) -> str:
    files = sum(
        1
        for change in plan.changes
        if change.kind is kind
        for file in change.files
        if file.needs_transfer
    )
    if not files:
        return f"0 files to {verb}"
    return f"{_count(files, 'file')} ({human_bytes(plan.transfer_bytes(kind))}) to {verb}"


_count = plural


# --- one change -----------------------------------------------------------------------


def _change_lines(change: ResourceChange, layout: Layout, max_listed_files: int) -> list[str]:
    paint = cast(_Painter, layout.paint)
    look = _LOOKS[change.action]
    if change.action is Action.NOOP:
        # Shown only because of its conflicts.
        look = _Look("!", "cannot be planned", "red")
    headline = look.headline
    reason = change.reason
    if change.action is Action.REPLACE and reason:
        headline, reason = f"{headline} because {reason}", None
    lines = [
        f"  {paint(look.symbol, look.colour, bold=True)} "
        f"{paint(safe_text(change.address), bold=True)} {safe_message(headline)}"
    ]
    detail = "      "
    label = _ID_LABELS.get(change.kind, "pid")
    if change.pid or change.action not in (Action.NOOP, Action.REPLACE):
        shown = safe_text(change.pid) if change.pid else KNOWN_AFTER_APPLY
        lines.append(f"{detail}{label}: {shown}")
    if change.action is Action.REPLACE:
        lines.append(f"{detail}new pid: {KNOWN_AFTER_APPLY}")
    if reason:
        lines.append(f"{detail}reason: {safe_message(reason)}")
    if change.action is Action.FORGET:
        lines.append(f"{detail}{paint(_forget_note(change.kind), 'red')}")
    if change.action is Action.ADOPT:
        lines.append(f"{detail}{ADOPT_NOTE}")
    if change.registers:
        lines.append(f"{detail}{paint(REGISTER_NOTE, 'cyan')}")
    if change.supersedes:
        lines.append(f"{detail}supersedes: {', '.join(map(safe_text, change.supersedes))}")
    if change.depends_on:
        lines.append(f"{detail}after: {', '.join(map(safe_text, change.depends_on))}")
    if change.field_changes:
        lines.append(f"{detail}fields:")
        creating = change.action in (Action.CREATE, Action.REPLACE)
        for field in change.field_changes:
            lines.extend(f"{detail}  {line}" for line in field_lines(field, creating, layout))
    if change.files:
        lines.extend(_file_lines(change, paint, max_listed_files, detail))
    if change.attachments:
        lines.extend(_attachment_lines(change.attachments, paint, detail))
    return lines


def _conflict_lines(
    conflicts: Iterable[Conflict], paint: _Painter, *, with_address: bool = False
) -> list[str]:
    lines = []
    for conflict in conflicts:
        what = f"{conflict.address}: {conflict.what}" if with_address else conflict.what
        what = safe_message(what)
        lines.append(
            f"      {paint('✗ conflict', 'red', bold=True)} ({conflict.kind.value}): {what}"
        )
        if conflict.where:
            lines.append(f"        at: {safe_message(conflict.where)}")
        lines.append(f"        fix: {safe_message(conflict.hint)}")
    return lines


_ID_LABELS = {ResourceKind.SAMPLE: "sample id", ResourceKind.PUBLICATION: "doi"}


def _forget_note(kind: ResourceKind) -> str:
    if kind is ResourceKind.PUBLICATION:
        return FORGET_PUBLICATION
    if kind is ResourceKind.SAMPLE:
        return FORGET_SAMPLE
    if kind is ResourceKind.DOWNLOAD:
        return FORGET_DOWNLOAD
    return FORGET_DATASET


# --- files and attachments ------------------------------------------------------------

_FILE_SYMBOLS = {
    FileAction.ADD: ("+", "green"),
    FileAction.CHANGED: ("~", "yellow"),
    FileAction.REMOVED: ("-", "red"),
    FileAction.KEEP: (" ", "white"),
}


def _file_label(action: FileAction, kind: ResourceKind) -> str:
    if action is FileAction.ADD:
        return "to download" if kind is ResourceKind.DOWNLOAD else "to add"
    if action is FileAction.KEEP:
        return "present" if kind is ResourceKind.DOWNLOAD else "unchanged"
    return action.value  # "changed", "removed"


def _file_lines(change: ResourceChange, paint: _Painter, max_listed: int, indent: str) -> list[str]:
    parts = []
    for action in (FileAction.ADD, FileAction.CHANGED, FileAction.REMOVED, FileAction.KEEP):
        chosen = [file for file in change.files if file.action is action]
        if chosen:
            size = human_bytes(sum(file.size for file in chosen))
            parts.append(f"{len(chosen)} {_file_label(action, change.kind)} ({size})")
    in_place = sum(
        1 for file in change.files if file.action is FileAction.ADD and not file.needs_transfer
    )
    if in_place:
        parts.append(f"{in_place} {_already(change.kind)}")
    lines = [f"{indent}files: {', '.join(parts)}"]
    # Unchanged files are only counted; the others are listed while there are few.
    listed = [file for file in change.files if file.action is not FileAction.KEEP]
    if 0 < len(listed) <= max_listed:
        lines.extend(f"{indent}  {_file_entry(file, change.kind, paint)}" for file in listed)
    return lines


def _file_entry(file: FileChange, kind: ResourceKind, paint: _Painter) -> str:
    symbol, colour = _FILE_SYMBOLS[file.action]
    text = f"{paint(symbol, colour)} {safe_text(file.path)}  {human_bytes(file.size)}"
    if file.action is FileAction.ADD and not file.needs_transfer:
        text += f"  ({_already(kind)})"
    return text


def _already(kind: ResourceKind) -> str:
    return "already present" if kind is ResourceKind.DOWNLOAD else "already on storage"


_ATTACHMENT_SYMBOLS = {
    AttachmentAction.ADD: ("+", "green", "to add"),
    AttachmentAction.UPDATE: ("~", "yellow", "to update"),
    AttachmentAction.KEEP: (" ", "white", "unchanged"),
}


def _attachment_lines(
    attachments: Iterable[AttachmentChange], paint: _Painter, indent: str
) -> list[str]:
    attachments = list(attachments)
    parts = []
    for action in (AttachmentAction.ADD, AttachmentAction.UPDATE, AttachmentAction.KEEP):
        n = sum(1 for attachment in attachments if attachment.action is action)
        if n:
            parts.append(f"{n} {_ATTACHMENT_SYMBOLS[action][2]}")
    lines = [f"{indent}attachments: {', '.join(parts)}"]
    for attachment in attachments:
        if attachment.action is AttachmentAction.KEEP:
            continue
        symbol, colour, _ = _ATTACHMENT_SYMBOLS[attachment.action]
        note = "  (new image)" if attachment.action is AttachmentAction.UPDATE else ""
        caption = safe_message(json.dumps(attachment.caption, ensure_ascii=False))
        lines.append(f"{indent}  {paint(symbol, colour)} {caption}{note}")
    return lines


def resume_notice(journal_entries: int) -> str:
    """What ``apply`` says before it resumes an interrupted run."""
    return (
        f"Resuming an interrupted apply ({journal_entries} journal entries); what it completed "
        "is found again, nothing is created twice."
    )

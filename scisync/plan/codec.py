"""Plans as versioned JSON: what ``plan --json`` prints and ``plan -out`` saves.

The JSON carries every field of the model (a saved plan must be appliable later), plus
two derived conveniences for scripts, each change's ``address`` and a ``summary`` of
counts, which are ignored when a plan is loaded.  ``plan_from_json(plan_to_json(p)) == p``.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import cast

from scisync._util.atomicfile import write_atomic
from scisync._util.boundedjson import JsonProblem, parse_json, read_bounded
from scisync._util.jsontypes import Json, JsonObject
from scisync._util.limits import MAX_PLAN_BYTES
from scisync.errors import PlanError, os_error_hint
from scisync.plan.model import (
    PLAN_FORMAT_VERSION,
    Action,
    AttachmentAction,
    AttachmentChange,
    Conflict,
    ConflictKind,
    FieldChange,
    FileAction,
    FileChange,
    Fingerprint,
    Plan,
    ResourceChange,
    ResourceKind,
)
from scisync.schemas import schema_violations, violation_where

_NEW_PLAN_HINT = "make a new plan with 'scisync plan --out FILE'"

# --- model -> JSON --------------------------------------------------------------------


def plan_to_json(plan: Plan) -> JsonObject:
    """The plan as JSON data, valid against plan.schema.json, bound by its ``digest``."""
    data: JsonObject = {
        "format_version": plan.format_version,
        "scisync_version": plan.scisync_version,
        "project": plan.project,
        "fingerprint": {
            "manifest": plan.fingerprint.manifest,
            "lockfile": plan.fingerprint.lockfile,
            "observed": plan.fingerprint.observed,
        },
        "warnings": list(plan.warnings),
        "summary": plan_summary(plan),
        "changes": [_change_to_json(change) for change in plan.changes],
        "conflicts": [
            {
                "kind": conflict.kind.value,
                "address": conflict.address,
                "what": conflict.what,
                "hint": conflict.hint,
                "where": conflict.where,
            }
            for conflict in plan.conflicts
        ],
    }
    data["digest"] = plan_digest(data)
    return data


def plan_digest(data: JsonObject) -> str:
    """``sha256:<hex>`` of the canonical JSON of *data* without its ``digest`` field.

    Canonical JSON survives a save and load unchanged (sorted keys, Python's exact float
    text), so the digest of a loaded plan equals the one written exactly when no byte of
    meaning was changed in between.
    """
    content = {key: value for key, value in data.items() if key != "digest"}
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def plan_summary(plan: Plan) -> JsonObject:
    """Counts per action and transfer totals (the JSON ``summary`` object)."""
    counts = plan.counts()
    summary: JsonObject = {"has_changes": plan.has_changes}
    for action in Action:
        if action is Action.MARK and not counts.get(action):
            continue  # only `scisync import` makes marking plans; other plans never show it
        if action is Action.REGISTER:
            registering = sum(1 for change in plan.changes if change.registers)
            if registering:  # only plans with published data show it
                summary[action.value] = registering
            continue
        summary[action.value] = counts.get(action, 0)
    summary["upload_files"] = _transfer_files(plan, ResourceKind.DATASET)
    summary["upload_bytes"] = plan.transfer_bytes(ResourceKind.DATASET)
    summary["download_files"] = _transfer_files(plan, ResourceKind.DOWNLOAD)
    summary["download_bytes"] = plan.transfer_bytes(ResourceKind.DOWNLOAD)
    return summary


def _transfer_files(plan: Plan, kind: ResourceKind) -> int:
    return sum(
        1
        for change in plan.changes
        if change.kind is kind
        for file in change.files
        if file.needs_transfer
    )


def _change_to_json(change: ResourceChange) -> JsonObject:
    data = _change_fields(change)
    if change.register:  # only publications have it: other plans stay as they were
        data["register"] = True
    return data


def _change_fields(change: ResourceChange) -> JsonObject:
    return {
        "address": change.address,
        "kind": change.kind.value,
        "key": change.key,
        "action": change.action.value,
        "reason": change.reason,
        "pid": change.pid,
        "marker": change.marker,
        "source_folder": change.source_folder,
        "field_changes": [
            {
                "name": field.name,
                "before": field.before,
                "after": field.after,
                "after_unknown": field.after_unknown,
                "drift": field.drift,
            }
            for field in change.field_changes
        ],
        "files": [
            {
                "path": file.path,
                "action": file.action.value,
                "size": file.size,
                "blake3": file.blake3,
                "checksum": file.checksum,
                "local": file.local,
                "remote": file.remote,
                "needs_transfer": file.needs_transfer,
            }
            for file in change.files
        ],
        "attachments": [
            {
                "caption": attachment.caption,
                "action": attachment.action.value,
                "aid": attachment.aid,
                "image": attachment.image,
                "blake3": attachment.blake3,
                "thumbnail_sha256": attachment.thumbnail_sha256,
            }
            for attachment in change.attachments
        ],
        "depends_on": list(change.depends_on),
        "body": change.body,
        "patch": change.patch,
        "fields_digest": change.fields_digest,
        "supersedes": list(change.supersedes),
        "checksum_algorithm": change.checksum_algorithm,
    }


# --- JSON -> model --------------------------------------------------------------------


def plan_from_json(data: Json, where: str, text: str | None = None) -> Plan:
    """Check *data* against the plan schema and build the Plan; ``where`` names the source.

    With the *text* it was parsed from, errors point at ``file:line:column``.
    """
    version = data.get("format_version") if isinstance(data, dict) else None
    if isinstance(version, int) and not isinstance(version, bool) and version > PLAN_FORMAT_VERSION:
        raise PlanError(
            f"this plan was saved by a newer scisync (plan format {version}); "
            "upgrade scisync: pip install -U scisync",
            where=where,
            hint=f"this scisync reads plan formats up to {PLAN_FORMAT_VERSION}; "
            "or make a new plan with this scisync",
        )
    _check_digest(data, where)
    violations = schema_violations("plan", data)
    if violations:
        first = violations[0]
        more = f" (and {len(violations) - 1} more problems)" if len(violations) > 1 else ""
        raise PlanError(
            f"not a valid scisync plan: {_shortened(first.message)}{more}",
            where=violation_where(where, first, text),
            hint="make a new plan with 'scisync plan --out FILE'",
        )
    root = cast(JsonObject, data)
    fingerprint = cast(dict[str, str], root["fingerprint"])
    return Plan(
        project=cast(str, root["project"]),
        changes=tuple(_change_from_json(c) for c in cast(list[JsonObject], root["changes"])),
        fingerprint=Fingerprint(
            manifest=fingerprint["manifest"],
            lockfile=fingerprint["lockfile"],
            observed=fingerprint["observed"],
        ),
        format_version=cast(int, root["format_version"]),
        scisync_version=cast(str, root["scisync_version"]),
        warnings=tuple(cast(list[str], root["warnings"])),
        conflicts=tuple(
            Conflict(
                kind=ConflictKind(cast(str, c["kind"])),
                address=cast(str, c["address"]),
                what=cast(str, c["what"]),
                hint=cast(str, c["hint"]),
                where=cast(str | None, c["where"]),
            )
            for c in cast(list[JsonObject], root.get("conflicts", []))
        ),
    )


def _shortened(message: str, limit: int = 300) -> str:
    """jsonschema quotes the offending value whole: a hostile one can be megabytes."""
    return message if len(message) <= limit else message[:limit] + "…"


def _check_digest(data: Json, where: str) -> None:
    """A saved plan is applied only as it was made: any edit shows in its digest."""
    if not isinstance(data, dict):
        return  # the schema check names what is wrong
    digest = data.get("digest")
    if digest is None:
        raise PlanError(
            "the saved plan has no digest, so scisync cannot tell whether it was changed",
            where=where,
            hint=_NEW_PLAN_HINT,
        )
    if digest != plan_digest(data):
        raise PlanError(
            "the saved plan was changed after it was saved: its content does not match its digest",
            where=where,
            hint=_NEW_PLAN_HINT + "; review it with 'scisync plan' before applying, and "
            "do not edit the saved file",
        )


def _change_from_json(data: JsonObject) -> ResourceChange:
    return ResourceChange(
        kind=ResourceKind(cast(str, data["kind"])),
        key=cast(str, data["key"]),
        action=Action(cast(str, data["action"])),
        reason=cast(str | None, data["reason"]),
        pid=cast(str | None, data["pid"]),
        marker=cast(str | None, data["marker"]),
        source_folder=cast(str | None, data["source_folder"]),
        field_changes=tuple(
            FieldChange(
                name=cast(str, f["name"]),
                before=f["before"],
                after=f["after"],
                after_unknown=cast(bool, f["after_unknown"]),
                drift=cast(bool, f["drift"]),
            )
            for f in cast(list[JsonObject], data["field_changes"])
        ),
        files=tuple(
            FileChange(
                path=cast(str, f["path"]),
                action=FileAction(cast(str, f["action"])),
                size=cast(int, f["size"]),
                blake3=cast(str | None, f["blake3"]),
                checksum=cast(str | None, f["checksum"]),
                local=cast(str | None, f["local"]),
                remote=cast(str | None, f["remote"]),
                needs_transfer=cast(bool, f["needs_transfer"]),
            )
            for f in cast(list[JsonObject], data["files"])
        ),
        attachments=tuple(
            AttachmentChange(
                caption=a["caption"],
                action=AttachmentAction(a["action"]),
                aid=a["aid"],
                image=a["image"],
                blake3=a["blake3"],
                thumbnail_sha256=a["thumbnail_sha256"],
            )
            for a in cast(list[dict[str, str]], data["attachments"])
        ),
        depends_on=tuple(cast(list[str], data["depends_on"])),
        body=cast(JsonObject | None, data["body"]),
        patch=cast(JsonObject | None, data["patch"]),
        fields_digest=cast(str | None, data["fields_digest"]),
        supersedes=tuple(cast(list[str], data["supersedes"])),
        checksum_algorithm=cast(str | None, data["checksum_algorithm"]),
        register=cast(bool, data.get("register", False)),
    )


# --- files ----------------------------------------------------------------------------


def dumps_plan(plan: Plan) -> str:
    """The plan as pretty JSON text (what ``plan --json`` prints and ``plan -out`` saves)."""
    return json.dumps(plan_to_json(plan), indent=2, ensure_ascii=False) + "\n"


def save_plan(path: Path, plan: Plan) -> None:
    """Write the plan to *path* atomically (a reader never sees half a plan)."""
    try:
        write_atomic(path, dumps_plan(plan).encode("utf-8"))
    except OSError as error:
        raise PlanError(
            f"cannot save the plan: {error.strerror}", where=str(path), hint=os_error_hint(error)
        ) from None


def load_plan(path: Path) -> Plan:
    """Read a plan saved by :func:`save_plan`; refuse it if it was changed since."""
    try:
        raw = read_bounded(path, MAX_PLAN_BYTES)
        if raw is None:
            raise PlanError(
                "the saved plan does not exist",
                where=str(path),
                hint="make one with 'scisync plan --out FILE'",
            )
        text = raw.decode("utf-8")
    except (JsonProblem, UnicodeDecodeError) as error:
        raise PlanError(
            f"cannot read the saved plan: {error}", where=str(path), hint=_NEW_PLAN_HINT
        ) from None
    except OSError as error:
        raise PlanError(
            f"cannot read the saved plan: {error.strerror}",
            where=str(path),
            hint=os_error_hint(error),
        ) from None
    try:
        data = parse_json(text)
    except json.JSONDecodeError as error:
        raise PlanError(
            f"the saved plan is not valid JSON: {error.msg}",
            where=f"{path}:{error.lineno}:{error.colno}",
            hint=_NEW_PLAN_HINT,
        ) from None
    except JsonProblem as problem:
        raise PlanError(
            f"not a valid scisync plan: {problem.what}",
            where=problem.where(str(path)),
            hint=_NEW_PLAN_HINT,
        ) from None
    return plan_from_json(data, str(path), text)

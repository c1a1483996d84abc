"""Views of ``scisync import`` and ``scisync init`` results, as text lines and as JSON."""

from __future__ import annotations

import json

from scisync.adopt.importer import ImportResult
from scisync.adopt.starter import InitResult
from scisync.render.safe import safe_text


def import_result_json(result: ImportResult) -> str:
    """The machine-readable report of an import (``--json``)."""
    return json.dumps(
        {
            "key": result.key,
            "pid": result.pid,
            "manifest": str(result.manifest_path),
            "marker": result.marker,
            "marker_set": result.marker_set,
            "adopted": result.adopted,
            "lock_written": result.lock_written,
            "entry": result.entry,
            "pending_changes": [
                {"field": change.name, "before": change.before, "after": change.after}
                for change in result.pending
            ],
        },
        indent=2,
        ensure_ascii=False,
    )


def import_result_text(result: ImportResult, lock_name: str) -> list[str]:
    pid = safe_text(result.pid)
    lines = [f"Added dataset {result.key!r} ({pid}) to {result.manifest_path.name}."]
    if result.marker_set:
        lines.append(
            f"Set scientificMetadata.scisync_marker = {result.marker!r} on {pid} "
            "(so scisync finds it again without the lockfile)."
        )
    if result.adopted:
        recorded = f"Recorded it in {lock_name}" if result.lock_written else "Already recorded"
        lines.append(f"{recorded}; `scisync plan` shows no changes for it.")
    else:
        lines.append(
            "Not recorded yet: applying the manifest would change these fields "
            "(probably from `defaults:`):"
        )
        lines += [f"  ~ {c.name}: {c.before!r} -> {c.after!r}" for c in result.pending]
        lines.append(
            f"Review with `scisync plan --target {result.key}`, then `scisync apply` "
            "(or set those fields in the new entry)."
        )
    return lines


def init_result_json(result: InitResult) -> str:
    """The machine-readable report of ``scisync init --json``."""
    return json.dumps(
        {
            "manifest": str(result.manifest),
            "schema": result.schema,
            "gitignore": str(result.gitignore),
            "gitignore_changed": result.gitignore_changed,
        },
        indent=2,
    )


def init_result_text(result: InitResult) -> list[str]:
    lines = [f"Wrote {result.manifest.name} (schema for editors: {result.schema})."]
    if result.gitignore_changed:
        lines.append(f"Added scisync's local state folders to {result.gitignore.name}.")
    lines.append("Next: edit it, then `scisync validate` and `scisync plan`.")
    return lines

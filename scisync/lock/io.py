"""Read and write scisync.lock: canonical text, version check, atomic write-if-changed.

The text is JSON with sorted keys, entries sorted by key, files sorted by path and one
file (or attachment) per line, so that a git diff of the lockfile shows exactly the
files that changed.  Nothing machine-specific is written: paths are relative POSIX
paths, and there are no timestamps.  The same content always gives the same bytes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import cast

from scisync._util.atomicfile import write_if_changed
from scisync._util.boundedjson import JsonProblem, parse_json, read_bounded
from scisync._util.jsontypes import Json, JsonObject
from scisync._util.limits import MAX_LOCKFILE_BYTES
from scisync._util.names import has_drive_prefix
from scisync.errors import LockfileError, os_error_hint
from scisync.lock.consistency import check_consistent, entry_locator
from scisync.lock.fastcheck import lock_violations
from scisync.lock.model import (
    LOCK_VERSION,
    LockedAttachment,
    LockedDataset,
    LockedDownload,
    LockedFile,
    LockedPublication,
    LockedSample,
    Lockfile,
)
from scisync.schemas import violation_where

LOCK_FILE_NAME = "scisync.lock"
ABSENT_DIGEST = "absent"

_UPGRADE_HINT = "upgrade scisync: pip install -U scisync"
_BUG_HINT = "report this as a scisync bug: only valid lockfiles may be written"
_RESTORE_HINT = (
    "restore it from git (git checkout -- scisync.lock), or delete it and run "
    "'scisync plan': scisync finds its datasets again by their markers"
)


# --- canonical form -------------------------------------------------------------------


def canonical_lock(lock: Lockfile) -> Lockfile:
    """*lock* in canonical order: mappings by key, files by path, attachments by caption.

    ``loads_lock(dumps_lock(x)) == canonical_lock(x)`` for every valid ``x``.
    """
    return Lockfile(
        project=lock.project,
        version=lock.version,
        datasets={key: _canonical_dataset(lock.datasets[key]) for key in sorted(lock.datasets)},
        samples={key: lock.samples[key] for key in sorted(lock.samples)},
        downloads={
            key: LockedDownload(key=entry.key, pid=entry.pid, files=_sorted_files(entry.files))
            for key, entry in sorted(lock.downloads.items())
        },
        publications={key: lock.publications[key] for key in sorted(lock.publications)},
    )


def _canonical_dataset(entry: LockedDataset) -> LockedDataset:
    return LockedDataset(
        key=entry.key,
        pid=entry.pid,
        fields_digest=entry.fields_digest,
        files=_sorted_files(entry.files),
        attachments=tuple(sorted(entry.attachments, key=lambda a: (a.caption, a.id))),
        # Order kept: it is the history of replacements, oldest first.
        supersedes=tuple(entry.supersedes),
        files_digest=entry.files_digest,
    )


def _sorted_files(files: tuple[LockedFile, ...]) -> tuple[LockedFile, ...]:
    return tuple(sorted(files, key=lambda f: f.path))


def check_relative_path(path: str) -> str | None:
    """Why *path* is not a relative POSIX path without ``.``/``..``/empty segments, or None."""
    if not path:
        return "the path is empty"
    if "\\" in path:
        return "the path contains a backslash (use '/' separators)"
    if path.startswith("/") or has_drive_prefix(path):
        return "the path is absolute (lockfile paths are relative to the dataset's folder)"
    for segment in path.split("/"):
        if segment in ("", ".", ".."):
            return f"the path has a {segment or 'empty'!r} segment"
    return None


def _check_files(
    files: tuple[LockedFile, ...], where: str, hint: str, *, paths_checked: bool = False
) -> None:
    """Paths safe and unique.  ``paths_checked``: the schema check already vouched for the
    paths (on load), so only duplicates remain to be found."""
    seen: set[str] = set()
    for file in files:
        problem = None if paths_checked else check_relative_path(file.path)
        if problem is not None:
            raise LockfileError(f"{problem}: {file.path!r}", where=where, hint=hint)
        if file.path in seen:
            raise LockfileError(f"file {file.path!r} is listed twice", where=where, hint=hint)
        seen.add(file.path)


def _check_keys(
    section: str,
    entries: Mapping[str, LockedDataset | LockedSample | LockedDownload | LockedPublication],
) -> None:
    for key, entry in entries.items():
        if key != entry.key:
            raise LockfileError(
                f"entry filed under {key!r} has key {entry.key!r}",
                where=f"$.{section}.{key}",
                hint=_BUG_HINT,
            )


# --- to and from JSON data ------------------------------------------------------------


def lock_to_json(lock: Lockfile) -> JsonObject:
    """The lockfile as plain JSON data (canonical order, checked); what dumps_lock writes."""
    if lock.version > LOCK_VERSION:
        raise LockfileError(
            f"refusing to write lock version {lock.version}; this scisync writes "
            f"version {LOCK_VERSION}",
            hint=_BUG_HINT,
        )
    _check_keys("datasets", lock.datasets)
    _check_keys("samples", lock.samples)
    _check_keys("downloads", lock.downloads)
    _check_keys("publications", lock.publications)
    canonical = canonical_lock(lock)
    datasets: JsonObject = {}
    for key, entry in canonical.datasets.items():
        _check_files(entry.files, f"$.datasets.{key}", _BUG_HINT)
        datasets[key] = {
            "pid": entry.pid,
            "fields_digest": entry.fields_digest,
            "files": [_file_to_json(file) for file in entry.files],
            "attachments": [
                {"caption": a.caption, "id": a.id, "blake3": a.blake3} for a in entry.attachments
            ],
            "supersedes": list(entry.supersedes),
        }
    samples: JsonObject = {
        key: {"sample_id": entry.sample_id, "fields_digest": entry.fields_digest}
        for key, entry in canonical.samples.items()
    }
    downloads: JsonObject = {}
    for key, download in canonical.downloads.items():
        _check_files(download.files, f"$.downloads.{key}", _BUG_HINT)
        downloads[key] = {
            "pid": download.pid,
            "files": [_file_to_json(file) for file in download.files],
        }
    data: JsonObject = {
        "version": lock.version,
        "project": lock.project,
        "datasets": datasets,
        "samples": samples,
        "downloads": downloads,
    }
    if canonical.publications:  # omitted when empty: older lockfiles stay byte-identical
        data["publications"] = {
            key: {"doi": e.doi, "status": e.status, "fields_digest": e.fields_digest}
            for key, e in canonical.publications.items()
        }
    return data


def _file_to_json(file: LockedFile) -> JsonObject:
    data: JsonObject = {"path": file.path, "size": file.size, "blake3": file.blake3}
    if file.checksum is not None:  # omitted rather than null: shorter lines, smaller diffs
        data["checksum"] = file.checksum
    return data


def lock_from_json(data: Json, where: str, text: str | None = None) -> Lockfile:
    """Check *data* (parsed lockfile JSON) and build the model; ``where`` names the file.

    With the *text* it was parsed from, errors point at ``file:line:column``.
    """
    _refuse_newer(data, where)
    violations = lock_violations(data)
    if violations:
        first = violations[0]
        more = f" (and {len(violations) - 1} more problems)" if len(violations) > 1 else ""
        raise LockfileError(
            f"scisync.lock is invalid: {_shortened(first.message)}{more}",
            where=violation_where(where, first, text),
            hint=_RESTORE_HINT,
        )
    root = cast(JsonObject, data)
    sections = cast(dict[str, dict[str, dict[str, Json]]], data)
    lock = Lockfile(
        project=cast(str, root["project"]),
        version=cast(int, root["version"]),
        datasets={key: _dataset_from_json(key, v) for key, v in sections["datasets"].items()},
        samples={
            key: LockedSample(
                key=key,
                sample_id=cast(str, v["sample_id"]),
                fields_digest=cast(str, v["fields_digest"]),
            )
            for key, v in sections["samples"].items()
        },
        downloads={
            key: LockedDownload(
                key=key, pid=cast(str, v["pid"]), files=_files_from_json(v["files"])
            )
            for key, v in sections["downloads"].items()
        },
        publications={
            key: LockedPublication(
                key=key,
                doi=cast(str, v["doi"]),
                status=cast(str, v["status"]),
                fields_digest=cast(str, v["fields_digest"]),
            )
            for key, v in sections.get("publications", {}).items()
        },
    )
    hint = "restore scisync.lock from git, or delete it and run 'scisync plan'"
    for key, entry in lock.datasets.items():
        _check_files(entry.files, f"{where}: $.datasets.{key}", hint, paths_checked=True)
    for key, download in lock.downloads.items():
        _check_files(download.files, f"{where}: $.downloads.{key}", hint, paths_checked=True)
    check_consistent(lock, entry_locator(where, text))
    return canonical_lock(lock)


def _shortened(message: str, limit: int = 300) -> str:
    """jsonschema quotes the offending value whole: a hostile one can be megabytes."""
    return message if len(message) <= limit else message[:limit] + "…"


def _refuse_newer(data: Json, where: str) -> None:
    # Checked before the schema: a newer format may differ in shape, and the useful
    # message is "upgrade", not a list of schema violations.
    version = data.get("version") if isinstance(data, dict) else None
    if isinstance(version, int) and not isinstance(version, bool) and version > LOCK_VERSION:
        raise LockfileError(
            f"scisync.lock was written by a newer scisync (lock version {version}); "
            f"{_UPGRADE_HINT}",
            where=where,
            hint=f"this scisync reads lock versions up to {LOCK_VERSION}",
        )


def _dataset_from_json(key: str, data: dict[str, Json]) -> LockedDataset:
    attachments = cast(list[dict[str, str]], data["attachments"])
    return LockedDataset(
        key=key,
        pid=cast(str, data["pid"]),
        fields_digest=cast(str, data["fields_digest"]),
        files=_files_from_json(data["files"]),
        attachments=tuple(
            LockedAttachment(caption=a["caption"], id=a["id"], blake3=a["blake3"])
            for a in attachments
        ),
        supersedes=tuple(cast(list[str], data["supersedes"])),
        files_digest=hashlib.sha256(
            json.dumps(data["files"], ensure_ascii=False).encode(errors="surrogatepass")
        ).hexdigest(),
    )


def _files_from_json(data: Json) -> tuple[LockedFile, ...]:
    return tuple(
        LockedFile(
            path=cast(str, f["path"]),
            size=cast(int, f["size"]),
            blake3=cast(str, f["blake3"]),
            checksum=cast(str | None, f.get("checksum")),
        )
        for f in cast(list[dict[str, Json]], data)
    )


# --- text -----------------------------------------------------------------------------


def dumps_lock(lock: Lockfile) -> str:
    """The canonical text of *lock*: deterministic, one file or attachment per line."""
    data = lock_to_json(lock)
    violations = lock_violations(data)
    if violations:
        first = violations[0]
        raise LockfileError(
            f"refusing to write an invalid lockfile: {first.message}",
            where=first.path,
            hint=_BUG_HINT,
        )
    return _emit(data, 0) + "\n"


def _emit(value: Json, depth: int) -> str:
    # Objects are expanded one key per line, keys sorted; every list item is one compact
    # line with its keys in the fixed order lock_to_json builds (path first, so lines read
    # and sort well).  A lockfile diff then shows exactly the files or pids that changed.
    indent = "  " * (depth + 1)
    closing = "  " * depth
    if isinstance(value, dict):
        if not value:
            return "{}"
        lines = [
            f"{indent}{_compact(key)}: {_emit(value[key], depth + 1)}" for key in sorted(value)
        ]
        return "{\n" + ",\n".join(lines) + "\n" + closing + "}"
    if isinstance(value, list):
        if not value:
            return "[]"
        return (
            "[\n"
            + ",\n".join(f"{indent}{_compact(item, sort_keys=False)}" for item in value)
            + "\n"
            + closing
            + "]"
        )
    return _compact(value)


def _compact(value: Json, *, sort_keys: bool = True) -> str:
    return json.dumps(value, sort_keys=sort_keys, ensure_ascii=False, separators=(", ", ": "))


def loads_lock(text: str, where: str) -> Lockfile:
    """Parse lockfile *text*; ``where`` (the file name) is used in error messages."""
    try:
        # The schema fixes the lockfile's shape, so only parser-breaking depth needs a check.
        data = parse_json(text, check_depth=False)
    except json.JSONDecodeError as error:
        raise LockfileError(
            f"scisync.lock is not valid JSON: {error.msg}",
            where=f"{where}:{error.lineno}:{error.colno}",
            hint="resolve merge conflicts or restore it from git (git checkout -- scisync.lock)",
        ) from None
    except JsonProblem as problem:
        raise LockfileError(
            f"scisync.lock is invalid: {problem.what}",
            where=problem.where(where),
            hint=_RESTORE_HINT,
        ) from None
    return lock_from_json(data, where, text)


# --- files ----------------------------------------------------------------------------


def read_lock(path: Path) -> Lockfile | None:
    """The lockfile at *path*, or None when there is none."""
    try:
        raw = read_bounded(path, MAX_LOCKFILE_BYTES)
    except JsonProblem as problem:
        raise LockfileError(
            f"scisync.lock is too large: {problem.what}",
            where=str(path),
            hint=_RESTORE_HINT,
        ) from None
    except OSError as error:
        raise LockfileError(
            f"cannot read scisync.lock: {error.strerror}",
            where=str(path),
            hint=os_error_hint(error),
        ) from None
    if raw is None:
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise LockfileError(
            f"scisync.lock is not UTF-8 text (byte {error.start})",
            where=str(path),
            hint="restore it from git (git checkout -- scisync.lock)",
        ) from None
    return loads_lock(text, str(path))


def write_lock(path: Path, lock: Lockfile) -> bool:
    """Write *lock* to *path* atomically, only if the bytes differ; returns whether written."""
    data = dumps_lock(lock).encode("utf-8")
    try:
        return write_if_changed(path, data)
    except OSError as error:
        raise LockfileError(
            f"cannot write scisync.lock: {error.strerror}",
            where=str(path),
            hint=os_error_hint(error),
        ) from None


def lock_digest(path: Path) -> str:
    """``"sha256:<hex>"`` of the lockfile's bytes, or ``"absent"`` when there is none.

    Saved plans record this, so a plan made against another lockfile is refused.
    """
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return ABSENT_DIGEST
    return "sha256:" + hashlib.sha256(raw).hexdigest()

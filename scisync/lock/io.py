"""Read and write scisync.lock: canonical text, version check, atomic write-if-changed.

The text is JSON with sorted keys, entries sorted by key, files sorted by path and one
file (or attachment) per line, so that a git diff of the lockfile shows exactly the
files that changed.  Nothing machine-specific is written: paths are relative POSIX
paths, and there are no timestamps.  The same content always gives the same bytes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Collection, Mapping, Sequence
from pathlib import Path
from typing import cast

from scisync._util.atomicfile import ReplaceIfChanged
from scisync._util.boundedjson import JsonProblem, parse_json, read_bounded
from scisync._util.jsontypes import Json, JsonObject
from scisync._util.limits import MAX_LOCKFILE_BYTES
from scisync._util.names import has_drive_prefix
from scisync.errors import LockfileError, os_error_hint
from scisync.lock.consistency import check_consistent, entry_locator
from scisync.lock.emit import emit_lock, files_text, lock_bytes
from scisync.lock.fastcheck import file_fields_valid, files_columns_valid, lock_violations
from scisync.lock.filelist import RESTORE_HINT, ListPlace, checked_files, lazy_files, shortened
from scisync.lock.layout import Cut, cut_file_lists, placed_lists
from scisync.lock.model import (
    LOCK_VERSION,
    LockedAttachment,
    LockedDataset,
    LockedDownload,
    LockedFile,
    LockedFiles,
    LockedPublication,
    LockedSample,
    Lockfile,
)
from scisync.schemas import schema_violations, violation_where

LOCK_FILE_NAME = "scisync.lock"
ABSENT_DIGEST = "absent"

_UPGRADE_HINT = "upgrade scisync: pip install -U scisync"
_BUG_HINT = "report this as a scisync bug: only valid lockfiles may be written"
_RESTORE_HINT = RESTORE_HINT


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
    )


def _sorted_files(files: Sequence[LockedFile]) -> Sequence[LockedFile]:
    if isinstance(files, LockedFiles):
        return files  # sorted when it is read (scisync.lock.filelist)
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


# --- from JSON data --------------------------------------------------------------------


def lock_from_json(data: Json, where: str, text: str | None = None) -> Lockfile:
    """Check *data* (parsed lockfile JSON) and build the model, every file list checked
    now; ``where`` names the file.  With the *text* it was parsed from, errors point at
    ``file:line:column``.  (The slow path of :func:`loads_lock`: any layout.)"""
    _refuse_newer(data, where)
    violations = lock_violations(data)
    if violations:
        first = violations[0]
        more = f" (and {len(violations) - 1} more problems)" if len(violations) > 1 else ""
        raise LockfileError(
            f"scisync.lock is invalid: {shortened(first.message)}{more}",
            where=violation_where(where, first, text),
            hint=_RESTORE_HINT,
        )

    def files(section: str, key: str, value: Json) -> Sequence[LockedFile]:
        place = ListPlace(where, section, key, text, (section, key, "files"))
        return _digested(checked_files(value, place))

    lock = _built(cast(JsonObject, data), files)
    check_consistent(lock, entry_locator(where, text))
    return lock


#: Makes one entry's file list from its section, key and parsed ``files`` value.
_FileLists = Callable[[str, str, Json], Sequence[LockedFile]]


def _built(root: JsonObject, files: _FileLists) -> Lockfile:
    """The model of *root*, a lockfile that satisfies the schema (file lists aside)."""
    sections = cast(dict[str, dict[str, dict[str, Json]]], root)
    lock = Lockfile(
        project=cast(str, root["project"]),
        version=cast(int, root["version"]),
        datasets={
            key: _dataset_from_json(key, v, files("datasets", key, v["files"]))
            for key, v in sections["datasets"].items()
        },
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
                key=key, pid=cast(str, v["pid"]), files=files("downloads", key, v["files"])
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
    return canonical_lock(lock)


def _digested(files: tuple[LockedFile, ...]) -> LockedFiles:
    """A list checked at load, with the digest it has in the canonical layout: a lockfile
    rewritten in another layout (``json.dumps``) keeps its datasets settled."""
    return LockedFiles.checked(files, hashlib.sha256(files_text(files).encode()).hexdigest())


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


def _dataset_from_json(
    key: str, data: dict[str, Json], files: Sequence[LockedFile]
) -> LockedDataset:
    attachments = cast(list[dict[str, str]], data["attachments"])
    return LockedDataset(
        key=key,
        pid=cast(str, data["pid"]),
        fields_digest=cast(str, data["fields_digest"]),
        files=files,
        attachments=tuple(
            LockedAttachment(caption=a["caption"], id=a["id"], blake3=a["blake3"])
            for a in attachments
        ),
        supersedes=tuple(cast(list[str], data["supersedes"])),
    )


# --- text -----------------------------------------------------------------------------


def dumps_lock(lock: Lockfile) -> str:
    """The canonical text of *lock*: deterministic, one file or attachment per line."""
    return _lock_bytes(lock).decode("utf-8")


def _lock_bytes(lock: Lockfile) -> bytes:
    """The canonical text of *lock* as UTF-8, every part checked: the skeleton against
    the schema, each file list written anew with the schema's file rule."""
    _check_skeleton(lock)
    return lock_bytes(lock, _files_valid, _refuse_files)


def _check_skeleton(lock: Lockfile) -> None:
    """Everything of *lock* but its file lists against the schema (those are checked
    as they are written)."""
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
    violations = lock_violations(_skeleton_json(lock))
    if violations:
        first = violations[0]
        raise LockfileError(
            f"refusing to write an invalid lockfile: {first.message}",
            where=first.path,
            hint=_BUG_HINT,
        )


def _file_valid(file: LockedFile) -> bool:
    """The schema's file rule, and no drive prefix (the rest of check_relative_path is in
    the schema's relativePath pattern)."""
    return file_fields_valid(
        file.path, file.size, file.blake3, file.checksum
    ) and not has_drive_prefix(file.path)


def _files_valid(
    paths: tuple[str, ...],
    sizes: tuple[int, ...],
    digests: tuple[str, ...],
    checksums: tuple[str | None, ...],
) -> bool:
    """:func:`_file_valid` for a whole list, by columns (checked in C where it can)."""
    present = [checksum for checksum in checksums if checksum is not None]
    if files_columns_valid(list(paths), list(sizes), list(digests), present) and not any(
        map(has_drive_prefix, paths) if ":" in "".join(paths) else ()
    ):
        return True
    return all(map(_file_valid, map(LockedFile, paths, sizes, digests, checksums)))


def _refuse_files(section: str, key: str, files: Sequence[LockedFile]) -> None:
    """Name the first problem of a file list the writer would not write (sorted *files*)."""
    where = f"$.{section}.{key}"
    seen: set[str] = set()
    for index, file in enumerate(files):
        problem = check_relative_path(file.path)
        if problem is not None:
            raise LockfileError(f"{problem}: {file.path!r}", where=where, hint=_BUG_HINT)
        if file.path in seen:
            raise LockfileError(f"file {file.path!r} is listed twice", where=where, hint=_BUG_HINT)
        seen.add(file.path)
        if not _file_valid(file):
            entry: JsonObject = {"path": file.path, "size": file.size, "blake3": file.blake3}
            if file.checksum is not None:
                entry["checksum"] = file.checksum
            document: JsonObject = {"version": 1, "project": "p", "datasets": {}, "samples": {}}
            document["downloads"] = {key: {"pid": "p", "files": [entry]}}
            message = schema_violations("lock", document)[0].message
            raise LockfileError(
                f"refusing to write an invalid lockfile: {message}",
                where=f"{where}.files[{index}]",
                hint=_BUG_HINT,
            )
    raise AssertionError("the file rule refused a list without a problem")


def _skeleton_json(lock: Lockfile) -> JsonObject:
    """*lock* as JSON data with its file lists left out (checked file by file instead)."""
    data: JsonObject = {
        "version": lock.version,
        "project": lock.project,
        "datasets": {
            key: {
                "pid": e.pid,
                "fields_digest": e.fields_digest,
                "files": [],
                "attachments": [
                    {"caption": a.caption, "id": a.id, "blake3": a.blake3} for a in e.attachments
                ],
                "supersedes": list(e.supersedes),
            }
            for key, e in lock.datasets.items()
        },
        "samples": {
            key: {"sample_id": e.sample_id, "fields_digest": e.fields_digest}
            for key, e in lock.samples.items()
        },
        "downloads": {key: {"pid": e.pid, "files": []} for key, e in lock.downloads.items()},
    }
    if lock.publications:
        data["publications"] = {
            key: {"doi": e.doi, "status": e.status, "fields_digest": e.fields_digest}
            for key, e in lock.publications.items()
        }
    return data


def loads_lock(text: str, where: str) -> Lockfile:
    """Parse lockfile *text*; ``where`` (the file name) is used in error messages."""
    try:
        raw = text.encode("utf-8")
    except UnicodeEncodeError:
        return _parsed(text, where)
    return _loaded(raw, where, text)


def _loaded(raw: bytes, where: str, text: str | None = None) -> Lockfile:
    """The lockfile in *raw* (UTF-8): its file lists cut out and left unread when it has
    the canonical layout (scisync.lock.layout), else parsed whole."""
    skeleton, cuts = cut_file_lists(raw)
    lock = _from_skeleton(raw, skeleton, cuts, where) if cuts else None
    if lock is None:
        return _parsed(text if text is not None else raw.decode("utf-8"), where)
    return lock


def _from_skeleton(raw: bytes, skeleton: bytes, cuts: list[Cut], where: str) -> Lockfile | None:
    """The lockfile with each cut list a lazy view; None when only the slow path can
    read it (or name its problem exactly)."""
    try:
        data = parse_json(skeleton.decode("utf-8"), check_depth=False)
    except (json.JSONDecodeError, JsonProblem):
        return None
    _refuse_newer(data, where)
    placed = placed_lists(data, len(cuts))
    if placed is None or lock_violations(data):
        return None
    view = memoryview(raw)

    def files(section: str, key: str, value: Json) -> Sequence[LockedFile]:
        number = placed.get((section, key))
        if number is None:
            return _digested(checked_files(value, ListPlace(where, section, key, None)))
        cut = cuts[number]
        return lazy_files(view[cut.start : cut.end], where, section, key, cut.line)

    try:
        lock = _built(cast(JsonObject, data), files)
    except LockfileError:
        return None  # a list outside the layout is bad: the slow path says where
    check_consistent(lock, entry_locator(where, lambda: raw.decode("utf-8")))
    return lock


def _parsed(text: str, where: str) -> Lockfile:
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


def check_lists(lock: Lockfile, settled: Collection[str] = ()) -> None:
    """Check the file list of every entry of *lock* but the datasets in *settled*, so a
    plan refuses a damaged list (naming its entry) before it plans anything.

    A settled dataset's list has the bytes of one a full plan on this machine read and
    found valid (its settled stamp holds the list's digest), and its plan neither reads
    nor changes it.  The lists are checked and not kept: the files are built again when
    something reads them, so checking a million files holds no more than one list.
    """
    for key, entry in lock.datasets.items():
        if key not in settled and isinstance(entry.files, LockedFiles):
            entry.files.check()
    for download in lock.downloads.values():
        if isinstance(download.files, LockedFiles):
            download.files.check()


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
    if not raw.isascii():  # checked in C; else the decoder says where it is not UTF-8
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise LockfileError(
                f"scisync.lock is not UTF-8 text (byte {error.start})",
                where=str(path),
                hint="restore it from git (git checkout -- scisync.lock)",
            ) from None
    return _loaded(raw, str(path))


def write_lock(path: Path, lock: Lockfile) -> bool:
    """Write *lock* to *path* atomically, only if the bytes differ; returns whether written."""
    _check_skeleton(lock)
    try:
        # Streamed: the whole text of a million files (about 216 MB), joined and then
        # compared with the old file's bytes read whole, was most of an apply's peak.
        out = ReplaceIfChanged(path)
        try:
            emit_lock(lock, _files_valid, _refuse_files, out)
        except BaseException:
            out.abandon()
            raise
        return out.finish()
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

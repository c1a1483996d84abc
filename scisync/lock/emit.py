"""The canonical text of a lockfile, written straight from the model.

Objects are expanded one key per line, keys sorted; every list item is one compact line
with its keys in a fixed order (path first, so lines read and sort well).  A lockfile
diff then shows exactly the files or pids that changed.  The bytes are those the
generic ``json``-based writer of earlier versions produced for the same content
(tests/lock/test_emit.py keeps that writer as the reference).

A file list read from scisync.lock that nothing has read since is copied as the bytes it
was read as (its entry is unchanged; it is checked whenever anything uses it:
scisync.lock.filelist).  Every other list is sorted and checked here, file by file,
with the schema's own ``file`` rule (scisync.lock.fastcheck.file_fields_valid); the
caller checks the rest of the document against the schema.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from itertools import islice
from json.encoder import encode_basestring
from operator import itemgetter
from typing import Protocol, TypeVar

from scisync.lock.model import (
    DerivedFiles,
    FileColumns,
    LockedDataset,
    LockedDownload,
    LockedFile,
    LockedFiles,
    LockedPublication,
    LockedSample,
    Lockfile,
    RawText,
)

#: Raises for the list of entry (section, key): a file breaks the rule, or a path repeats.
FileRefusal = Callable[[str, str, Sequence[LockedFile]], None]
#: The file rule for a list, by columns: paths, sizes, digests, checksums (None: none).
FileRule = Callable[
    [tuple[str, ...], tuple[int, ...], tuple[str, ...], tuple[str | None, ...]], bool
]

_Entry = TypeVar("_Entry")
_SEPARATOR = ",\n"


class Out(Protocol):
    """Where the text goes, part by part: a list, or a file being written."""

    def append(self, part: RawText, /) -> None: ...


def lock_bytes(lock: Lockfile, valid: FileRule, refuse: FileRefusal) -> bytes:
    """The canonical text of *lock* (its entries in any order) as UTF-8."""
    out: list[RawText] = []
    emit_lock(lock, valid, refuse, out)
    return b"".join(out)


def emit_lock(lock: Lockfile, valid: FileRule, refuse: FileRefusal, out: Out) -> None:
    """The canonical text of *lock*, handed to *out* a part at a time (at most one entry's
    file list at once: the whole text of a million files is about 216 MB)."""
    out.append(b'{\n  "datasets": ')
    _section(out, lock.datasets, lambda e, out: _dataset(e, out, valid, refuse))
    out.append(b',\n  "downloads": ')
    _section(out, lock.downloads, lambda e, out: _download(e, out, valid, refuse))
    out.append(f',\n  "project": {encode_basestring(lock.project)}'.encode())
    if lock.publications:  # omitted when empty: older lockfiles stay byte-identical
        out.append(b',\n  "publications": ')
        _section(out, lock.publications, _publication)
    out.append(b',\n  "samples": ')
    _section(out, lock.samples, _sample)
    out.append(f',\n  "version": {lock.version}\n}}\n'.encode())


def _section(
    out: Out,
    entries: Mapping[str, _Entry],
    emit: Callable[[_Entry, Out], None],
) -> None:
    if not entries:
        out.append(b"{}")
        return
    out.append(b"{\n")
    for number, key in enumerate(sorted(entries)):
        comma = _SEPARATOR if number else ""
        out.append(f"{comma}    {encode_basestring(key)}: ".encode())
        emit(entries[key], out)
    out.append(b"\n  }")


def _entry(out: Out, fields: list[tuple[str, str | RawText]]) -> None:
    """One entry: its fields (keys in sorted order) one per line at depth 2."""
    out.append(b"{\n")
    for number, (key, value) in enumerate(fields):
        comma = _SEPARATOR if number else ""
        out.append(f'{comma}      "{key}": '.encode())
        out.append(value.encode() if isinstance(value, str) else value)
    out.append(b"\n    }")


def _items(lines: Sequence[str]) -> str:
    """A list at depth 3: one item per line."""
    if not lines:
        return "[]"
    return "[\n        " + ",\n        ".join(lines) + "\n      ]"


def _dataset(entry: LockedDataset, out: Out, valid: FileRule, refuse: FileRefusal) -> None:
    attachments = sorted(entry.attachments, key=lambda a: (a.caption, a.id))
    _entry(
        out,
        [
            (
                "attachments",
                _items(
                    [
                        f'{{"caption": {encode_basestring(a.caption)}, '
                        f'"id": {encode_basestring(a.id)}, '
                        f'"blake3": {encode_basestring(a.blake3)}}}'
                        for a in attachments
                    ]
                ),
            ),
            ("fields_digest", encode_basestring(entry.fields_digest)),
            ("files", _files("datasets", entry.key, entry.files, valid, refuse)),
            ("pid", encode_basestring(entry.pid)),
            # Order kept: it is the history of replacements, oldest first.
            ("supersedes", _items([encode_basestring(pid) for pid in entry.supersedes])),
        ],
    )


def _download(entry: LockedDownload, out: Out, valid: FileRule, refuse: FileRefusal) -> None:
    files = _files("downloads", entry.key, entry.files, valid, refuse)
    _entry(out, [("files", files), ("pid", encode_basestring(entry.pid))])


def _sample(entry: LockedSample, out: Out) -> None:
    _entry(
        out,
        [
            ("fields_digest", encode_basestring(entry.fields_digest)),
            ("sample_id", encode_basestring(entry.sample_id)),
        ],
    )


def _publication(entry: LockedPublication, out: Out) -> None:
    _entry(
        out,
        [
            ("doi", encode_basestring(entry.doi)),
            ("fields_digest", encode_basestring(entry.fields_digest)),
            ("status", encode_basestring(entry.status)),
        ],
    )


def _files(
    section: str, key: str, files: Sequence[LockedFile], valid: FileRule, refuse: FileRefusal
) -> str | RawText:
    if isinstance(files, LockedFiles):
        unread = files.unread
        if unread is not None:
            return unread  # as read, and read by nothing since: the same entry
    if isinstance(files, DerivedFiles) and files.columns is not None:
        text = _columns_text(files.columns(), valid)
        if text is not None:
            return text  # else sorted, checked and refused as any other list, below
    ordered = list(files)
    if not ordered:
        return "[]"
    paths, sizes, digests, checksums = zip(*ordered, strict=True)
    if not all(map(operator.lt, paths, islice(paths, 1, None))):  # not sorted, or repeats
        ordered.sort(key=itemgetter(0))
        paths, sizes, digests, checksums = zip(*ordered, strict=True)
        if any(map(operator.eq, paths, islice(paths, 1, None))):
            refuse(section, key, ordered)
    if not valid(paths, sizes, digests, checksums):
        refuse(section, key, ordered)
    return _list_text(paths, sizes, digests, checksums)


def _columns_text(columns: FileColumns, valid: FileRule) -> str | None:
    """The text of a list given by columns, when it is sorted (by path, no path twice) and
    valid; None otherwise (the caller then goes file by file and names what is wrong)."""
    paths, sizes = tuple(columns[0]), tuple(columns[1])
    digests, checksums = tuple(columns[2]), tuple(columns[3])
    if not paths:
        return "[]"
    if not all(map(operator.lt, paths, islice(paths, 1, None))):
        return None
    if not valid(paths, sizes, digests, checksums):
        return None
    return _list_text(paths, sizes, digests, checksums)


def files_text(files: Sequence[LockedFile]) -> str:
    """The text the writer makes of checked *files* (sorted by path)."""
    if not files:
        return "[]"
    paths, sizes, digests, checksums = zip(*files, strict=True)
    return _list_text(paths, sizes, digests, checksums)


def _list_text(
    paths: tuple[str, ...],
    sizes: tuple[int, ...],
    digests: tuple[str, ...],
    checksums: tuple[str | None, ...],
) -> str:
    lines = _file_lines(paths, sizes, digests, checksums)
    return "[\n        " + ",\n        ".join(lines) + "\n      ]"


_PLAIN = '{{"path": "{}", "size": {}, "blake3": "{}"}}'
_WITH_CHECKSUM = '{{"path": "{}", "size": {}, "blake3": "{}", "checksum": "{}"}}'


def _file_lines(
    paths: tuple[str, ...],
    sizes: tuple[int, ...],
    digests: tuple[str, ...],
    checksums: tuple[str | None, ...],
) -> Iterable[str]:
    """One line per file (``valid`` passed: sizes are ints, digests lowercase hex)."""
    if not _plain_text(paths) or not _plain_text(c for c in checksums if c is not None):
        return map(_file_line, paths, sizes, digests, checksums)  # some need escapes
    if None not in checksums:
        return map(_WITH_CHECKSUM.format, paths, sizes, digests, checksums)
    if not any(checksums):
        return map(_PLAIN.format, paths, sizes, digests)
    return map(_file_line, paths, sizes, digests, checksums)


def _plain_text(values: Iterable[str]) -> bool:
    """Whether JSON shows every one of *values* as it is, between quotes (no escapes)."""
    joined = "".join(values)
    if '"' in joined or "\\" in joined:
        return False
    # Printable text holds no control character (checked in C); else look closer.
    return joined.isprintable() or not _NEEDS_ESCAPE.search(joined)


_NEEDS_ESCAPE = re.compile(r"[\x00-\x1f]")  # what json escapes besides " and \


def _file_line(path: str, size: int, blake3: str, checksum: str | None) -> str:
    head = f'{{"path": {encode_basestring(path)}, "size": {size}, '
    if checksum is None:
        return f'{head}"blake3": "{blake3}"}}'
    return f'{head}"blake3": "{blake3}", "checksum": {encode_basestring(checksum)}}}'

"""The rule for one file list of scisync.lock, in one place: read, check, build.

Every file list read from a lockfile passes :func:`checked_files` before any of its
files is used: on load for a list outside the writer's canonical layout, on first use
for a list in it (:class:`scisync.lock.model.LockedFiles`, made by :func:`lazy_files`).
The list is refused, naming the entry and its line, when an entry breaks the schema's
``file`` rule, a path is listed twice, a path is also the folder of another, or a path
is not a name scisync could have written.  The files come back sorted by path.
"""

from __future__ import annotations

import contextlib
import json
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from itertools import islice
from operator import itemgetter
from typing import cast

from scisync._util.boundedjson import JsonProblem, parse_json
from scisync._util.jsonpos import locate
from scisync._util.jsontypes import Json, JsonObject
from scisync.errors import LockfileError
from scisync.lock.consistency import check_file_tree
from scisync.lock.fastcheck import file_entry_valid, files_columns_valid
from scisync.lock.model import LockedFile, LockedFiles, RawText
from scisync.schemas import json_path, schema_violations

RESTORE_HINT = (
    "restore it from git (git checkout -- scisync.lock), or delete it and run "
    "'scisync plan': scisync finds its datasets again by their markers"
)
_DUPLICATE_HINT = "restore scisync.lock from git, or delete it and run 'scisync plan'"


@dataclass(frozen=True)
class ListPlace:
    """Where a file list is: its entry, and the text to find lines in.

    ``text`` holds the list at JSON path ``prefix`` (the whole lockfile and
    ``(section, key, "files")``, or the list's own text and ``()``); ``line`` and
    ``column`` are where that text starts in the file.
    """

    source: str
    section: str
    key: str
    text: str | None
    prefix: tuple[str | int, ...] = ()
    line: int = 1
    column: int = 1

    def where(self, parts: Sequence[str | int] = ()) -> str:
        """``file:line:col: $.section.key.files…`` of the value at *parts* in the list."""
        path = json_path((self.section, self.key, "files", *parts))
        found = locate(self.text, (*self.prefix, *parts)) if self.text is not None else None
        if found is None:
            return f"{self.source}: {path}"
        line, column = found
        if line == 1:
            column += self.column - 1
        return f"{self.source}:{line + self.line - 1}:{column}: {path}"


def checked_files(items: Json, place: ListPlace) -> tuple[LockedFile, ...]:
    """*items* (one ``files`` list parsed with repeated keys refused) checked, as files
    sorted by path."""
    files = _files_of(items) if isinstance(items, list) else None
    return _checked(items, files, place)


def _checked(
    items: Json, files: list[LockedFile] | None, place: ListPlace
) -> tuple[LockedFile, ...]:
    if files is None:
        if not isinstance(items, list) or not all(map(file_entry_valid, items)):
            _refuse_entries(items, place)
        files = [
            LockedFile(e["path"], e["size"], e["blake3"], e.get("checksum"))  # type: ignore[arg-type]
            for e in cast(list[JsonObject], items)
        ]
    paths = [file.path for file in files]
    if not all(map(operator.lt, paths, islice(paths, 1, None))):  # not sorted, or repeats
        files.sort(key=itemgetter(0))
        paths = [file.path for file in files]
        for before, after in zip(paths, islice(paths, 1, None), strict=False):
            if before == after:
                raise LockfileError(
                    f"file {after!r} is listed twice",
                    where=f"{place.source}: $.{place.section}.{place.key}",
                    hint=_DUPLICATE_HINT,
                )
    check_file_tree(paths, place.where)
    return tuple(files)


def _files_of(items: list[Json]) -> list[LockedFile] | None:
    """The files of *items* when all of them pass the file rule checked column by column
    (fastcheck.files_columns_valid), else None (then they are checked one by one)."""
    try:
        entries = cast(list[JsonObject], items)
        paths = [entry["path"] for entry in entries]
        sizes = [entry["size"] for entry in entries]
        digests = [entry["blake3"] for entry in entries]
        checksums = [entry.get("checksum") for entry in entries]
    except (TypeError, KeyError):
        return None  # not an object, or a key missing
    present = [checksum for checksum in checksums if checksum is not None]
    # Each entry has exactly its three keys and "checksum" when not null: no other key.
    if sum(map(len, entries)) != 3 * len(entries) + len(present):
        return None
    if not files_columns_valid(paths, sizes, digests, present):
        return None
    # tuple.__new__ straight from C: the named tuple's own __new__ is a Python function.
    return list(map(_new_file, zip(paths, sizes, digests, checksums, strict=True)))


_new_file = cast(
    "Callable[[tuple[Json, Json, Json, Json]], LockedFile]", partial(tuple.__new__, LockedFile)
)


def _refuse_entries(items: Json, place: ListPlace) -> None:
    # jsonschema names the problem: the list is set in an entry of its section, so the
    # paths it reports are the lockfile's own.
    entry: JsonObject = {"pid": "p", "files": items}
    if place.section == "datasets":
        entry |= {"fields_digest": "d", "attachments": [], "supersedes": []}
    document: JsonObject = {
        "version": 1,
        "project": "p",
        "datasets": {},
        "samples": {},
        "downloads": {},
        place.section: {place.key: entry},
    }
    violations = schema_violations("lock", document)
    if not violations:  # the schema's "integer" takes 3.0; scisync never writes one
        entries = cast(list[Json], items)
        index = next(n for n, e in enumerate(entries) if not file_entry_valid(e))
        raise LockfileError(
            f"scisync.lock is invalid: {shortened(repr(entries[index]))} is not a file entry as "
            "scisync writes it (a whole-number size without a decimal point)",
            where=place.where((index,)),
            hint=RESTORE_HINT,
        )
    first = violations[0]
    more = f" (and {len(violations) - 1} more problems)" if len(violations) > 1 else ""
    raise LockfileError(
        f"scisync.lock is invalid: {shortened(first.message)}{more}",
        where=place.where(first.parts[3:]),
        hint=RESTORE_HINT,
    )


def shortened(message: str, limit: int = 300) -> str:
    """jsonschema quotes the offending value whole: a hostile one can be megabytes."""
    return message if len(message) <= limit else message[:limit] + "…"


def lazy_files(raw: RawText, source: str, section: str, key: str, line: int) -> LockedFiles:
    """A view of the list whose canonical text *raw* starts the line *line* of *source*
    (after ``"files": ``, column 16); :func:`checked_files` runs on first use."""

    def parse(raw: RawText) -> tuple[LockedFile, ...]:
        text = str(raw, "utf-8")  # the file was checked to be UTF-8 when read
        place = ListPlace(source, section, key, text, (), line, _LIST_COLUMN)
        with contextlib.suppress(json.JSONDecodeError, RecursionError):
            # Parsed without the repeated-key hook (a quarter of the time): the colons
            # tell whether a key repeats; if one does, parse_json below says where.
            items = json.loads(text)
            files = _files_of(items) if isinstance(items, list) else None
            if files is not None and _no_repeated_key(text, files):
                return _checked(items, files, place)
        try:
            items = parse_json(text, check_depth=False)
        except json.JSONDecodeError as error:
            raise LockfileError(
                f"scisync.lock is not valid JSON: {error.msg}",
                where=_shifted(source, place, error.lineno, error.colno),
                hint="resolve merge conflicts or restore it from git "
                "(git checkout -- scisync.lock)",
            ) from None
        except JsonProblem as problem:
            raise LockfileError(
                f"scisync.lock is invalid: {problem.what}",
                where=_shifted(source, place, problem.line, problem.column),
                hint=RESTORE_HINT,
            ) from None
        return checked_files(items, place)

    return LockedFiles(raw, parse)


def _no_repeated_key(text: str, files: list[LockedFile]) -> bool:
    """Whether every ``:`` in *text* (a list of file objects whose values passed the file
    rule: strings and integers) is one of the files' keys or inside a value they kept.
    json keeps the last of repeated keys; the colon after each dropped one is counted
    in *text* and by nothing here."""
    kept = 3 * len(files) + sum(file.checksum is not None for file in files)
    inside = "".join(file.path for file in files).count(":")
    inside += "".join(file.checksum or "" for file in files).count(":")
    return text.count(":") == kept + inside


_LIST_COLUMN = len('      "files": ') + 1  # where the writer puts a list's "["


def _shifted(source: str, place: ListPlace, line: int, column: int) -> str:
    if line == 1:
        column += place.column - 1
    return f"{source}:{line + place.line - 1}:{column}"

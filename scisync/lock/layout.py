"""Reading scisync.lock fast by its canonical layout: the file lists cut out of the text.

The writer (scisync.lock.emit) puts every non-empty file list of a dataset or download
on lines of its own: ``      "files": [`` at the end of a line, one file per line, and
``      ]`` closing it.  :func:`cut_file_lists` cuts each such list out of the text and
leaves a placeholder ``[n]`` in its place, so that the rest (the *skeleton*: pids,
digests, samples, downloads) is parsed and fully checked at once while each list is kept
as its bytes, parsed only when first used.

Why a cut is always a whole ``files`` value: the cut starts after a line break followed
by six spaces and ``"files": [``, and a JSON string cannot hold a raw line break, so in
any skeleton that parses, that line break lies between tokens and ``"files"`` is a key
whose value is the placeholder.  A list of file objects (strings and numbers only) holds
no ``]`` token but its own end, so a list that is valid is cut whole; one that is not
fails when it is parsed.  :func:`placed_lists` then accepts the cut only if every
placeholder is the ``files`` of a dataset or download, each exactly once; anything else
(a hand-edited layout, a placeholder-like list written by hand) is read the slow way,
which parses the whole text and gives the exact error.
"""

from __future__ import annotations

from dataclasses import dataclass

from scisync._util.jsontypes import Json

_OPEN = b'\n      "files": [\n'
_CLOSE = b"\n      ]"
SECTIONS_WITH_FILES = ("datasets", "downloads")


@dataclass(frozen=True)
class Cut:
    start: int  # offset of the list's "[" in the file
    end: int  # offset just past its "]"
    line: int  # 1-based line of the "["


def cut_file_lists(raw: bytes) -> tuple[bytes, list[Cut]]:
    """The skeleton text (each list replaced by ``[n]``) and where the lists were."""
    pieces: list[bytes] = []
    cuts: list[Cut] = []
    position = 0
    line = 1
    while True:
        found = raw.find(_OPEN, position)
        if found < 0:
            break
        start = found + len(_OPEN) - 2
        close = raw.find(_CLOSE, start)
        if close < 0:
            break
        end = close + len(_CLOSE)
        line += raw.count(b"\n", position, start)
        pieces += (raw[position:start], b"[%d]" % len(cuts))
        cuts.append(Cut(start, end, line))
        line += raw.count(b"\n", start, end)
        position = end
    pieces.append(raw[position:])
    return b"".join(pieces), cuts


def placed_lists(skeleton: Json, count: int) -> dict[tuple[str, str], int] | None:
    """``(section, key) -> n`` for every placeholder in the parsed *skeleton*, each now an
    empty list; None unless each of the *count* placeholders is one entry's ``files``."""
    placed: dict[tuple[str, str], int] = {}
    seen: set[int] = set()
    if not isinstance(skeleton, dict):
        return None
    for section in SECTIONS_WITH_FILES:
        entries = skeleton.get(section)
        if not isinstance(entries, dict):
            continue
        for key, entry in entries.items():
            number = _placeholder(entry)
            if number is None:
                continue
            if not 0 <= number < count or number in seen:
                return None
            seen.add(number)
            placed[(section, key)] = number
            entries[key] = {**(entry if isinstance(entry, dict) else {}), "files": []}
    return placed if len(placed) == count else None


def _placeholder(entry: Json) -> int | None:
    if not isinstance(entry, dict):
        return None
    files = entry.get("files")
    if isinstance(files, list) and len(files) == 1:
        number = files[0]
        if isinstance(number, int) and not isinstance(number, bool):
            return number
    return None


__all__ = ["SECTIONS_WITH_FILES", "Cut", "cut_file_lists", "placed_lists"]

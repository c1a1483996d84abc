"""The rules a catalogue record must follow before scisync uses it: one place for each.

Anyone with write access to a dataset (its owner group, a facility's ingestor, an
administrator) can put anything into its records; SciCat checks little.  A file path
from a record names where a download lands and which remote file is read, a size and a
checksum decide what is trusted, so each is checked here, where records enter
(:mod:`scisync.scicat.convert`), and nowhere else:

- a file path is a non-empty string, relative, with ``/`` as its only separator and no
  empty, ``.`` or ``..`` component; no control character (NUL, newline, escape, DEL, C1),
  no backslash, no lone surrogate; at most :data:`MAX_PATH_BYTES` bytes of UTF-8 and
  :data:`MAX_NAME_BYTES` per component; and no path of a dataset is also a folder of
  another of its paths, nor listed twice;
- a size is a non-negative integer below 2**63;
- a checksum algorithm is one scisync can compute, and a checksum a short token of
  printable ASCII;
- ``pid`` and ``sourceFolder`` are strings without control characters.

Each function returns a reason (a sentence fragment) instead of raising: the planner
turns the reasons into an error for the one dataset concerned.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping

from scisync._util.hashing import SUPPORTED_ALGORITHMS, normalise_algorithm
from scisync._util.jsontypes import Json
from scisync.errors import StorageError
from scisync.observe.model import ObservedFile

MAX_PATH_BYTES = 4096  # PATH_MAX on Linux
MAX_NAME_BYTES = 255  # NAME_MAX on every common file system
MAX_SIZE = 2**63 - 1
MAX_CHECKSUM_CHARS = 256
MAX_QUOTED = 120  # characters of a bad value quoted in a reason


def quoted(value: object) -> str:
    """A bad value for a message: repr (escapes controls), cut to :data:`MAX_QUOTED`."""
    text = repr(value)
    return text if len(text) <= MAX_QUOTED else text[: MAX_QUOTED - 1] + "…"


def json_type(value: Json | object) -> str:
    """``"a string"``, ``"null"``...: what a JSON value is, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _control(char: str) -> bool:
    return unicodedata.category(char) in ("Cc", "Cs")


def path_problem(path: object) -> str | None:
    """Why ``path`` (a ``dataFileList`` path) cannot be used, or None when it can."""
    if not isinstance(path, str):
        return f"is {json_type(path)}, not a string"
    if not path:
        return "is empty"
    if not (path.isascii() and path.isprintable()) and any(_control(c) for c in path):
        return "holds a control character"
    if "\\" in path:
        return "holds a backslash"
    if path.startswith("/"):
        return "is absolute"
    if len(path.encode("utf-8")) > MAX_PATH_BYTES:
        return f"is longer than {MAX_PATH_BYTES} bytes"
    for part in path.split("/"):
        if part == "":
            return "has an empty component"
        if part in (".", ".."):
            return f"has a {part!r} component"
        if len(part.encode("utf-8")) > MAX_NAME_BYTES:
            return f"has a component longer than {MAX_NAME_BYTES} bytes"
    return None


def path_clashes(paths: Iterable[str]) -> list[str]:
    """Paths listed twice, and paths that are also a folder of another path."""
    problems: list[str] = []
    seen: set[str] = set()
    for path in paths:
        if path in seen:
            problems.append(f"file {quoted(path)} is listed twice")
        seen.add(path)
    for path in sorted(seen):
        parts = path.split("/")
        for depth in range(1, len(parts)):
            folder = "/".join(parts[:depth])
            if folder in seen:
                problems.append(f"file {quoted(folder)} is also a folder (of {quoted(path)})")
                break
    return problems


def size_problem(size: object) -> str | None:
    if isinstance(size, bool) or not isinstance(size, int | float):
        return f"is {json_type(size)}, not a number"
    if isinstance(size, float) and not size.is_integer():
        return f"is {size!r}, not a whole number"
    if not 0 <= size <= MAX_SIZE:
        return f"is {size!r}, outside 0..2**63-1"
    return None


def checksum_algorithm(name: object) -> tuple[str | None, str | None]:
    """``(normalised name or None, problem or None)`` for a block's ``chkAlg``."""
    if name is None or name == "":
        return None, None
    if not isinstance(name, str):
        return None, f"chkAlg is {json_type(name)}, not a string"
    try:
        return normalise_algorithm(name), None
    except StorageError:
        known = ", ".join(SUPPORTED_ALGORITHMS)
        return None, f"chkAlg {quoted(name)} is not an algorithm scisync knows ({known})"


def checksum_problem(chk: object) -> str | None:
    if not isinstance(chk, str):
        return f"is {json_type(chk)}, not a string"
    if len(chk) > MAX_CHECKSUM_CHARS:
        return f"is longer than {MAX_CHECKSUM_CHARS} characters"
    # printable ASCII without space, tested in C (isprintable) rather than per character
    if not (chk.isascii() and chk.isprintable()) or " " in chk:
        return "holds characters other than printable ASCII"
    return None


def file_entry(entry: Json, alg: str | None) -> tuple[ObservedFile | None, str | None]:
    """One ``dataFileList`` entry as an ObservedFile, or the reason it is malformed."""
    if not isinstance(entry, dict):
        return None, f"a dataFileList entry is {json_type(entry)}, not an object"
    path = entry.get("path")
    problem = path_problem(path)
    if problem is not None:
        return None, f"file path {quoted(path)} {problem}"
    assert isinstance(path, str)
    size = entry.get("size")
    problem = size_problem(size)
    if problem is not None:
        return None, f"file {quoted(path)}: size {problem}"
    chk = entry.get("chk")
    if chk is not None and chk != "":
        problem = checksum_problem(chk)
        if problem is not None:
            return None, f"file {quoted(path)}: chk {problem}"
    assert isinstance(size, int | float)
    checksum = chk if isinstance(chk, str) and chk else None
    # Without an algorithm the checksum cannot be verified: the file counts as unchecked.
    algorithm = alg if checksum is not None else None
    return ObservedFile(path=path, size=int(size), chk=checksum, chk_alg=algorithm), None


def text_field_problem(document: Mapping[str, Json], name: str) -> str | None:
    """A string field (``pid``, ``sourceFolder``) that is not a clean string."""
    value = document.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        return f"{name} is {json_type(value)}, not a string"
    if any(_control(char) for char in value):
        return f"{name} {quoted(value)} holds a control character"
    if len(value.encode("utf-8")) > MAX_PATH_BYTES:
        return f"{name} is longer than {MAX_PATH_BYTES} bytes"
    return None


def document_problems(document: Mapping[str, Json], inline_blocks: bool) -> list[str]:
    """Problems of the dataset document itself (its files are checked one by one)."""
    problems = [
        problem
        for problem in (text_field_problem(document, name) for name in ("pid", "sourceFolder"))
        if problem is not None
    ]
    blocks = document.get("origdatablocks")
    if inline_blocks and blocks is not None:
        if not isinstance(blocks, list):
            problems.append(f"origdatablocks is {json_type(blocks)}, not a list")
        elif not all(isinstance(block, dict) for block in blocks):
            problems.append("an origdatablock is not an object")
    return problems

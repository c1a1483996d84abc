"""Per-file strings kept compactly: paths as a shared folder plus the relative path, hex
digests as their bytes.

A plan or a desired state holds a file's absolute local (and remote) path for every file,
by the million (issue 13).  All files of a dataset share the folder part, so it is kept
once (interned) and the absolute path is rebuilt when asked for: two strings of about
100 B each per file saved.  The rebuilt path is always exactly the one given.
"""

from __future__ import annotations

import sys


def fold(full: str | None, relative: str) -> tuple[str | None, bool]:
    """``(folder, True)`` when *full* is ``folder + "/" + relative`` (the folder interned,
    shared by every file that has it), else ``(full, False)``: kept as it is."""
    if full is None:
        return None, False
    cut = len(full) - len(relative) - 1
    if cut >= 0 and full.endswith(relative) and full[cut] == "/":
        return sys.intern(full[:cut]), True
    return full, False


def unfold(kept: str | None, joined: bool, relative: str) -> str | None:
    """The path :func:`fold` was given."""
    return f"{kept}/{relative}" if joined else kept


def pack_hex(text: str) -> bytes | str:
    """A hex digest as its bytes (72 B instead of 120 B for 64 hex digits), when they give
    back exactly *text* (lower case, whole bytes); anything else is kept as it is."""
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        return text
    return raw if raw.hex() == text else text


def unpack_hex(value: bytes | str) -> str:
    """The text :func:`pack_hex` was given."""
    return value.hex() if isinstance(value, bytes) else value

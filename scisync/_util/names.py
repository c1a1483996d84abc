"""Which file names can be dataset file paths: the one rule, used when the desired state
is built (before any upload, record or lockfile write) and when a lockfile is read.

A dataset file's path is stored in SciCat (JSON, shown in web pages and terminals) and
in scisync.lock (one file per line).  A name that is not valid UTF-8 cannot be stored at
all; a control character (a newline above all) forges lines in the lockfile and in
every listing; a backslash reads as a folder separator on Windows and in SciCat's
clients; names longer than the file systems allow cannot be downloaded again.  Such a
file is refused while planning, naming it, so that nothing is half done.
"""

from __future__ import annotations

import unicodedata

from scisync._util.limits import MAX_NAME_BYTES, MAX_PATH_BYTES

# Line and paragraph separators: not control characters (Zl/Zp), but they break lines.
_LINE_BREAKS = frozenset("\u2028\u2029")


def shown(path: str) -> str:
    """*path* quoted for a message, every unprintable character escaped (``'a\\nb'``)."""
    return repr(path)


def has_drive_prefix(path: str) -> bool:
    """``C:...``: a path Windows clients (and SciCat users on them) read as absolute.

    Only an ASCII letter and a colon count: ``0:`` or ``run:1`` are ordinary names.
    """
    return len(path) > 1 and path[1] == ":" and path[0].isascii() and path[0].isalpha()


def local_name_problem(relative: str) -> str | None:
    """Why *relative* (a ``/``-separated path from :func:`os.fsdecode`) cannot be a dataset
    file path, or None when it can."""
    try:
        encoded = relative.encode("utf-8")
    except UnicodeEncodeError:
        # os.fsdecode maps bytes that are not UTF-8 to lone surrogates.
        return "is not valid UTF-8 (the file system holds bytes SciCat cannot store)"
    # Printable ASCII (the common case, checked in C) holds no control character and no
    # line break; anything else is looked at character by character.
    if not (relative.isascii() and relative.isprintable()):
        for char in relative:
            if char in _LINE_BREAKS or unicodedata.category(char) == "Cc":
                return f"contains the control character U+{ord(char):04X}"
    if "\\" in relative:
        return "contains a backslash, which SciCat clients read as a folder separator"
    if has_drive_prefix(relative):
        return "starts with a drive letter ('C:'), which Windows clients read as absolute"
    if len(encoded) > MAX_PATH_BYTES:
        return f"is longer than {MAX_PATH_BYTES} bytes"
    if len(encoded) <= MAX_NAME_BYTES:
        return None  # no component can be longer than the whole path
    for part in relative.split("/"):
        if len(part.encode("utf-8")) > MAX_NAME_BYTES:
            return f"has a component longer than {MAX_NAME_BYTES} bytes"
    return None

"""Checks on glob patterns written in manifests (files, downloads, the glob() helper).

Patterns stay patterns in the typed model (the lead resolves them later); here we only
refuse ones that can never mean what the user wants.
"""

from __future__ import annotations

from pathlib import PurePosixPath


def glob_problem(pattern: str, *, allow_absolute: bool = False) -> str | None:
    """Why *pattern* is not a usable glob, or None when it is fine."""
    if not pattern.strip():
        return "empty glob pattern"
    if "\\" in pattern:
        return f"glob {pattern!r} contains '\\'; write paths with '/'"
    if not allow_absolute and pattern.startswith("/"):
        return f"glob {pattern!r} is absolute; globs are relative to their base folder"
    parts = PurePosixPath(pattern).parts
    if ".." in parts:
        return f"glob {pattern!r} climbs out of its base folder with '..'; change the base"
    for part in parts:
        if "**" in part and part != "**":
            return f"glob {pattern!r}: '**' must be a whole path component (like 'a/**/b')"
    depth = 0
    for char in pattern:
        if char == "[":
            depth += 1
        elif char == "]" and depth:
            depth -= 1
    if depth:
        return f"glob {pattern!r} has an unclosed '['"
    return None

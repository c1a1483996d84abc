"""Terminal safety: the one function every text view passes foreign strings through.

Strings from the catalogue, from a server's error message or from a file name may hold
escape sequences (colours, OSC window titles, cursor moves), a newline that forges an
extra line of a plan, or a bidi override that makes ``evil.exe\\u202egpj.txt`` read
backwards.  :func:`safe_text` writes every such character as a visible escape, so:

- the output never holds a raw C0/C1 control character, DEL, bidi control, line or
  paragraph separator, or other invisible format character (zero-width joiners, BOM);
- one field stays on one line;
- two different strings stay distinguishable (the backslash itself is escaped, and an
  escape is spelled the way Python would: ``\\n``, ``\\x1b``, ``\\u202e``).

It is applied whether or not the output goes to a terminal (a log viewed later in one is
just as exposed).  JSON output does not use it: JSON's own escaping is exact.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\\": "\\\\"}

# Bidi controls are "Cf" characters too; listed so the rule reads plainly and survives a
# Unicode database that reclassified one.
BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)


def _unsafe(char: str) -> bool:
    if char in BIDI_CONTROLS:
        return True
    # Cc: C0, DEL, C1; Cf: format (zero-width, BOM, bidi); Zl/Zp: line/paragraph
    # separators; Cs: lone surrogates (from undecodable file names); Co/Cn: private
    # use and unassigned, which a terminal may draw as anything.
    return unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn")


def _escape(char: str) -> str:
    named = _NAMED.get(char)
    if named is not None:
        return named
    code = ord(char)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def safe_text(text: str) -> str:
    """``text`` with every control, format and bidi character (and ``\\``) escaped."""
    # isprintable() is False for every category escaped here (and for spaces other than
    # " ", which are kept): a cheap test for the common case of nothing to do.
    if text.isprintable() and "\\" not in text:
        return text
    return "".join(_escape(char) if char == "\\" or _unsafe(char) else char for char in text)


def safe_message(text: str) -> str:
    """One line of a message scisync composed, made safe to print.

    Like :func:`safe_text` except that backslashes are left alone, so a regex or a
    Windows path in a hint reads as written; a newline, escape sequence or bidi control
    quoted from a server is escaped, so the message stays on its line and cannot recolour
    the terminal or reorder what follows.
    """
    if text.isprintable():
        return text
    return "".join(_escape(char) if _unsafe(char) else char for char in text)


def safe_error(problems: Iterable[str]) -> str:
    """An error's problems, one safe line each (the CLI's error boundary prints this)."""
    return "\n".join(safe_message(problem) for problem in problems)

"""Find every error message scisync's code can print, for the troubleshooting-page test.

The code is read with :mod:`ast`, not imported: a message is the first argument (or
``what=``) of an error class or ``Problem``, the message argument of the manifest's
problem collectors (``problems.add(position, path, WHAT, ...)``,
``self.add_key(entry, key, path, WHAT, ...)``), or a string assigned to a variable named
``what`` (messages built in branches).  An f-string's literal parts are kept and its
placeholders become ``{}``.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "scisync"
# The sandbox is a server (its messages go to its HTTP clients); testing/ holds fixtures.
SKIPPED_FOLDERS = frozenset({"sandbox", "testing"})
ERROR_CLASSES = frozenset(
    {
        "ScisyncError",
        "ManifestError",
        "ConfigError",
        "ApiError",
        "AuthError",
        "QueryLimitError",
        "StorageError",
        "ChecksumMismatch",
        "LockfileError",
        "PlanError",
        "ConcurrencyError",
        "Problem",
    }
)
PLACEHOLDER = "{}"
_MIN_FRAGMENT = 10  # shorter literal pieces ("{}: {}") say nothing a reader could look up


@dataclass(frozen=True)
class Message:
    source: str  # file:line
    template: str  # the literal text, placeholders as {}
    hint: str | None

    @property
    def fragment(self) -> str | None:
        """The longest literal piece: what the troubleshooting page must contain."""
        pieces = [normalise(piece) for piece in self.template.split(PLACEHOLDER)]
        pieces = [piece.strip(" :;,.()'\"") for piece in pieces]
        best = max(pieces, key=len, default="")
        return best if len(best) >= _MIN_FRAGMENT else None


def normalise(text: str) -> str:
    """Lower case, backticks dropped, whitespace collapsed: how messages are compared."""
    return re.sub(r"\s+", " ", text.replace("`", "")).strip().lower()


def _literal(node: ast.expr | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(
            part.value if isinstance(part, ast.Constant) else PLACEHOLDER for part in node.values
        )
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _literal(node.left), _literal(node.right)
        if left is not None or right is not None:
            return (left or PLACEHOLDER) + (right or PLACEHOLDER)
    if isinstance(node, ast.IfExp):
        body, other = _literal(node.body), _literal(node.orelse)
        return body or other
    return None


def _callee(node: ast.Call) -> str | None:
    if isinstance(node.func, ast.Name):
        return node.func.id
    if isinstance(node.func, ast.Attribute):
        return node.func.attr
    return None


def _message_of(node: ast.Call) -> tuple[ast.expr | None, ast.expr | None]:
    """(message expression, hint expression) of a call, or (None, None)."""
    name = _callee(node)
    keywords = {k.arg: k.value for k in node.keywords}
    if name in ERROR_CLASSES:
        what = keywords.get("what") or (node.args[0] if node.args else None)
        return what, keywords.get("hint")
    if name == "add" and len(node.args) >= 3:
        return node.args[2], node.args[3] if len(node.args) >= 4 else keywords.get("hint")
    if name == "add_key" and len(node.args) >= 4:
        return node.args[3], node.args[4] if len(node.args) >= 5 else keywords.get("hint")
    return None, None


def error_messages(package: Path = PACKAGE) -> list[Message]:
    found: list[Message] = []
    for path in sorted(package.rglob("*.py")):
        if SKIPPED_FOLDERS & set(path.relative_to(package).parts):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        where = path.relative_to(package.parent).as_posix()
        for node in ast.walk(tree):
            expr: ast.expr | None = None
            hint: ast.expr | None = None
            if isinstance(node, ast.Call):
                expr, hint = _message_of(node)
            elif isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "what" for t in node.targets
            ):
                expr = node.value
            text = _literal(expr)
            if text is None:
                continue
            found.append(Message(f"{where}:{node.lineno}", text, _literal(hint)))
    return found

"""docs/troubleshooting.md documents every error message scisync can print."""

from __future__ import annotations

from pathlib import Path

from .error_messages import PACKAGE, Message, error_messages, normalise

PAGE = PACKAGE.parent / "docs" / "troubleshooting.md"


def test_the_scanner_finds_the_error_messages() -> None:
    """Guards the scanner itself: if it stopped finding messages, the next test would pass."""
    found = error_messages()
    assert len(found) > 120
    templates = {m.template for m in found}
    assert "apply needs confirmation, and there is no terminal to ask on" in templates
    assert "unknown key {}" in templates  # a manifest problem (problems.add)
    assert "SciCat answered {} to {}: {}" in templates  # built in a `what =` assignment


def test_every_error_message_is_in_troubleshooting() -> None:
    page = normalise(PAGE.read_text(encoding="utf-8"))
    missing: dict[str, Message] = {}
    for message in error_messages():
        fragment = message.fragment
        if fragment is not None and fragment not in page:
            missing.setdefault(fragment, message)
    assert not missing, "document these in docs/troubleshooting.md (cause and fix):\n" + "\n".join(
        f"  {m.source}: {m.template!r}" for m in missing.values()
    )


def test_a_new_message_would_be_caught(tmp_path: Path) -> None:
    package = tmp_path / "scisync"
    package.mkdir()
    (package / "new.py").write_text(
        "from scisync.errors import PlanError\n"
        "def f(x):\n"
        "    raise PlanError(f'the flux capacitor of {x} is uncharged', hint='charge it')\n"
    )
    (found,) = error_messages(package)
    assert found.fragment == "the flux capacitor of"
    assert found.fragment not in normalise(PAGE.read_text(encoding="utf-8"))

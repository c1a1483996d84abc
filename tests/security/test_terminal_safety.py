"""Terminal safety: foreign strings reach text output escaped, JSON output stays exact.

A table of hostile strings through the real CLI (file names and pids served by the
hostile SciCat, a server's error message) and through each text renderer, plus
property-based tests of :func:`scisync.render.safe.safe_text` and of the path rule of
:mod:`scisync.scicat.records`.
"""

from __future__ import annotations

import json
import posixpath
import re
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from hypothesis import given, settings
from hypothesis import strategies as st

from scisync._util.secrets import forget_secrets
from scisync.apply.events import FileDone, StepFinished, StepStarted
from scisync.cli import main
from scisync.errors import Problem, ScisyncError
from scisync.render.fields import value_text
from scisync.render.progress import plain_event_line, retry_line
from scisync.render.safe import BIDI_CONTROLS, safe_error, safe_message, safe_text
from scisync.scicat.http import RetryScheduled
from scisync.scicat.records import path_problem
from scisync.testing.hostile import HostileScicat, Raw

PID = "20.500.12269/display-1"
UNSAFE_CATEGORIES = ("Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn")


def unsafe_chars(text: str) -> list[str]:
    return [c for c in text if c in BIDI_CONTROLS or unicodedata.category(c) in UNSAFE_CATEGORIES]


def unsafe_in_output(output: str) -> list[str]:
    """Unsafe characters of a whole output, whose own line breaks are fine."""
    return unsafe_chars(output.replace("\n", ""))


def unescape(text: str) -> str:
    """The inverse of safe_text, written independently of it."""

    def one(match: re.Match[str]) -> str:
        token = match.group(0)
        named = {"\\n": "\n", "\\r": "\r", "\\t": "\t", "\\\\": "\\"}
        if token in named:
            return named[token]
        return chr(int(token[2:], 16))

    return re.sub(r"\\(?:[nrt\\]|x[0-9a-f]{2}|u[0-9a-f]{4}|U[0-9a-f]{8})", one, text)


@pytest.fixture(autouse=True)
def _forget() -> Iterator[None]:
    yield
    forget_secrets()


# -- through the CLI -----------------------------------------------------------------

HOSTILE_NAMES = [
    ("bidi override", "evil\u202etxt.exe", "\\u202e"),
    ("bidi isolate", "a\u2066b\u2069", "\\u2066"),
    ("line separator", "one\u2028two", "\\u2028"),
    ("paragraph separator", "one\u2029two", "\\u2029"),
    ("zero width joiner", "a\u200db", "\\u200d"),
    ("byte order mark", "\ufeffname", "\\ufeff"),
    ("private use", "a\ue000b", "\\ue000"),
    ("backslash-n spelled out", "a\\nb", None),  # refused: holds a backslash
]


def _project(tmp_path: Path, server: HostileScicat, store: Path, pid: str = PID) -> Path:
    project = tmp_path / "project"
    project.mkdir(exist_ok=True)
    (project / "scisync.yaml").write_text(
        "version: 1\nproject: p\n"
        f"scicat: {{url: {server.url}}}\n"
        f"storage: {{local: {{root: {store}}}}}\n"
        f"downloads:\n  - key: d\n    dataset: {{pid: {json.dumps(pid)}}}\n    target: data\n"
    )
    return project


def _run(project: Path, *args: str) -> Result:
    return CliRunner().invoke(
        main, ["-C", str(project), *args], env={"SCICAT_TOKEN": "tok", "NO_COLOR": "1"}
    )


def _record(store: Path, path: str, pid: str = PID) -> dict[str, Any]:
    files = [{"path": path, "size": 3, "time": "2026-01-01T00:00:00Z"}]
    return {
        "pid": pid,
        "type": "raw",
        "sourceFolder": str(store),
        "origdatablocks": [{"_id": "b", "dataFileList": files}],
    }


@pytest.mark.parametrize(
    ("name", "escaped"), [c[1:] for c in HOSTILE_NAMES], ids=[c[0] for c in HOSTILE_NAMES]
)
def test_a_hostile_file_name_is_escaped_in_the_plan(
    tmp_path: Path, name: str, escaped: str | None
) -> None:
    with HostileScicat() as server:
        server.serve(datasets=[_record(tmp_path, name)])
        project = _project(tmp_path, server, tmp_path)
        text = _run(project, "plan")
        as_json = _run(project, "plan", "--json")
    assert unsafe_in_output(text.output) == []
    assert "internal error" not in text.output
    if escaped is None:
        assert text.exit_code == 1 and "holds a backslash" in text.output
        return
    assert text.exit_code == 0, text.output
    assert escaped in text.output
    # JSON output stays exact: the name, byte for byte.
    plan = json.loads(as_json.output)
    paths = [f["path"] for c in plan["changes"] for f in c.get("files", [])]
    assert name in paths


def test_a_hostile_pid_is_escaped_in_the_plan(tmp_path: Path) -> None:
    pid = "20.500/\u202eexe.txt"
    with HostileScicat() as server:
        server.serve(datasets=[_record(tmp_path, "ok.txt", pid=pid)])
        result = _run(_project(tmp_path, server, tmp_path, pid), "plan")
    assert result.exit_code == 0, result.output
    assert unsafe_in_output(result.output) == []
    assert "pid: 20.500/\\u202eexe.txt" in result.output


@pytest.mark.parametrize(
    "message",
    [
        "\x1b]0;pwned\x07 window title",
        "\x1b[2J\x1b[H screen cleared",
        "bad\nError: a forged second error",
        "\u202eesrever",
        "\x9b31m C1 colour",
    ],
)
def test_a_server_error_message_is_escaped_on_one_line(tmp_path: Path, message: str) -> None:
    body = json.dumps({"statusCode": 400, "message": message}).encode()
    with HostileScicat() as server:
        server.misbehave(Raw(400, body), path="/api/v4/datasets")
        result = _run(_project(tmp_path, server, tmp_path), "plan")
    assert result.exit_code == 1
    assert unsafe_in_output(result.output) == []
    lines = [line for line in result.output.splitlines() if line]
    assert len(lines) == 1 and lines[0].startswith("Error: ")
    assert "SciCat answered 400" in result.output


# -- each renderer ---------------------------------------------------------------------

NASTY = "a\x1b[31m\nb\u202ec\x9bd\u2028e\x00"


def test_progress_lines_escape_paths_addresses_and_details() -> None:
    for event in (
        StepStarted(NASTY, NASTY),
        StepFinished(NASTY, "create", detail=NASTY),
        FileDone(NASTY, NASTY, 3),
    ):
        line = plain_event_line(event)
        assert line is not None
        assert unsafe_chars(line) == [] and "\n" not in line


def test_a_retry_line_escapes_the_server_reason() -> None:
    event = RetryScheduled("GET http://h/api", f"503 {NASTY}", 1, 0.5, 3)
    line = retry_line(event)
    assert unsafe_chars(line) == []
    assert line.startswith("Retrying: GET http://h/api failed (503 ")


def test_field_values_escape_what_json_leaves_raw() -> None:
    text = value_text({"k": "\u202e\x9b\u2028"})
    assert unsafe_chars(text) == []
    assert "\\u202e" in text and "\\x9b" in text and "\\u2028" in text


def test_the_error_boundary_puts_each_problem_on_one_line() -> None:
    error = ScisyncError(problems=[Problem("one\ntwo", where="x\x1b"), Problem("three")])
    text = safe_error(problem.format() for problem in error.problems)
    assert text.splitlines() == ["x\\x1b: one\\ntwo", "three"]


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("plain", "plain"),
        ("tab\there", "tab\\there"),
        ("a\\b", "a\\\\b"),
        ("\x00", "\\x00"),
        ("\x7f", "\\x7f"),
        ("\x85", "\\x85"),
        ("\u200b", "\\u200b"),
        ("\U000e0001", "\\U000e0001"),  # language tag, a format character
        ("ünïcödé ok", "ünïcödé ok"),
        ("日本語", "日本語"),
    ],
)
def test_safe_text_table(raw: str, shown: str) -> None:
    assert safe_text(raw) == shown
    assert unescape(shown) == raw


def test_safe_message_keeps_backslashes() -> None:
    assert safe_message(r"regex ^run-\d+$ and C:\data") == r"regex ^run-\d+$ and C:\data"
    assert safe_message("a\nb") == "a\\nb"


# -- properties ------------------------------------------------------------------------

EVERYTHING = st.text(st.characters(exclude_categories=()), max_size=60)


@settings(max_examples=400, deadline=None)
@given(EVERYTHING)
def test_safe_text_never_lets_an_unsafe_character_through_and_round_trips(text: str) -> None:
    shown = safe_text(text)
    assert unsafe_chars(shown) == []
    assert "\n" not in shown and "\r" not in shown
    assert unescape(shown) == text  # so two different strings never look the same


@settings(max_examples=300, deadline=None)
@given(EVERYTHING)
def test_safe_message_is_one_safe_line(text: str) -> None:
    shown = safe_message(text)
    assert unsafe_chars(shown) == []
    assert len(shown.splitlines()) <= 1


SEGMENT = st.text(
    st.characters(exclude_categories=("Cc", "Cs"), exclude_characters="/\\"),
    min_size=1,
    max_size=20,
).filter(lambda s: s not in (".", ".."))


@settings(max_examples=300, deadline=None)
@given(EVERYTHING)
def test_an_accepted_server_path_stays_inside_its_target(path: str) -> None:
    if path_problem(path) is not None:
        return
    target = "/target"
    joined = posixpath.normpath(posixpath.join(target, path))
    assert joined.startswith(target + "/")
    assert joined == posixpath.join(target, path)  # nothing for normpath to remove
    assert not any(unicodedata.category(c) in ("Cc", "Cs") for c in path)
    assert "\\" not in path


@settings(max_examples=300, deadline=None)
@given(st.lists(SEGMENT, min_size=1, max_size=8))
def test_a_well_formed_relative_path_is_accepted(parts: list[str]) -> None:
    path = "/".join(parts)
    too_long = len(path.encode()) > 4096 or any(len(p.encode()) > 255 for p in parts)
    assert (path_problem(path) is None) != too_long


@settings(max_examples=300, deadline=None)
@given(st.lists(SEGMENT, min_size=1, max_size=4), st.sampled_from(["..", ".", ""]))
def test_a_path_with_a_dot_component_is_refused(parts: list[str], bad: str) -> None:
    path = "/".join([*parts[:1], bad, *parts[1:]])
    assert path_problem(path) is not None

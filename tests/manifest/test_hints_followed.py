"""Every manifest hint works when followed: the broken manifest gets the hint, and the
manifest changed exactly as the hint says validates (a table of cases)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from scisync.cli import main

HEAD = """\
version: 1
project: demo
scicat: {sandbox: ./.sb}
storage:
  local: {root: ./store}
vars:
  beam: P03
defaults:
  datasets:
    owner_group: g1
    contact_email: a@b.c
    principal_investigator: ana
    creation_time: 2026-01-01T00:00:00Z
    OWNR_LINE
    creation_location: "CREATION"
"""


@dataclass(frozen=True)
class Case:
    name: str
    broken: dict[str, str]  # placeholder -> broken text
    hint: str  # what the message must say
    fixed: dict[str, str]  # placeholder -> the text the hint says to write
    lines: int = 1  # error lines expected: one per root cause


BASE = {
    "OWNR_LINE": "owner: ana",
    "CREATION": "P03",
    "KEY": "run-{{ each | basename }}",
    "DESC": "x",
}

CASES = [
    Case(
        "for_each duplicate key",
        {"KEY": "run"},
        'e.g. key: "run-{{ each | basename }}"',
        {"KEY": "run-{{ each | basename }}"},
    ),
    Case(
        "for_each key from a glob path",
        {"KEY": "run-{{ each }}"},
        '"run-{{ each | basename }}"',
        {"KEY": "run-{{ each | basename }}"},
    ),
    Case(
        "misspelt defaults key, reported once for all entries",
        {"OWNR_LINE": "ownr: ana"},
        "did you mean 'owner'?; the same in 4 more entries",
        {"OWNR_LINE": "owner: ana"},
    ),
    Case(
        "undefined variable in a shared default",
        {"CREATION": "{{ vars.beem }}"},
        "did you mean vars.beam?",
        {"CREATION": "{{ vars.beam }}"},
    ),
    Case(
        "variable without vars.",
        {"DESC": '"{{ beam }}"'},
        "write vars.beam",
        {"DESC": '"{{ vars.beam }}"'},
    ),
    Case(
        "unquoted template",
        {"DESC": "{{ vars.beam }}"},
        'a template at the start of a value must be quoted, e.g. "{{ vars.name }}"',
        {"DESC": '"{{ vars.beam }}"'},
    ),
]


def _manifest(values: dict[str, str]) -> str:
    filled = {**BASE, **values}
    text = (
        HEAD
        + f"""\
datasets:
  - key: "{filled["KEY"]}"
    for_each: "{{{{ glob('runs/*') }}}}"
    type: raw
    files: ["{{{{ each }}}}/*"]
  - key: other
    type: raw
  - key: third
    type: raw
    description: {filled["DESC"]}
"""
    )
    text = text.replace("OWNR_LINE", filled["OWNR_LINE"]).replace("CREATION", filled["CREATION"])
    return text


def _validate(folder: Path, text: str) -> tuple[int, str]:
    (folder / "scisync.yaml").write_text(text, encoding="utf-8")
    result = CliRunner().invoke(main, ["-C", str(folder), "validate"])
    return result.exit_code, result.output


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hint_followed_validates(case: Case, tmp_path: Path) -> None:
    for run in ("run-001", "run-002"):
        (tmp_path / "runs" / run).mkdir(parents=True)
        (tmp_path / "runs" / run / "a.h5").write_text(run)
    assert _validate(tmp_path, _manifest({}))[0] == 0  # the baseline is valid
    code, output = _validate(tmp_path, _manifest(case.broken))
    assert code == 1
    assert case.hint in output, output
    assert len(output.strip().splitlines()) == case.lines, output
    code, output = _validate(tmp_path, _manifest(case.fixed))
    assert code == 0, output


def test_missing_version_and_project_hint(tmp_path: Path) -> None:
    code, output = _validate(tmp_path, "scicat: {sandbox: ./.sb}\n")
    assert code == 1
    assert "start the manifest with 'version: 1' and 'project: <name>'" in output
    code, output = _validate(tmp_path, "version: 1\nproject: demo\nscicat: {sandbox: ./.sb}\n")
    assert code == 0, output

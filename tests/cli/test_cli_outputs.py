"""Machine-readable output (validate --json) and shell completion."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from scisync.cli import main


def test_validate_json_reports_every_problem_with_exit_1(tmp_path: Path) -> None:
    (tmp_path / "scisync.yaml").write_text(
        "version: 1\nproject: p\nscicat: {sandbox: sb}\nbogus: 1\nother: 2\n"
    )
    result = CliRunner().invoke(main, ["-C", str(tmp_path), "validate", "--json"])
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["valid"] is False
    assert [p["what"] for p in report["problems"]] == [
        "unknown key 'bogus'",
        "unknown key 'other'",
    ]
    assert report["problems"][0]["where"].endswith("scisync.yaml:4:1: bogus")


def test_validate_json_summarises_a_valid_manifest(tmp_path: Path) -> None:
    (tmp_path / "scisync.yaml").write_text("version: 1\nproject: p\nscicat: {sandbox: sb}\n")
    result = CliRunner().invoke(main, ["-C", str(tmp_path), "validate", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report == {
        "valid": True,
        "files": [str(tmp_path / "scisync.yaml")],
        "project": "p",
        "datasets": [],
        "samples": [],
        "downloads": [],
    }


def test_bash_completion_script_and_command_names() -> None:
    runner = CliRunner()
    script = runner.invoke(main, [], prog_name="scisync", env={"_SCISYNC_COMPLETE": "bash_source"})
    assert script.exit_code == 0
    assert "_scisync_completion" in script.output
    assert "complete " in script.output

    words = runner.invoke(
        main,
        [],
        prog_name="scisync",
        env={"_SCISYNC_COMPLETE": "bash_complete", "COMP_WORDS": "scisync im", "COMP_CWORD": "1"},
    )
    assert words.exit_code == 0
    assert "plain,import" in words.output.splitlines()


class _Terminal:
    def isatty(self) -> bool:
        return True


def test_colour_only_on_a_terminal_and_never_with_no_color(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from scisync.cli import options

    monkeypatch.setattr(options.sys, "stdout", _Terminal())
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert options.use_color() is True
    monkeypatch.setenv("NO_COLOR", "")  # no-color.org: present, whatever its value
    assert options.use_color() is False

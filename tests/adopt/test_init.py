"""`scisync init`: a starter manifest that validates, never overwriting, .gitignore kept."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner, Result

from scisync.adopt.starter import ensure_ignored, schema_reference
from scisync.cli import main
from scisync.manifest.schema import SCHEMA_PATH


def _run(root: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["-C", str(root), *args], env={"NO_COLOR": "1"})


def test_init_writes_a_manifest_that_validates(tmp_path: Path) -> None:
    root = tmp_path / "My Analysis"
    root.mkdir()
    made = _run(root, "init")
    assert made.exit_code == 0, made.output
    text = (root / "scisync.yaml").read_text()
    first = text.splitlines()[0]
    assert first.startswith("# yaml-language-server: $schema=")
    schema = first.split("$schema=", 1)[1]
    # An editor resolves the reference relative to the manifest: it must reach the schema.
    assert (root / schema).resolve() == SCHEMA_PATH.resolve()
    assert "project: my-analysis" in text

    # validate checks the local files too: the example dataset needs a file under data/.
    empty = _run(root, "validate")
    assert empty.exit_code == 1 and "files base folder" in empty.output
    (root / "data").mkdir()
    (root / "data" / "curve.csv").write_text("q,i\n")
    validated = _run(root, "validate")
    assert validated.exit_code == 0, validated.output
    assert "valid (1 dataset," in validated.output
    assert ".scisync/" in (root / ".gitignore").read_text().splitlines()


def test_init_with_a_url_validates_and_names_the_token_variable(tmp_path: Path) -> None:
    made = _run(tmp_path, "init", "--url", "https://scicat.example.org/api/v3", "--project", "p")
    assert made.exit_code == 0, made.output
    text = (tmp_path / "scisync.yaml").read_text()
    assert "url: https://scicat.example.org/api/v3" in text and "sandbox:" not in text
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "curve.csv").write_text("q,i\n")
    assert _run(tmp_path, "validate").exit_code == 0


def test_init_refuses_to_overwrite(tmp_path: Path) -> None:
    (tmp_path / "scisync.yaml").write_text("mine\n")
    refused = _run(tmp_path, "init")
    assert refused.exit_code == 1
    assert "scisync.yaml already exists; refusing to overwrite it" in refused.output
    assert (tmp_path / "scisync.yaml").read_text() == "mine\n"


def test_gitignore_is_appended_once(tmp_path: Path) -> None:
    gitignore = tmp_path / ".gitignore"
    gitignore.write_text("*.pyc")  # no trailing newline
    assert ensure_ignored(gitignore, (".scisync/",)) is True
    assert ensure_ignored(gitignore, (".scisync/",)) is False
    lines = gitignore.read_text().splitlines()
    assert lines[0] == "*.pyc"
    assert lines.count(".scisync/") == 1


def test_init_json_reports_what_it_wrote(tmp_path: Path) -> None:
    made = _run(tmp_path, "init", "--json")
    assert made.exit_code == 0, made.output
    report = json.loads(made.output)
    assert report["manifest"] == str(tmp_path / "scisync.yaml")
    assert report["gitignore_changed"] is True


def test_schema_reference_is_relative_inside_a_shared_tree(tmp_path: Path) -> None:
    project = SCHEMA_PATH.parents[2] / "some-project"  # beside the package, not created
    assert not schema_reference(project).startswith("/")
    assert schema_reference(Path("/")) == SCHEMA_PATH.as_posix()

"""Query downloads end to end: the query runs in the sandbox, the lockfile pins the set."""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path

from click.testing import CliRunner, Result

from scisync.cli import main
from scisync.errors import ExitCode

from .workspace import Workspace, write_manifest


def _collaborator(root: Path, workspace: Workspace, query: str, extra: str = "") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    manifest = textwrap.dedent(
        f"""\
        version: 1
        project: collab
        scicat:
          url: {workspace.sandbox.url}
        {{storage}}
        downloads:
          - key: runs
            target: data/runs
            include: ["*.dat"]
        {{extra}}    query:
        """
    )
    manifest = manifest.replace("{storage}\n", workspace.storage).replace("{extra}", extra)
    manifest += textwrap.indent(textwrap.dedent(query), "      ")
    (root / "scisync.yaml").write_text(manifest)
    return root


def _run(workspace: Workspace, root: Path, *args: str) -> Result:
    return CliRunner().invoke(
        main,
        ["-C", str(root), *args],
        env={"SCICAT_TOKEN": workspace.token, "NO_COLOR": "1"},
        catch_exceptions=False,
    )


def _folders(root: Path) -> list[str]:
    return sorted(p.name for p in (root / "data" / "runs").iterdir())


def test_a_query_download_is_pinned_and_reproduced_after_a_new_dataset_matches(
    workspace: Workspace, tmp_path: Path
) -> None:
    assert workspace.run("apply", "--auto-approve").exit_code == 0
    query = """\
        type: raw
        name: "Raw run *"
        owner_groups: [ingestor]
    """
    first = _collaborator(tmp_path / "first", workspace, query)
    pulled = _run(workspace, first, "pull")
    assert pulled.exit_code == 0, pulled.output
    folders = _folders(first)
    assert [f.rsplit("-", 1)[0] for f in folders] == ["Raw-run-1", "Raw-run-2"]
    assert sorted(p.name for p in (first / "data/runs" / folders[0]).iterdir()) == [
        "frame-1.dat",
        "frame-2.dat",
        "frame-3.dat",
    ]
    original = (workspace.root / "runs/run-2/frame-3.dat").read_bytes()
    assert (first / "data/runs" / folders[1] / "frame-3.dat").read_bytes() == original
    lock_text = (first / "scisync.lock").read_text()
    lock = json.loads(lock_text)
    assert sorted(lock["downloads"]) == [f"runs/{f}" for f in folders]
    assert all(entry["files"][0]["blake3"] for entry in lock["downloads"].values())
    assert _run(workspace, first, "plan", "--detailed-exitcode").exit_code == ExitCode.OK

    # A third run appears in the catalogue and matches the query too.
    write_manifest(workspace.root, workspace.sandbox.url, workspace.storage, datasets=3)
    assert workspace.run("apply", "--auto-approve").exit_code == 0
    planned = _run(workspace, first, "plan", "--detailed-exitcode")
    assert planned.exit_code == ExitCode.CHANGES, planned.output
    assert "newly matches the query" in planned.output
    assert "Raw-run-3-" in planned.output

    # A collaborator with the lockfile gets exactly the pinned set, byte for byte.
    second = _collaborator(tmp_path / "second", workspace, query)
    (second / "scisync.lock").write_text(lock_text)
    locked = _run(workspace, second, "pull", "--locked")
    assert locked.exit_code == 0, locked.output
    assert _folders(second) == folders
    for folder in folders:
        for name in ("frame-1.dat", "frame-2.dat", "frame-3.dat"):
            assert (second / "data/runs" / folder / name).read_bytes() == (
                first / "data/runs" / folder / name
            ).read_bytes()
    assert (second / "scisync.lock").read_text() == lock_text

    # The plain pull takes the new set; narrowing the query forgets what no longer matches.
    assert _run(workspace, first, "pull").exit_code == 0
    assert len(_folders(first)) == 3
    manifest = first / "scisync.yaml"
    manifest.write_text(manifest.read_text().replace('"Raw run *"', '"Raw run 3"'))
    narrowed = _run(workspace, first, "plan")
    assert narrowed.exit_code == 0, narrowed.output
    assert narrowed.output.count("no longer matches the query") == 2
    assert _run(workspace, first, "pull").exit_code == 0
    assert [
        k.split("/")[1].rsplit("-", 1)[0]
        for k in json.loads((first / "scisync.lock").read_text())["downloads"]
    ] == ["Raw-run-3"]
    assert len(_folders(first)) == 3  # forgotten downloads leave their files in place


def test_a_saved_query_plan_applies_as_planned(workspace: Workspace, tmp_path: Path) -> None:
    assert workspace.run("apply", "--auto-approve").exit_code == 0
    root = _collaborator(tmp_path / "saved", workspace, "type: raw\n")
    saved = _run(workspace, root, "plan", "--out", str(root / "plan.json"))
    assert saved.exit_code == 0, saved.output
    applied = _run(workspace, root, "apply", str(root / "plan.json"))
    assert applied.exit_code == 0, applied.output
    assert [f.rsplit("-", 1)[0] for f in _folders(root)] == ["Raw-run-1", "Raw-run-2"]
    assert _run(workspace, root, "plan", "--detailed-exitcode").exit_code == ExitCode.OK
    # A --locked plan does not run the pinned query; applying it later is not "stale".
    write_manifest(workspace.root, workspace.sandbox.url, workspace.storage, datasets=3)
    assert workspace.run("apply", "--auto-approve").exit_code == 0
    shutil.rmtree(root / "data")
    saved = _run(workspace, root, "plan", "--locked", "--out", str(root / "plan.json"))
    assert saved.exit_code == 0, saved.output
    applied = _run(workspace, root, "apply", str(root / "plan.json"))
    assert applied.exit_code == 0, applied.output
    assert [f.rsplit("-", 1)[0] for f in _folders(root)] == ["Raw-run-1", "Raw-run-2"]


def test_a_metadata_condition_in_other_units_compares_si_values(
    workspace: Workspace, tmp_path: Path
) -> None:
    # raw-1 was measured at 291 K (17.85 degC), raw-2 at 292 K (18.85 degC).
    assert workspace.run("apply", "--auto-approve").exit_code == 0
    query = """\
        type: raw
        metadata: ["temperature > 18.5 degC"]
    """
    root = _collaborator(tmp_path / "warm", workspace, query)
    pulled = _run(workspace, root, "pull")
    assert pulled.exit_code == 0, pulled.output
    assert [f.rsplit("-", 1)[0] for f in _folders(root)] == ["Raw-run-2"]
    ranged = _collaborator(
        tmp_path / "ranged", workspace, 'metadata: ["temperature range 290500 291500 mK"]\n'
    )
    assert _run(workspace, ranged, "pull").exit_code == 0
    assert [f.rsplit("-", 1)[0] for f in _folders(ranged)] == ["Raw-run-1"]


def test_a_query_matching_more_than_max_datasets_is_an_error(
    workspace: Workspace, tmp_path: Path
) -> None:
    assert workspace.run("apply", "--auto-approve").exit_code == 0
    root = _collaborator(
        tmp_path / "capped", workspace, "type: raw\n", extra="    max_datasets: 1\n"
    )
    refused = _run(workspace, root, "pull")
    assert refused.exit_code == ExitCode.ERROR
    assert "matches more than 1 datasets" in refused.output
    assert "max_datasets" in refused.output
    assert not (root / "data").exists()

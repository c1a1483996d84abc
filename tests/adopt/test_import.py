"""`scisync import`: a dataset made outside scisync is adopted, and then plans as unchanged."""

from __future__ import annotations

import json
from pathlib import Path

import requests
from click.testing import CliRunner, Result

from scisync.adopt.entry import append_entry, dataset_entry
from scisync.cli import main
from scisync.lock.io import read_lock
from scisync.observe.model import ObservedDataset
from scisync.sandbox import SandboxServer

from .import_project import RAW, create_dataset


def _run(root: Path, token: str, *args: str) -> Result:
    return CliRunner().invoke(
        main,
        ["-C", str(root), *args],
        env={"SCICAT_TOKEN": token, "NO_COLOR": "1"},
        catch_exceptions=False,
    )


def test_import_round_trip_plans_no_changes(project: Path, scicat_sandbox: SandboxServer) -> None:
    token = scicat_sandbox.login("ingestor")
    pid = create_dataset(scicat_sandbox, token, RAW)
    derived = create_dataset(
        scicat_sandbox,
        token,
        {
            "type": "derived",
            "datasetName": "Reduced run 7",
            "owner": "Grace Hopper",
            "ownerGroup": "ingestor",
            "contactEmail": "grace@example.org",
            "creationTime": "2026-02-04T00:00:00Z",
            "sourceFolder": "/data/beamtime-42/run-7-reduced",
            "principalInvestigators": ["Grace Hopper"],
            "usedSoftware": ["reduce@2"],
            "inputDatasets": [pid],
            "jobParameters": {"bins": 100},
        },
    )

    block = {
        "datasetId": pid,
        "size": 10,
        "dataFileList": [{"path": "frame.h5", "size": 10, "time": "2026-02-03T04:05:06Z"}],
    }
    made = requests.post(
        scicat_sandbox.root_url + "/v4/origdatablocks",
        json=block,
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert made.status_code == 201, made.text  # files the import must leave alone

    applied = _run(project, token, "apply", "--auto-approve")  # records `existing`
    assert applied.exit_code == 0, applied.output

    imported = _run(project, token, "import", pid, "--key", "run-7")
    assert imported.exit_code == 0, imported.output
    assert "scisync_marker" in imported.output  # it says that it marked the dataset
    assert "Recorded it in scisync.lock" in imported.output

    text = (project / "scisync.yaml").read_text()
    assert "# Our analysis. This comment must survive an import." in text
    assert "# imported datasets are appended below" in text
    assert "root: " in text and "# where files go" in text
    assert "- key: run-7" in text
    assert "files:" not in text  # the dataset's file list is left alone
    assert "valueSI" not in text and "scisync_marker" not in text

    lock = read_lock(project / "scisync.lock")
    assert lock is not None
    assert lock.datasets["run-7"].pid == pid
    assert "existing" in lock.datasets

    document = requests.get(
        scicat_sandbox.root_url + "/v4/datasets/" + requests.utils.quote(pid, safe=""),
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    ).json()
    assert document["scientificMetadata"]["scisync_marker"] == "adopt-test/run-7"
    assert document["scientificMetadata"]["operator_notes"] == "fine"

    as_json = _run(project, token, "import", derived, "--key", "run-7-reduced", "--json")
    assert as_json.exit_code == 0, as_json.output
    report = json.loads(as_json.output)
    assert report["adopted"] is True and report["pid"] == derived
    assert report["entry"]["investigator"] == "Grace Hopper"
    assert report["entry"]["input_datasets"] == [{"pid": pid}]

    planned = _run(project, token, "plan", "--detailed-exitcode")
    assert planned.exit_code == 0, planned.output
    assert "No changes" in planned.output

    validated = _run(project, token, "validate")
    assert validated.exit_code == 0, validated.output


def test_second_import_of_a_key_is_refused(project: Path, scicat_sandbox: SandboxServer) -> None:
    token = scicat_sandbox.login("ingestor")
    pid = create_dataset(scicat_sandbox, token, RAW)
    assert _run(project, token, "import", pid, "--key", "run-7").exit_code == 0
    before = (project / "scisync.yaml").read_text()

    again = _run(project, token, "import", pid, "--key", "run-7")
    assert again.exit_code == 1
    assert "key 'run-7' already exists in the manifest" in again.output
    assert (project / "scisync.yaml").read_text() == before

    # The same dataset under another key would take it from the first entry.
    other = _run(project, token, "import", pid, "--key", "run-7b")
    assert other.exit_code == 1
    assert "already managed as 'adopt-test/run-7'" in other.output


def test_unknown_pid_writes_nothing(project: Path, scicat_sandbox: SandboxServer) -> None:
    token = scicat_sandbox.login("ingestor")
    before = (project / "scisync.yaml").read_text()
    missing = _run(project, token, "import", "20.500.12269/nope", "--key", "nope")
    assert missing.exit_code == 1
    assert "no dataset '20.500.12269/nope'" in missing.output
    assert (project / "scisync.yaml").read_text() == before


def test_unrepresentable_metadata_is_refused_before_anything_changes(
    project: Path, scicat_sandbox: SandboxServer
) -> None:
    token = scicat_sandbox.login("ingestor")
    pid = create_dataset(
        scicat_sandbox, token, {**RAW, "scientificMetadata": {"beam energy": {"value": 1}}}
    )
    before = (project / "scisync.yaml").read_text()
    refused = _run(project, token, "import", pid, "--key", "odd")
    assert refused.exit_code == 1
    assert "does not make a valid manifest entry" in refused.output
    assert "beam energy" in refused.output
    assert (project / "scisync.yaml").read_text() == before
    assert not list(project.glob(".scisync.yaml.import-*"))


def test_entry_inverts_the_field_table() -> None:
    dataset = ObservedDataset(
        pid="p/1",
        fields={
            **RAW,
            "relationships": [{"identifier": "x", "identifierType": "DOI", "foo": 1}],
            "scientificMetadata": {
                "scisync_marker": "other/x",
                "scisync_supersedes": ["p/0"],
                "t": {"value": 1, "unit": "K", "valueSI": 1, "unitSI": "K"},
            },
            "createdAt": "2026-01-01T00:00:00Z",
            "numberOfFiles": 3,
        },
    )
    entry = dataset_entry("k", dataset)
    assert entry["principal_investigators"] == ["Grace Hopper", "Alan Turing"]
    assert entry["proposal_ids"] == ["P-42"]
    assert entry["relationships"] == [{"identifier": "x", "identifier_type": "DOI"}]
    assert entry["scientific_metadata"] == {"t": {"value": 1, "unit": "K"}}
    assert entry["description"] == (
        "{% raw %}Measured by hand, catalogued by a script {{ not a template }}{% endraw %}"
    )
    assert "created_at" not in entry and "number_of_files" not in entry
    assert entry["source_folder"] == "/data/beamtime-42/run-7"


def test_append_creates_datasets_and_keeps_flow_lists_readable() -> None:
    text = "version: 1  # first\nproject: p\ndatasets: []\n"
    out = append_entry(text, {"key": "a", "type": "raw", "keywords": ["x", "y"]})
    assert "version: 1  # first" in out
    assert "datasets:\n- key: a\n" in out or "datasets:\n  - key: a\n" in out
    assert "keywords: [x, y]" in out


def test_defaults_that_would_change_the_dataset_leave_it_unrecorded(
    project: Path, scicat_sandbox: SandboxServer
) -> None:
    token = scicat_sandbox.login("ingestor")
    manifest = project / "scisync.yaml"
    manifest.write_text(
        manifest.read_text().replace(
            "datasets:\n", "defaults:\n  datasets:\n    license: CC-BY-4.0\n\ndatasets:\n", 1
        )
    )
    pid = create_dataset(scicat_sandbox, token, RAW)  # has no license
    imported = _run(project, token, "import", pid, "--key", "run-7", "--json")
    assert imported.exit_code == 0, imported.output
    report = json.loads(imported.output)
    assert report["adopted"] is False
    assert report["pending_changes"] == [{"field": "license", "before": None, "after": "CC-BY-4.0"}]
    assert "- key: run-7" in manifest.read_text()  # written, and marked, but not recorded
    lock = read_lock(project / "scisync.lock")
    assert lock is None or "run-7" not in lock.datasets

    text = _run(project, token, "plan", "--target", "run-7")
    assert "license" in text.output and "CC-BY-4.0" in text.output

"""Published data end to end: the CLI and scisync.api against the sandbox over HTTP.

A CI-style apply creates datasets and a PublishedData record with ``register: true`` in
one go (the lockfile holds the DOI, a second plan is empty); the lifecycle updates a
record while it is not registered, registers it, then refuses a change; a SIGKILL at
each publication step, then a resume, leaves exactly one record.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from scisync import api
from scisync._util.secrets import forget_secrets
from scisync.plan.model import Action, ResourceKind
from scisync.sandbox import SandboxServer
from tests.cli_process import run_scisync

from .workspace import Workspace, storage_yaml, write_manifest

PUBLICATION = """\
published_data:
  - key: paper
    title: Reduced powder data
    abstract: Everything, reduced.
    creators: [{name: "Lovelace, Ada", affiliation: Example Facility}]
    publisher: {name: Example Facility, publisher_identifier_scheme: ROR}
    publication_year: 2026
    resource_type: Dataset
    datasets: [reduced, raw-1]
    metadata: {subjects: [{subject: crystallography}]}
    register: REGISTER
"""


def _workspace(tmp_path: Path, sandbox: SandboxServer, *, register: bool) -> Workspace:
    root = tmp_path / "project"
    root.mkdir(parents=True)
    store = tmp_path / "store"
    storage = storage_yaml("local", store)
    extra = PUBLICATION.replace("REGISTER", "true" if register else "false")
    write_manifest(root, sandbox.url, storage, datasets=1, extra=extra)
    return Workspace(root, sandbox, sandbox.login("ingestor"), store, storage)


@pytest.fixture
def registering(tmp_path: Path, scicat_sandbox: SandboxServer) -> Iterator[Workspace]:
    yield _workspace(tmp_path, scicat_sandbox, register=True)
    forget_secrets()


@pytest.fixture
def private(tmp_path: Path, scicat_sandbox: SandboxServer) -> Iterator[Workspace]:
    yield _workspace(tmp_path, scicat_sandbox, register=False)
    forget_secrets()


def _record(ws: Workspace, doi: str) -> dict[str, object]:
    answer = requests.get(
        f"{ws.sandbox.root_url}/v4/publisheddata/{requests.utils.quote(doi, safe='')}",
        headers={"Authorization": f"Bearer {ws.token}"},
        timeout=30,
    )
    answer.raise_for_status()
    document = answer.json()
    assert isinstance(document, dict)
    return document


def _records_with_marker(sandbox: SandboxServer, token: str, marker: str) -> list[str]:
    where = {"metadata.scisync_marker": marker}
    answer = requests.get(
        f"{sandbox.root_url}/v4/publisheddata",
        params={"filter": json.dumps({"where": where})},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    answer.raise_for_status()
    return [str(d["doi"]) for d in answer.json()]


def _lock(ws: Workspace) -> dict[str, dict[str, dict[str, str]]]:
    data = json.loads(ws.lock.read_text())
    assert isinstance(data, dict)
    return data


def test_one_apply_creates_the_datasets_and_registers_their_doi(registering: Workspace) -> None:
    ws = registering
    planned = ws.run("plan")
    assert planned.exit_code == 0, planned.output
    assert "+ publication.paper will be created" in planned.output
    assert "register: the DOI will be registered" in planned.output
    assert "1 DOI to register" in planned.output

    applied = ws.run("apply", "--auto-approve")
    assert applied.exit_code == 0, applied.output
    assert "1 DOI registered" in applied.output
    lock = _lock(ws)
    entry = lock["publications"]["paper"]
    assert entry["doi"].startswith("10.5072/") and entry["status"] == "registered"
    record = _record(ws, entry["doi"])
    assert record["status"] == "registered" and record["registeredTime"]
    pids = [lock["datasets"]["reduced"]["pid"], lock["datasets"]["raw-1"]["pid"]]
    assert record["datasetPids"] == pids  # the datasets this apply created, by key
    metadata = record["metadata"]
    assert isinstance(metadata, dict)
    assert metadata["scisync_marker"] == "e2e/paper"
    assert metadata["creators"] == [{"name": "Lovelace, Ada", "affiliation": "Example Facility"}]

    again = ws.run("plan", "--detailed-exitcode")
    assert again.exit_code == 0, again.output
    assert "No changes." in again.output

    ws.edit("title: Reduced powder data", "title: Reduced powder data, corrected")
    refused = ws.run("plan", "--detailed-exitcode")
    assert refused.exit_code == 1, refused.output
    assert "conflict (registered-changed)" in refused.output
    assert entry["doi"] in refused.output and "changes its title" in refused.output
    assert "amend path" in refused.output and "new DOI" in refused.output
    assert "scisync.yaml:" in refused.output  # where the entry is written


def test_update_while_private_then_register_then_nothing_more(private: Workspace) -> None:
    ws = private
    assert ws.run("apply", "--auto-approve").exit_code == 0
    entry = _lock(ws)["publications"]["paper"]
    assert entry["status"] == "private"

    ws.edit("abstract: Everything, reduced.", "abstract: Everything, reduced twice.")
    planned = ws.run("plan", "--detailed-exitcode")
    assert planned.exit_code == 2, planned.output
    assert "~ publication.paper will be updated in place" in planned.output
    assert ws.run("apply", "--auto-approve").exit_code == 0
    assert _record(ws, entry["doi"])["abstract"] == "Everything, reduced twice."

    ws.edit("register: false", "register: true")
    planned = ws.run("plan")
    assert "@ publication.paper will have its DOI registered" in planned.output
    assert ws.run("apply", "--auto-approve").exit_code == 0
    assert _record(ws, entry["doi"])["status"] == "registered"
    after = _lock(ws)["publications"]["paper"]
    assert (after["doi"], after["status"]) == (entry["doi"], "registered")
    assert ws.run("plan", "--detailed-exitcode").exit_code == 0
    graph = ws.run("graph", "--format", "mermaid")
    assert "publication: paper" in graph.output and "-->|published|" in graph.output


def test_the_python_api_publishes_too(registering: Workspace) -> None:
    ws = registering
    project = api.load_project([ws.manifest])
    environ = {"SCICAT_TOKEN": ws.token}
    with api.apply_lock(project, timeout=10), api.connect(project, environ=environ) as conn:
        plan = api.plan(project, conn)
        (change,) = [c for c in plan.changes if c.kind is ResourceKind.PUBLICATION]
        assert (change.action, change.register) == (Action.CREATE, True)
        outcome = api.apply(project, conn, plan)
        assert outcome.results.summary.registered == 1
        doi = outcome.lock.publications["paper"].doi
        assert _records_with_marker(ws.sandbox, ws.token, "e2e/paper") == [doi]
        assert not api.plan(project, conn).has_changes


def _apply(root: Path, token: str, **env: str) -> subprocess.CompletedProcess[str]:
    return run_scisync(root, token, "apply", "--auto-approve", **env)


def test_sigkill_at_each_publication_step_then_resume_makes_one_record(tmp_path: Path) -> None:
    log = tmp_path / "checkpoints.log"
    with SandboxServer(tmp_path / "reference-scicat").start() as sandbox:
        ws = _workspace(tmp_path / "reference", sandbox, register=True)
        assert _apply(ws.root, ws.token, SCISYNC_TEST_CHECKPOINT_LOG=str(log)).returncode == 0
    points = [
        int(line.split()[0]) for line in log.read_text().splitlines() if "publication" in line
    ]
    assert len(points) == 4, log.read_text()  # before/after create, before/after register
    failures = []
    for number in points:
        where = tmp_path / f"kill-{number}"
        with SandboxServer(where / "scicat").start() as sandbox:
            ws = _workspace(where, sandbox, register=True)
            killed = _apply(ws.root, ws.token, SCISYNC_TEST_KILL_AT=str(number))
            if killed.returncode != -9:
                failures.append(f"{number}: not killed ({killed.returncode}) {killed.stderr}")
                continue
            resumed = _apply(ws.root, ws.token)
            if resumed.returncode != 0:
                failures.append(f"{number}: resume failed: {resumed.stderr[-500:]}")
                continue
            dois = _records_with_marker(sandbox, ws.token, "e2e/paper")
            entry = _lock(ws)["publications"]["paper"]
            if dois != [entry["doi"]] or entry["status"] != "registered":
                failures.append(f"{number}: records {dois}, lock {entry}")
            elif _record(ws, entry["doi"])["status"] != "registered":
                failures.append(f"{number}: the record is not registered")
    assert failures == []

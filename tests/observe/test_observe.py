"""Observing the sandbox: what scisync finds by marker, by pid and by sample id, and the
digest that tells a saved plan SciCat moved on."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import requests

from scisync import api
from scisync._util.secrets import forget_secrets
from scisync.desired.build import build_desired
from scisync.desired.model import DesiredState
from scisync.lock.model import LockedDataset, LockedDownload, Lockfile
from scisync.observe.model import ObservedState
from scisync.observe.observe import observe, observed_digest
from scisync.sandbox import SandboxServer
from tests.apply.project import write_project


@pytest.fixture
def project(tmp_path: Path, scicat_sandbox: SandboxServer) -> Iterator[api.Project]:
    root = tmp_path / "project"
    root.mkdir()
    write_project(root, scicat_sandbox.url, tmp_path / "store")
    yield api.load_project([root / "scisync.yaml"])
    forget_secrets()


@pytest.fixture
def connection(project: api.Project, scicat_sandbox: SandboxServer) -> Iterator[api.Connection]:
    token = scicat_sandbox.login("ingestor")
    with api.connect(project, environ={"SCICAT_TOKEN": token}) as opened:
        yield opened


def _observe(
    project: api.Project, connection: api.Connection, recorded: Lockfile | None = None
) -> tuple[DesiredState, ObservedState]:
    desired = build_desired(project.manifest, connection.hasher)
    lock = recorded or Lockfile(project=project.manifest.project)
    return desired, observe(desired, lock, connection.catalog, connection.storage)


def test_an_empty_catalogue_has_nothing_and_a_recorded_pid_it_lacks_is_missing(
    project: api.Project, connection: api.Connection
) -> None:
    recorded = Lockfile(
        project="apply-test",
        datasets={"raw-1": LockedDataset(key="raw-1", pid="20.500/gone", fields_digest="x")},
    )
    _, observed = _observe(project, connection, recorded)
    assert all(not found for found in observed.by_marker.values())
    assert observed.samples == {}
    assert observed.missing_pids == frozenset({"20.500/gone"})
    assert observed.storage == {}  # nothing uploaded yet under the source folders


def test_after_an_apply_every_entry_is_found_with_its_files(
    project: api.Project, connection: api.Connection
) -> None:
    outcome = api.apply(project, connection, api.plan(project, connection))
    desired, observed = _observe(project, connection, outcome.lock)
    for dataset in desired.datasets:
        (found,) = observed.by_marker[dataset.marker]
        assert found.pid == outcome.lock.datasets[dataset.key].pid
        assert sorted(f.path for f in found.files) == sorted(f.relative for f in dataset.files)
    assert set(observed.samples) == {outcome.lock.samples["crystal"].sample_id}
    assert observed.storage == {}  # every file is listed: the storage is not walked


def test_the_digest_moves_when_scicat_changes(
    project: api.Project,
    connection: api.Connection,
    scicat_sandbox: SandboxServer,
) -> None:
    outcome = api.apply(project, connection, api.plan(project, connection))
    before = observed_digest(_observe(project, connection, outcome.lock)[1])
    assert observed_digest(_observe(project, connection, outcome.lock)[1]) == before
    pid = outcome.lock.datasets["raw-1"].pid
    answer = requests.patch(
        f"{scicat_sandbox.root_url}/v4/datasets/{requests.utils.quote(pid, safe='')}",
        json={"description": "edited in SciCat"},
        headers={"Authorization": f"Bearer {scicat_sandbox.login('ingestor')}"},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    assert observed_digest(_observe(project, connection, outcome.lock)[1]) != before


def test_a_dataset_found_as_a_summary_is_fetched_whole_for_a_download(
    project: api.Project, connection: api.Connection
) -> None:
    """The marker query of a settled plan brings summaries (no file lists); a download of
    one of those datasets (here pinned in scisync.lock) reads its files: fetched again."""
    outcome = api.apply(project, connection, api.plan(project, connection))
    pid = outcome.lock.datasets["raw-1"].pid
    recorded = replace(outcome.lock, downloads={"copy": LockedDownload(key="copy", pid=pid)})
    desired = build_desired(project.manifest, connection.hasher)
    markers = sorted({dataset.marker for dataset in desired.datasets})
    summaries = connection.catalog.find_dataset_summaries_by_markers(markers)
    assert all(not d.files_listed for found in summaries.values() for d in found)
    observed = observe(
        desired, recorded, connection.catalog, connection.storage, found_by_marker=summaries
    )
    whole = observed.by_pid[pid]
    assert whole.files_listed and whole.files
    assert pid not in observed.missing_pids
    other = outcome.lock.datasets["raw-2"].pid
    assert not observed.by_pid[other].files_listed  # no download reads it: left as it came

"""The project that the import tests adopt a dataset into, and the ways they drive it:
the sandbox dataset it starts from, the real CLI in a subprocess (for signals and kills),
and what SciCat holds afterwards. Shared by test_import*.py; the ``project`` fixture is in
conftest.py."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import requests

from scisync.sandbox import SandboxServer
from tests.cli_process import run_scisync

KEY = "run-7"  # the manifest key the import tests give the adopted dataset

MANIFEST = """\
# Our analysis. This comment must survive an import.
version: 1
project: adopt-test

scicat:
  url: {url}

storage:
  local:
    root: {store}   # where files go

datasets:
  # imported datasets are appended below
  - key: existing
    type: derived
    owner: Ada Lovelace
    owner_group: ingestor
    contact_email: ada@example.org
    creation_time: 2026-03-01T12:00:00Z
    investigator: Ada Lovelace
    used_software: [reduce@1]
    input_datasets: []
"""

RAW = {
    "type": "raw",
    "datasetName": "Beamtime 42, run 7",
    "description": "Measured by hand, catalogued by a script {{ not a template }}",
    "owner": "Grace Hopper",
    "ownerGroup": "ingestor",
    "accessGroups": ["collaborators"],
    "contactEmail": "grace@example.org",
    "creationTime": "2026-02-03T04:05:06Z",
    "sourceFolder": "/data/beamtime-42/run-7",
    "principalInvestigators": ["Grace Hopper", "Alan Turing"],
    "creationLocation": "Beamline 2",
    "proposalIds": ["P-42"],
    "keywords": ["run-7", "manual"],
    "isPublished": False,
    "techniques": [{"pid": "http://example.org/saxs", "name": "SAXS"}],
    "scientificMetadata": {
        "temperature": {"value": 295, "unit": "K"},
        "operator_notes": "fine",
        "nested": {"depth": {"value": 2.5, "unit": "mm"}},
    },
}


def write_manifest(root: Path, url: str, store: Path) -> None:
    (root / "scisync.yaml").write_text(MANIFEST.format(url=url, store=store))


def create_dataset(sandbox: SandboxServer, token: str, body: dict[str, Any]) -> str:
    answer = requests.post(
        sandbox.root_url + "/v4/datasets",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["pid"])


def import_in_subprocess(
    root: Path, token: str, pid: str, **env: str
) -> subprocess.CompletedProcess[str]:
    """``scisync import PID --key run-7 --json`` as a user runs it, with test hooks in *env*."""
    return run_scisync(root, token, "import", pid, "--key", KEY, "--json", **env)


def dataset_document(sandbox: SandboxServer, token: str, pid: str) -> dict[str, Any]:
    """The dataset as SciCat holds it now (v4, read with *token*)."""
    answer = requests.get(
        f"{sandbox.root_url}/v4/datasets/{requests.utils.quote(pid, safe='')}",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    document: dict[str, Any] = answer.json()
    return document

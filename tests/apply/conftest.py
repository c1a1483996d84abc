"""A small project against the sandbox (real HTTP) with local storage, and a way to watch
or break the applier's writes to SciCat.

The project has a sample, three raw datasets (files; one with an attachment) that refer to
the sample by key, and two derived datasets, each made from one raw dataset by key:
enough for the dependency levels, parallel branches and every kind of write.
"""

from __future__ import annotations

import json
import shutil
import textwrap
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from scisync import api
from scisync._util.secrets import forget_secrets
from scisync.apply.events import ApplyEvent
from scisync.apply.executor import Applier
from scisync.apply.journal import Journal
from scisync.plan.model import Plan
from scisync.sandbox import SandboxServer

PLOT = Path(__file__).parents[2] / "manifests.example" / "quickstart" / "plots" / "intensity.png"
WRITES = frozenset(
    {
        "create_dataset",
        "patch_dataset",
        "create_origdatablock",
        "create_attachment",
        "patch_attachment",
        "create_sample",
        "patch_sample",
    }
)


def _raw(number: int) -> str:
    attachment = (
        "    attachments:\n      - image: plot.png\n        caption: Intensity\n"
        if number == 1
        else ""
    )
    return (
        f"  - key: raw-{number}\n"
        "    type: raw\n"
        f"    dataset_name: Raw run {number}\n"
        "    owner: Ada Lovelace\n"
        "    owner_group: ingestor\n"
        "    contact_email: ada@example.org\n"
        "    principal_investigator: Ada Lovelace\n"
        "    creation_location: Beamline 1\n"
        f"    creation_time: 2026-03-0{number}T12:00:00Z\n"
        "    sample: crystal\n"
        "    files:\n"
        f"      - base: runs/run-{number}\n"
        "        include: ['*.dat']\n" + attachment
    )


def _derived(number: int) -> str:
    return (
        f"  - key: reduced-{number}\n"
        "    type: derived\n"
        f"    dataset_name: Reduced run {number}\n"
        "    owner: Ada Lovelace\n"
        "    owner_group: ingestor\n"
        "    contact_email: ada@example.org\n"
        "    investigator: Ada Lovelace\n"
        "    creation_time: 2026-03-10T12:00:00Z\n"
        "    used_software: [scisync-tests]\n"
        f"    input_datasets: [raw-{number}]\n"
    )


def write_project(root: Path, url: str, store: Path) -> None:
    shutil.copy(PLOT, root / "plot.png")
    for number in (1, 2, 3):
        folder = root / "runs" / f"run-{number}"
        folder.mkdir(parents=True)
        for frame in (1, 2, 3):
            (folder / f"frame-{frame}.dat").write_text(f"run {number} frame {frame}\n" * 20)
    header = textwrap.dedent(
        f"""\
        version: 1
        project: apply-test
        scicat:
          url: {url}
          token_env: SCICAT_TOKEN
        storage:
          local:
            root: {store}
        samples:
          - key: crystal
            sample_name: A crystal
            owner_group: ingestor
        datasets:
        """
    )
    datasets = "".join(_raw(n) for n in (1, 2, 3)) + "".join(_derived(n) for n in (1, 2))
    (root / "scisync.yaml").write_text(header + datasets)


@dataclass
class Setup:
    """The project, its sandbox, and an open connection to both."""

    project: api.Project
    connection: api.Connection
    sandbox: SandboxServer
    token: str
    events: list[ApplyEvent] = field(default_factory=list)

    @property
    def journal(self) -> Journal:
        return Journal(self.project.state_dir / "journal.jsonl")

    def plan(self) -> Plan:
        return api.plan(self.project, self.connection)

    def applier(self, plan: Plan, catalog: Any = None, workers: int = 4) -> Applier:
        return Applier(
            plan,
            catalog if catalog is not None else self.connection.catalog,
            self.connection.storage,
            self.journal,
            self.events.append,
            self.connection.hasher,
            workers=workers,
        )

    def datasets(self) -> list[dict[str, Any]]:
        """Every dataset in the sandbox, with its file blocks and attachments."""
        query = {"include": ["origdatablocks", "attachments"], "limits": {"limit": 1000}}
        answer = requests.get(
            self.sandbox.root_url + "/v4/datasets",
            params={"filter": json.dumps(query)},
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=30,
        )
        answer.raise_for_status()
        found: list[dict[str, Any]] = answer.json()
        return found

    def samples(self) -> list[dict[str, Any]]:
        answer = requests.get(
            self.sandbox.url + "/samples",
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=30,
        )
        answer.raise_for_status()
        found: list[dict[str, Any]] = answer.json()
        return found


@pytest.fixture
def setup(tmp_path: Path, scicat_sandbox: SandboxServer) -> Iterator[Setup]:
    root = tmp_path / "project"
    root.mkdir()
    write_project(root, scicat_sandbox.url, tmp_path / "store")
    token = scicat_sandbox.login("ingestor")
    project = api.load_project([root / "scisync.yaml"])
    with api.connect(project, environ={"SCICAT_TOKEN": token}) as connection:
        yield Setup(project, connection, scicat_sandbox, token)
    forget_secrets()


Hook = Callable[[str, tuple[Any, ...], Mapping[str, Any]], None]


class Watched:
    """A SciCat client whose writes call *before* and *after* around the real request.

    For watching the applier (what the journal says at the moment of a write) and for
    fault injection (a hook that raises): everything below is the real client over HTTP.
    """

    def __init__(self, inner: Any, *, before: Hook | None = None, after: Hook | None = None):
        self._inner = inner
        self._before = before
        self._after = after

    def __getattr__(self, name: str) -> Any:
        real = getattr(self._inner, name)
        if name not in WRITES:
            return real

        def write(*args: Any, **kwargs: Any) -> Any:
            if self._before is not None:
                self._before(name, args, kwargs)
            result = real(*args, **kwargs)
            if self._after is not None:
                self._after(name, args, kwargs)
            return result

        return write

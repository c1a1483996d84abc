"""What the applier tests hold on to: the project with its open connection
(:class:`Setup`, made by the ``setup`` fixture in conftest.py) and a SciCat client whose
writes can be watched or broken (:class:`Watched`). Imported by this module's own name,
never through conftest, so any set of test folders collects together."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import requests

from scisync import api
from scisync.apply.events import ApplyEvent
from scisync.apply.executor import Applier
from scisync.apply.journal import Journal
from scisync.plan.model import Plan
from scisync.sandbox import SandboxServer

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

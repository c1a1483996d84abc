"""The harness for the table of hostile inputs (test_hostile_inputs.py).

A :class:`Hostile` case prepares one hostile input in a fresh project (a manifest with
two raw datasets and a derived one, local storage, the sandbox over real HTTP), names
the command to run through the real CLI, and states the outcome: exit code and a message
fragment.  :func:`run_case` checks that outcome plus what every case shares: no
"internal error", and nothing written, neither in the project and storage folders nor in
the catalogue.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from click.testing import CliRunner

from scisync.cli import main
from scisync.sandbox import SandboxServer
from tests.e2e.workspace import Workspace, storage_yaml, write_manifest

PROJECT = "e2e"  # the project name write_manifest uses
BLAKE3 = "ab" * 32


@dataclass(frozen=True)
class Hostile:
    """One hostile input and the outcome it must have."""

    name: str
    prepare: Callable[[Workspace], list[str]]  # makes the input; returns the CLI arguments
    fragment: str  # in the output, case-insensitively
    exit_code: int = 1
    # Files the command may leave behind although it fails (none, for almost every case).
    may_write: frozenset[str] = field(default_factory=frozenset)


def make_workspace(root: Path, sandbox: SandboxServer, token: str) -> Workspace:
    project = root / "project"
    project.mkdir(parents=True)
    store = root / "store"
    storage = storage_yaml("local", store)
    write_manifest(project, sandbox.url, storage)
    return Workspace(root=project, sandbox=sandbox, token=token, store=store, storage=storage)


def snapshot(*roots: Path) -> dict[bytes, str]:
    """Every entry under *roots* (bytes paths: hostile names need not be UTF-8) with its
    content digest, a folder marker or its link target.  Symlinks are not followed."""
    found: dict[bytes, str] = {}
    for root in roots:
        base = os.fsencode(root)
        if not os.path.lexists(base):
            continue
        for folder, folders, files in os.walk(base):
            for name in folders + files:
                path = os.path.join(folder, name)
                try:
                    found[path] = _state(path)
                except OSError as error:  # e.g. a path longer than PATH_MAX
                    found[path] = f"unreachable:{error.errno}"
    return found


def _state(path: bytes) -> str:
    if os.path.islink(path):
        return "link:" + os.fsdecode(os.readlink(path))
    if os.path.isdir(path):
        return "folder"
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


def catalogue(sandbox: SandboxServer, token: str) -> tuple[list[str], list[str]]:
    """The pids of every dataset and the ids of every sample in the sandbox."""
    headers = {"Authorization": f"Bearer {token}"}
    datasets = requests.get(
        sandbox.root_url + "/v4/datasets",
        params={"filter": json.dumps({"limits": {"limit": 100000}})},
        headers=headers,
        timeout=30,
    ).json()
    samples = requests.get(sandbox.url + "/samples", headers=headers, timeout=30).json()
    return sorted(d["pid"] for d in datasets), sorted(s["sampleId"] for s in samples)


def run_cli(workspace: Workspace, args: list[str]) -> tuple[int, str]:
    runner = CliRunner()
    env = {"SCICAT_TOKEN": workspace.token, "NO_COLOR": "1"}
    result = runner.invoke(
        main, ["-C", str(workspace.root), *args], env=env, catch_exceptions=False
    )
    return result.exit_code, result.output


def check_outcome(case: Hostile, code: int, output: str) -> None:
    assert code == case.exit_code, output
    assert case.fragment.lower() in output.lower(), output
    assert "internal error" not in output
    assert "Traceback" not in output


def run_case(case: Hostile, workspace: Workspace) -> str:
    """Prepare, run and check *case*; returns the output for further checks."""
    args = case.prepare(workspace)
    roots = (workspace.root, workspace.store)
    before = snapshot(*roots), catalogue(workspace.sandbox, workspace.token)
    code, output = run_cli(workspace, args)
    after = snapshot(*roots), catalogue(workspace.sandbox, workspace.token)
    check_outcome(case, code, output)
    written = {
        os.fsdecode(path)
        for path in set(before[0]) ^ set(after[0])
        | {p for p in before[0] if p in after[0] and before[0][p] != after[0][p]}
    }
    allowed = {str(workspace.root / name) for name in case.may_write}
    assert {p for p in written if not any(p.startswith(a) for a in allowed)} == set(), output
    assert before[1] == after[1], "the catalogue changed"
    return output


# --- building hostile lockfiles -------------------------------------------------------


def lock_text(
    datasets: Mapping[str, Any] | None = None,
    samples: Mapping[str, Any] | None = None,
    downloads: Mapping[str, Any] | None = None,
    **extra: Any,
) -> str:
    data = {
        "version": 1,
        "project": PROJECT,
        "datasets": dict(datasets or {}),
        "samples": dict(samples or {}),
        "downloads": dict(downloads or {}),
        **extra,
    }
    return json.dumps(data, indent=2, ensure_ascii=False)


def locked_file(path: str, size: int = 6, blake3: str = BLAKE3) -> dict[str, Any]:
    return {"path": path, "size": size, "blake3": blake3}


def locked_dataset(pid: str = "pid/1", **changes: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "pid": pid,
        "fields_digest": "sha256:" + "0" * 64,
        "files": [locked_file("frame-1.dat")],
        "attachments": [],
        "supersedes": [],
    }
    entry.update(changes)
    return entry

"""Shared helpers for the sandbox tests: sessions per account and valid bodies."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import requests

from scisync.sandbox import SandboxServer


def session(server: SandboxServer, username: str | None) -> requests.Session:
    """A requests session logged in as *username* (None: anonymous)."""
    s = requests.Session()
    if username is not None:
        s.headers["Authorization"] = f"Bearer {server.login(username)}"
    return s


def quoted(pid: str) -> str:
    return quote(pid, safe="")


def v4_dataset(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "ownerGroup": "ingestor",
        "contactEmail": "scientist@example.org",
        "sourceFolder": "/data/run1/reduced",
        "creationTime": "2026-01-02T03:04:05Z",
        "datasetName": "reduced run 1",
        "type": "derived",
    }
    body.update(overrides)
    return body


def v3_raw_dataset(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "ownerGroup": "ingestor",
        "owner": "Ada",
        "contactEmail": "scientist@example.org",
        "sourceFolder": "/data/run1/raw",
        "creationTime": "2026-01-02T03:04:05Z",
        "type": "raw",
        "principalInvestigator": "Ada",
        "creationLocation": "beamline 1",
    }
    body.update(overrides)
    return body


def block(dataset_id: str | None, n_files: int = 2, size: int = 10) -> dict[str, Any]:
    body: dict[str, Any] = {
        "size": size * n_files,
        "dataFileList": [
            {"path": f"file{i}.h5", "size": size, "time": "2026-01-02T03:04:05Z"}
            for i in range(n_files)
        ],
    }
    if dataset_id is not None:
        body["datasetId"] = dataset_id
    return body

"""A raw dataset's create body for the client tests against the sandbox."""

from __future__ import annotations

from scisync._util.jsontypes import JsonObject
from scisync.desired.ids import make_marker


def dataset_body(key: str, *, pid: str | None = None, **extra: object) -> JsonObject:
    body: JsonObject = {
        "type": "raw",
        "datasetName": key,
        "ownerGroup": "ingestor",
        "accessGroups": ["group1"],
        "contactEmail": "ingestor@sandbox.invalid",
        "owner": "Ingestor",
        "sourceFolder": f"/data/{key}",
        "creationTime": "2026-11-21T09:00:00Z",
        "principalInvestigators": ["PI"],
        "scientificMetadata": {"scisync_marker": make_marker("proj", key), "temperature": 5},
    }
    if pid is not None:
        body["pid"] = pid
    body.update(extra)  # type: ignore[arg-type]
    return body

"""The sandbox over real HTTP: the happy paths scisync's client relies on."""

from __future__ import annotations

import json

from scisync.sandbox import SandboxServer
from tests.sandbox.helpers import block, quoted, session, v3_raw_dataset, v4_dataset


def test_login_returns_token_and_whoami_lists_groups(scicat_sandbox: SandboxServer) -> None:
    s = session(scicat_sandbox, None)
    reply = s.post(
        f"{scicat_sandbox.url}/auth/login",
        json={"username": "ingestor", "password": "sandbox-ingestor"},
    )
    assert reply.status_code == 201
    body = reply.json()
    assert body["id"] == body["access_token"]
    assert body["expires_in"] == body["ttl"] == 3600
    assert "password" not in body["user"]
    who = s.get(
        f"{scicat_sandbox.url}/auth/whoami",
        headers={"Authorization": f"Bearer {body['access_token']}"},
    )
    assert who.status_code == 200
    assert who.json()["username"] == "ingestor"
    assert who.json()["currentGroups"] == ["ingestor"]


def test_whoami_anonymous_is_empty_200(scicat_sandbox: SandboxServer) -> None:
    reply = session(scicat_sandbox, None).get(f"{scicat_sandbox.url}/auth/whoami")
    assert reply.status_code == 200
    assert reply.content == b""


def test_v4_create_assigns_prefixed_pid_and_server_fields(scicat_sandbox: SandboxServer) -> None:
    s = session(scicat_sandbox, "user1")
    reply = s.post(
        f"{scicat_sandbox.root_url}/v4/datasets",
        json=v4_dataset(ownerGroup="group1", classification="mine"),
    )
    assert reply.status_code == 201, reply.text
    doc = reply.json()
    prefix, _, uuid_part = doc["pid"].partition("/")
    assert prefix == "20.500.12269" and len(uuid_part) == 36
    assert doc["_id"] == doc["pid"]
    assert doc["version"] == "4"
    assert doc["classification"] == "IN=medium,AV=low,CO=low"
    assert doc["createdBy"] == "user1"
    assert doc["creationTime"] == "2026-01-02T03:04:05.000Z"
    assert doc["isPublished"] is False
    fetched = s.get(f"{scicat_sandbox.root_url}/v4/datasets/{quoted(doc['pid'])}")
    assert fetched.status_code == 200
    assert fetched.json()["datasetName"] == "reduced run 1"


def test_v3_raw_create_stores_arrays_and_answers_with_singulars(
    scicat_sandbox: SandboxServer,
) -> None:
    s = session(scicat_sandbox, "ingestor")
    reply = s.post(f"{scicat_sandbox.url}/Datasets", json=v3_raw_dataset(proposalId="p1"))
    assert reply.status_code == 201, reply.text
    doc = reply.json()
    assert doc["proposalIds"] == ["p1"] and doc["proposalId"] == "p1"
    assert doc["principalInvestigators"] == ["Ada"]
    assert doc["datasetName"] == "run1/raw"  # derived from sourceFolder
    v4 = s.get(f"{scicat_sandbox.root_url}/v4/datasets/{quoted(doc['pid'])}").json()
    assert "proposalId" not in v4 and v4["proposalIds"] == ["p1"]


def test_an_include_scope_projects_the_included_documents(scicat_sandbox: SandboxServer) -> None:
    """SciCat (v4.24+) runs an include's ``scope.fields`` as a ``$project`` of the included
    documents, ``_id`` kept: the block summaries scisync asks settled datasets for."""
    s = session(scicat_sandbox, "ingestor")
    root = scicat_sandbox.root_url
    body = v4_dataset(scientificMetadata={"scisync_marker": "scoped"})
    pid = s.post(f"{root}/v4/datasets", json=body).json()["pid"]
    stored = s.post(f"{root}/v4/origdatablocks", json=block(pid, n_files=3)).json()
    scoped = {"relation": "origdatablocks", "scope": {"fields": ["size", "updatedAt", "nope"]}}
    cases = [  # (include, the fields each block comes with)
        (["origdatablocks"], set(stored)),
        ([scoped], {"_id", "size", "updatedAt"}),
        ([{**scoped, "scope": {"fields": ["_id", "dataFileList"]}}], {"_id", "dataFileList"}),
        ([{"relation": "origdatablocks"}], set(stored)),
    ]
    for include, fields in cases:
        filter_ = {"where": {"scientificMetadata.scisync_marker": "scoped"}, "include": include}
        reply = s.get(f"{root}/v4/datasets", params={"filter": json.dumps(filter_)})
        assert reply.status_code == 200, reply.text
        (found,) = reply.json()
        (got,) = found["origdatablocks"]
        assert set(got) == fields, include
        assert got == {name: stored[name] for name in fields}
    single = s.get(
        f"{root}/v3/datasets/{quoted(pid)}", params={"filter": json.dumps({"include": [scoped]})}
    )
    assert single.status_code == 200, single.text
    assert single.json()["origdatablocks"] == [
        {"_id": stored["_id"], "size": stored["size"], "updatedAt": stored["updatedAt"]}
    ]
    for scope in ({"where": {}}, {"limits": {"limit": 1}}, "fields", {"fields": "size"}):
        filter_ = {"include": [{"relation": "origdatablocks", "scope": scope}]}
        reply = s.get(f"{root}/v4/datasets", params={"filter": json.dumps(filter_)})
        assert reply.status_code == 400, (scope, reply.text)


def test_batched_lookup_with_includes(scicat_sandbox: SandboxServer) -> None:
    s = session(scicat_sandbox, "ingestor")
    root = scicat_sandbox.root_url
    pids = []
    for marker in ("a", "b", "c"):
        body = v4_dataset(scientificMetadata={"scisync_marker": marker})
        pid = s.post(f"{root}/v4/datasets", json=body).json()["pid"]
        pids.append(pid)
        assert s.post(f"{root}/v4/origdatablocks", json=block(pid)).status_code == 201
        attachment = {
            "caption": f"plot {marker}",
            "isPublished": False,
            "ownerGroup": "ingestor",
            "relationships": [{"targetId": pid, "targetType": "dataset"}],
        }
        assert s.post(f"{root}/v4/attachments", json=attachment).status_code == 201
    filter_ = {
        "where": {"scientificMetadata.scisync_marker": {"$in": ["a", "c"]}},
        "include": ["origdatablocks", "attachments"],
        "limits": {"limit": 1000, "skip": 0},
    }
    reply = s.get(f"{root}/v4/datasets", params={"filter": json.dumps(filter_)})
    assert reply.status_code == 200, reply.text
    found = {d["pid"]: d for d in reply.json()}
    assert set(found) == {pids[0], pids[2]}
    for pid in (pids[0], pids[2]):
        assert [b["datasetId"] for b in found[pid]["origdatablocks"]] == [pid]
        assert len(found[pid]["attachments"]) == 1
    blocks = s.get(
        f"{root}/v4/origdatablocks",
        params={"filter": json.dumps({"where": {"datasetId": {"$in": pids[:2]}}})},
    ).json()
    assert sorted(b["datasetId"] for b in blocks) == sorted(pids[:2])
    attachments = s.get(
        f"{root}/v4/attachments",
        params={"filter": json.dumps({"where": {"relationships.targetId": {"$in": [pids[1]]}}})},
    ).json()
    assert [a["caption"] for a in attachments] == ["plot b"]


def test_stats_count_requests_by_route(scicat_sandbox: SandboxServer) -> None:
    s = session(scicat_sandbox, "ingestor")
    s.get(f"{scicat_sandbox.url}/datasets")
    s.get(f"{scicat_sandbox.url}/datasets/x%2Fy")
    s.get(f"{scicat_sandbox.url}/datasets/x%2Fz")
    stats = scicat_sandbox.stats()
    assert stats["GET /v3/datasets"] == 1
    assert stats["GET /v3/datasets/{pid}"] == 2
    timings = scicat_sandbox.timings()
    assert set(timings) == set(stats)
    assert all(seconds > 0 for seconds in timings.values())
    scicat_sandbox.reset_stats()
    assert scicat_sandbox.stats() == {} and scicat_sandbox.timings() == {}

"""The backend's observable quirks, reproduced on purpose."""

from __future__ import annotations

import json
from pathlib import Path

from scisync.sandbox import SandboxServer, SandboxSettings
from tests.sandbox.helpers import block, quoted, session, v3_raw_dataset, v4_dataset


def _create(server: SandboxServer, **overrides: object) -> str:
    s = session(server, "ingestor")
    reply = s.post(f"{server.root_url}/v4/datasets", json=v4_dataset(**overrides))
    assert reply.status_code == 201, reply.text
    pid: str = reply.json()["pid"]
    return pid


def test_si_units_are_added_to_quantities(scicat_sandbox: SandboxServer) -> None:
    pid = _create(
        scicat_sandbox,
        scientificMetadata={
            "length": {"value": 25, "unit": "mm"},
            "temperature": {"value": 0, "unit": "degC"},
            "unknown": {"value": 3, "unit": "furlong"},
            "no_unit": {"value": 3, "unit": ""},
            "plain": 7,
        },
    )
    doc = session(scicat_sandbox, "ingestor").get(
        f"{scicat_sandbox.root_url}/v4/datasets/{quoted(pid)}"
    )
    meta = doc.json()["scientificMetadata"]
    assert meta["length"] == {"value": 25, "unit": "mm", "valueSI": 0.025, "unitSI": "m"}
    assert meta["temperature"]["valueSI"] == 273.15 and meta["temperature"]["unitSI"] == "K"
    assert meta["unknown"]["unitSI"] == "furlong"
    assert meta["no_unit"] == {"value": 3, "unit": ""}
    assert meta["plain"] == 7


def test_json_patch_replaces_scientific_metadata(scicat_sandbox: SandboxServer) -> None:
    pid = _create(scicat_sandbox, scientificMetadata={"a": 1, "b": {"c": 2}})
    s = session(scicat_sandbox, "ingestor")
    reply = s.patch(
        f"{scicat_sandbox.root_url}/v4/datasets/{quoted(pid)}",
        json={"scientificMetadata": {"b": {"d": 3}}},
    )
    assert reply.status_code == 200, reply.text
    assert reply.json()["scientificMetadata"] == {"b": {"d": 3}}


def test_merge_patch_merges_and_null_deletes(scicat_sandbox: SandboxServer) -> None:
    pid = _create(scicat_sandbox, scientificMetadata={"a": 1, "b": {"c": 2}, "gone": 1})
    s = session(scicat_sandbox, "ingestor")
    reply = s.patch(
        f"{scicat_sandbox.root_url}/v4/datasets/{quoted(pid)}",
        data=json.dumps({"scientificMetadata": {"b": {"d": 3}, "gone": None}}),
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert reply.status_code == 200, reply.text
    assert reply.json()["scientificMetadata"] == {"a": 1, "b": {"c": 2, "d": 3}}


def test_patch_of_quantity_needs_value_and_unit(scicat_sandbox: SandboxServer) -> None:
    pid = _create(scicat_sandbox, scientificMetadata={"t": {"value": 1, "unit": "K"}})
    s = session(scicat_sandbox, "ingestor")
    reply = s.patch(
        f"{scicat_sandbox.root_url}/v4/datasets/{quoted(pid)}",
        json={"scientificMetadata": {"t": {"value": 2}}},
    )
    assert reply.status_code == 400


def test_patch_keeps_classification_server_owned(scicat_sandbox: SandboxServer) -> None:
    pid = _create(scicat_sandbox)
    s = session(scicat_sandbox, "ingestor")
    reply = s.patch(
        f"{scicat_sandbox.root_url}/v4/datasets/{quoted(pid)}", json={"classification": "x"}
    )
    assert reply.json()["classification"] == "IN=medium,AV=low,CO=low"


def test_origdatablocks_add_to_size_and_file_count(scicat_sandbox: SandboxServer) -> None:
    pid = _create(scicat_sandbox)
    s = session(scicat_sandbox, "ingestor")
    root = scicat_sandbox.root_url
    first = s.post(f"{root}/v4/origdatablocks", json=block(pid, n_files=3, size=10))
    assert first.status_code == 201
    nested = s.post(f"{root}/v3/datasets/{quoted(pid)}/origdatablocks", json=block(None, 2, 5))
    assert nested.status_code == 201, nested.text
    assert nested.json()["ownerGroup"] == "ingestor"  # copied from the dataset
    doc = s.get(f"{root}/v4/datasets/{quoted(pid)}").json()
    assert (doc["size"], doc["numberOfFiles"]) == (40, 5)
    count = s.get(f"{root}/v3/datasets/{quoted(pid)}/origdatablocks/count").json()
    assert count == {"count": 2}


def test_sample_patch_without_is_published_unpublishes(scicat_sandbox: SandboxServer) -> None:
    s = session(scicat_sandbox, "user1")
    url = f"{scicat_sandbox.url}/samples"
    created = s.post(
        url,
        json={
            "sampleName": "wafer",
            "ownerGroup": "group1",
            "isPublished": True,
            "sampleCharacteristics": {"mass": {"value": 5, "unit": "g"}},
        },
    )
    assert created.status_code == 201, created.text
    sample = created.json()
    assert sample["isPublished"] is True
    assert sample["sampleCharacteristics"]["mass"]["valueSI"] == 0.005
    patched = s.patch(f"{url}/{sample['sampleId']}", json={"description": "polished"})
    assert patched.status_code == 200, patched.text
    assert patched.json()["isPublished"] is False
    assert patched.json()["description"] == "polished"


def test_v3_attachment_list_is_capped_at_ten(scicat_sandbox: SandboxServer) -> None:
    pid = _create(scicat_sandbox)
    s = session(scicat_sandbox, "ingestor")
    url = f"{scicat_sandbox.url}/datasets/{quoted(pid)}/attachments"
    for i in range(12):
        reply = s.post(url, json={"caption": f"plot {i}", "ownerGroup": "whatever"})
        assert reply.status_code == 201, reply.text
        assert reply.json()["ownerGroup"] == "ingestor"  # overwritten by the dataset's
        assert reply.json()["datasetId"] == pid
    listed = s.get(url).json()
    assert len(listed) == 10
    assert s.get(f"{url}/count").json() == {"count": 10}
    everything = s.get(
        f"{scicat_sandbox.root_url}/v4/attachments",
        params={
            "filter": json.dumps(
                {"where": {"relationships.targetId": pid}, "limits": {"limit": 100}}
            )
        },
    ).json()
    assert len(everything) == 12


def test_v3_where_turns_date_like_strings_into_dates(scicat_sandbox: SandboxServer) -> None:
    pid = _create(scicat_sandbox, keywords=["2026-01-01 run"], runNumber="2026-01-01 run")
    s = session(scicat_sandbox, "ingestor")
    url = f"{scicat_sandbox.url}/datasets"

    def pids(where: dict[str, object]) -> list[str]:
        reply = s.get(url, params={"filter": json.dumps({"where": where})})
        assert reply.status_code == 200, reply.text
        return [d["pid"] for d in reply.json()]

    assert pids({"runNumber": "2026-01-01 run"}) == []  # became a Date: no match
    assert pids({"runNumber": {"inq": ["2026-01-01 run"]}}) == [pid]  # arrays stay literal
    assert pids({"creationTime": {"gte": "2026-01-01"}}) == [pid]  # a real date field
    assert pids({"creationTime": {"gt": "2026-02-01"}}) == []
    # v4 passes strings through unchanged.
    v4 = s.get(
        f"{scicat_sandbox.root_url}/v4/datasets",
        params={"filter": json.dumps({"where": {"runNumber": "2026-01-01 run"}})},
    )
    assert [d["pid"] for d in v4.json()] == [pid]


def test_default_list_limits(scicat_sandbox: SandboxServer) -> None:
    s = session(scicat_sandbox, "ingestor")
    root = scicat_sandbox.root_url
    for i in range(12):
        s.post(f"{root}/v4/datasets", json=v4_dataset(datasetName=f"d{i}"))
    v4 = s.get(f"{root}/v4/datasets").json()
    assert len(v4) == 10
    assert [d["datasetName"] for d in v4][:2] == ["d11", "d10"]  # newest first
    assert len(s.get(f"{root}/v3/datasets").json()) == 12  # v3 default limit is 100
    ignored = s.get(f"{root}/v3/datasets", params={"filter": json.dumps({"limit": 2})}).json()
    assert len(ignored) == 12  # top-level limit is ignored
    paged = s.get(
        f"{root}/v3/datasets",
        params={
            "filter": json.dumps({"limits": {"limit": 2, "skip": 1, "order": "datasetName:asc"}})
        },
    ).json()
    assert [d["datasetName"] for d in paged] == ["d1", "d10"]
    assert s.get(f"{root}/v3/datasets/count").json() == {"count": 12}


def test_read_access_follows_groups_and_publication(scicat_sandbox: SandboxServer) -> None:
    root = scicat_sandbox.root_url
    private = _create(scicat_sandbox)
    shared = _create(scicat_sandbox, accessGroups=["group1"])
    published = _create(scicat_sandbox, isPublished=True)
    user1 = session(scicat_sandbox, "user1")
    seen = {d["pid"] for d in user1.get(f"{root}/v3/datasets").json()}
    assert seen == {shared, published}
    anonymous = session(scicat_sandbox, None)
    assert [d["pid"] for d in anonymous.get(f"{root}/v3/datasets").json()] == [published]
    assert anonymous.get(f"{root}/v3/datasets/{quoted(private)}").status_code == 403
    admin = session(scicat_sandbox, "admin")
    assert len(admin.get(f"{root}/v3/datasets").json()) == 3


def test_privileged_group_may_supply_pid_verbatim(scicat_sandbox: SandboxServer) -> None:
    s = session(scicat_sandbox, "ingestor")
    reply = s.post(f"{scicat_sandbox.url}/datasets", json=v3_raw_dataset(pid="my/own-pid"))
    assert reply.status_code == 201, reply.text
    assert reply.json()["pid"] == "my/own-pid"
    assert s.get(f"{scicat_sandbox.url}/Datasets/my%2Fown-pid").status_code == 200


def test_included_blocks_are_access_filtered(scicat_sandbox: SandboxServer) -> None:
    root = scicat_sandbox.root_url
    ingestor = session(scicat_sandbox, "ingestor")
    pid = _create(scicat_sandbox, isPublished=True, scientificMetadata={"k": "pub"})
    assert ingestor.post(f"{root}/v4/origdatablocks", json=block(pid)).status_code == 201
    published_block = {**block(pid), "isPublished": True}
    assert ingestor.post(f"{root}/v4/origdatablocks", json=published_block).status_code == 201
    query = {"where": {"scientificMetadata.k": "pub"}, "include": ["origdatablocks"]}
    params = {"filter": json.dumps(query)}
    mine = ingestor.get(f"{root}/v4/datasets", params=params).json()
    assert len(mine[0]["origdatablocks"]) == 2
    theirs = session(scicat_sandbox, "user1").get(f"{root}/v4/datasets", params=params).json()
    assert [b["isPublished"] for b in theirs[0]["origdatablocks"]] == [True]
    single = session(scicat_sandbox, "user1").get(
        f"{root}/v4/datasets/{quoted(pid)}", params={"include": "origdatablocks"}
    )
    assert len(single.json()["origdatablocks"]) == 1


def test_unknown_include_is_rejected(scicat_sandbox: SandboxServer) -> None:
    reply = session(scicat_sandbox, "ingestor").get(
        f"{scicat_sandbox.root_url}/v4/datasets",
        params={"filter": json.dumps({"include": ["origdatablocks", "friends"]})},
    )
    assert reply.status_code == 400


def test_if_unmodified_since_guards_patches(scicat_sandbox: SandboxServer) -> None:
    pid = _create(scicat_sandbox)
    s = session(scicat_sandbox, "ingestor")
    url = f"{scicat_sandbox.root_url}/v4/datasets/{quoted(pid)}"
    stale = s.patch(
        url,
        json={"description": "x"},
        headers={"If-Unmodified-Since": "Thu, 01 Jan 2026 00:00:00 GMT"},
    )
    assert stale.status_code == 412
    fresh = s.patch(
        url,
        json={"description": "y"},
        headers={"If-Unmodified-Since": "Fri, 01 Jan 2100 00:00:00 GMT"},
    )
    assert fresh.status_code == 200
    assert s.get(url).json()["description"] == "y"


def test_patch_resets_counters_when_configured(tmp_path: Path) -> None:
    settings = SandboxSettings(patch_resets_counters=True)
    with SandboxServer(tmp_path, settings=settings) as server:
        s = session(server, "ingestor")
        pid = s.post(f"{server.root_url}/v4/datasets", json=v4_dataset()).json()["pid"]
        s.post(f"{server.root_url}/v4/origdatablocks", json=block(pid))
        url = f"{server.root_url}/v4/datasets/{quoted(pid)}"
        assert s.get(url).json()["numberOfFiles"] == 2
        patched = s.patch(url, json={"description": "x"}).json()
        assert (patched["size"], patched["numberOfFiles"]) == (0, 0)


def test_shared_with_counts_for_lists_but_not_for_get(scicat_sandbox: SandboxServer) -> None:
    pid = _create(scicat_sandbox, sharedWith=["user1@sandbox.invalid"])
    user1 = session(scicat_sandbox, "user1")
    listed = user1.get(f"{scicat_sandbox.url}/datasets").json()
    assert [d["pid"] for d in listed] == [pid]
    assert user1.get(f"{scicat_sandbox.url}/datasets/{quoted(pid)}").status_code == 403


def test_pid_validation_regex_when_enabled(tmp_path: Path) -> None:
    settings = SandboxSettings.from_environ(
        {
            "DATASET_CREATION_VALIDATION_ENABLED": "true",
            "DATASET_CREATION_VALIDATION_REGEX": "^20\\.500\\.12269/",
        }
    )
    with SandboxServer(tmp_path, settings=settings) as server:
        s = session(server, "ingestor")
        bad = s.post(f"{server.root_url}/v4/datasets", json=v4_dataset(pid="other/1"))
        assert bad.status_code == 400
        assert bad.json()["message"] == "PID is not following required standards"
        good = s.post(f"{server.root_url}/v4/datasets", json=v4_dataset(pid="20.500.12269/1"))
        assert good.status_code == 201
    assert (
        SandboxSettings.from_environ(
            {"DATASET_CREATION_VALIDATION_REGEX": "^x"}
        ).dataset_creation_validation_regex
        is None
    )  # not enabled


def test_v3_answers_carry_the_singular_ids_of_non_empty_arrays(
    scicat_sandbox: SandboxServer,
) -> None:
    # convertCurrentToObsoleteSchema (src/datasets/datasets.controller.ts): the first element
    # of each non-empty array; no `investigator` (the schema has no such path).
    full = _create(
        scicat_sandbox,
        proposalIds=["p1", "p2"],
        sampleIds=["s1"],
        instrumentIds=["i1"],
        principalInvestigators=["Ada"],
    )
    empty = _create(scicat_sandbox)
    s = session(scicat_sandbox, "ingestor")
    got = s.get(f"{scicat_sandbox.root_url}/v3/datasets/{quoted(full)}").json()
    assert (got["proposalId"], got["sampleId"], got["instrumentId"]) == ("p1", "s1", "i1")
    assert got["principalInvestigator"] == "Ada" and got["proposalIds"] == ["p1", "p2"]
    assert "investigator" not in got  # a derived dataset
    bare = s.get(f"{scicat_sandbox.root_url}/v3/datasets/{quoted(empty)}").json()
    assert not {"proposalId", "sampleId", "instrumentId", "principalInvestigator"} & set(bare)
    v4 = s.get(f"{scicat_sandbox.root_url}/v4/datasets/{quoted(full)}").json()
    assert "proposalId" not in v4

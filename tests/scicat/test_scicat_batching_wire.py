"""What batched lookups put on the wire: chunked $in lists, short URLs, pagination."""

from __future__ import annotations

from urllib.parse import unquote

from scisync.scicat.client import MAX_URL_LENGTH, ScicatClient
from tests.scicat.fault_server import Answer, FaultServer, Recorded


def _marker_docs(record: Recorded) -> Answer:
    where = record.filter["where"]
    assert isinstance(where, dict)
    markers = where["scientificMetadata.scisync_marker"]["$in"]
    docs = [
        {"pid": f"pid-{m}", "scientificMetadata": {"scisync_marker": m}, "origdatablocks": []}
        for m in markers
    ]
    return Answer(200, docs)


def test_markers_are_chunked_below_the_url_limit(fault_server: FaultServer) -> None:
    fault_server.responder = _marker_docs
    markers = [f"a-rather-long-project-name/dataset-key-number-{i:05d}" for i in range(1000)]
    with ScicatClient(fault_server.url, "tok-abcdef") as client:
        found = client.find_datasets_by_markers(markers)
    requests = fault_server.requests
    assert 2 <= len(requests) <= 20
    assert client.request_count == len(requests)
    for record in requests:
        url = f"http://127.0.0.1:{fault_server.port}{record.path}?{record.query}"
        assert len(url) <= MAX_URL_LENGTH
        assert record.path == "/api/v4/datasets"
        assert record.filter["include"] == ["origdatablocks", "attachments"]
    sent = [
        m for r in requests for m in r.filter["where"]["scientificMetadata.scisync_marker"]["$in"]
    ]
    assert sorted(sent) == sorted(markers)
    assert found["a-rather-long-project-name/dataset-key-number-00007"][0].pid == (
        "pid-a-rather-long-project-name/dataset-key-number-00007"
    )
    assert all(len(found[m]) == 1 for m in markers)


def test_full_pages_are_followed_with_skip(fault_server: FaultServer) -> None:
    pids = [f"p{i}" for i in range(7)]

    def paged(record: Recorded) -> Answer:
        limits = record.filter["limits"]
        assert isinstance(limits, dict)
        skip, limit = limits["skip"], limits["limit"]
        return Answer(200, [{"pid": p} for p in pids[skip : skip + limit]])

    fault_server.responder = paged
    with ScicatClient(fault_server.url, "tok-abcdef", page_size=3) as client:
        found = client.get_datasets(pids)
    assert sorted(found) == pids
    skips = [r.filter["limits"]["skip"] for r in fault_server.requests]
    assert skips == [0, 3, 6]
    assert fault_server.requests[0].filter["limits"]["sort"] == {"pid": "asc"}


def test_empty_lookups_send_nothing(fault_server: FaultServer) -> None:
    with ScicatClient(fault_server.url, "tok-abcdef") as client:
        assert client.find_datasets_by_markers([]) == {}
        assert client.get_datasets([]) == {}
        assert client.get_samples([]) == {}
    assert fault_server.requests == []


def test_pids_with_slashes_are_percent_encoded(fault_server: FaultServer) -> None:
    fault_server.default = Answer(200, {"sampleId": "s/1"})
    with ScicatClient(fault_server.url, "tok-abcdef") as client:
        client.patch_attachment("a/b c", {"caption": "x"})
        client.patch_sample("s/1", {"description": "x"}, is_published=True)
    assert fault_server.requests[0].path == "/api/v4/attachments/a%2Fb%20c"
    assert fault_server.requests[1].path == "/api/v3/samples/s%2F1"
    assert fault_server.requests[1].json == {"description": "x", "isPublished": True}


def test_samples_use_v3_inq(fault_server: FaultServer) -> None:
    fault_server.default = Answer(200, [{"sampleId": "s1"}])
    with ScicatClient(fault_server.url, "tok-abcdef") as client:
        found = client.get_samples(["s1", "s2", "s1"])
    assert list(found) == ["s1"]
    sent = fault_server.requests[0]
    assert sent.path == "/api/v3/samples"
    assert sent.filter["where"] == {"sampleId": {"inq": ["s1", "s2"]}}
    assert "filter=" in sent.query and "%7B" in sent.query
    assert unquote(sent.query).startswith('filter={"where"')

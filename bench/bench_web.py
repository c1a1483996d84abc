"""How fast the sandbox's web pages answer over N datasets, against the JSON API.

Run: /work/venv/bin/python bench/bench_web.py [n_datasets]   (default 1,000; the issue's
figure is at 100,000, which takes a few minutes to fill over HTTP)

Beside the datasets it creates one published-data (DOI) record per 20 datasets (at least 4),
in every status, each citing one dataset: a catalogue has far fewer records than datasets.

Each page is timed next to its baseline: the JSON API request that returns the same
records (the same page of the list, the same search, the same dataset with its files).
Prints best-of-3 wall times and the ratio page/API; below 1 means the page is faster.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote

import requests

from scisync.sandbox import SandboxServer
from scisync.sandbox.web.session import COOKIE


def _best(fn: Callable[[], object], repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def _fill(server: SandboxServer, n: int) -> list[str]:
    token = server.login("admin")  # may create datasets owned by any group

    def post(numbers: range) -> list[str]:
        s = requests.Session()
        s.headers["Authorization"] = f"Bearer {token}"
        pids = []
        for i in numbers:
            body = {
                "ownerGroup": "ingestor" if i % 4 else "group1",
                "contactEmail": "a@example.org",
                "sourceFolder": f"/data/run{i}",
                "creationTime": f"2026-01-01T00:00:{i % 60:02d}Z",
                "datasetName": f"run {i}",
                "description": f"scan number {i} of the bench",
                "keywords": ["bench", f"k{i % 10}"],
                "type": "raw" if i % 2 else "derived",
                "isPublished": i % 3 == 0,
                "scientificMetadata": {"t": {"value": i, "unit": "K"}},
            }
            if i % 2 == 0 and i > 1:
                body["inputDatasets"] = [pids[-1]] if pids else []
            reply = s.post(f"{server.root_url}/v4/datasets", json=body)
            assert reply.status_code == 201, reply.text
            pids.append(reply.json()["pid"])
        return pids

    with ThreadPoolExecutor(max_workers=2) as pool:
        halves = list(pool.map(post, [range(0, n, 2), range(1, n, 2)]))
    return [pid for half in halves for pid in half]


STATUSES = ("private", "public", "registered", "amended")


def _fill_published(server: SandboxServer, pids: list[str], n: int) -> str:
    """*n* published-data records citing datasets of *pids*; the DOI of a registered one."""
    s = requests.Session()
    s.headers["Authorization"] = f"Bearer {server.login('admin')}"
    registered = ""
    for i in range(n):
        body = {
            "title": f"paper {i} on run {i * 7 % len(pids)}",
            "abstract": f"What paper {i} found.",
            "datasetPids": [pids[i * 7 % len(pids)]],
            "status": STATUSES[i % 4],
            "metadata": {
                "creators": [{"name": f"Author {i % 13}"}, {"name": "Ada Lovelace"}],
                "publisher": {"name": "Bench Facility", "publisherIdentifierScheme": "ROR"},
                "publicationYear": 2000 + i % 27,
                "resourceType": "Dataset",
            },
        }
        reply = s.post(f"{server.root_url}/v4/publisheddata", json=body)
        assert reply.status_code == 201, reply.text
        if body["status"] == "registered":
            registered = reply.json()["doi"]
    return registered


def _timings(server: SandboxServer, pid: str, doi: str) -> list[tuple[str, float, float]]:
    web = requests.Session()
    web.cookies.set(COOKIE, server.login("ingestor"))
    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {server.login('ingestor')}"
    anon = requests.Session()
    root, site = server.root_url, server.web_url
    page = {"limit": 25, "skip": 0, "sort": {"creationTime": "desc"}}

    def get(session: requests.Session, url: str, **params: str) -> Callable[[], object]:
        def call() -> None:
            reply = session.get(url, params=params)
            assert reply.status_code == 200, (url, reply.status_code)

        return call

    def v4(limits: dict[str, object]) -> str:
        return json.dumps({"limits": limits})

    deep = {**page, "skip": 25 * 99}
    pairs = [
        ("list, signed in", get(web, site), get(api, f"{root}/v4/datasets", filter=v4(page))),
        (
            "list, anonymous",
            get(anon, site),
            get(anon, f"{root}/v4/datasets/public", filter=v4(page)),
        ),
        (
            "list, page 100",
            get(web, site, page="100"),
            get(api, f"{root}/v4/datasets", filter=v4(deep)),
        ),
        (
            "list by name",
            get(web, site, sort="name", order="asc"),
            get(api, f"{root}/v4/datasets", filter=v4({**page, "sort": {"datasetName": "asc"}})),
        ),
        (
            "search 'run 12'",
            get(web, site, q="run 12"),
            get(
                api,
                f"{root}/v3/datasets/fullquery",
                fields='{"text": "run 12"}',
                limits='{"limit": 25}',
            ),
        ),
        (
            "published",
            get(anon, site + "published"),
            get(anon, f"{root}/v4/datasets/public", filter=v4(page)),
        ),
        (
            "dataset page",
            get(web, site + "datasets/" + quote(pid, safe="")),
            get(api, f"{root}/v4/datasets/{quote(pid, safe='')}", include="origdatablocks"),
        ),
        (
            "published data",
            get(web, site + "publisheddata"),
            get(api, f"{root}/v4/publisheddata", filter=v4({"limit": 25, "skip": 0})),
        ),
        (
            "p.d., anonymous",
            get(anon, site + "publisheddata", q="ada"),
            get(anon, f"{root}/v4/publisheddata", filter=v4({"limit": 25, "skip": 0})),
        ),
        (
            "p.d. record",
            get(web, site + "publisheddata/" + quote(doi, safe="")),
            get(api, f"{root}/v4/publisheddata/{quote(doi, safe='')}"),
        ),
    ]
    return [(name, _best(w), _best(a)) for name, w, a in pairs]


def main(n_datasets: int = 1000) -> None:
    with tempfile.TemporaryDirectory() as folder, SandboxServer(Path(folder)) as server:
        start = time.perf_counter()
        pids = _fill(server, n_datasets)
        print(f"filled {n_datasets} datasets over HTTP in {time.perf_counter() - start:.1f} s")
        n_published = max(4, n_datasets // 20)
        start = time.perf_counter()
        doi = _fill_published(server, pids, n_published)
        print(f"filled {n_published} published data records in {time.perf_counter() - start:.1f} s")
        # Odd-numbered datasets (the second half of *pids*) belong to the signed-in account,
        # so their page answers 200 whatever the size.
        readable = pids[(n_datasets + 1) // 2 :]
        rows = _timings(server, readable[len(readable) // 2], doi)
        print(f"{'page':<18} {'web page':>10} {'JSON API':>10} {'page/API':>9}")
        for name, web, api in rows:
            print(f"{name:<18} {web * 1000:>8.0f} ms {api * 1000:>8.0f} ms {web / api:>8.2f}x")
        assert server.errors() == [], server.errors()


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:2]))

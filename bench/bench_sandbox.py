"""Does the sandbox keep up? Its answers to a no-op plan's queries at up to a million files.

Run: python bench/bench_sandbox.py [n_datasets] [n_files] [--workdir DIR]

    python bench/bench_sandbox.py 10000 100 --workdir /tmp/sb   # one million files

Fills the sandbox over HTTP (N datasets, each with one block of M files, a marker and a
proposal id), then times, best of 3:

- the plan's lookup: scisync's own client (``find_datasets_by_markers``, the chunks and
  pages a no-op plan sends) for every marker, with files and attachments;
- the same lookup for one chunk of 200 markers, a count, a fullquery by proposal id;

each against a baseline run side by side: the same rows (dataset bodies by pid, their
blocks by dataset id) read straight from the sandbox's SQLite file, parsed and dumped as
one JSON answer with ``json.dumps``: no HTTP, no filtering, no access checks.  It also
prints the share of the client's lookup spent inside the sandbox (the server's own request
timings).  ``--workdir`` keeps the filled data folder and
reuses it on the next run (the fill takes minutes at a million files).
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from scisync.desired.ids import make_marker  # noqa: E402
from scisync.sandbox import SandboxServer  # noqa: E402
from scisync.sandbox.store import DB_FILE  # noqa: E402
from scisync.scicat.client import ScicatClient  # noqa: E402
from scisync.scicat.query import DatasetQuery  # noqa: E402

PROPOSALS = 100  # datasets are spread over this many proposal ids


def _best(fn: Callable[[], object], repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def marker(i: int) -> str:
    return make_marker("bench", f"ds-{i:06d}")


def populate(
    server: SandboxServer, session: requests.Session, n_datasets: int, n_files: int
) -> None:
    root = server.root_url
    files = [
        {"path": f"f{j:04d}.h5", "size": j, "time": "2026-01-01T00:00:00Z", "chk": "0" * 64}
        for j in range(n_files)
    ]
    for i in range(n_datasets):
        body = {
            "ownerGroup": "ingestor",
            "contactEmail": "a@example.org",
            "sourceFolder": f"/data/run{i}",
            "creationTime": "2026-01-01T00:00:00Z",
            "datasetName": f"run {i}",
            "type": "derived",
            "principalInvestigators": ["Bench"],
            "inputDatasets": [],
            "usedSoftware": ["bench"],
            "proposalIds": [f"p{i % PROPOSALS}"],
            "scientificMetadata": {"scisync_marker": marker(i), "t": {"value": i, "unit": "K"}},
        }
        answer = session.post(f"{root}/v4/datasets", json=body)
        answer.raise_for_status()
        block = {
            "datasetId": answer.json()["pid"],
            "size": sum(range(n_files)),
            "dataFileList": files,
        }
        session.post(f"{root}/v4/origdatablocks", json=block).raise_for_status()


class StoreReader:
    """The baseline: the same rows read straight from the sandbox's SQLite file."""

    def __init__(self, data_dir: Path) -> None:
        self._conn = sqlite3.connect(f"file:{data_dir / DB_FILE}?mode=ro", uri=True)

    def rows(self, pids: list[str], with_blocks: bool) -> int:
        """Read, parse and re-serialise the datasets *pids* (with their blocks): the least
        any JSON server over this store does for the same answer."""
        payload: list[dict[str, Any]] = []
        for start in range(0, len(pids), 500):
            chunk = pids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            datasets = {
                pid: json.loads(body)
                for pid, body in self._conn.execute(
                    f"SELECT id, body FROM docs WHERE collection='datasets' AND id IN ({marks})",
                    chunk,
                )
            }
            if with_blocks:
                for dataset in datasets.values():
                    dataset["origdatablocks"] = []
                for ref, body in self._conn.execute(
                    "SELECT r.ref, d.body FROM refs r JOIN docs d ON d.collection=r.collection"
                    " AND d.id=r.doc_id WHERE r.collection='origdatablocks'"
                    f" AND r.ref IN ({marks})",
                    chunk,
                ):
                    datasets[ref]["origdatablocks"].append(json.loads(body))
            payload.extend(datasets.values())
        return len(json.dumps(payload, ensure_ascii=False))

    def count(self) -> int:
        (total,) = self._conn.execute(
            "SELECT count(*) FROM docs WHERE collection='datasets'"
        ).fetchone()
        return int(total)

    def close(self) -> None:
        self._conn.close()


def _row(name: str, sandbox: float, baseline: float) -> None:
    print(
        f"{name:<34} {sandbox * 1000:9.0f} ms {baseline * 1000:9.0f} ms {sandbox / baseline:8.2f}x"
    )


def measure(server: SandboxServer, data_dir: Path, n_datasets: int) -> None:
    token = server.login("ingestor")
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    root = server.root_url
    client = ScicatClient(server.url, token)
    reader = StoreReader(data_dir)
    markers = [marker(i) for i in range(n_datasets)]
    found = client.find_datasets_by_markers(markers)
    pids = sorted(d.pid for ds in found.values() for d in ds)
    assert len(pids) == n_datasets, (len(pids), n_datasets)

    server.reset_stats()
    t_plan = _best(lambda: client.find_datasets_by_markers(markers))
    requests_per_lookup = sum(server.stats().values()) // 3
    in_sandbox = sum(server.timings().values()) / 3
    t_plan_base = _best(lambda: reader.rows(pids, with_blocks=True))

    chunk = markers[:200]
    query = {
        "where": {"scientificMetadata.scisync_marker": {"$in": chunk}},
        "include": ["origdatablocks", "attachments"],
        "limits": {"limit": 500, "skip": 0, "sort": {"pid": "asc"}},
    }

    def one_chunk() -> Any:
        answer = session.get(f"{root}/v4/datasets", params={"filter": json.dumps(query)})
        assert answer.status_code == 200 and len(answer.json()) == len(chunk)

    chunk_pids = sorted(d.pid for m in chunk for d in found[m])
    t_chunk = _best(one_chunk)
    t_chunk_base = _best(lambda: reader.rows(chunk_pids, with_blocks=True))

    def count() -> Any:
        answer = session.get(f"{root}/v4/datasets/count")
        assert answer.json() == {"count": n_datasets}, answer.text

    t_count = _best(count)
    t_count_base = _best(reader.count)

    proposal = DatasetQuery(proposal_ids=("p1",))
    expected = len(range(1, n_datasets, PROPOSALS))

    def fullquery() -> Any:
        matched = client.query_dataset_pids(proposal, limit=n_datasets)
        assert len(matched) == expected, (len(matched), expected)

    proposal_pids = client.query_dataset_pids(proposal, limit=n_datasets)
    t_full = _best(fullquery)
    t_full_base = _best(lambda: reader.rows(proposal_pids, with_blocks=False))

    t_trivial = _best(lambda: session.get(f"{server.url}/auth/whoami"), repeat=20)
    reader.close()
    client.close()
    print(f"{'query':<34} {'sandbox':>12} {'baseline':>12} {'ratio':>9}")
    _row(f"plan's lookup ({requests_per_lookup} requests)", t_plan, t_plan_base)
    _row("one chunk: 200 markers + files", t_chunk, t_chunk_base)
    _row("count (all datasets)", t_count, t_count_base)
    _row(f"fullquery, one proposal ({expected})", t_full, t_full_base)
    print(f"trivial request (whoami): {t_trivial * 1000:.2f} ms")
    print(
        f"the plan's lookup: {t_plan:.2f} s in the client, {in_sandbox:.2f} s of it inside the "
        f"sandbox ({in_sandbox / t_plan:.0%})"
    )
    print(f"ratio lookup/baseline: {t_plan / t_plan_base:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("datasets", type=int, nargs="?", default=1000)
    parser.add_argument("files", type=int, nargs="?", default=100)
    parser.add_argument("--workdir", type=Path, help="keep the filled data folder here, reuse it")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="scisync-bench-") as scratch:
        data_dir = args.workdir or Path(scratch)
        data_dir.mkdir(parents=True, exist_ok=True)
        reuse = (data_dir / DB_FILE).exists()
        with SandboxServer(data_dir) as server:
            if reuse:
                print(f"reusing the data folder {data_dir}")
            else:
                session = requests.Session()
                session.headers["Authorization"] = f"Bearer {server.login('ingestor')}"
                started = time.perf_counter()
                populate(server, session, args.datasets, args.files)
                filled = time.perf_counter() - started
                print(
                    f"filled {args.datasets} datasets x {args.files} files over HTTP "
                    f"in {filled:.1f} s"
                )
            measure(server, data_dir, args.datasets)


if __name__ == "__main__":
    main()

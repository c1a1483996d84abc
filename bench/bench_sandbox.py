"""Does the sandbox keep up? Its answers to a no-op plan's queries at up to a million files.

Run: python bench/bench_sandbox.py [n_datasets] [n_files] [--workdir DIR]

    python bench/bench_sandbox.py 10000 100 --workdir /tmp/sb   # one million files

Fills the sandbox over HTTP (N datasets, each with one block of M files, a marker and a
proposal id), then times, best of 3:

- the plan's lookup: scisync's own client (``find_datasets_by_markers``, the chunks and
  pages a no-op plan sends) for every marker, with files and attachments;
- the same chunks without file lists (what a plan that only compares summaries asks);
- one request of 200 markers with files, a count, a fullquery by proposal id.

Each shows the client's wall time and the time the sandbox spent handling the requests
(its own timings: request read to answer built), against a baseline run side by side:
the same rows (dataset bodies by pid, their blocks by dataset id) read straight from the
sandbox's SQLite file, parsed and dumped as one JSON answer with ``json.dumps`` (no HTTP,
no filtering, no access checks; a count's baseline is SQL ``count(*)``).  The last lines
give the share of the plan's lookup spent inside the sandbox.  ``--workdir`` keeps the
filled data folder and reuses it on the next run (the fill takes minutes at a million
files).
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Timed:
    wall: float  # the request(s) as the client saw them, best of the runs
    inside: float  # of which the sandbox spent handling them (its own timings), best
    requests: int  # per run


def _timed(server: SandboxServer, fn: Callable[[], object], repeat: int = 3) -> Timed:
    walls, insides, counts = [], [], []
    for _ in range(repeat):
        server.reset_stats()
        start = time.perf_counter()
        fn()
        walls.append(time.perf_counter() - start)
        insides.append(sum(server.timings().values()))
        counts.append(sum(server.stats().values()))
    return Timed(min(walls), min(insides), max(counts))


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


def _row(name: str, timed: Timed, baseline: float) -> None:
    print(
        f"{name:<38} {timed.requests:5d} {timed.wall * 1000:9.0f} ms {timed.inside * 1000:9.0f} ms"
        f" {baseline * 1000:9.0f} ms {timed.inside / baseline:7.2f}x"
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
    rows: list[tuple[str, Timed, float]] = []

    plan = _timed(server, lambda: client.find_datasets_by_markers(markers))
    rows.append(("plan's lookup: by marker + files", plan, _best(lambda: reader.rows(pids, True))))

    def summaries() -> Any:
        field = "scientificMetadata.scisync_marker"
        answer = client.find_in("v4/datasets", field, markers, limits={"sort": {"pid": "asc"}})
        assert len(answer) == n_datasets

    rows.append(
        (
            "by marker, no files (summaries)",
            _timed(server, summaries),
            _best(lambda: reader.rows(pids, False)),
        )
    )

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
    rows.append(
        (
            "one request: 200 markers + files",
            _timed(server, one_chunk),
            _best(lambda: reader.rows(chunk_pids, True)),
        )
    )

    def count() -> Any:
        answer = session.get(f"{root}/v4/datasets/count")
        assert answer.json() == {"count": n_datasets}, answer.text

    rows.append(("count (all datasets)", _timed(server, count), _best(reader.count)))

    proposal = DatasetQuery(proposal_ids=("p1",))
    expected = len(range(1, n_datasets, PROPOSALS))

    def fullquery() -> Any:
        matched = client.query_dataset_pids(proposal, limit=n_datasets)
        assert len(matched) == expected, (len(matched), expected)

    proposal_pids = client.query_dataset_pids(proposal, limit=n_datasets)
    rows.append(
        (
            f"fullquery, one proposal ({expected})",
            _timed(server, fullquery),
            _best(lambda: reader.rows(proposal_pids, False)),
        )
    )
    t_trivial = _best(lambda: session.get(f"{server.url}/auth/whoami"), repeat=20)
    reader.close()
    client.close()
    print(
        f"{'query':<38} {'reqs':>5} {'client':>12} {'sandbox':>12} {'baseline':>12} "
        f"{'sandbox/baseline':>8}"
    )
    for name, timed, baseline in rows:
        _row(name, timed, baseline)
    print(f"trivial request (whoami): {t_trivial * 1000:.2f} ms")
    print(
        f"the plan's lookup: {plan.wall:.2f} s in the client, {plan.inside:.2f} s of it inside "
        f"the sandbox ({plan.inside / plan.wall:.0%})"
    )
    print(f"ratio lookup/baseline: {plan.inside / rows[0][2]:.2f}")


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

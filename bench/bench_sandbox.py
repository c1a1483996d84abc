"""How fast the sandbox answers scisync's batched lookups (1,000 datasets x 100 files).

Run: /work/venv/bin/python bench/bench_sandbox.py [n_datasets] [n_files]
Prints wall times and ratios against a trivial request (whoami) in the same process.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import requests

from scisync.sandbox import SandboxServer


def _best(fn: object, repeat: int = 3) -> float:
    assert callable(fn)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main(n_datasets: int = 1000, n_files: int = 100) -> None:
    with tempfile.TemporaryDirectory() as folder, SandboxServer(Path(folder)) as server:
        s = requests.Session()
        s.headers["Authorization"] = f"Bearer {server.login('ingestor')}"
        root = server.root_url
        start = time.perf_counter()
        for i in range(n_datasets):
            body = {
                "ownerGroup": "ingestor",
                "contactEmail": "a@example.org",
                "sourceFolder": f"/data/run{i}",
                "creationTime": "2026-01-01T00:00:00Z",
                "datasetName": f"run {i}",
                "type": "derived",
                "scientificMetadata": {"scisync_marker": f"m{i}", "t": {"value": i, "unit": "K"}},
            }
            pid = s.post(f"{root}/v4/datasets", json=body).json()["pid"]
            files = [
                {"path": f"f{j}.h5", "size": j, "time": "2026-01-01T00:00:00Z", "chk": "0" * 64}
                for j in range(n_files)
            ]
            s.post(
                f"{root}/v4/origdatablocks",
                json={"datasetId": pid, "size": sum(range(n_files)), "dataFileList": files},
            )
        populate = time.perf_counter() - start
        markers = [f"m{i}" for i in range(n_datasets)]
        query = {
            "where": {"scientificMetadata.scisync_marker": {"$in": markers}},
            "include": ["origdatablocks", "attachments"],
            "limits": {"limit": n_datasets, "skip": 0},
        }

        def lookup() -> None:
            reply = s.get(f"{root}/v4/datasets", params={"filter": json.dumps(query)})
            assert reply.status_code == 200 and len(reply.json()) == n_datasets

        def trivial() -> None:
            s.get(f"{server.url}/auth/whoami")

        t_lookup = _best(lookup)
        t_trivial = _best(trivial, repeat=20)
        print(f"populate {n_datasets} datasets x {n_files} files: {populate:.2f} s")
        print(f"batched lookup with includes: {t_lookup * 1000:.0f} ms")
        print(f"trivial request (baseline):   {t_trivial * 1000:.2f} ms")
        print(f"ratio lookup/trivial: {t_lookup / t_trivial:.0f}x")
        print(f"requests counted: {sum(server.stats().values())}")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))

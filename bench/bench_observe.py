"""Observe N datasets in the sandbox: batched marker lookup vs one GET per dataset.

Usage: python bench/bench_observe.py [N]   (default 250)

Prints SciCat requests and wall time for both, and their ratios (baseline / batched),
measured in the same process against the same sandbox.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from scisync.desired.ids import make_marker
from scisync.sandbox import SandboxServer
from scisync.scicat.client import ScicatClient

PREFIX = "20.500.12269"


def populate(client: ScicatClient, count: int) -> list[str]:
    keys = [f"bench-{i:05d}" for i in range(count)]
    for key in keys:
        pid = f"{PREFIX}/{key}"
        client.create_dataset(
            {
                "pid": pid,
                "type": "raw",
                "datasetName": key,
                "ownerGroup": "ingestor",
                "contactEmail": "ingestor@sandbox.invalid",
                "sourceFolder": f"/data/{key}",
                "creationTime": "2026-11-21T09:00:00Z",
                "scientificMetadata": {"scisync_marker": make_marker("bench", key)},
            }
        )
        client.create_origdatablock(
            pid,
            {
                "size": 3,
                "dataFileList": [
                    {"path": f"f{j}.dat", "size": 1, "time": "2026-11-21T09:00:00Z"}
                    for j in range(3)
                ],
            },
        )
    return keys


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 250
    with tempfile.TemporaryDirectory() as folder, SandboxServer(Path(folder)) as server:
        token = server.login("ingestor")
        keys = populate(ScicatClient(server.url, token), count)

        naive = ScicatClient(server.url, token)
        started = time.perf_counter()
        one_by_one = [naive.get_dataset(f"{PREFIX}/{key}") for key in keys]
        naive_seconds = time.perf_counter() - started

        batched = ScicatClient(server.url, token)
        started = time.perf_counter()
        found = batched.find_datasets_by_markers([make_marker("bench", key) for key in keys])
        batched_seconds = time.perf_counter() - started

    assert all(dataset is not None for dataset in one_by_one)
    assert all(len(found[make_marker("bench", key)]) == 1 for key in keys)
    print(f"datasets observed:        {count}")
    print(f"baseline (GET per pid):   {naive.request_count} requests, {naive_seconds:.3f} s")
    print(f"batched (marker $in):     {batched.request_count} requests, {batched_seconds:.3f} s")
    print(f"requests ratio:           {naive.request_count / batched.request_count:.1f}x fewer")
    print(f"time ratio:               {naive_seconds / batched_seconds:.1f}x faster")


if __name__ == "__main__":
    main()

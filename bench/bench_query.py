"""A query download's selection: SciCat's fullquery in batches vs listing the catalogue.

Usage: python bench/bench_query.py [N]   (default 400)

N datasets, a quarter of them matching ``temperature > 4 K`` (recorded in K, mK or degC).
The baseline lists every dataset with its files (v4, 500 a page) and filters by
``valueSI``/``unitSI`` in the client; scisync's ``query_datasets`` lets SciCat select and
reads files for the matches only.  Prints requests, wall time and their ratios, measured in
the same process against the same sandbox.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from scisync._util.jsontypes import Json
from scisync.observe.model import ObservedDataset
from scisync.sandbox import SandboxServer
from scisync.scicat.client import ScicatClient
from scisync.scicat.query import DatasetQuery, MetadataCondition

UNITS = (("K", 2.0), ("mK", 2000.0), ("degC", -270.0), ("K", 300.0))  # the last one: match


def populate(client: ScicatClient, count: int) -> int:
    matching = 0
    for i in range(count):
        unit, value = UNITS[i % len(UNITS)]
        matching += value == 300.0
        pid = client.create_dataset(
            {
                "type": "raw",
                "datasetName": f"bench-{i:05d}",
                "ownerGroup": "ingestor",
                "contactEmail": "ingestor@sandbox.invalid",
                "sourceFolder": f"/data/bench-{i:05d}",
                "creationTime": "2026-11-21T09:00:00Z",
                "scientificMetadata": {"temperature": {"value": value, "unit": unit}},
            }
        )["pid"]
        assert isinstance(pid, str)
        files: list[Json] = [
            {"path": f"f{j}.dat", "size": 1, "time": "2026-11-21T09:00:00Z"} for j in range(3)
        ]
        client.create_origdatablock(pid, {"size": 3, "dataFileList": files})
    return matching


def list_and_filter(client: ScicatClient) -> list[ObservedDataset]:
    """The baseline: every dataset, then the condition in the client."""
    found = client.find_in(
        "v4/datasets",
        "type",
        ["raw", "derived"],
        extra={"include": ["origdatablocks"]},
        limits={"sort": {"pid": "asc"}},
    )
    hits = []
    for document in found:
        quantity = (document.get("scientificMetadata") or {}).get("temperature")  # type: ignore[union-attr]
        if isinstance(quantity, dict) and quantity.get("unitSI") == "K":
            value = quantity.get("valueSI")
            if isinstance(value, int | float) and value > 4:
                hits.append(ObservedDataset(pid=str(document["pid"]), fields=document))
    return hits


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 400
    query = DatasetQuery(metadata=(MetadataCondition("temperature", ">", 4, "K"),))
    with tempfile.TemporaryDirectory() as folder, SandboxServer(Path(folder)) as server:
        token = server.login("ingestor")
        matching = populate(ScicatClient(server.url, token), count)

        naive = ScicatClient(server.url, token)
        started = time.perf_counter()
        listed = list_and_filter(naive)
        naive_seconds = time.perf_counter() - started

        scisync = ScicatClient(server.url, token)
        started = time.perf_counter()
        queried = scisync.query_datasets(query, limit=count, batch_size=100)
        query_seconds = time.perf_counter() - started

    assert len(listed) == len(queried) == matching
    print(f"datasets in the catalogue: {count}, matching: {matching}")
    print(f"baseline (list + filter):  {naive.request_count} requests, {naive_seconds:.3f} s")
    print(f"query_datasets:            {scisync.request_count} requests, {query_seconds:.3f} s")
    print(f"requests ratio:            {naive.request_count / scisync.request_count:.1f}x")
    print(f"time ratio:                {naive_seconds / query_seconds:.1f}x faster")


if __name__ == "__main__":
    main()

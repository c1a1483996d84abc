"""No-op plan benchmark (issue 4): N datasets x M files against the sandbox, local storage.

Builds a manifest that stamps out N datasets with for_each, applies it once, then times
a no-op `plan` (the same library calls `scisync plan` makes) and prints the wall time,
the SciCat requests it made, and the files it read.  Side by side, in the same process,
it times the baseline: fetching the same N datasets with their file lists and
attachments with plain `requests` calls (the least any client must do).

    python bench/bench_plan.py                 # 1,000 datasets x 100 files (targets apply)
    python bench/bench_plan.py --datasets 100  # quicker

Targets: plan <= 3 s, <= 20 SciCat requests, 0 files read.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from scisync import api  # noqa: E402

MANIFEST = """\
version: 1
project: bench
scicat:
  url: {url}
storage:
  local:
    root: ./store
datasets:
  - for_each: "{{{{ glob('data/*') }}}}"
    key: "ds-{{{{ each | basename }}}}"
    type: raw
    dataset_name: "Dataset {{{{ each | basename }}}}"
    owner: Bench
    owner_group: ingestor
    contact_email: bench@example.org
    principal_investigator: Bench
    creation_location: Loopback
    creation_time: 2026-01-01T00:00:00Z
    files:
      - base: "{{{{ each }}}}"
        include: ["*"]
    scientific_metadata:
      index: "{{{{ each | basename }}}}"
"""


def make_project(root: Path, url: str, datasets: int, files: int) -> None:
    for number in range(datasets):
        folder = root / "data" / f"{number:05d}"
        folder.mkdir(parents=True)
        for index in range(files):
            (folder / f"f{index:04d}.dat").write_bytes(f"{number}/{index}\n".encode() * 4)
    (root / "scisync.yaml").write_text(MANIFEST.format(url=url))


@contextmanager
def sandbox_process(data_dir: Path) -> Iterator[str]:
    """`scisync sandbox` in its own process, as a real SciCat would be; yields its API URL."""
    process = subprocess.Popen(
        [sys.executable, "-m", "scisync", "sandbox", "--data", str(data_dir), "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        url = first.rsplit(" ", 1)[-1].strip()
        assert url.startswith("http://127.0.0.1:"), first
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)
        if process.stdout is not None:
            process.stdout.close()


def login(url: str) -> str:
    answer = requests.post(
        url + "/auth/login",
        json={"username": "ingestor", "password": "sandbox-ingestor"},
        timeout=30,
    )
    answer.raise_for_status()
    return str(answer.json()["access_token"])


def baseline_fetch(url: str, token: str, count: int) -> float:
    """Fetch every dataset with its blocks and attachments, 1,000 per request."""
    started = time.perf_counter()
    fetched = 0
    skip = 0
    while True:
        answer = requests.get(
            url.rsplit("/", 1)[0] + "/v4/datasets",
            params={
                "filter": json.dumps(
                    {
                        "include": ["origdatablocks", "attachments"],
                        "limits": {"limit": 1000, "skip": skip},
                    }
                )
            },
            headers={"Authorization": f"Bearer {token}"},
            timeout=120,
        )
        answer.raise_for_status()
        page = answer.json()
        fetched += len(page)
        skip += 1000
        if len(page) < 1000:
            break
    assert fetched == count, (fetched, count)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=int, default=1000)
    parser.add_argument("--files", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3, help="no-op plans to time (best is shown)")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of one no-op plan")
    parser.add_argument(
        "--workdir",
        type=Path,
        help="keep the project and catalogue here and reuse them on the next run (skips setup)",
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="scisync-bench-") as scratch:
        tmp = args.workdir or Path(scratch)
        root = tmp / "project"
        reuse = (root / "scisync.lock").exists()
        root.mkdir(parents=True, exist_ok=True)
        with sandbox_process(tmp / "scicat") as url:
            token = login(url)
            os.environ["SCICAT_TOKEN"] = token
            if reuse:
                (root / "scisync.yaml").write_text(MANIFEST.format(url=url))
                print(f"setup: reusing {root}")
            else:
                make_project(root, url, args.datasets, args.files)
                started = time.perf_counter()
                project = api.load_project([root / "scisync.yaml"])
                with api.connect(project) as connection:
                    plan = api.plan(project, connection)
                    api.apply(project, connection, plan, workers=4)
                setup = time.perf_counter() - started
                print(
                    f"setup: applied {args.datasets} datasets x {args.files} files in {setup:.1f} s"
                )

            timings = []
            for _ in range(args.repeat):
                started = time.perf_counter()
                project = api.load_project([root / "scisync.yaml"])
                with api.connect(project) as connection:
                    before = connection.catalog.request_count
                    plan = api.plan(project, connection)
                    requests_made = connection.catalog.request_count - before
                    files_read = connection.hasher.files_read
                timings.append(time.perf_counter() - started)
                assert not plan.has_changes, "the plan after apply should be a no-op"
            if args.profile:
                import cProfile
                import pstats

                profiler = cProfile.Profile()
                profiler.enable()
                project = api.load_project([root / "scisync.yaml"])
                with api.connect(project) as connection:
                    api.plan(project, connection)
                profiler.disable()
                order = os.environ.get("BENCH_SORT", "cumulative")
                pstats.Stats(profiler).sort_stats(order).print_stats(40)
            best = min(timings)
            baseline = min(baseline_fetch(url, token, args.datasets) for _ in range(args.repeat))

    print(f"no-op plan ({args.datasets} datasets x {args.files} files):")
    print(f"  wall time       {best:6.2f} s   (target <= 3 s)   {'OK' if best <= 3 else 'MISSED'}")
    print(
        f"  SciCat requests {requests_made:6d}     (target <= 20)    "
        f"{'OK' if requests_made <= 20 else 'MISSED'}"
    )
    print(
        f"  files read      {files_read:6d}     (target 0)        "
        f"{'OK' if files_read == 0 else 'MISSED'}"
    )
    print(f"  baseline fetch  {baseline:6.2f} s   (plain requests, same datasets with includes)")
    print(f"  ratio plan / baseline fetch: {best / baseline:.2f}")


if __name__ == "__main__":
    main()

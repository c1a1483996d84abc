"""No-op plan benchmark (issues 4, 13): N datasets x M files against the sandbox, local storage.

Builds a manifest that stamps out N datasets with for_each, applies it once, then times
no-op `plan`s (the same library calls `scisync plan` makes), each in a fresh process, and
prints the best wall time, the SciCat requests it made, the files it read and the peak
RSS of the planning process (os.wait4).  The first no-op plan after the apply is shown
apart: it plans every dataset in full and records the settled ones
(scisync.observe.settled); the timed ones after it take the settled path (what
`scisync plan` and `apply` do; `scisync plan --json` lists every file, so it always plans
in full: the first plan's time is its cost).  A recorded stamp vouches only for files
changed more than the racy margin (3 s, scisync._util.racy) before it was recorded, and
the setup writes and links every file (a link moves the ctime): the first no-op plan
starts once the margin has passed since the setup ended, so the records it makes hold
(it also reads again the files whose entries the setup made within the margin of
writing them, which the timed plans then need not).  Side by side
it times the baseline: fetching the same N datasets with their file lists and
attachments with plain `requests` calls (the least any client must do).

    python bench/bench_plan.py                                   # 1,000 x 100
    python bench/bench_plan.py --datasets 10000 --workdir DIR   # one million files
    python bench/bench_plan.py --datasets 100                    # quicker

The setup creates every folder, then makes one real plan and apply of the whole manifest
(what a user's first `scisync apply` does; the one-million-file project takes about
18 minutes here at load 20, 1.9 GB of RAM).  ``--batch N`` applies N datasets at a time instead
(each slice a plan and apply of the whole manifest, so later slices re-plan the earlier
ones: slower in total, but resumable: in a ``--workdir`` a stopped setup resumes at the
first slice scisync.lock does not record).  A finished setup in a ``--workdir`` is reused
(``--setup-only`` stops after it).

Targets (issue 13): at 1,000 x 100, <= 3x the baseline fetch; at one million files
<= 10 s; <= 50 SciCat requests, 0 files read, peak RSS <= 1 GiB.
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
from typing import cast

import requests

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from scisync import api  # noqa: E402
from scisync._util import racy  # noqa: E402

MANIFEST = """\
version: 1
project: bench
scicat:
  url: {url}
storage:
  local:
    root: ./store
    hardlink: true  # the setup links instead of copying: 1M files apply in minutes
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


def make_folders(root: Path, first: int, last: int, files: int) -> None:
    """Dataset folders first..last-1 (a complete folder is left as it is)."""
    for number in range(first, last):
        folder = root / "data" / f"{number:05d}"
        folder.mkdir(parents=True, exist_ok=True)
        for index in range(files):
            (folder / f"f{index:04d}.dat").write_bytes(f"{number}/{index}\n".encode() * 4)


def set_up(root: Path, url: str, datasets: int, files: int, batch: int) -> None:
    """Create and apply the project `batch` datasets at a time: each slice is a real plan
    and apply of the whole manifest (the earlier slices are no-ops in it).  A run stopped
    part way resumes at the first slice not yet in scisync.lock (apply is resumable)."""
    (root / "scisync.yaml").write_text(MANIFEST.format(url=url))
    done = applied_count(root)
    batch = batch or datasets
    while done < datasets:
        last = min(done + batch, datasets)
        started = time.perf_counter()
        make_folders(root, done, last, files)
        project = api.load_project([root / "scisync.yaml"])
        with api.connect(project) as connection:
            plan = api.plan(project, connection)
            api.apply(project, connection, plan, workers=4)
        print(
            f"setup: applied datasets {done}..{last - 1} x {files} files "
            f"in {time.perf_counter() - started:.1f} s",
            flush=True,
        )
        done = last


def applied_count(root: Path) -> int:
    """How many datasets scisync.lock records (0 without one): where a sliced setup resumes."""
    lock = root / "scisync.lock"
    if not lock.exists():
        return 0
    return len(json.loads(lock.read_text()).get("datasets", {}))


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


def plan_once(root: Path, profile: bool) -> None:
    """The child's job: one no-op plan, the same library calls `scisync plan` makes; prints
    its figures as JSON on the last line (the parent reads the child's peak RSS)."""
    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    started = time.perf_counter()
    project = api.load_project([root / "scisync.yaml"])
    with api.connect(project) as connection:
        before = connection.catalog.request_count
        plan = api.plan(project, connection)
        requests_made = connection.catalog.request_count - before
        files_read = connection.hasher.files_read
    wall = time.perf_counter() - started
    if profiler is not None:
        import pstats

        profiler.disable()
        order = os.environ.get("BENCH_SORT", "cumulative")
        pstats.Stats(profiler).sort_stats(order).print_stats(40)
    result = {
        "wall": wall,
        "requests": requests_made,
        "files_read": files_read,
        "noop": not plan.has_changes,
        "settled": sum(
            1 for change in plan.changes if change.kind.value == "dataset" and not change.files
        ),
    }
    print(json.dumps(result), flush=True)


def plan_in_child(root: Path, token: str, profile: bool) -> tuple[dict[str, object], int, float]:
    """One no-op plan in a fresh process: its figures, its peak RSS in bytes and its CPU
    seconds (user + system, all threads: what the plan costs whatever the machine's load).

    The child may write and reuse bytecode (``__pycache__``) even where the environment
    says PYTHONDONTWRITEBYTECODE: an installed scisync has its .pyc files, and compiling
    every module from source on each start is not what a user's `scisync plan` pays."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "SCICAT_TOKEN": token}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    process = subprocess.Popen(
        [sys.executable, __file__, "--plan-child", str(root), *(["--profile"] if profile else [])],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert process.stdout is not None
    output = process.stdout.read()
    process.stdout.close()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    assert process.returncode == 0, output[-2000:]
    lines = output.rstrip("\n").splitlines()
    if profile:
        print("\n".join(lines[:-1]))
    cpu = usage.ru_utime + usage.ru_stime
    return json.loads(lines[-1]), usage.ru_maxrss * 1024, cpu  # Linux: ru_maxrss is in KiB


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
    parser.add_argument(
        "--batch",
        type=int,
        default=0,
        help="setup: apply this many datasets at a time (resumable in --workdir); "
        "default: all in one apply",
    )
    parser.add_argument("--setup-only", action="store_true", help="stop after the setup")
    parser.add_argument("--plan-child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.plan_child is not None:
        plan_once(args.plan_child, args.profile)
        return

    with tempfile.TemporaryDirectory(prefix="scisync-bench-") as scratch:
        tmp = args.workdir or Path(scratch)
        root = tmp / "project"
        root.mkdir(parents=True, exist_ok=True)
        with sandbox_process(tmp / "scicat") as url:
            token = login(url)
            os.environ["SCICAT_TOKEN"] = token
            if applied_count(root) >= args.datasets:
                (root / "scisync.yaml").write_text(MANIFEST.format(url=url))
                print(f"setup: reusing {root}")
            else:
                started = time.perf_counter()
                set_up(root, url, args.datasets, args.files, args.batch)
                setup = time.perf_counter() - started
                print(
                    f"setup: applied {args.datasets} datasets x {args.files} files in {setup:.1f} s"
                )
            if args.setup_only:
                return
            time.sleep(racy.RACY_MARGIN_NS / 1e9)  # every file now older than the margin
            # The first no-op plan after an apply (or another manifest URL) plans every
            # dataset in full and records them as settled; the timed ones follow it.
            first, _, _ = plan_in_child(root, token, profile=False)
            full = args.datasets - int(cast(int, first["settled"]))
            print(
                f"first no-op plan (records settled datasets): {first['wall']:.2f} s, "
                f"{full} of {args.datasets} datasets planned in full "
                "(`plan --json` always plans all of them in full)"
            )
            runs = [plan_in_child(root, token, profile=False) for _ in range(args.repeat)]
            for result, _, _ in runs:
                assert result["noop"], "the plan after apply should be a no-op"
            if args.profile:
                plan_in_child(root, token, profile=True)
            best = min(runs, key=lambda run: float(cast(float, run[0]["wall"])))[0]
            cpu = min(run[2] for run in runs)
            baseline = min(baseline_fetch(url, token, args.datasets) for _ in range(args.repeat))

    wall = float(cast(float, best["wall"]))
    requests_made = int(cast(int, best["requests"]))
    files_read = int(cast(int, best["files_read"]))
    peak = max(run[1] for run in runs)
    print(f"no-op plan ({args.datasets} datasets x {args.files} files):")
    print(
        f"  wall time       {wall:6.2f} s   (target <= {wall_target(args)} s)   "
        f"{'OK' if wall <= wall_target(args) else 'MISSED'}"
    )
    print(
        f"  SciCat requests {requests_made:6d}     (target <= 50)    "
        f"{'OK' if requests_made <= 50 else 'MISSED'}"
    )
    print(
        f"  files read      {files_read:6d}     (target 0)        "
        f"{'OK' if files_read == 0 else 'MISSED'}"
    )
    print(
        f"  peak RSS        {peak / 2**20:6.0f} MiB (target <= 1024)  "
        f"{'OK' if peak <= 2**30 else 'MISSED'}"
    )
    print(f"  CPU time        {cpu:6.2f} s   (user + system of the plan process, all threads)")
    print(f"  settled datasets {best['settled']} of {args.datasets}")
    print(f"  baseline fetch  {baseline:6.2f} s   (plain requests, same datasets with includes)")
    print(f"  ratio plan / baseline fetch: {wall / baseline:.2f}   (target <= 3 at 1,000 x 100)")


def wall_target(args: argparse.Namespace) -> float:
    """Issue 13: 1.5 s at 1,000 x 100 (quiet machine), 10 s at one million files."""
    return 10.0 if args.datasets * args.files > 100_000 else 1.5


if __name__ == "__main__":
    main()

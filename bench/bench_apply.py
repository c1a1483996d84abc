"""Small-file apply benchmark (issue 13): N datasets x M small files to local storage.

Times a first `apply` (the same library calls `scisync apply` makes: plan, then apply)
of N datasets with M files of 16 bytes each into local storage, against the sandbox run
in its own process.  Side by side, in the same run, it times the baseline: `cp -r` of
the same tree plus the bare SciCat requests a client must make (one dataset and one
origdatablock POST per dataset, with plain `requests`).

    python bench/bench_apply.py                 # 1,000 datasets x 100 files (target)
    python bench/bench_apply.py --datasets 50   # quicker
    python bench/bench_apply.py --hardlink      # storage links instead of copying
    python bench/bench_apply.py --repeat 5 --settle 20   # 5 rounds; the median counts
    python bench/bench_apply.py --workdir /dev/shm       # in memory: the code's own cost

Each round is a first apply into a fresh tree, store and sandbox, with ``cp -r`` of the same
tree just before and just after it.  On this machine ``cp -r`` of the same 100,000 files
takes 3 to 34 s from one minute to the next (the disk, not the code), so one round's ratio
says little: ``--repeat`` prints every round's and reports the median one.  On tmpfs
(``--workdir /dev/shm``) the disk is out of the picture and both sides measure code and
system calls only; ``syncfs`` and ``fsync`` cost next to nothing there, which flatters
scisync (``cp -r`` does not flush), so the headline is the disk's.

By default the storage copies every file (``hardlink: false``, the storage's default), as
``cp -r`` does; ``--hardlink`` measures ``hardlink: true`` (one link per file, against the
same ``cp -r``: flattering, so the output says which mode ran).

Target: apply <= 2.5 x (cp -r + bare requests).  It also prints the peak RSS of this
process, which does nothing memory-heavy besides the apply (the sandbox runs in its own
process): issue 13's memory target is <= 500 MB for one million files
(``--datasets 10000 --files 100``).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from bench_plan import MANIFEST, login, sandbox_process  # noqa: E402

from scisync import api  # noqa: E402


def make_tree(root: Path, datasets: int, files: int) -> None:
    for number in range(datasets):
        folder = root / "data" / f"{number:05d}"
        folder.mkdir(parents=True)
        for index in range(files):
            (folder / f"f{index:04d}.dat").write_bytes(f"{number:05d}/{index:04d}\n".encode()[:16])


def bare_requests(url: str, token: str, datasets: int, files: int) -> float:
    """One dataset POST and one origdatablock POST per dataset: the least any client sends."""
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    root = url.rsplit("/", 1)[0]
    started, cpu = time.perf_counter(), time.process_time()
    for number in range(datasets):
        reply = session.post(
            root + "/v4/datasets",
            json={
                "type": "raw",
                "datasetName": f"baseline {number}",
                "ownerGroup": "ingestor",
                "contactEmail": "bench@example.org",
                "sourceFolder": f"/baseline/{number:05d}",
                "creationTime": "2026-01-01T00:00:00Z",
            },
            timeout=60,
        )
        reply.raise_for_status()
        file_list = [
            {"path": f"f{index:04d}.dat", "size": 16, "time": "2026-01-01T00:00:00Z"}
            for index in range(files)
        ]
        session.post(
            root + "/v4/origdatablocks",
            json={"datasetId": reply.json()["pid"], "size": 16 * files, "dataFileList": file_list},
            timeout=60,
        ).raise_for_status()
    CPU["bare"] = time.process_time() - cpu
    return time.perf_counter() - started


CPU: dict[str, float] = {}
"""CPU seconds (user + system) of what was last timed: "apply" (this process, all its
threads, and the storage's process copying small files), "cp" (the child), "bare" (this
process's client side of the bare requests).
The sandbox's CPU is on neither side.  Context for a busy machine, where wall times
follow the load."""


class CopierPeak:
    """Samples the peak RSS (``VmHWM``) of the storage's copying process while it runs.

    ``RUSAGE_CHILDREN`` cannot tell it apart from ``cp -r`` (its ``ru_maxrss`` is the
    largest of all waited-for children, and ``cp -r`` of a million files holds 215 MB)."""

    def __init__(self) -> None:
        self.peak = 0  # KiB
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> CopierPeak:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        while not self._stop.wait(0.2):
            for status in Path("/proc").glob("[0-9]*/status"):
                try:
                    text = status.read_text()
                    command = (status.parent / "cmdline").read_bytes()
                except OSError:
                    continue  # ended meanwhile
                if f"PPid:\t{os.getpid()}\n" in text and b"_copier_child" in command:
                    for line in text.splitlines():
                        if line.startswith("VmHWM:"):
                            self.peak = max(self.peak, int(line.split()[1]))


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def copy_tree(source: Path, target: Path) -> float:
    """Seconds for ``cp -r``, after a ``sync`` so that earlier writes are not charged to it."""
    subprocess.run(["sync"], check=False)
    started, cpu = time.perf_counter(), children_cpu()
    subprocess.run(["cp", "-r", str(source), str(target)], check=True)
    CPU["cp"] = CPU.get("cp", 0.0) + children_cpu() - cpu
    return time.perf_counter() - started


def timed_apply(root: Path, workers: int, profile: bool) -> tuple[float, float]:
    """Seconds for the whole command (plan + apply) and for its apply part alone."""
    started, cpu, children = time.perf_counter(), time.process_time(), children_cpu()
    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    project = api.load_project([root / "scisync.yaml"])
    with api.connect(project) as connection:
        plan = api.plan(project, connection)
        planned = time.perf_counter()
        api.apply(project, connection, plan, workers=workers)
    elapsed = time.perf_counter() - started
    applying = time.perf_counter() - planned
    # With the process that copies small files (reaped when the connection closes).
    CPU["apply"] = time.process_time() - cpu + children_cpu() - children
    if profiler is not None:
        import pstats

        profiler.disable()
        order = os.environ.get("BENCH_SORT", "tottime")
        pstats.Stats(profiler).sort_stats(order).print_stats(30)
    return elapsed, applying


@dataclass(frozen=True)
class Round:
    """One side-by-side round: cp -r, the apply, the bare requests, cp -r again."""

    applied: float  # plan + apply, seconds
    applying: float  # its apply part
    copies: tuple[float, float]  # cp -r before and after the apply
    bare: float
    cpu_apply: float
    cpu_copy: float  # mean of the two cp -r children
    cpu_bare: float
    rss_before: int  # KiB
    rss_peak: int
    rss_copier: int  # KiB, the storage's copying process (0 if none ran)

    @property
    def copy(self) -> float:
        # The machine's load moves during a run: the baseline takes the mean of cp -r
        # before and after the apply.
        return sum(self.copies) / len(self.copies)

    @property
    def ratio(self) -> float:
        return self.applied / (self.copy + self.bare)


def one_round(args: argparse.Namespace) -> Round:
    """A fresh tree, store and sandbox: every round is a first apply."""
    CPU.clear()
    scratch = Path(tempfile.mkdtemp(prefix="scisync-bench-apply-", dir=args.workdir))
    try:
        root = scratch / "project"
        root.mkdir()
        make_tree(root, args.datasets, args.files)
        copies = [copy_tree(root / "data", scratch / "copy-before")]
        with sandbox_process(scratch / "scicat") as url:
            token = login(url)
            os.environ["SCICAT_TOKEN"] = token
            manifest = MANIFEST.format(url=url)
            if not args.hardlink:
                manifest = manifest.replace("hardlink: true", "hardlink: false")
            assert ("hardlink: true" in manifest) == args.hardlink, "bench_plan's manifest moved"
            (root / "scisync.yaml").write_text(manifest)
            rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            with CopierPeak() as copier:
                applied, applying = timed_apply(root, args.workers, args.profile)
            rss_copier = copier.peak
            rss_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            stored = sum(len(files) for _, _, files in os.walk(root / "store"))
            assert stored == args.datasets * args.files, (stored, args.datasets * args.files)
            bare = bare_requests(url, token, args.datasets, args.files)
        copies.append(copy_tree(root / "data", scratch / "copy-after"))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        # Deleting 400,000 files leaves the file system busy for a while (this machine
        # mounts it with online discard): let that pass before the next round's cp -r.
        if args.settle:
            subprocess.run(["sync"], check=False)
            time.sleep(args.settle)
    return Round(
        applied=applied,
        applying=applying,
        copies=(copies[0], copies[1]),
        bare=bare,
        cpu_apply=CPU["apply"],
        cpu_copy=CPU["cp"] / len(copies),
        cpu_bare=CPU["bare"],
        rss_before=rss_before,
        rss_peak=rss_peak,
        rss_copier=rss_copier,
    )


def report(args: argparse.Namespace, run: Round) -> None:
    mode = "hard links" if args.hardlink else "copies"
    print(f"apply ({args.datasets} datasets x {args.files} files of 16 B, local storage, {mode}):")
    print(
        f"  scisync apply   {run.applied:7.2f} s   (plan + apply, {args.workers} workers;"
        f" CPU {run.cpu_apply:.2f} s)"
    )
    print(
        f"    of which plan {run.applied - run.applying:7.2f} s"
        "   (first plan: reads and hashes every file)"
    )
    print(
        f"  cp -r           {run.copy:7.2f} s   "
        f"(mean of {run.copies[0]:.2f} before, {run.copies[1]:.2f} after the apply)"
    )
    print(f"  bare requests   {run.bare:7.2f} s   (POST dataset + origdatablock per dataset)")
    base_cpu = run.cpu_copy + run.cpu_bare
    print(
        f"  CPU             {run.cpu_apply:7.2f} s against {base_cpu:.2f} s (cp -r mean + the bare"
        f" client; the sandbox's on neither side): {run.cpu_apply / max(base_cpu, 1e-3):.2f}"
    )
    print(
        f"  peak RSS        {run.rss_peak / 1024:7.0f} MB   (this process; "
        f"{run.rss_before / 1024:.0f} MB before the apply)"
    )
    print(
        f"  copier peak RSS {run.rss_copier / 1024:7.0f} MB   (the storage's process copying"
        " small files; both together hold at most the sum of the two peaks)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=int, default=1000)
    parser.add_argument("--files", type=int, default=100)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--profile", action="store_true", help="print a cProfile of the apply")
    parser.add_argument(
        "--hardlink", action="store_true", help="storage hard-links files instead of copying"
    )
    parser.add_argument("--workdir", type=Path, default=None, help="scratch space (default /tmp)")
    parser.add_argument(
        "--repeat", type=int, default=1, help="rounds, each side by side; the median ratio counts"
    )
    parser.add_argument(
        "--settle",
        type=float,
        default=0.0,
        help="seconds to wait (after a sync) between rounds, for the deletes to settle",
    )
    args = parser.parse_args()

    rounds = []
    for number in range(args.repeat):
        rounds.append(one_round(args))
        if args.repeat > 1:
            run = rounds[-1]
            print(
                f"round {number + 1}: apply {run.applied:.2f} s, cp -r {run.copy:.2f} s"
                f" ({run.copies[0]:.2f} / {run.copies[1]:.2f}), bare {run.bare:.2f} s,"
                f" CPU {run.cpu_apply:.2f} s: ratio {run.ratio:.2f}",
                flush=True,
            )
    middle = sorted(rounds, key=lambda run: run.ratio)[len(rounds) // 2]
    if args.repeat > 1:
        ratios = ", ".join(f"{run.ratio:.2f}" for run in rounds)
        print(f"median round of {args.repeat} (ratios {ratios}):")
    report(args, middle)
    print(
        f"  ratio apply / (cp -r + bare requests): {middle.ratio:.2f}"
        f"   (target <= 2.5: {'met' if middle.ratio <= 2.5 else 'NOT met'})"
    )


if __name__ == "__main__":
    main()

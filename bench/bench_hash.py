"""Hashing throughput: scisync._util.hashing.hash_files vs b3sum and sha256sum, same files.

Dataset as in bench_transfer.py (``--scale 1``: one 768 MiB file and 1,000 files of
256 KiB, 1 GiB in all).  Files are read once beforehand so every tool hashes from the page
cache; each runs ``--repeat`` times, alternating, and the fastest run is kept.  Two
comparisons, each printed as a ratio:

- blake3 alone against ``b3sum`` (target >= 0.9 x b3sum's throughput);
- a first plan's hashing, blake3 *and* sha256 from one read, against ``sha256sum`` alone
  (issue 13: target >= 0.9 x sha256sum's throughput).

Also shows the no-op case: a second hash_files with the cache reads 0 files.  The cache
trusts an entry only for a file changed more than the racy margin (3 s,
scisync._util.racy) before it was hashed, so the cached runs start once the files are
that old (a wait only at tiny scales: the timed runs before take longer).

``--small N`` hashes N files of 16 bytes instead (a detector run of tiny files: what the
first plan of bench_apply.py reads), where per-file overheads, not throughput, decide.

    /work/venv/bin/python bench/bench_hash.py --scale 0.1
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_transfer import MiB, make_dataset  # noqa: E402

from scisync._util import racy  # noqa: E402
from scisync._util.hashing import HashCache, hash_files  # noqa: E402

B3SUM = shutil.which("b3sum") or "/usr/bin/b3sum"
SHA256SUM = shutil.which("sha256sum") or "/usr/bin/sha256sum"


def run_b3sum(files: list[Path], tool: str = B3SUM) -> tuple[float, dict[Path, str]]:
    start = time.perf_counter()
    out = subprocess.run(
        [tool, "--", *map(str, files)], check=True, capture_output=True, text=True
    ).stdout
    elapsed = time.perf_counter() - start
    digests = {Path(line.split(maxsplit=1)[1]): line.split()[0] for line in out.splitlines()}
    return elapsed, digests


def make_small_files(root: Path, count: int) -> list[Path]:
    """*count* files of 16 bytes, 100 to a folder, with short paths (b3sum gets them all
    as arguments)."""
    files = []
    for index in range(count):
        folder = root / f"{index // 100:04d}"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{index % 100:02d}"
        path.write_bytes(f"{index:016d}".encode())
        files.append(path)
    return files


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--small", type=int, default=0, help="N files of 16 B instead")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="scisync-bench-hash-", dir=args.workdir))
    try:
        files = (
            make_small_files(workdir / "s", args.small)
            if args.small
            else make_dataset(workdir / "data", args.scale)
        )
        size = sum(p.stat().st_size for p in files)
        print(
            f"dataset: {len(files)} files, {size / MiB:.0f} MiB; "
            f"{'small files' if args.small else f'scale {args.scale}'}; "
            f"best of {args.repeat}; workers {args.workers}"
        )
        run_b3sum(files)  # warm the page cache
        b3_times, ours_times = [], []
        reference: dict[Path, str] = {}
        ours: dict[Path, dict[str, str]] = {}
        for _ in range(args.repeat):
            elapsed, reference = run_b3sum(files)
            b3_times.append(elapsed)
            start = time.perf_counter()
            result = hash_files(files, ["blake3"], None, workers=args.workers)
            ours_times.append(time.perf_counter() - start)
            ours = result.digests
        if any(ours[p]["blake3"] != reference[p] for p in files):
            raise SystemExit("scisync and b3sum disagree")
        sha_times, both_times = [], []
        for _ in range(args.repeat):
            elapsed, reference = run_b3sum(files, SHA256SUM)
            sha_times.append(elapsed)
            start = time.perf_counter()
            result = hash_files(files, ["blake3", "sha256"], None, workers=args.workers)
            both_times.append(time.perf_counter() - start)
            if any(result.digests[p]["sha256"] != reference[p] for p in files):
                raise SystemExit("scisync and sha256sum disagree")

        newest = max(racy.newest_change_ns(path.stat()) for path in files)
        time.sleep(max(0.0, (newest + racy.RACY_MARGIN_NS - racy.now_ns()) / 1e9))
        cache = HashCache(workdir / "cache.sqlite")
        start = time.perf_counter()
        cold = hash_files(files, ["blake3"], cache, workers=args.workers)
        cold_time = time.perf_counter() - start
        cache.save()
        start = time.perf_counter()
        warm = hash_files(files, ["blake3"], HashCache(workdir / "cache.sqlite"), args.workers)
        warm_time = time.perf_counter() - start

        b3, us = min(b3_times), min(ours_times)
        ratio = b3 / us
        print(
            f"b3sum            best {b3:6.2f} s  {size / MiB / b3:7.0f} MiB/s  (runs: "
            + ", ".join(f"{t:.2f}" for t in b3_times)
            + ")"
        )
        print(
            f"scisync hashing  best {us:6.2f} s  {size / MiB / us:7.0f} MiB/s  (runs: "
            + ", ".join(f"{t:.2f}" for t in ours_times)
            + ")"
        )
        print(
            f"throughput scisync/b3sum = {ratio:.2f} "
            f"(target >= 0.9: {'met' if ratio >= 0.9 else 'NOT met'})"
        )
        sha, both = min(sha_times), min(both_times)
        first_plan = sha / both
        print(
            f"sha256sum        best {sha:6.2f} s  {size / MiB / sha:7.0f} MiB/s  (runs: "
            + ", ".join(f"{t:.2f}" for t in sha_times)
            + ")"
        )
        print(
            f"scisync b3+sha256 best {both:5.2f} s  {size / MiB / both:7.0f} MiB/s  (runs: "
            + ", ".join(f"{t:.2f}" for t in both_times)
            + ", one read feeds both)"
        )
        print(
            f"throughput scisync(blake3+sha256)/sha256sum = {first_plan:.2f} "
            f"(target >= 0.9: {'met' if first_plan >= 0.9 else 'NOT met'})"
        )
        print(
            f"with cache: first run {cold.files_read} files read in {cold_time:.2f} s; "
            f"no-op re-run {warm.files_read} files read ({warm.bytes_read} bytes) "
            f"in {warm_time:.3f} s"
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()

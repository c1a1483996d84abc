"""Lockfile load and write at scale (issue 13): read_lock / write_lock vs json.load / json.dump.

Builds a lockfile of N datasets x M files (default 10,000 x 100: one million files,
realistic paths, sizes, blake3 and sha256 digests), then times, best of ``--repeat``:

- load (as a settled no-op plan uses it): ``read_lock`` (bounded read, skeleton parsed and
  schema-checked, consistency rules, each file list kept as its text) and the
  ``files_digest`` of every dataset, against ``json.load`` of the same file;
- load + check lists: the same, then every list parsed and checked and not kept
  (``check_lists``: what a plan that settles nothing pays) against ``json.load``;
- load + keep files: the same, then every file of every entry read and kept (what a
  pull that reads every download's list holds) against ``json.load``;
- write, one file changed: ``write_lock`` of the loaded lock with one dataset's list
  changed (unread lists are copied as read; canonical text, checks, temp file + fsync +
  rename) against ``json.dump`` of the parsed data to a file;
- write, all new: ``write_lock`` of a lock built in memory (every list emitted and
  checked) against the same ``json.dump``;
- peak RSS of a fresh process doing each load, and of one running ``json.load`` on the file.

    python bench/bench_lock.py                     # one million files
    python bench/bench_lock.py --datasets 1000     # 100,000

Target (issue 13): the one-million-file lockfile loads and writes in <= 3 s each.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from scisync.lock.io import check_lists, read_lock, write_lock  # noqa: E402
from scisync.lock.model import LockedDataset, LockedFile, Lockfile  # noqa: E402


def make_lock(datasets: int, files: int) -> Lockfile:
    entries = {}
    for number in range(datasets):
        key = f"run-{number:05d}"
        entries[key] = LockedDataset(
            key=key,
            pid=f"20.500.12269/{hashlib.md5(key.encode()).hexdigest()}",
            fields_digest=hashlib.sha256(key.encode()).hexdigest(),
            files=tuple(
                LockedFile(
                    path=f"detector/frame-{index:05d}.h5",
                    size=1000 + index,
                    blake3=hashlib.sha256(f"{key}/{index}".encode()).hexdigest(),
                    checksum="sha256:" + hashlib.sha256(f"{index}/{key}".encode()).hexdigest(),
                )
                for index in range(files)
            ),
        )
    return Lockfile(project="bench", datasets=entries)


def best(repeat: int, run: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times)


def load_for_plan(path: Path) -> Lockfile:
    lock = read_lock(path)
    assert lock is not None
    for entry in lock.datasets.values():
        assert entry.files_digest  # what the settled stamps read
    return lock


def load_check_every_list(path: Path) -> None:
    """What a full plan pays: every list parsed and checked (check_lists), none kept."""
    check_lists(load_for_plan(path))


def load_every_file(path: Path) -> int:
    lock = load_for_plan(path)
    count = 0
    for entry in [*lock.datasets.values(), *lock.downloads.values()]:
        count += sum(1 for _ in entry.files)
    return count


def plain_load(path: Path) -> object:
    with path.open() as source:
        return json.load(source)


_PROBES: dict[str, Callable[[Path], object]] = {
    "load": load_for_plan,
    "check-all": load_check_every_list,
    "every-file": load_every_file,
    "json.load": plain_load,
}


def peak_rss_mib(probe: str, path: Path) -> float:
    """Peak RSS of a fresh process that runs *probe* on *path*: its VmHWM, which (unlike
    ru_maxrss) does not count what the parent held before the child's exec."""
    out = subprocess.run(
        [sys.executable, __file__, "--probe", probe, str(path)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return int(out.split()[-1]) / 1024


def report_peak_rss() -> None:
    status = Path("/proc/self/status").read_text()
    print(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:")))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=int, default=10_000)
    parser.add_argument("--files", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--probe", nargs=2, help=argparse.SUPPRESS)  # internal: RSS child
    args = parser.parse_args()
    if args.probe:
        _PROBES[args.probe[0]](Path(args.probe[1]))
        report_peak_rss()
        return

    with tempfile.TemporaryDirectory(prefix="scisync-bench-lock-") as scratch:
        folder = Path(scratch)
        path = folder / "scisync.lock"
        built = make_lock(args.datasets, args.files)
        write_lock(path, built)
        size = path.stat().st_size
        loaded = load_for_plan(path)
        first = next(iter(loaded.datasets.values()))
        changed = replace(
            loaded,
            datasets={
                **loaded.datasets,
                first.key: replace(first, files=first.files[:-1]),
            },
        )
        data = plain_load(path)
        flip = [loaded, changed]

        def write_one_changed() -> None:
            flip.reverse()  # alternate, so every write really writes
            assert write_lock(path, flip[0])

        def write_all_new() -> None:
            (folder / "new.lock").unlink(missing_ok=True)
            assert write_lock(folder / "new.lock", built)

        def plain_dump() -> None:
            with (folder / "plain.json").open("w") as out:
                json.dump(data, out)

        rows = [
            ("load (plan)         read_lock", best(args.repeat, lambda: load_for_plan(path))),
            (
                "load + check lists  read_lock",
                best(args.repeat, lambda: load_check_every_list(path)),
            ),
            ("load + keep files   read_lock", best(args.repeat, lambda: load_every_file(path))),
            ("write, 1 changed   write_lock", best(args.repeat, write_one_changed)),
            ("write, all new     write_lock", best(args.repeat, write_all_new)),
        ]
        load_base = best(args.repeat, lambda: plain_load(path))
        write_base = best(args.repeat, plain_dump)
        rss = {probe: peak_rss_mib(probe, path) for probe in _PROBES}

    files = args.datasets * args.files
    mib = size / 2**20
    print(f"lockfile ({args.datasets} datasets x {args.files} files = {files:,}, {mib:.0f} MiB):")
    for name, took in rows:
        base, base_name = (load_base, "json.load") if "load" in name else (write_base, "json.dump")
        verdict = "OK" if took <= 3 else "MISSED"
        print(
            f"  {name} {took:6.2f} s   {base_name} {base:6.2f} s   "
            f"ratio {took / base:.2f}   (target <= 3 s: {verdict})"
        )
    print(
        f"  peak RSS: load {rss['load']:.0f} MiB, load + check lists {rss['check-all']:.0f} MiB, "
        f"load + keep files {rss['every-file']:.0f} MiB, json.load {rss['json.load']:.0f} MiB"
    )


if __name__ == "__main__":
    main()

"""Lockfile load and write at scale (issue 13): read_lock / write_lock vs json.load / json.dump.

Builds a lockfile of N datasets x M files (default 10,000 x 100: one million files,
realistic paths, sizes, blake3 and sha256 digests), then times, best of ``--repeat``:

- load: ``read_lock`` (bounded read, JSON, schema check, consistency rules, objects) against
  ``json.load`` of the same file;
- write: ``write_lock`` of the lock with one file changed (canonical text, schema check,
  temp file + fsync + rename) against ``json.dump`` of the loaded data to a file.

    python bench/bench_lock.py                     # one million files
    python bench/bench_lock.py --datasets 1000     # 100,000

Target (issue 13): the one-million-file lockfile loads and writes in <= 3 s each.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from scisync.lock.io import read_lock, write_lock  # noqa: E402
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=int, default=10_000)
    parser.add_argument("--files", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="scisync-bench-lock-") as scratch:
        folder = Path(scratch)
        path = folder / "scisync.lock"
        write_lock(path, make_lock(args.datasets, args.files))
        size = path.stat().st_size
        loaded = read_lock(path)
        assert loaded is not None
        first = next(iter(loaded.datasets.values()))
        changed = replace(
            loaded,
            datasets={
                **loaded.datasets,
                first.key: replace(first, files=first.files[:-1]),
            },
        )
        data = json.loads(path.read_text())
        flip = [loaded, changed]

        def scisync_write() -> None:
            flip.reverse()  # alternate, so every write really writes
            assert write_lock(path, flip[0])

        def plain_dump() -> None:
            with (folder / "plain.json").open("w") as out:
                json.dump(data, out)

        def plain_load() -> None:
            with path.open() as source:
                json.load(source)

        load = best(args.repeat, lambda: read_lock(path))
        load_base = best(args.repeat, plain_load)
        write = best(args.repeat, scisync_write)
        write_base = best(args.repeat, plain_dump)

    files = args.datasets * args.files
    mib = size / 2**20
    print(f"lockfile ({args.datasets} datasets x {args.files} files = {files:,}, {mib:.0f} MiB):")
    for name, took, base, base_name in (
        ("load   read_lock ", load, load_base, "json.load"),
        ("write  write_lock", write, write_base, "json.dump"),
    ):
        verdict = "OK" if took <= 3 else "MISSED"
        print(
            f"  {name} {took:6.2f} s   {base_name} {base:6.2f} s   "
            f"ratio {took / base:.2f}   (target <= 3 s: {verdict})"
        )


if __name__ == "__main__":
    main()

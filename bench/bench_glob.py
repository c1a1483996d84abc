"""File selection: scisync's glob walker vs the standard library's glob.glob, same tree.

scisync walks file selections itself (scisync/manifest/globs.py) so that ``**`` need not
follow linked folders and a link loop is caught; this checks the walk costs about what
glob.glob costs.  The tree: ``--folders`` folders of ``--files`` files each, below one
level of run folders.  Each pattern runs ``--repeat`` times per tool; the fastest is kept.

    /work/venv/bin/python bench/bench_glob.py                 # 100 x 1,000 files
    /work/venv/bin/python bench/bench_glob.py --folders 5 --files 20   # CI size

Target: ratio (scisync / glob) <= 1.5 for every pattern.
"""

from __future__ import annotations

import argparse
import glob
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scisync.manifest.globs import expand_glob  # noqa: E402

PATTERNS = ["**/*.dat", "*/raw/*.dat", "**/*", "run-0*/**/frame-1*.dat"]


def fastest(repeat: int, job: Callable[[], list[str]]) -> tuple[float, list[str]]:
    best, found = float("inf"), []
    for _ in range(repeat):
        start = time.perf_counter()
        found = job()
        best = min(best, time.perf_counter() - start)
    return best, found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folders", type=int, default=100)
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-glob-") as top:
        base = Path(top)
        for folder in range(args.folders):
            raw = base / f"run-{folder:04d}" / "raw"
            raw.mkdir(parents=True)
            for number in range(args.files):
                (raw / f"frame-{number}.dat").touch()
        print(f"{args.folders * args.files:,} files in {args.folders} folders")
        print(f"{'pattern':<26} {'matches':>9} {'scisync s':>10} {'glob s':>8} {'ratio':>6}")
        for pattern in PATTERNS:
            ours, found = fastest(args.repeat, lambda p=pattern: expand_glob(str(base), p))
            theirs, expected = fastest(
                args.repeat,
                lambda p=pattern: glob.glob(p, root_dir=base, recursive=True, include_hidden=True),
            )
            same = set(found) == {path.rstrip("/") for path in expected if path}
            print(
                f"{pattern:<26} {len(found):>9,} {ours:>10.3f} {theirs:>8.3f} "
                f"{ours / theirs:>6.2f}{'' if same else '  MISMATCH'}"
            )


if __name__ == "__main__":
    main()

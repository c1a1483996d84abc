"""Pull benchmark (issue 13): download N datasets x M small files with `scisync pull`.

Setup (kept in --workdir and reused by the next run with the same sizes): N datasets of M
files of 16 bytes are published with a real `scisync apply` (a child process; its peak RSS
is printed too, the apply side of the memory target) into local storage.  Then a second
project whose manifest has one `downloads:` entry selecting every dataset by query pulls
them all: `scisync pull` runs in a child process, timed, its peak RSS read with os.wait4.
Side by side, in the same run, the baseline: `cp -r` of the same stored tree (the least
any tool copying those files must do; it verifies nothing and asks SciCat nothing).

    python bench/bench_pull.py                                    # 1,000 x 100
    python bench/bench_pull.py --datasets 10000 --workdir DIR    # one million files
    python bench/bench_pull.py --datasets 100                     # quicker

Target (issue 13): apply and pull of one million files with peak RSS <= 500 MB.  The
time ratio is context (no target of its own).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from bench_plan import MANIFEST, login, sandbox_process  # noqa: E402

PULL_MANIFEST = """\
version: 1
project: bench-pull
scicat:
  url: {url}
storage:
  local:
    root: {store}
downloads:
  - key: everything
    query:
      owner_groups: [ingestor]
    max_datasets: {datasets}
    target: data
"""

RSS_TARGET = 500 * 10**6  # bytes: issue 13 says 500 MB

CPU: dict[str, float] = {}
"""CPU seconds (user + system) of the last child timed: "scisync" and "cp".  On a busy
machine wall time follows the load; CPU time much less (it leaves out waiting for the
disk, which the wall time shows)."""


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def make_tree(root: Path, datasets: int, files: int) -> None:
    for number in range(datasets):
        folder = root / "data" / f"{number:05d}"
        folder.mkdir(parents=True)
        for index in range(files):
            (folder / f"f{index:04d}.dat").write_bytes(f"{number:05d}/{index:04d}\n".encode()[:16])


def scisync_in_child(root: Path, token: str, *arguments: str) -> tuple[float, int, str]:
    """`scisync -C root ARGS` in its own process: wall seconds, peak RSS in bytes, output.

    Its CPU seconds (user + system) are added to ``CPU["scisync"]``."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "scisync", "-C", str(root), *arguments],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO), "SCICAT_TOKEN": token, "NO_COLOR": "1"},
    )
    assert process.stdout is not None
    output = process.stdout.read()
    process.stdout.close()
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    CPU["scisync"] = usage.ru_utime + usage.ru_stime
    code = os.waitstatus_to_exitcode(status)
    assert code == 0, f"scisync {' '.join(arguments)} exited {code}:\n{output[-3000:]}"
    return wall, usage.ru_maxrss * 1024, output  # Linux: ru_maxrss is in KiB


def setup(workdir: Path, url: str, token: str, datasets: int, files: int) -> str:
    """Publish the datasets once; later runs with the same sizes reuse them."""
    root = workdir / "project"
    marker = workdir / "setup.json"
    wanted = {"datasets": datasets, "files": files}
    if marker.exists() and json.loads(marker.read_text()) == wanted:
        (root / "scisync.yaml").write_text(MANIFEST.format(url=url))
        return f"setup: reusing {root} ({datasets} datasets x {files} files)"
    if marker.exists() or root.exists():
        raise SystemExit(f"{workdir} holds another setup: give another --workdir")
    root.mkdir(parents=True)
    make_tree(root, datasets, files)
    (root / "scisync.yaml").write_text(MANIFEST.format(url=url))
    wall, rss, _ = scisync_in_child(root, token, "apply", "--auto-approve")
    marker.write_text(json.dumps(wanted))
    return (
        f"setup: scisync apply of {datasets} x {files} files (hardlinked local storage) "
        f"{wall:.1f} s, peak RSS {rss / 1e6:.0f} MB ({rss / (datasets * files):.0f} B/file)"
    )


def count_files(folder: Path) -> int:
    return sum(len(names) for _, _, names in os.walk(folder))


def remove(folder: Path) -> None:
    """``rm -rf``: shutil.rmtree of a million files took longer than the pull itself."""
    subprocess.run(["rm", "-rf", str(folder)], check=True)


def copy_tree(source: Path, target: Path) -> float:
    """Seconds for ``cp -r``, after a ``sync`` so that earlier writes are not charged to it."""
    subprocess.run(["sync"], check=False)
    started, cpu = time.perf_counter(), children_cpu()
    subprocess.run(["cp", "-r", str(source), str(target)], check=True)
    CPU["cp"] = children_cpu() - cpu
    return time.perf_counter() - started


def pull_once(workdir: Path, url: str, token: str, datasets: int) -> tuple[float, int, int, float]:
    """One `scisync pull` of everything into a fresh folder: seconds, peak RSS, files,
    CPU seconds."""
    pull = workdir / "pull"
    remove(pull)
    pull.mkdir()
    store = (workdir / "project" / "store").resolve()
    (pull / "scisync.yaml").write_text(
        PULL_MANIFEST.format(url=url, store=store, datasets=datasets)
    )
    subprocess.run(["sync"], check=False)
    wall, rss, _ = scisync_in_child(pull, token, "pull")
    pulled = count_files(pull / "data")
    remove(pull)
    return wall, rss, pulled, CPU["scisync"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=int, default=1000)
    parser.add_argument("--files", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=1, help="pulls to time (best is shown)")
    parser.add_argument(
        "--workdir",
        type=Path,
        help="keep the published project and catalogue here; reused by the next run",
    )
    args = parser.parse_args()
    total = args.datasets * args.files

    with tempfile.TemporaryDirectory(prefix="scisync-bench-pull-") as scratch:
        workdir = args.workdir or Path(scratch)
        workdir.mkdir(parents=True, exist_ok=True)
        with sandbox_process(workdir / "scicat") as url:
            token = login(url)
            print(setup(workdir, url, token, args.datasets, args.files), flush=True)
            store = workdir / "project" / "store"
            assert count_files(store) == total, (count_files(store), total)
            copies: list[tuple[float, float]] = []
            pulls: list[tuple[float, int, int, float]] = []
            for _ in range(args.repeat):
                copies.append((copy_tree(store, workdir / "copy"), CPU["cp"]))
                remove(workdir / "copy")
                pulls.append(pull_once(workdir, url, token, args.datasets))
            copies.append((copy_tree(store, workdir / "copy"), CPU["cp"]))
            remove(workdir / "copy")

    for _, _, pulled, _ in pulls:
        assert pulled == total, f"pulled {pulled} files, expected {total}"
    wall = min(run[0] for run in pulls)
    cpu = min(run[3] for run in pulls)
    rss = max(run[1] for run in pulls)
    copy = min(run[0] for run in copies)
    copy_cpu = min(run[1] for run in copies)
    verdict = ("met" if rss <= RSS_TARGET else "NOT met") if total >= 10**6 else "not this size"
    print(f"pull ({args.datasets} datasets x {args.files} files of 16 B, local storage):")
    print(
        f"  scisync pull   {wall:8.2f} s   (best of {len(pulls)}; plan + download + lockfile;"
        f" CPU {cpu:.2f} s)"
    )
    print(
        f"  cp -r          {copy:8.2f} s   (best of {len(copies)}, around the pulls;"
        f" CPU {copy_cpu:.2f} s)"
    )
    print(f"  peak RSS       {rss / 1e6:8.0f} MB   ({rss / total:.0f} B per file)")
    print(f"  target <= 500 MB at one million files: {verdict}")
    print(f"  ratio pull / cp -r: {wall / copy:.2f}   (CPU: {cpu / max(copy_cpu, 1e-3):.2f})")


if __name__ == "__main__":
    main()

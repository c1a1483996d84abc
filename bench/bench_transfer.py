"""Upload and download a dataset over loopback SFTP: scisync vs OpenSSH sftp vs paramiko defaults.

All three talk to the same throwaway OpenSSH sshd (scisync.testing.sshd) in the same run:

* OpenSSH: ``sftp -b batch`` (one connection, file by file, OpenSSH's own pipelining);
* paramiko defaults: one connection, ``SFTPClient.put`` / ``get`` file by file (what
  scitacean's SFTP transfer does);
* scisync: ``SftpStorage.upload`` / ``download`` with default options (pooled connections,
  streaming blake3 verification, server-side b3sum check, temp name + rename, fsync), run in
  a child process that does nothing else, so its peak RSS is scisync's alone.

Dataset (``--scale 1``): one 768 MiB file and 1,000 files of 256 KiB (1 GiB in total).
``--scale 0.1`` shrinks the big file and the file count tenfold.  ``--files N --size B``
measures the small-file case instead: N files of B bytes in one folder.  Each measurement is
repeated ``--repeat`` times and the fastest run is kept (the machine is shared; the minimum is
the least disturbed).

Where Linux lets the benchmark make cpuacct cgroups (as root with cgroup v1), it also prints
the CPU seconds each side used in its fastest run: the client (``sftp`` and its ``ssh``, or
scisync's child) and the server (sshd and every sftp-server it forked, exited ones
included).  Client and server share this machine's cores, so (client + server) / cores is the
shortest wall time a run can have: that bounds what any client can reach against OpenSSH.

Targets (issue 13): scisync/OpenSSH <= 0.9 for the 1 GiB dataset,
<= 0.5 for 10,000 x 4 KiB and 1,000 x 256 KiB; RSS <= 200 MB.

    /work/venv/bin/python bench/bench_transfer.py --scale 0.1
    /work/venv/bin/python bench/bench_transfer.py --files 10000 --size 4096 --paramiko-runs 0
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MiB = 2**20


def make_small_files(folder: Path, count: int, size: int) -> list[Path]:
    """*count* files of *size* random bytes in one folder (the small-file case)."""
    small = folder / "small"
    small.mkdir(parents=True)
    files = []
    for i in range(count):
        path = small / f"f{i:05d}.bin"
        path.write_bytes(os.urandom(size))
        files.append(path)
    return files


def make_dataset(folder: Path, scale: float) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    big = folder / "big.bin"
    big_size = max(MiB, int(768 * MiB * scale))
    chunk = os.urandom(4 * MiB)
    with big.open("wb") as out:
        left = big_size
        while left > 0:
            out.write(chunk[: min(left, len(chunk))])
            left -= len(chunk)
    files = [big]
    small = folder / "small"
    small.mkdir()
    for i in range(max(1, round(1000 * scale))):
        path = small / f"f{i:04d}.bin"
        path.write_bytes(os.urandom(256 * 1024))
        files.append(path)
    return files


def total_size(files: list[Path]) -> int:
    return sum(p.stat().st_size for p in files)


# -- CPU accounting ---------------------------------------------------------------------


class CpuAccount:
    """CPU seconds of the client side and the server side, exited processes included.

    Two cpuacct cgroups: sshd is moved into the server one (the sessions it forks inherit
    it); each client command is started inside the client one by a shell that joins it
    before ``exec``.  ``None`` where cgroups cannot be made (not root, cgroup v2 only)."""

    ROOT = Path("/sys/fs/cgroup/cpuacct")

    def __init__(self, server_pid: int) -> None:
        tag = f"scisync-bench-{os.getpid()}"
        self.client = self.ROOT / f"{tag}-client"
        self.server = self.ROOT / f"{tag}-server"
        try:
            self.client.mkdir()
            self.server.mkdir()
            (self.server / "cgroup.procs").write_text(str(server_pid))
        except OSError:
            self.close()  # no group left behind by a half-made account
            raise

    @classmethod
    def start(cls, server_pid: int) -> CpuAccount | None:
        try:
            return cls(server_pid)
        except OSError:
            return None

    def wrap(self, args: list[str]) -> list[str]:
        """*args*, started inside the client cgroup."""
        join = 'echo $$ > "$0"; exec "$@"'
        return ["sh", "-c", join, str(self.client / "cgroup.procs"), *args]

    def seconds(self) -> tuple[float, float]:
        """CPU seconds used so far: (client, server)."""
        return tuple(  # type: ignore[return-value]
            int((group / "cpuacct.usage").read_text()) / 1e9 for group in (self.client, self.server)
        )

    def close(self) -> None:
        """Remove both groups (sshd has stopped; the client commands have exited)."""
        for group in (self.client, self.server):
            with contextlib.suppress(OSError):  # already gone, or a process is still in it
                group.rmdir()


def run_command(
    args: list[str], cpu: CpuAccount | None
) -> tuple[float, tuple[float, float] | None]:
    """Run *args*; its wall time, and the CPU seconds (client, server) it cost if counted."""
    before = cpu.seconds() if cpu else None
    start = time.perf_counter()
    subprocess.run(cpu.wrap(args) if cpu else args, check=True, stdout=subprocess.DEVNULL)
    elapsed = time.perf_counter() - start
    if cpu is None or before is None:
        return elapsed, None
    after = cpu.seconds()
    return elapsed, (after[0] - before[0], after[1] - before[1])


# -- OpenSSH ----------------------------------------------------------------------------


def openssh(
    server: object, batch_lines: list[str], workdir: Path, cpu: CpuAccount | None = None
) -> tuple[float, tuple[float, float] | None]:
    batch = workdir / "batch.txt"
    batch.write_text("\n".join(batch_lines) + "\n")
    args = [
        "sftp",
        "-q",
        "-F",
        str(server.ssh_config),  # type: ignore[attr-defined]
        "-b",
        str(batch),
        server.host_alias,  # type: ignore[attr-defined]
    ]
    return run_command(args, cpu)


def openssh_upload(
    server: object, files: list[Path], src: Path, dst: Path, wd: Path, cpu: CpuAccount | None
) -> tuple[float, tuple[float, float] | None]:
    lines = [f"-mkdir {dst}", f"-mkdir {dst}/small"]
    lines += [f'put "{p}" "{dst / p.relative_to(src)}"' for p in files]
    return openssh(server, lines, wd, cpu)


def openssh_download(
    server: object, files: list[Path], src: Path, dst: Path, wd: Path, cpu: CpuAccount | None
) -> tuple[float, tuple[float, float] | None]:
    (dst / "small").mkdir(parents=True, exist_ok=True)
    lines = [f'get "{src / p}" "{dst / p}"' for p in files]
    return openssh(server, lines, wd, cpu)


# -- paramiko defaults -----------------------------------------------------------------


def paramiko_client(server: object) -> object:
    import paramiko

    client = paramiko.SSHClient()
    client.load_host_keys(str(server.known_hosts))  # type: ignore[attr-defined]
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    client.connect(
        "127.0.0.1",
        port=server.port,  # type: ignore[attr-defined]
        username=server.user,  # type: ignore[attr-defined]
        key_filename=str(server.client_key),  # type: ignore[attr-defined]
        allow_agent=False,
        look_for_keys=False,
    )
    return client


def paramiko_upload(server: object, files: list[Path], src: Path, dst: Path) -> float:
    client = paramiko_client(server)
    start = time.perf_counter()
    sftp = client.open_sftp()  # type: ignore[attr-defined]
    sftp.mkdir(str(dst))
    sftp.mkdir(str(dst / "small"))
    for path in files:
        sftp.put(str(path), str(dst / path.relative_to(src)))
    sftp.close()
    elapsed = time.perf_counter() - start
    client.close()  # type: ignore[attr-defined]
    return elapsed


def paramiko_download(server: object, files: list[Path], src: Path, dst: Path) -> float:
    client = paramiko_client(server)
    (dst / "small").mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    sftp = client.open_sftp()  # type: ignore[attr-defined]
    for rel in files:
        sftp.get(str(src / rel), str(dst / rel))
    sftp.close()
    elapsed = time.perf_counter() - start
    client.close()  # type: ignore[attr-defined]
    return elapsed


# -- scisync (child process) -------------------------------------------------------------


def scisync_child(spec_file: Path) -> None:
    """Run only scisync's transfer; print times and peak RSS as JSON."""
    from scisync.storage.base import DownloadJob, RemotePath, UploadJob
    from scisync.storage.sftp import SftpStorage

    spec = json.loads(spec_file.read_text())
    storage = SftpStorage(
        spec["host"],
        ssh_config_path=Path(spec["ssh_config"]),
        verify_remote_checksum=spec["verify"],
    )
    result: dict[str, float] = {}
    if spec["mode"] == "upload":
        jobs = [
            UploadJob(Path(j["local"]), RemotePath(j["remote"]), j["size"], j["blake3"])
            for j in spec["jobs"]
        ]
        start = time.perf_counter()
        storage.upload(jobs)
    else:
        jobs_down = [
            DownloadJob(RemotePath(j["remote"]), Path(j["local"]), j["size"]) for j in spec["jobs"]
        ]
        start = time.perf_counter()
        storage.download(jobs_down)
    result["seconds"] = time.perf_counter() - start
    storage.close()
    result["peak_rss_mb"] = peak_rss_mb()
    print(json.dumps(result))


def peak_rss_mb() -> float:
    """This process's peak RSS.  VmHWM, not getrusage: Linux carries ru_maxrss across
    fork+exec, so a child would report its (large) parent's RSS as its own."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def scisync_run(
    server: object,
    mode: str,
    jobs: list[dict[str, object]],
    wd: Path,
    cpu: CpuAccount | None,
    verify: bool = True,
) -> tuple[dict[str, float], tuple[float, float] | None]:
    """The child's own figures, and the CPU seconds (client, server) of the run if counted."""
    spec = {
        "verify": verify,
        "host": server.host_alias,  # type: ignore[attr-defined]
        "ssh_config": str(server.ssh_config),  # type: ignore[attr-defined]
        "mode": mode,
        "jobs": jobs,
    }
    spec_file = wd / f"spec-{mode}.json"
    spec_file.write_text(json.dumps(spec))
    args = [sys.executable, __file__, "--child", str(spec_file)]
    before = cpu.seconds() if cpu else None
    out = subprocess.run(
        cpu.wrap(args) if cpu else args, check=True, capture_output=True, text=True, cwd=ROOT
    )
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    if cpu is None or before is None:
        return figures, None
    after = cpu.seconds()
    return figures, (after[0] - before[0], after[1] - before[1])


def print_cpu(
    times: dict[str, list[float]], used: dict[str, list[tuple[float, float] | None]]
) -> None:
    """CPU seconds of each fastest run, and the wall time two sides sharing the cores need."""
    cores = os.cpu_count() or 1
    lines = []
    for name, values in used.items():
        fastest = times[name].index(min(times[name]))
        cost = values[fastest]
        if cost is None:
            continue
        client, server = cost
        lines.append(
            f"{name:18s} client {client:5.2f} s  server {server:5.2f} s  "
            f"total {client + server:5.2f} s  (/ {cores} cores = {(client + server) / cores:.2f} s)"
        )
    if not lines:
        print("CPU seconds per side: not counted (needs cpuacct cgroups: root, cgroup v1)")
        return
    print("CPU seconds of each fastest run (sshd and its sftp-servers count as the server):")
    for line in lines:
        print("  " + line)


# -- main ---------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument(
        "--paramiko-runs",
        type=int,
        default=1,
        help="repeat the (slow) paramiko baseline only this many times",
    )
    parser.add_argument(
        "--files",
        type=int,
        default=None,
        help="small-file case instead: this many files of --size bytes (no big file)",
    )
    parser.add_argument("--size", type=int, default=4096, help="bytes per file with --files")
    parser.add_argument(
        "--no-remote-check",
        action="store_true",
        help="diagnosis only: skip the server-side b3sum of uploads (each check starts a "
        "command on the server, whose cost is the server's shell start-up)",
    )
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--child", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        scisync_child(args.child)
        return

    from scisync._util.hashing import hash_files
    from scisync.testing.sshd import start_sshd

    # Stopped with SIGTERM, still stop sshd and delete the data (the finally below).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    workdir = Path(tempfile.mkdtemp(prefix="scisync-bench-", dir=args.workdir))
    server = start_sshd(workdir / "sshd")
    cpu = CpuAccount.start(server.process.pid)
    try:
        src = workdir / "src"
        if args.files is not None:
            files = make_small_files(src, args.files, args.size)
            shape = f"{len(files)} x {args.size} B"
            target = 0.5  # issue 13: small files at most half OpenSSH's time
        else:
            files = make_dataset(src, args.scale)
            shape = (
                f"big file {files[0].stat().st_size / MiB:.0f} MiB, {len(files) - 1} x 256 KiB; "
                f"scale {args.scale}"
            )
            target = 0.9  # issue 13: the 1 GiB case at most 0.9 of OpenSSH's time
        rel = [p.relative_to(src) for p in files]
        size = total_size(files)
        digests = hash_files(files, ["blake3"]).digests  # scisync's plan step, not timed
        print(
            f"dataset: {len(files)} files, {size / MiB:.1f} MiB ({shape}); "
            f"best of {args.repeat} (paramiko: {min(args.repeat, args.paramiko_runs)}); "
            f"{'NO server-side check of uploads; ' if args.no_remote_check else ''}"
            f"{os.cpu_count()} CPUs"
        )
        times: dict[str, list[float]] = {}
        used: dict[str, list[tuple[float, float] | None]] = {}  # CPU (client, server) per run
        rss: dict[str, list[float]] = {"upload": [], "download": []}
        for attempt in range(args.repeat):
            run = workdir / f"run{attempt}"
            remote = run / "remote"
            local = run / "local"
            remote.mkdir(parents=True)
            local.mkdir()

            t, c = openssh_upload(server, files, src, remote / "openssh", workdir, cpu)
            times.setdefault("openssh upload", []).append(t)
            used.setdefault("openssh upload", []).append(c)
            with_paramiko = attempt < args.paramiko_runs
            if with_paramiko:
                t = paramiko_upload(server, files, src, remote / "paramiko")
                times.setdefault("paramiko upload", []).append(t)
            up_jobs: list[dict[str, object]] = [
                {
                    "local": str(src / r),
                    "remote": str(remote / "scisync" / r),
                    "size": (src / r).stat().st_size,
                    "blake3": digests[src / r]["blake3"],
                }
                for r in rel
            ]
            child, c = scisync_run(
                server, "upload", up_jobs, workdir, cpu, not args.no_remote_check
            )
            times.setdefault("scisync upload", []).append(child["seconds"])
            used.setdefault("scisync upload", []).append(c)
            rss["upload"].append(child["peak_rss_mb"])

            served = remote / "openssh"  # every client downloads the same files
            t, c = openssh_download(server, rel, served, local / "openssh", workdir, cpu)
            times.setdefault("openssh download", []).append(t)
            used.setdefault("openssh download", []).append(c)
            if with_paramiko:
                t = paramiko_download(server, rel, served, local / "paramiko")
                times.setdefault("paramiko download", []).append(t)
            down_jobs: list[dict[str, object]] = [
                {
                    "remote": str(served / r),
                    "local": str(local / "scisync" / r),
                    "size": (src / r).stat().st_size,
                }
                for r in rel
            ]
            child, c = scisync_run(server, "download", down_jobs, workdir, cpu)
            times.setdefault("scisync download", []).append(child["seconds"])
            used.setdefault("scisync download", []).append(c)
            rss["download"].append(child["peak_rss_mb"])
            for name in (
                ("openssh", "paramiko", "scisync") if with_paramiko else ("openssh", "scisync")
            ):
                for path in rel:
                    if (local / name / path).read_bytes() != (src / path).read_bytes():
                        raise SystemExit(f"{name} download of {path} differs from the source")
            shutil.rmtree(run)

        best = {name: min(values) for name, values in times.items()}
        print()
        for name, values in times.items():
            shown = ", ".join(f"{v:.2f}" for v in values)
            print(
                f"{name:18s} best {best[name]:7.2f} s  {size / MiB / best[name]:7.1f} MiB/s"
                f"   (runs: {shown})"
            )
        print()
        for direction in ("upload", "download"):
            ours = best[f"scisync {direction}"]
            vs_ssh = ours / best[f"openssh {direction}"]
            line = (
                f"{direction:8s}: scisync/openssh = {vs_ssh:.2f} (target <= {target}: "
                f"{'met' if vs_ssh <= target else 'NOT met'})"
            )
            if f"paramiko {direction}" in best:
                vs_pm = ours / best[f"paramiko {direction}"]
                line += f";  scisync/paramiko-default = {vs_pm:.2f}"
            print(line)
        print_cpu(times, used)
        peak = max(max(v) for v in rss.values())
        print(
            f"scisync peak RSS (child process running only the transfer): upload "
            f"{max(rss['upload']):.0f} MB, download {max(rss['download']):.0f} MB "
            f"(target <= 200 MB: {'met' if peak <= 200 else 'NOT met'})"
        )
    finally:
        server.stop()
        if cpu is not None:
            cpu.close()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()

"""Faults injected into the test sshd from outside: its per-connection processes found
in /proc and killed, as a dropped network or a crashed server would end them."""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path

from scisync.testing.sshd import SshServer


def session_pids(server: SshServer) -> list[int]:
    """The per-connection processes the test sshd forked (not the listener itself)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    found: list[int] = []
    pending = [server.process.pid]
    while pending:
        for child in children.get(pending.pop(), []):
            found.append(child)
            pending.append(child)
    return found


def kill_sessions(server: SshServer) -> None:
    for pid in session_pids(server):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


class KillOnce:
    """A progress callback that kills the server's sessions at its first call (midway
    through a transfer), and only then."""

    def __init__(self, server: SshServer) -> None:
        self.server = server
        self.killed = False

    def __call__(self, count: int) -> None:
        if not self.killed:
            self.killed = True
            kill_sessions(self.server)

"""The apply journal: intent before every side effect, result after it, fsync'd.

One JSON object per line in ``.scisync/journal.jsonl``.  An apply that finds a journal
left by an interrupted run reports it and resumes; every step is written so that
re-running it is safe (markers find created datasets, ids are deterministic, uploads
skip files already in place), so the journal's job is to say what was in flight and
to hand a created pid to the resumed run when the marker lookup cannot.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from scisync._util.jsontypes import Json


@dataclass(frozen=True)
class JournalEntry:
    phase: str  # "intent" | "done"
    step: str  # e.g. "create-dataset", "register-files", "attach", "upload"
    address: str
    data: Mapping[str, Json]


SELF_REPAIRING_STEPS = frozenset({"upload", "download"})
"""Steps whose interrupted side effects the next run finds and repairs on the storage
itself, without the journal: files placed but not confirmed durable carry their mark
(docs/storage.md), temporaries are swept, and the plan lists what is really there.  Their
intent is informational, so it is not fsync'd on its own (see :class:`Journal`)."""


class Journal:
    """Append-only, thread-safe; every intent the next run relies on is fsync'd first.

    An intent is fsync'd before its side effect, except for the steps in
    :data:`SELF_REPAIRING_STEPS` and a step an fsync'd intent announced (a new dataset's
    registration: one fsync per dataset instead of two); a "done" line is written but not
    fsync'd on its own.
    The next fsync'd intent (same file, appended in order) makes those durable too.  One
    lost to a power cut only means a step is redone or an upload is reported less
    precisely, and every step is safe to redo.  Threads whose intents are waiting share
    one fsync (a group commit): the four workers of a small-file apply otherwise queue
    up one fsync each.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()  # orders the appends
        self._sync_lock = threading.Lock()  # one fsync at a time
        self._written = 0  # lines appended by this object
        self._synced = 0  # lines known to be on disk

    def entries(self) -> list[JournalEntry]:
        """What an earlier run left behind ([] if it finished or never ran)."""
        if not self.path.exists():
            return []
        found = []
        for line in self.path.read_text().splitlines():
            try:
                raw = json.loads(line)
            except json.JSONDecodeError:
                break  # a torn last line from a crash mid-write: everything before it stands
            found.append(
                JournalEntry(raw["phase"], raw["step"], raw["address"], raw.get("data", {}))
            )
        return found

    def record(
        self, phase: str, step: str, address: str, *, announced: bool = False, **data: Json
    ) -> None:
        """Append one line; an intent is on disk when this returns (see the class), unless
        *announced*: an fsync'd intent of this run already announced the step (a new
        dataset's create intent announces its file registration, :meth:`registering`)."""
        line = json.dumps(
            {"phase": phase, "step": step, "address": address, "data": data}, sort_keys=True
        )
        with self._lock:
            try:
                stream = open(self.path, "a", encoding="utf-8")  # noqa: SIM115
            except FileNotFoundError:  # no state folder yet (a mkdir per line cost a few %)
                self.path.parent.mkdir(parents=True, exist_ok=True)
                stream = open(self.path, "a", encoding="utf-8")  # noqa: SIM115
            with stream:
                stream.write(line + "\n")
            self._written += 1
            mine = self._written
        if phase == "intent" and step not in SELF_REPAIRING_STEPS and not announced:
            self._sync(mine)

    def _sync(self, line: int) -> None:
        """Return once line number *line* is on disk, sharing one fsync with other waiters."""
        with self._sync_lock:
            if self._synced >= line:
                return  # another thread's fsync already covered it
            with self._lock:
                covered = self._written
            fd = os.open(self.path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            self._synced = covered

    def registering(self) -> frozenset[str]:
        """Addresses whose file registration an earlier run may have begun, so a partly
        registered file list is completed, not refused: every register-files line, and
        every create-dataset intent that announced one (``registers``: its register-files
        intent follows unsynced, and a power cut may take it)."""
        return frozenset(
            entry.address
            for entry in self.entries()
            if entry.step == "register-files"
            or (entry.step == "create-dataset" and entry.data.get("registers"))
        )

    def created_pids(self) -> dict[str, str]:
        """address -> pid for every create an earlier run completed."""
        return {
            entry.address: str(entry.data["pid"])
            for entry in self.entries()
            if entry.phase == "done" and entry.step == "create-dataset" and "pid" in entry.data
        }

    def completed_steps(self) -> frozenset[tuple[str, str]]:
        """(step, address) of every step an earlier run finished."""
        return frozenset((e.step, e.address) for e in self.entries() if e.phase == "done")

    def finish(self) -> None:
        """The apply completed: the journal has nothing left to tell."""
        with self._lock:
            self.path.unlink(missing_ok=True)

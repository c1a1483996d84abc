"""What of the journal a power cut leaves at each SciCat write, and what the next plan
reads from it (docs/storage.md, the apply journal).

A killed process loses nothing it wrote (the page cache survives it), so the crash tests
cannot tell a synced line from an unsynced one.  Here every ``fsync`` of the journal is
recorded with the file's size at that moment: the journal cut back to the last one is
the least a power cut can leave.  At every write to SciCat, that cut journal must already
say what the next run needs: the step's intent, and for a file registration, that the
dataset is being registered (``Journal.registering``, the plan's ``resuming``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from scisync.apply.journal import Journal

from .applier_setup import Setup, Watched

# The journal step each kind of SciCat write belongs to.
STEP_OF_WRITE = {
    "create_sample": "create-sample",
    "create_dataset": "create-dataset",
    "create_origdatablock": "register-files",
    "create_attachment": "attach",
}


class SyncedSize:
    """The journal's size at its last ``fsync``: what survives a power cut at worst."""

    def __init__(self, journal: Path) -> None:
        self.journal = journal
        self.size = 0
        self.syncs = 0

    def wrap(self, real: Any) -> Any:
        def fsync(fd: int) -> None:
            real(fd)
            if os.readlink(f"/proc/self/fd/{fd}") == str(self.journal):
                self.size = os.fstat(fd).st_size
                self.syncs += 1

        return fsync

    def after_power_cut(self, into: Path) -> Journal:
        into.write_bytes(self.journal.read_bytes()[: self.size])
        return Journal(into)


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc (Linux)")
def test_at_every_write_a_power_cut_leaves_the_intent_the_next_run_needs(
    setup: Setup, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced = SyncedSize(setup.journal.path.resolve())
    monkeypatch.setattr(os, "fsync", synced.wrap(os.fsync))
    missing: list[tuple[str, str]] = []
    writes: list[str] = []

    def before(name: str, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
        kind, _, key = str(kwargs["context"]).partition(" ")
        address = f"{kind}.{key}"
        left = synced.after_power_cut(tmp_path / f"cut-{len(writes)}.jsonl")
        writes.append(name)
        intents = {(e.step, e.address) for e in left.entries() if e.phase == "intent"}
        step = STEP_OF_WRITE[name]
        if step == "register-files":
            if address not in left.registering():  # the plan would refuse the rest
                missing.append((name, address))
        elif (step, address) not in intents:
            missing.append((name, address))

    setup.applier(setup.plan(), Watched(setup.connection.catalog, before=before), 1).run()
    assert sorted(set(writes)) == sorted(STEP_OF_WRITE)
    assert missing == []
    # One fsync per SciCat step: the sample, five datasets, one attachment.  The three
    # new datasets' registrations ride on their create intents' fsync.
    assert synced.syncs == 7


def test_registering_reads_register_lines_and_announcing_create_intents(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.jsonl")
    journal.record("intent", "create-dataset", "dataset.a", marker="m-a", registers=3)
    journal.record("intent", "create-dataset", "dataset.b", marker="m-b", registers=0)
    journal.record("intent", "register-files", "dataset.c", pid="p-c", files=2)
    journal.record("done", "register-files", "dataset.d", pid="p-d")
    journal.record("intent", "upload", "dataset.e", files=2)
    journal.record("intent", "create-dataset", "dataset.f", marker="m-f")  # an older journal
    assert journal.registering() == {"dataset.a", "dataset.c", "dataset.d"}

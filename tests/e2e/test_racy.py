"""Racily clean files end to end (scisync._util.racy), on the real clock: a file rewritten
in place with the same size within the clock tick of a hash or of a settled stamp keeps
its stat, and the plan must still show the change.

This kernel stamps files with fine timestamps, so a rewrite cannot be held inside the
tick of a read.  Each race is built from what it would leave behind, on real files: the
hash-cache entry of a read that saw the content before the rewrite, or the settled stamp
of a plan whose hash saw it.  The controls wait the margin out (or move the rule's clock
on by it) before the same record is made: then the same record is trusted, which shows
the rule is what turns the race into a full read.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from scisync import api
from scisync._util import hashing, racy
from scisync.plan.model import Plan
from scisync.sandbox import SandboxServer

from .workspace import Workspace, local_workspace

ALL = {"raw-1", "raw-2", "reduced"}


@pytest.fixture(name="ws")
def workspace_fixture(tmp_path: Path, scicat_sandbox: SandboxServer) -> Workspace:
    ws = local_workspace(tmp_path, scicat_sandbox)
    project = api.load_project([ws.manifest])
    with api.connect(project, environ={"SCICAT_TOKEN": ws.token}) as connection:
        assert api.apply(project, connection, api.plan(project, connection)).lock_written
    return ws


def _plan(ws: Workspace) -> Plan:
    project = api.load_project([ws.manifest])
    with api.connect(project, environ={"SCICAT_TOKEN": ws.token}) as connection:
        return api.plan(project, connection)


def _shown(plan: Plan) -> set[str]:
    shown = {f"{c.action.value} {c.address}" for c in plan.changes if c.has_changes}
    return shown | {f"{c.kind.value} {c.address}" for c in plan.conflicts}


def _rewrite_in_place(frame: Path) -> bytes:
    """Rewrite *frame* with the same size (a detector writing it again); its old bytes."""
    old = frame.read_bytes()
    new = old.replace(b"run 1", b"RUN 1", 1)
    assert len(new) == len(old) and new != old
    frame.write_bytes(new)
    return old


def _digests(data: bytes) -> dict[str, str]:
    blake3 = hashing.new_hasher("blake3")
    blake3.update(data)
    return {"blake3": blake3.hexdigest(), "sha256": hashlib.sha256(data).hexdigest()}


def _wait_out_the_margin(*paths: Path) -> None:
    newest = max(racy.newest_change_ns(path.stat()) for path in paths)
    time.sleep(max(0.0, (newest + racy.RACY_MARGIN_NS - time.time_ns()) / 1e9) + 0.05)


@pytest.mark.parametrize(("margin_passed", "shown"), [(False, True), (True, False)])
def test_a_hash_cache_entry_left_by_a_racing_read_is_read_again(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch, margin_passed: bool, shown: bool
) -> None:
    """The cache holds the old content's digests under the stat the rewritten file has:
    what a hash that read the file just before a same-tick rewrite records."""
    frame = ws.root / "runs" / "run-1" / "frame-1.dat"
    old = _rewrite_in_place(frame)
    if margin_passed:  # control: the same entry recorded a margin after the rewrite
        margin = racy.RACY_MARGIN_NS
        monkeypatch.setattr(racy, "now_ns", lambda: time.time_ns() + margin + 1)
    cache = hashing.HashCache(ws.root / ".scisync" / "hashcache.sqlite")
    cache.store(frame, frame.stat(), _digests(old), racy.now_ns())
    cache.close()
    (ws.root / ".scisync" / "settled.json").unlink(missing_ok=True)

    plan = _plan(ws)
    assert ("files-changed dataset.raw-1" in _shown(plan)) is shown, _shown(plan)


@pytest.mark.parametrize(("margin_passed", "shown"), [(False, True), (True, False)])
def test_a_settled_stamp_recorded_by_a_racing_plan_does_not_settle(
    ws: Workspace,
    monkeypatch: pytest.MonkeyPatch,
    expanded: list[str],
    margin_passed: bool,
    shown: bool,
) -> None:
    """A plan walks the files, then its hash reads the content before a same-tick rewrite:
    it finds nothing changed and records the dataset's stamp, which the rewrite did not
    move.  The next plan must plan that dataset in full and show the change."""
    frame = ws.root / "runs" / "run-1" / "frame-1.dat"
    old = _rewrite_in_place(frame)
    if margin_passed:  # control: that plan runs a margin after the rewrite
        _wait_out_the_margin(frame)
    original = hashing.CachedHasher.digests

    def read_before_the_rewrite(
        self: hashing.CachedHasher,
        paths: Sequence[Path | str],
        algorithms: Sequence[str],
        stats: Sequence[os.stat_result] | None = None,
    ) -> list[Mapping[str, str]]:
        found = original(self, paths, algorithms, stats)
        return [
            {name: _digests(old)[name] for name in digests}
            if os.fspath(path) == os.fspath(frame)
            else digests
            for path, digests in zip(paths, found, strict=True)
        ]

    with monkeypatch.context() as racing:
        racing.setattr(hashing.CachedHasher, "digests", read_before_the_rewrite)
        racing_plan = _plan(ws)  # what the racing plan saw: nothing changed
        assert not racing_plan.has_changes and not racing_plan.conflicts
    recorded = json.loads((ws.root / ".scisync" / "settled.json").read_text())
    assert "raw-1" in recorded["datasets"]  # it recorded the rewritten file's stamp

    expanded.clear()
    plan = _plan(ws)
    assert ("files-changed dataset.raw-1" in _shown(plan)) is shown, _shown(plan)
    assert ("raw-1" in expanded) is shown


def test_records_made_once_the_margin_has_passed_settle_the_next_plan(
    ws: Workspace, expanded: list[str], files_read: list[int]
) -> None:
    """The real clock, end to end: the entries the apply's plan made right after the files
    were written are racy; once the margin has passed, one plan reads the files again and
    records afresh, and the plan after it is settled and reads nothing."""
    frames = sorted((ws.root / "runs").rglob("*.dat"))
    _wait_out_the_margin(ws.root / "plots" / "intensity.png", *frames)
    first = _plan(ws)
    assert not first.has_changes and not first.conflicts
    assert sum(files_read) >= len(frames)  # the apply's entries were racy: read again
    assert set(expanded) == ALL
    files_read.clear()
    expanded.clear()
    second = _plan(ws)
    assert not second.has_changes and not second.conflicts
    assert expanded == [] and sum(files_read) == 0

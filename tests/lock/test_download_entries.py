"""A download's lockfile entry, made from its planned files kept as columns and the
digests the apply kept packed: written byte for byte as the same files as plain values."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

from scisync._util.columns import PackedHex
from scisync.apply.lockbuild import updated_lock
from scisync.lock.io import dumps_lock
from scisync.lock.model import LockedDownload, LockedFile, Lockfile
from scisync.plan.model import (
    Action,
    FileAction,
    FileChange,
    Fingerprint,
    PackedFileChanges,
    Plan,
    ResourceChange,
    ResourceKind,
)
from tests.lock.lock_samples import random_lock


def _planned(entry: LockedDownload, rng: random.Random) -> tuple[ResourceChange, list[str | None]]:
    """A download change for *entry*'s files in a shuffled order, some already present
    (their blake3 in the plan), the others fetched (the digest from the apply)."""
    files = list(entry.files)
    rng.shuffle(files)
    changes, digests = [], []
    for file in files:
        present = rng.random() < 0.3
        changes.append(
            FileChange(
                path=file.path,
                action=FileAction.KEEP if present else FileAction.ADD,
                size=file.size,
                blake3=file.blake3 if present else None,
                checksum=file.checksum,
                local=f"/pull/data/{entry.key}/{file.path}",
                remote=f"/store/{entry.pid}/{file.path}",
                needs_transfer=not present,
            )
        )
        digests.append(None if present else file.blake3)
    change = ResourceChange(
        kind=ResourceKind.DOWNLOAD,
        key=entry.key,
        action=Action.DOWNLOAD,
        pid=entry.pid,
        files=PackedFileChanges(changes),
    )
    return change, digests


@pytest.mark.parametrize("seed", range(20))
def test_a_download_entry_is_written_as_its_files_are(seed: int) -> None:
    rng = random.Random(seed)
    lock = random_lock(seed)
    downloads = dict(sorted(lock.downloads.items()))
    expected = replace(lock, datasets={}, samples={}, downloads=downloads)
    planned = {key: _planned(entry, rng) for key, entry in lock.downloads.items()}
    plan = Plan(
        project=lock.project,
        changes=tuple(change for change, _ in planned.values()),
        fingerprint=Fingerprint("m", "l", "o"),
    )
    digests = {change.address: PackedHex(found) for change, found in planned.values()}
    written = updated_lock(Lockfile(project=lock.project), plan, {}, {}, digests)
    assert dumps_lock(written) == dumps_lock(expected)


def test_a_download_with_a_file_without_digest_keeps_its_old_entry() -> None:
    old = LockedDownload(key="d", pid="p", files=(LockedFile("a", 1, "a" * 64, None),))
    change = ResourceChange(
        kind=ResourceKind.DOWNLOAD,
        key="d",
        action=Action.DOWNLOAD,
        pid="p",
        files=PackedFileChanges(
            [
                FileChange("a", FileAction.ADD, 1, None, None, "/t/a", "/s/a", True),
                FileChange("b", FileAction.ADD, 1, None, None, "/t/b", "/s/b", True),
            ]
        ),
    )
    plan = Plan(project="x", changes=(change,), fingerprint=Fingerprint("m", "l", "o"))
    before = Lockfile(project="x", downloads={"d": old})
    for found in ([None, None], ["b" * 64, None], ["b" * 64], []):
        assert updated_lock(before, plan, {}, {}, {change.address: found}).downloads == {"d": old}
    done = updated_lock(before, plan, {}, {}, {change.address: PackedHex(["b" * 64, "C" * 64])})
    assert [(f.path, f.blake3) for f in done.downloads["d"].files] == [
        ("a", "b" * 64),
        ("b", "C" * 64),
    ]

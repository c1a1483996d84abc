"""Planning query downloads: folders, the pinned set, newly matching and vanished datasets."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from scisync.desired.model import DesiredDownload, PresentFile
from scisync.lock.model import LockedDownload, LockedFile, Lockfile, query_download_of
from scisync.manifest.model import DownloadQuery, DownloadSpec
from scisync.observe.model import ObservedDataset, ObservedFile, ObservedState
from scisync.plan.context import PlanOptions
from scisync.plan.model import Action, FileAction
from scisync.plan.planner import make_plan
from scisync.plan.query_downloads import dataset_folder

from .factories import FINGERPRINT, PROJECT, state

TARGET = Path("/work/data")


@pytest.mark.parametrize(
    ("name", "expected_name"),
    [
        ("Run 7: 4 K", "Run-7-4-K"),
        ("../../etc/passwd", "etc-passwd"),
        (".hidden", "hidden"),
        ("..", "dataset"),
        ("", "dataset"),
        ("Grüße/Ω", "Gr-e"),
        ("x" * 200, "x" * 60),
    ],
)
def test_folder_names_are_readable_safe_and_end_in_a_pid_hash(
    name: str, expected_name: str
) -> None:
    folder = dataset_folder(name, "20.500/abc")
    readable, _, digest = folder.rpartition("-")
    assert readable == expected_name
    assert len(digest) == 8 and all(c in "0123456789abcdef" for c in digest)
    assert folder == dataset_folder(name, "20.500/abc") != dataset_folder(name, "20.500/abd")


def _dataset(pid: str, name: str) -> ObservedDataset:
    return ObservedDataset(
        pid=pid,
        fields={"datasetName": name, "sourceFolder": f"/store/{pid}"},
        files=(ObservedFile("a.dat", 3, "00", "sha256"),),
    )


def _download() -> DesiredDownload:
    spec = DownloadSpec(
        key="runs", dataset=None, target=TARGET, query=DownloadQuery(keywords=("k",))
    )
    return DesiredDownload(spec=spec, present={})


def _observed(*datasets: ObservedDataset, queried: bool = True) -> ObservedState:
    return ObservedState(
        by_pid={d.pid: d for d in datasets},
        queried={"runs": tuple(sorted(d.pid for d in datasets))} if queried else {},
    )


def _pinned(*entries: tuple[str, str]) -> Lockfile:
    return Lockfile(
        project=PROJECT,
        downloads={
            f"runs/{folder}": LockedDownload(
                key=f"runs/{folder}", pid=pid, files=(LockedFile("a.dat", 3, "b3", "sha256:00"),)
            )
            for pid, folder in entries
        },
    )


def test_each_match_is_a_download_into_its_own_folder() -> None:
    plan = make_plan(
        state(downloads=(_download(),)),
        _observed(_dataset("p/1", "Run 1"), _dataset("p/2", "Run 2")),
        None,
        FINGERPRINT,
    )
    assert [(c.key, c.action, c.pid) for c in plan.changes] == [
        (f"runs/{dataset_folder('Run 1', 'p/1')}", Action.DOWNLOAD, "p/1"),
        (f"runs/{dataset_folder('Run 2', 'p/2')}", Action.DOWNLOAD, "p/2"),
    ]
    first = plan.changes[0]
    assert first.reason == "newly matches the query"
    assert first.files[0].local == str(TARGET / dataset_folder("Run 1", "p/1") / "a.dat")
    assert first.files[0].remote == "/store/p/1/a.dat"


def test_same_names_get_different_folders() -> None:
    plan = make_plan(
        state(downloads=(_download(),)),
        _observed(_dataset("p/1", "Run"), _dataset("p/2", "Run")),
        None,
        FINGERPRINT,
    )
    folders = [c.key.lower() for c in plan.changes]
    assert len(set(folders)) == 2


def test_a_plain_plan_shows_new_and_vanished_datasets() -> None:
    recorded = _pinned(("p/1", "Run-1-x"), ("p/gone", "Old-y"))
    plan = make_plan(
        state(downloads=(_download(),)),
        _observed(_dataset("p/1", "Run 1 renamed"), _dataset("p/3", "Run 3")),
        recorded,
        FINGERPRINT,
    )
    by_key = {c.key: c for c in plan.changes}
    assert by_key["runs/Run-1-x"].pid == "p/1"  # a pinned dataset keeps its folder
    assert by_key["runs/Run-1-x"].reason != "newly matches the query"
    new = by_key[f"runs/{dataset_folder('Run 3', 'p/3')}"]
    assert (new.action, new.reason) == (Action.DOWNLOAD, "newly matches the query")
    gone = by_key["runs/Old-y"]
    assert gone.action is Action.FORGET and "no longer matches the query" in (gone.reason or "")
    assert len(plan.changes) == 3  # forgotten once, not again by the manifest's forgets


def test_locked_plans_exactly_the_pinned_set() -> None:
    recorded = _pinned(("p/1", "Run-1-x"))
    seen = ObservedState(by_pid={d.pid: d for d in (_dataset("p/1", "Run 1"),)})
    plan = make_plan(
        state(downloads=(_download(),)),
        seen,
        recorded,
        FINGERPRINT,
        PlanOptions(locked=True, downloads_only=True),
    )
    assert [(c.key, c.pid) for c in plan.changes] == [("runs/Run-1-x", "p/1")]


def test_members_of_a_removed_query_download_are_forgotten() -> None:
    plan = make_plan(state(), ObservedState(), _pinned(("p/1", "Run-1-x")), FINGERPRINT)
    assert [(c.key, c.action) for c in plan.changes] == [("runs/Run-1-x", Action.FORGET)]


@pytest.mark.parametrize(
    ("key", "owner"), [("runs/Run-1-x", "runs"), ("runs", None), ("a/b/c", "a")]
)
def test_lock_entries_name_their_query_download(key: str, owner: str | None) -> None:
    assert query_download_of(key) == owner


def test_each_member_sees_the_present_files_of_its_own_folder_only() -> None:
    first, second = dataset_folder("Run", "p/1"), dataset_folder("Run", "p/2")
    same = {"sha256": "00"}
    present = {
        path: PresentFile(path, 3, "b3", checksums)
        for path, checksums in [
            (f"{first}/a.dat", same),  # the catalogue's file: kept
            (f"{second}x/a.dat", same),  # another folder that starts with the same name
            (f"{second}/sub/a.dat", same),  # not the path the catalogue lists
            ("a.dat", same),  # outside every member's folder
        ]
    }
    download = replace(_download(), present=present)
    plan = make_plan(
        state(downloads=(download,)),
        _observed(_dataset("p/1", "Run"), _dataset("p/2", "Run")),
        None,
        FINGERPRINT,
    )
    kept = {c.key: [(f.path, f.action, f.needs_transfer) for f in c.files] for c in plan.changes}
    assert kept == {
        f"runs/{first}": [("a.dat", FileAction.KEEP, False)],
        f"runs/{second}": [("a.dat", FileAction.ADD, True)],
    }

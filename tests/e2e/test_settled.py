"""Settled datasets (scisync.observe.settled): a no-op plan skips the files of a dataset
nothing moved under, and every kind of change still makes the dataset planned in full.

Each case applies the workspace, plans once (which records the settled stamps), makes
one change, then plans twice: with the recorded stamps, and with them deleted (every
dataset planned in full, as before settled datasets existed).  Both plans must say the
same, the change must show, and the changed dataset must have been planned in full
(``expand_files`` is the probe: it globs a dataset's files; a settled one is never
expanded).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
import requests

from scisync import api
from scisync._util.jsontypes import Json
from scisync.observe.model import ObservedDataset
from scisync.plan.model import FileAction, Plan
from scisync.sandbox import SandboxServer
from scisync.scicat import client

from .workspace import Workspace, local_workspace

ALL = {"raw-1", "raw-2", "reduced"}

# The workspace's files are written moments before the first plan records its stamps:
# without this every dataset would be racy (scisync._util.racy), planned in full each
# time.  The race itself: tests/e2e/test_racy.py, on the real clock.
pytestmark = pytest.mark.usefixtures("margin_elapsed")


@pytest.fixture(name="local_workspace")
def local_workspace_fixture(tmp_path: Path, scicat_sandbox: SandboxServer) -> Workspace:
    return local_workspace(tmp_path, scicat_sandbox)


@pytest.fixture
def fetched_whole(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The keys of the datasets SciCat sent with their file lists, in order (a settled
    dataset comes as a summary: its blocks without their dataFileList)."""
    keys: list[str] = []
    original = client.dataset_from_document

    def probe(document: Mapping[str, Json], **kwargs: Any) -> ObservedDataset:
        dataset = original(document, **kwargs)
        keys.append(str(dataset.marker).rsplit("/", 1)[-1])
        return dataset

    monkeypatch.setattr(client, "dataset_from_document", probe)
    return keys


def _plan(ws: Workspace) -> Plan:
    project = api.load_project([ws.manifest])
    with api.connect(project, environ={"SCICAT_TOKEN": ws.token}) as connection:
        return api.plan(project, connection)


def _apply(ws: Workspace) -> None:
    project = api.load_project([ws.manifest])
    with api.connect(project, environ={"SCICAT_TOKEN": ws.token}) as connection:
        outcome = api.apply(project, connection, api.plan(project, connection))
    assert outcome.lock_written


def _summary(plan: Plan) -> tuple[object, ...]:
    """What a plan says, files listed only when they change (a settled dataset lists none)."""
    return (
        tuple(
            (
                change.address,
                change.action.value,
                change.reason,
                tuple((f.name, f.before, f.after) for f in change.field_changes),
                tuple(
                    (f.path, f.action.value)
                    for f in change.files
                    if f.action is not FileAction.KEEP
                ),
                tuple(
                    (a.caption, a.action.value)
                    for a in change.attachments
                    if a.action.value != "keep"
                ),
            )
            for change in plan.changes
        ),
        tuple((c.kind.value, c.address) for c in plan.conflicts),
    )


def _dataset(ws: Workspace, name: str) -> dict[str, object]:
    answer = requests.get(
        ws.sandbox.root_url + "/v4/datasets",
        params={
            "filter": json.dumps(
                {"where": {"datasetName": name}, "include": ["origdatablocks", "attachments"]}
            )
        },
        headers={"Authorization": f"Bearer {ws.token}"},
        timeout=10,
    )
    answer.raise_for_status()
    found = answer.json()
    assert len(found) == 1
    return dict(found[0])


def _send(ws: Workspace, method: str, path: str, body: object = None, *, user: str = "") -> None:
    token = ws.sandbox.login(user) if user else ws.token
    answer = requests.request(
        method,
        ws.sandbox.root_url + path,
        json=body,
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert answer.status_code < 300, answer.text


def _quoted(pid: object) -> str:
    return requests.utils.quote(str(pid), safe="")


# --- the changes ----------------------------------------------------------------------


def _nothing(ws: Workspace) -> None:
    pass


def _edit_in_place_same_size(ws: Workspace) -> None:
    frame = ws.root / "runs" / "run-1" / "frame-1.dat"
    frame.write_text(frame.read_text().replace("run 1", "RUN 1", 1))


def _edit_in_place_same_size_and_mtime(ws: Workspace) -> None:
    frame = ws.root / "runs" / "run-1" / "frame-1.dat"
    before = frame.stat()
    frame.write_text(frame.read_text().replace("run 1", "RUN 1", 1))
    os.utime(frame, ns=(before.st_atime_ns, before.st_mtime_ns))  # as cp -p or rsync -t do


def _add_file(ws: Workspace) -> None:
    (ws.root / "runs" / "run-1" / "frame-9.dat").write_text("late frame\n")


def _remove_file(ws: Workspace) -> None:
    (ws.root / "runs" / "run-1" / "frame-3.dat").unlink()


def _drift_in_scicat(ws: Workspace) -> None:
    raw1 = _dataset(ws, "Raw run 1")
    _send(ws, "PATCH", f"/v4/datasets/{_quoted(raw1['pid'])}", {"description": "edited in the UI"})


def _checksum_rewritten_in_scicat(ws: Workspace) -> None:
    raw1 = _dataset(ws, "Raw run 1")
    block = raw1["origdatablocks"][0]  # type: ignore[index]
    files = [dict(f) for f in block["dataFileList"]]
    files[0]["chk"] = "0" * 64  # same size, same count: the dataset's own summary stays
    _send(ws, "PATCH", f"/v4/origdatablocks/{_quoted(block['_id'])}", {"dataFileList": files})


def _file_entry_added_in_scicat(ws: Workspace) -> None:
    raw1 = _dataset(ws, "Raw run 1")
    block = raw1["origdatablocks"][0]  # type: ignore[index]
    files = [dict(f) for f in block["dataFileList"]]
    files.append({**files[0], "path": "frame-from-scicat.dat"})
    body = {"dataFileList": files, "size": int(block["size"]) + int(files[0]["size"])}
    _send(ws, "PATCH", f"/v4/origdatablocks/{_quoted(block['_id'])}", body)


def _block_added_in_scicat(ws: Workspace) -> None:
    raw1 = _dataset(ws, "Raw run 1")
    entry = {"path": "extra.dat", "size": 5, "time": "2026-01-01T00:00:00Z"}
    body = {"datasetId": raw1["pid"], "size": 5, "dataFileList": [entry]}
    _send(ws, "POST", "/v4/origdatablocks", body)


def _block_deleted_in_scicat(ws: Workspace) -> None:
    raw1 = _dataset(ws, "Raw run 1")
    block = raw1["origdatablocks"][0]  # type: ignore[index]
    _send(ws, "DELETE", f"/v4/origdatablocks/{_quoted(block['_id'])}", user="admin")


def _checksum_algorithm_broken_in_scicat(ws: Workspace) -> None:
    raw1 = _dataset(ws, "Raw run 1")
    block = raw1["origdatablocks"][0]  # type: ignore[index]
    _send(ws, "PATCH", f"/v4/origdatablocks/{_quoted(block['_id'])}", {"chkAlg": "x" * 300})


def _attachment_deleted_in_scicat(ws: Workspace) -> None:
    raw2 = _dataset(ws, "Raw run 2")
    attachment = raw2["attachments"][0]  # type: ignore[index]
    aid = attachment.get("id") or attachment["_id"]
    _send(ws, "DELETE", f"/v4/attachments/{_quoted(aid)}", user="admin")


def _attachment_caption_edited_in_scicat(ws: Workspace) -> None:
    raw2 = _dataset(ws, "Raw run 2")
    attachment = raw2["attachments"][0]  # type: ignore[index]
    aid = attachment.get("id") or attachment["_id"]
    _send(ws, "PATCH", f"/v4/attachments/{_quoted(aid)}", {"caption": "edited"}, user="admin")


def _dataset_deleted_in_scicat(ws: Workspace) -> None:
    raw2 = _dataset(ws, "Raw run 2")
    _send(ws, "DELETE", f"/v4/datasets/{_quoted(raw2['pid'])}", user="admin")


def _manifest_field(ws: Workspace) -> None:
    ws.edit("description: Run 2 as measured.", "description: Run 2, recalibrated.")


def _lock_entry_edited(ws: Workspace) -> None:
    lock = json.loads(ws.lock.read_text())
    lock["datasets"]["raw-2"]["fields_digest"] = "0" * 64
    ws.lock.write_text(json.dumps(lock))


def _image_touched(ws: Workspace) -> None:
    image = ws.root / "plots" / "intensity.png"
    image.write_bytes(image.read_bytes())  # same bytes, new stat


def _sample_renamed(ws: Workspace) -> None:
    ws.edit("sample_name: A crystal", "sample_name: A larger crystal")


Change = Callable[[Workspace], None]

# change, datasets planned in full, what the plan must show (None: no change at all).
# `reduced` references raw-1 and raw-2 (input_datasets): it is settled only while they are.
RAW1 = {"raw-1", "reduced"}
RAW2 = {"raw-2", "reduced"}
CASES: list[tuple[Change, set[str], str | None]] = [
    (_nothing, set(), None),
    (_edit_in_place_same_size, RAW1, "files-changed dataset.raw-1"),
    (_edit_in_place_same_size_and_mtime, RAW1, "files-changed dataset.raw-1"),
    (_add_file, RAW1, "files-added dataset.raw-1"),
    (_remove_file, RAW1, "files-changed dataset.raw-1"),
    (_drift_in_scicat, RAW1, "update dataset.raw-1"),
    (_checksum_rewritten_in_scicat, RAW1, "files-changed dataset.raw-1"),
    (_file_entry_added_in_scicat, RAW1, "files-changed dataset.raw-1"),
    (_block_added_in_scicat, RAW1, "files-changed dataset.raw-1"),
    (_block_deleted_in_scicat, RAW1, "update dataset.raw-1"),
    (_checksum_algorithm_broken_in_scicat, RAW1, "malformed-record dataset.raw-1"),
    (_attachment_deleted_in_scicat, RAW2, "update dataset.raw-2"),
    (_attachment_caption_edited_in_scicat, RAW2, "update dataset.raw-2"),
    (_dataset_deleted_in_scicat, RAW2, "record-gone dataset.raw-2"),
    (_manifest_field, RAW2, "update dataset.raw-2"),
    (_lock_entry_edited, RAW2, None),
    (_image_touched, ALL, None),
    (_sample_renamed, set(), "update sample.crystal"),
]


def _shown(plan: Plan) -> set[str]:
    shown = {f"{c.action.value} {c.address}" for c in plan.changes if c.has_changes}
    return shown | {f"{c.kind.value} {c.address}" for c in plan.conflicts}


@pytest.mark.parametrize(
    ("change", "full", "expected"), CASES, ids=[case[0].__name__.strip("_") for case in CASES]
)
def test_every_change_is_planned_in_full_and_the_rest_is_settled(
    local_workspace: Workspace,
    expanded: list[str],
    fetched_whole: list[str],
    change: Change,
    full: set[str],
    expected: str | None,
) -> None:
    ws = local_workspace
    _apply(ws)
    first = _plan(ws)
    assert not first.has_changes and not first.conflicts
    expanded.clear()
    change(ws)

    fetched_whole.clear()
    settled_plan = _plan(ws)
    planned_in_full = set(expanded)
    # Only what is planned in full comes with its file lists (a deleted record: nothing).
    gone = {"raw-2"} if change is _dataset_deleted_in_scicat else set()
    assert set(fetched_whole) == full - gone, fetched_whole
    (ws.root / ".scisync" / "settled.json").unlink()
    expanded.clear()
    full_plan = _plan(ws)

    assert set(expanded) == ALL  # without the recorded stamps, everything is planned in full
    assert planned_in_full == full
    assert _summary(settled_plan) == _summary(full_plan)
    if expected is None:
        assert not settled_plan.has_changes and not settled_plan.conflicts
    else:
        assert expected in _shown(settled_plan), _shown(settled_plan)


def test_a_settled_plan_renders_applies_and_saves_like_any_other(
    local_workspace: Workspace, expanded: list[str]
) -> None:
    """A settled plan prints what a full plan prints; `plan --json`, which lists every
    file, plans every dataset in full for it; a saved settled plan is fresh and applies,
    and the apply leaves the lockfile byte for byte as it was."""
    import jsonschema

    from scisync.schemas import load_schema

    ws = local_workspace
    _apply(ws)
    assert ws.run("plan").exit_code == 0  # records the stamps
    lock_before = ws.lock.read_bytes()
    expanded.clear()
    settled_text = ws.run("plan")
    assert settled_text.exit_code == 0 and expanded == []

    result = ws.run("plan", "--json")
    assert result.exit_code == 0 and set(expanded) == ALL
    document = json.loads(result.output)
    jsonschema.validate(document, load_schema("plan"))
    assert {c["action"] for c in document["changes"]} == {"no-op"}
    locked = json.loads(lock_before)["datasets"]
    for change in document["changes"]:
        if change["kind"] == "dataset":
            listed = sorted((f["path"], f["action"]) for f in change["files"])
            recorded = locked[change["key"]]["files"]
            assert listed == sorted((f["path"], "keep") for f in recorded), change["key"]

    expanded.clear()
    assert ws.run("plan", "--out", "plan.json").exit_code == 0 and expanded == []
    assert ws.run("apply", "plan.json").exit_code == 0
    assert ws.lock.read_bytes() == lock_before
    (ws.root / ".scisync" / "settled.json").unlink()
    assert ws.run("plan").output == settled_text.output

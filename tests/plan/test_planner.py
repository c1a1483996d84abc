"""The pure planner: desired x observed x recorded -> Plan."""

from __future__ import annotations

import subprocess
import sys

import pytest

from scisync.desired.ids import SUPERSEDES_FIELD
from scisync.errors import PlanError
from scisync.manifest.model import FilesPolicy, KeyRef, PidRef
from scisync.observe.model import ObservedState
from scisync.plan.model import Action, ConflictKind, FileAction, ResourceKind
from scisync.plan.planner import PlanOptions, make_plan

from .factories import (
    FINGERPRINT,
    dataset,
    local_file,
    locked,
    lockfile,
    observed,
    observed_from,
    sample,
    state,
)


def test_empty_catalogue_plans_creates_in_dependency_order() -> None:
    raw = dataset("raw", files=(local_file("a.h5"),), sample=KeyRef("s1"))
    derived = dataset("derived", inputs=(KeyRef("raw"), PidRef("ext/1")), dataset_type="derived")
    plan = make_plan(state((derived, raw), (sample("s1"),)), ObservedState(), None, FINGERPRINT)
    assert [c.address for c in plan.changes] == ["sample.s1", "dataset.raw", "dataset.derived"]
    assert all(c.action is Action.CREATE for c in plan.changes)
    derived_change = plan.changes[2]
    assert derived_change.depends_on == ("dataset.raw",)
    inputs = next(f for f in derived_change.field_changes if f.name == "inputDatasets")
    assert inputs.after_unknown  # known after apply
    raw_change = plan.changes[1]
    # the sample id is chosen by scisync, so it is known at plan time
    sample_ids = next(f for f in raw_change.field_changes if f.name == "sampleIds")
    assert sample_ids.after == ["id-s1"] and not sample_ids.after_unknown
    assert [f.action for f in raw_change.files] == [FileAction.ADD]
    assert raw_change.files[0].needs_transfer
    assert plan.has_changes


def test_matching_catalogue_with_lockfile_is_a_noop() -> None:
    raw = dataset("raw", files=(local_file("a.h5"),))
    plan = make_plan(
        state((raw,)),
        observed(observed_from(raw, "p/1")),
        lockfile(locked(raw, "p/1")),
        FINGERPRINT,
    )
    assert [c.action for c in plan.changes] == [Action.NOOP]
    assert not plan.has_changes
    assert plan.changes[0].pid == "p/1"


def test_found_by_marker_without_lockfile_is_adopted_not_created() -> None:
    raw = dataset("raw", files=(local_file("a.h5"),))
    plan = make_plan(state((raw,)), observed(observed_from(raw, "p/1")), None, FINGERPRINT)
    (change,) = plan.changes
    assert change.action is Action.ADOPT
    assert change.pid == "p/1"
    assert change.field_changes == ()


def test_manifest_edit_is_an_update_with_only_the_differing_field() -> None:
    before = dataset("raw", description="old words")
    after = dataset("raw", description="new words")
    plan = make_plan(
        state((after,)),
        observed(observed_from(before, "p/1")),
        lockfile(locked(before, "p/1")),
        FINGERPRINT,
    )
    (change,) = plan.changes
    assert change.action is Action.UPDATE
    assert [(f.name, f.before, f.after, f.drift) for f in change.field_changes] == [
        ("description", "old words", "new words", False)
    ]
    assert change.patch == {"description": "new words"}


def test_server_edit_is_drift_and_apply_restores_it() -> None:
    raw = dataset("raw", description="from manifest")
    server = observed_from(raw, "p/1", description="edited in the web UI")
    plan = make_plan(state((raw,)), observed(server), lockfile(locked(raw, "p/1")), FINGERPRINT)
    (change,) = plan.changes
    assert change.action is Action.UPDATE
    (field,) = change.field_changes
    assert field.drift and field.before == "edited in the web UI"
    assert change.reason is not None and "drift" in change.reason


def test_scientific_metadata_patch_is_a_merge_patch_with_whole_quantities() -> None:
    raw = dataset("raw")
    server = observed_from(raw, "p/1")
    metadata = dict(server.fields["scientificMetadata"])  # type: ignore[arg-type]
    metadata["temperature"] = {"value": 5, "unit": "K", "valueSI": 5, "unitSI": "K"}
    metadata["added_in_ui"] = "x"
    server = observed_from(raw, "p/1", scientificMetadata=metadata)
    plan = make_plan(state((raw,)), observed(server), lockfile(locked(raw, "p/1")), FINGERPRINT)
    (change,) = plan.changes
    assert change.patch == {
        "scientificMetadata": {"temperature": {"value": 4, "unit": "K"}, "added_in_ui": None}
    }


def test_server_added_si_units_and_time_formats_are_not_changes() -> None:
    raw = dataset("raw")
    body_time = "2026-03-01T10:00:00+00:00"
    raw.body["creationTime"] = body_time
    server = observed_from(raw, "p/1", creationTime="2026-03-01T10:00:00.000Z")
    plan = make_plan(state((raw,)), observed(server), lockfile(locked(raw, "p/1")), FINGERPRINT)
    assert plan.changes[0].action is Action.NOOP


def test_changed_files_are_refused_by_default() -> None:
    old = dataset("raw", files=(local_file("a.h5", "old"),))
    new = dataset("raw", files=(local_file("a.h5", "new content"),))
    plan = make_plan(
        state((new,)),
        observed(observed_from(old, "p/1")),
        lockfile(locked(old, "p/1")),
        FINGERPRINT,
    )
    [conflict] = plan.conflicts
    assert conflict.kind is ConflictKind.FILES_CHANGED
    assert conflict.address == "dataset.raw"
    assert "1 file changed (a.h5)" in conflict.what and "on_files_changed: replace" in conflict.hint
    assert [c.action for c in plan.changes] == [Action.NOOP]


def test_every_refused_file_change_is_listed_at_once() -> None:
    """A removed file does not hide an added one: both conflicts are in the plan."""
    old = dataset("raw", files=(local_file("a.h5"), local_file("gone.h5", "x")))
    new = dataset("raw", files=(local_file("a.h5"), local_file("b.h5", "more")))
    plan = make_plan(
        state((new,)),
        observed(observed_from(old, "p/1")),
        lockfile(locked(old, "p/1")),
        FINGERPRINT,
    )
    assert [c.kind for c in plan.conflicts] == [
        ConflictKind.FILES_CHANGED,
        ConflictKind.FILES_ADDED,
    ]
    assert "gone.h5" in plan.conflicts[0].what and "b.h5" in plan.conflicts[1].what


def test_changed_files_with_replace_policy_plan_a_superseding_dataset() -> None:
    old = dataset("raw", files=(local_file("a.h5", "old"),))
    new = dataset("raw", files=(local_file("a.h5", "new content"),), policy=FilesPolicy.REPLACE)
    plan = make_plan(
        state((new,)),
        observed(observed_from(old, "p/1")),
        lockfile(locked(old, "p/1")),
        FINGERPRINT,
    )
    (change,) = plan.changes
    assert change.action is Action.REPLACE
    assert change.supersedes == ("p/1",)
    assert change.body is not None
    assert change.body["scientificMetadata"][SUPERSEDES_FIELD] == "p/1"  # type: ignore[index]
    assert change.reason == "1 file changed (a.h5)"


def test_replaced_dataset_is_current_and_old_one_is_not_ambiguous() -> None:
    old = dataset("raw", files=(local_file("a.h5", "old"),))
    new = dataset("raw", files=(local_file("a.h5", "new"),), policy=FilesPolicy.REPLACE)
    metadata = dict(observed_from(new, "p/2").fields["scientificMetadata"])  # type: ignore[arg-type]
    metadata[SUPERSEDES_FIELD] = "p/1"
    replacement = observed_from(new, "p/2", scientificMetadata=metadata)
    new.body["scientificMetadata"] = metadata  # what the replace sent
    plan = make_plan(
        state((new,)), observed(observed_from(old, "p/1"), replacement), None, FINGERPRINT
    )
    assert plan.changes[0].pid == "p/2"


def test_added_files_need_append_policy() -> None:
    old = dataset("raw", files=(local_file("a.h5"),))
    new_files = (local_file("a.h5"), local_file("b.h5", "more"))
    refused = make_plan(
        state((dataset("raw", files=new_files),)),
        observed(observed_from(old, "p/1")),
        lockfile(locked(old, "p/1")),
        FINGERPRINT,
    )
    [conflict] = refused.conflicts
    assert conflict.kind is ConflictKind.FILES_ADDED and "append_files: true" in conflict.hint
    plan = make_plan(
        state((dataset("raw", files=new_files, append=True),)),
        observed(observed_from(old, "p/1")),
        lockfile(locked(old, "p/1")),
        FINGERPRINT,
    )
    (change,) = plan.changes
    assert change.action is Action.UPDATE
    assert {f.path: f.action for f in change.files} == {
        "a.h5": FileAction.KEEP,
        "b.h5": FileAction.ADD,
    }


def test_empty_dataset_left_by_an_interrupted_apply_gets_its_files() -> None:
    raw = dataset("raw", files=(local_file("a.h5"),))
    server = observed_from(raw, "p/1")
    empty = type(server)(pid=server.pid, fields=server.fields, files=())
    plan = make_plan(state((raw,)), observed(empty), None, FINGERPRINT)
    (change,) = plan.changes
    assert change.action is Action.ADOPT
    assert [f.action for f in change.files] == [FileAction.ADD]


def test_removed_entries_are_forgotten_not_deleted() -> None:
    raw = dataset("raw")
    plan = make_plan(state(()), ObservedState(), lockfile(locked(raw, "p/1")), FINGERPRINT)
    (change,) = plan.changes
    assert change.action is Action.FORGET
    assert change.kind is ResourceKind.DATASET and change.pid == "p/1"
    assert change.reason is not None and "stays in SciCat" in change.reason


def test_two_datasets_with_one_marker_is_an_error_naming_both() -> None:
    raw = dataset("raw")
    plan = make_plan(
        state((raw,)),
        observed(observed_from(raw, "p/1"), observed_from(raw, "p/2")),
        None,
        FINGERPRINT,
    )
    [conflict] = plan.conflicts
    assert conflict.kind is ConflictKind.DUPLICATE_MARKER
    assert "p/1" in conflict.what and "p/2" in conflict.what
    assert [c.action for c in plan.changes] == [Action.NOOP]


def test_locked_pid_missing_from_scicat_is_an_error_not_a_duplicate() -> None:
    raw = dataset("raw")
    plan = make_plan(state((raw,)), ObservedState(), lockfile(locked(raw, "p/1")), FINGERPRINT)
    [conflict] = plan.conflicts
    assert conflict.kind is ConflictKind.RECORD_GONE and "not in SciCat" in conflict.what
    assert [(c.action, c.pid) for c in plan.changes] == [(Action.NOOP, "p/1")]


def test_sample_update_always_sends_is_published() -> None:
    old, new = sample("s1", "old name"), sample("s1", "new name")
    from scisync.lock.model import LockedSample, Lockfile
    from scisync.observe.model import ObservedSample

    seen = ObservedState(samples={"id-s1": ObservedSample("id-s1", dict(old.body))})
    recorded = Lockfile(
        project="demo", samples={"s1": LockedSample("s1", "id-s1", old.fields_digest)}
    )
    plan = make_plan(state(samples=(new,)), seen, recorded, FINGERPRINT)
    (change,) = plan.changes
    assert change.action is Action.UPDATE
    assert change.patch == {"sampleName": "new name", "isPublished": False}


def test_targets_limit_the_plan_to_an_entry_and_its_dependencies() -> None:
    raw = dataset("raw")
    derived = dataset("derived", inputs=(KeyRef("raw"),), dataset_type="derived")
    other = dataset("other")
    plan = make_plan(
        state((raw, derived, other)),
        ObservedState(),
        None,
        FINGERPRINT,
        PlanOptions(targets=frozenset({"derived"})),
    )
    assert [c.key for c in plan.changes] == ["raw", "derived"]
    with pytest.raises(PlanError, match="unknown keys: nope"):
        make_plan(
            state((raw,)),
            ObservedState(),
            None,
            FINGERPRINT,
            PlanOptions(targets=frozenset({"nope"})),
        )


def test_planner_imports_nothing_that_does_io() -> None:
    code = (
        "import sys, scisync.plan.planner\n"
        "bad = {'requests', 'urllib3', 'paramiko', 'fabric', 'invoke', 'sqlite3', 'subprocess',\n"
        "       'http.client', 'scisync.scicat', 'scisync.storage.local', 'scisync.storage.sftp',\n"
        "       'scisync.sandbox', 'scisync.desired.build', 'scisync._util.hashing',\n"
        "       'scisync.lock.io'}\n"
        "print(sorted(bad & set(sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_dataset_without_files_section_leaves_scicat_file_list_alone() -> None:
    with_files = dataset("raw", files=(local_file("a.h5"),))
    unmanaged = dataset("raw")  # no `files:` at all
    plan = make_plan(
        state((unmanaged,)),
        observed(observed_from(with_files, "p/1")),
        lockfile(locked(unmanaged, "p/1")),
        FINGERPRINT,
    )
    (change,) = plan.changes
    assert change.action is Action.NOOP
    assert change.files == ()

"""The golden corpus: plans a reader must be able to trust, by scenario name.

The metadata and description cases go through the real planner (so what SciCat adds,
valueSI/unitSI, is proven not to show); the others are built by hand to reach every
action and every conflict kind.  tests/render/test_golden.py renders each as text (with
and without colour) and JSON and compares with tests/render/golden/; docs/cli.md quotes
some of them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from scisync._util.jsontypes import JsonObject
from scisync.desired.publications import desired_publications
from scisync.lock.model import LockedPublication, Lockfile
from scisync.manifest.model import FilesPolicy, KeyRef, PidRef, PublicationSpec
from scisync.observe.model import ObservedPublication, ObservedState
from scisync.plan.model import (
    Action,
    Conflict,
    ConflictKind,
    FieldChange,
    FileAction,
    FileChange,
    Plan,
    ResourceChange,
    ResourceKind,
)
from scisync.plan.planner import make_plan
from tests.plan.factories import (
    FINGERPRINT,
    dataset,
    local_file,
    locked,
    lockfile,
    observed,
    observed_from,
    state,
)
from tests.plan.plan_samples import empty_plan, sample_plan

DESCRIPTION = (
    "Raw SAXS data of the PS-b-PMMA thin film, annealed at 180 °C, two scans each at 12 keV"
)


def _update(before: JsonObject, after: JsonObject, **fields: object) -> Plan:
    """An update planned by the real planner from one dataset's two versions."""
    old = dataset("saxs-001", **before)  # type: ignore[arg-type]
    new = dataset("saxs-001", **after)  # type: ignore[arg-type]
    return make_plan(
        state((new,)),
        observed(observed_from(old, "20.500.12269/7f3a")),
        lockfile(locked(old, "20.500.12269/7f3a")),
        FINGERPRINT,
    )


def description_edit() -> Plan:
    """An edit after the 57th character of a long one-line description."""
    return _update(
        {"description": DESCRIPTION},
        {"description": DESCRIPTION.replace("two scans", "three scans")},
    )


def description_multiline() -> Plan:
    text = (
        "Beamline P03, run 2026-11.\n"
        "Sample: PS-b-PMMA thin film on Si.\n"
        "Annealed at 180 °C for 2 h.\n"
        "Two scans per position.\n"
        "Detector: Pilatus 1M."
    )
    return _update(
        {"description": text},
        {
            "description": text.replace("Two scans", "Three scans").replace(
                "Pilatus 1M.", "Pilatus 1M.\nCalibrated with AgBeh."
            )
        },
    )


METADATA_BEFORE: JsonObject = {
    "temperature": {"value": 293.15, "unit": "K"},
    "exposure_time": {"value": 0.5, "unit": "s"},
    "sample": {"name": "PS-b-PMMA", "thickness": {"value": 80, "unit": "nm"}, "batch": "B7"},
    "beamline": "P03",
    "operators": ["ana", "ben"],
}
METADATA_AFTER: JsonObject = {
    "temperature": {"value": 298.15, "unit": "K"},
    "exposure_time": {"value": 0.5, "unit": "s"},
    "sample": {"name": "PS-b-PMMA", "thickness": {"value": 85, "unit": "nm"}, "anneal": "180 °C"},
    "beamline": "P03",
    "operators": ["ana", "ben", "chloé"],
    "energy": {"value": 12.4, "unit": "keV"},
}


def metadata_nested() -> Plan:
    """Nested scientific metadata: changed, added and removed keys, quantities."""
    return _update({"metadata": METADATA_BEFORE}, {"metadata": METADATA_AFTER})


def job_parameters() -> Plan:
    """A derived dataset's jobParameters edited, and a new key added at depth."""
    before: JsonObject = {"fit": {"model": "sphere", "iterations": 200}, "q_range": [0.01, 0.3]}
    after: JsonObject = {
        "fit": {"model": "core-shell", "iterations": 200, "tolerance": 1e-6},
        "q_range": [0.01, 0.25],
    }
    return _update(
        {"dataset_type": "derived", "fields": {"jobParameters": before}},
        {"dataset_type": "derived", "fields": {"jobParameters": after}},
    )


def unicode_and_control() -> Plan:
    """Non-ASCII text shown as it is; control characters shown escaped, never executed."""
    return _update(
        {"description": "Messung bei 20 °C", "metadata": {"Temperatur (°C)": 20}},
        {
            "description": "Messung bei 25 °C – Ångström-Auflösung, 温度 \x1b[31mred\x1b[0m",  # noqa: RUF001
            "metadata": {"Temperatur (°C)": 25, "Bemerkung": "zweite\tMessung"},
        },
    )


def create_nested() -> Plan:
    """A new dataset: every field in full, objects key by key, multi-line text by line."""
    new = dataset(
        "saxs-002",
        description="First line of a long description.\nSecond line.",
        metadata=METADATA_AFTER,
        files=(local_file("scan_0001.h5", "a" * 3000), local_file("scan_0002.h5", "b" * 3100)),
    )
    return make_plan(state((new,)), observed(), None, FINGERPRINT)


def _noop(key: str, pid: str | None, kind: ResourceKind = ResourceKind.DATASET) -> ResourceChange:
    return ResourceChange(kind=kind, key=key, action=Action.NOOP, pid=pid)


def _conflict(kind: ConflictKind, address: str, what: str, hint: str) -> Conflict:
    return Conflict(kind, address, what, hint, where="scisync.yaml:12:5")


def conflicts() -> Plan:
    """Every kind of conflict, all listed at once, each under its entry."""
    old = dataset("raw-1", files=(local_file("a.h5"), local_file("gone.h5", "x")))
    new = dataset("raw-1", files=(local_file("a.h5"), local_file("new.h5", "more")))
    planned = make_plan(
        state((new,)),
        observed(observed_from(old, "20.500.12269/r1")),
        lockfile(locked(old, "20.500.12269/r1")),
        FINGERPRINT,
    )
    by_hand = (
        (
            ConflictKind.TYPE_CHANGED,
            "dataset.fit-2",
            "20.500.12269/f2 is of type 'raw' in SciCat "
            "but 'derived' in the manifest; SciCat cannot change a type",
            "restore the type, or give the entry a new key to create a new dataset",
        ),
        (
            ConflictKind.RECORD_GONE,
            "dataset.old-3",
            "pid 20.500.12269/o3 from scisync.lock is not "
            "in SciCat (or this account cannot read it)",
            "check the account's groups; if it is "
            "really gone, delete its entry from scisync.lock to create it again",
        ),
        (
            ConflictKind.DUPLICATE_MARKER,
            "dataset.dup-4",
            "several datasets in SciCat carry its "
            "marker 'demo/dup-4' (20.500.12269/d4, 20.500.12269/d5)",
            "two applies raced without a "
            "lockfile; pick the right one with `scisync import PID --key KEY`",
        ),
        (
            ConflictKind.STALE_REFERENCE,
            "download.ref",
            "dataset 20.500.12269/zz is not in SciCat (or not readable by this account)",
            "check the pid and that your account may read the dataset",
        ),
        (
            ConflictKind.UNSAFE_PATH,
            "download.frames",
            "SciCat lists the file path '../../.bashrc', "
            "which would land outside the target folder",
            "refused for safety; ask the dataset's owner to fix the file list",
        ),
        (
            ConflictKind.LOCK_MISMATCH,
            "download.frames",
            "the catalogue no longer matches scisync.lock: ~ f1.tif size 10 -> 12",
            "run without --locked to accept the new state and update scisync.lock",
        ),
        (
            ConflictKind.LOCAL_MODIFIED,
            "download.pinned",
            "/home/u/pinned/a.h5 differs from the catalogue's file (modified locally?)",
            "move the local file away (or restore it) and "
            "run again; scisync never overwrites a file",
        ),
        (
            ConflictKind.MALFORMED_RECORD,
            "dataset.odd-5",
            "SciCat's record has a file list that is not a list",
            "ask the dataset's owner to fix the record",
        ),
        (
            ConflictKind.OUTSIDE_STORAGE_ROOTS,
            "dataset.far-6",
            "sourceFolder /etc is outside the storage roots",
            "ask the dataset's owner to fix sourceFolder",
        ),
    )
    changes = (
        *planned.changes,
        _noop("fit-2", "20.500.12269/f2"),
        _noop("old-3", "20.500.12269/o3"),
        _noop("dup-4", None),
        _noop("odd-5", "20.500.12269/o5"),
        _noop("far-6", "20.500.12269/f6"),
        _noop("ref", None, ResourceKind.DOWNLOAD),
        _noop("frames", "20.500.12269/fr", ResourceKind.DOWNLOAD),
        _noop("pinned", "20.500.12269/p", ResourceKind.DOWNLOAD),
    )
    return Plan(
        project="demo",
        changes=changes,
        fingerprint=FINGERPRINT,
        conflicts=(*planned.conflicts, *(_conflict(*args) for args in by_hand)),
    )


def replace_and_adopt() -> Plan:
    """A replace says why; an adopt gives one reason."""
    old = dataset("raw-1", files=(local_file("a.h5", "old"),))
    new = dataset("raw-1", files=(local_file("a.h5", "new content"),), policy=FilesPolicy.REPLACE)
    adopted = dataset("raw-2")
    return make_plan(
        state((new, adopted)),
        observed(observed_from(old, "20.500.12269/r1"), observed_from(adopted, "20.500.12269/r2")),
        lockfile(locked(old, "20.500.12269/r1")),
        FINGERPRINT,
    )


def download_files() -> Plan:
    change = ResourceChange(
        kind=ResourceKind.DOWNLOAD,
        key="frames",
        action=Action.DOWNLOAD,
        pid="20.500.12269/fr",
        files=tuple(
            FileChange(
                path=f"frames/f{i:03d}.tif",
                action=FileAction.ADD if i else FileAction.KEEP,
                size=4 * 1024 * 1024,
                blake3=None,
                checksum=None,
                local=f"/home/u/frames/f{i:03d}.tif",
                remote=f"/data/fr/frames/f{i:03d}.tif",
                needs_transfer=bool(i),
            )
            for i in range(4)
        ),
    )
    return Plan(project="demo", changes=(change,), fingerprint=FINGERPRINT)


def drift() -> Plan:
    change = ResourceChange(
        kind=ResourceKind.DATASET,
        key="raw-1",
        action=Action.UPDATE,
        reason="drift: changed in SciCat since the last apply",
        pid="20.500.12269/r1",
        field_changes=(
            FieldChange("datasetName", "renamed in the web UI", "SAXS run 1", drift=True),
        ),
        patch={"datasetName": "SAXS run 1"},
    )
    return Plan(project="demo", changes=(change,), fingerprint=FINGERPRINT)


PUBLISHED_METADATA: JsonObject = {
    "creators": [{"name": "Hopper, Grace", "affiliation": "Example Facility"}],
    "publisher": {"name": "Example Facility", "publisherIdentifierScheme": "ROR"},
    "publicationYear": 2026,
    "resourceType": "Dataset",
}


def publications() -> Plan:
    """A DOI created and registered with the dataset it publishes, one updated while
    private, one registered (the DOI's own step), one refused: registered and changed."""
    reduced = dataset("reduced", dataset_type="derived")

    def spec(key: str, title: str, register: bool) -> PublicationSpec:
        related = (KeyRef("reduced"),) if key == "new" else (PidRef("20.500.12269/r1"),)
        return PublicationSpec(key, title, "Reduced SAXS curves.", related,
                               PUBLISHED_METADATA, register)  # fmt: skip

    specs = (
        spec("new", "SAXS, reduced", True),
        spec("draft", "SAXS, reduced (v2)", False),
        spec("ready", "SAXS, reduced", True),
        spec("frozen", "SAXS, reduced (corrected)", True),
    )
    manifest = type("M", (), {"project": "demo", "published_data": specs})()
    desired = desired_publications(manifest)  # type: ignore[arg-type]
    found = {}
    for number, (publication, status) in enumerate(
        zip(desired[1:], ("private", "public", "registered"), strict=True)
    ):
        fields = {**publication.body, "title": "SAXS, reduced", "status": status}
        doi = f"10.5072/0000-{number}"
        found[publication.marker] = (ObservedPublication(doi, status, fields),)
    locked_entries = {
        p.key: LockedPublication(p.key, f"10.5072/0000-{n}", "private", "x")
        for n, p in enumerate(desired[1:])
    }
    return make_plan(
        replace(state(datasets=(reduced,)), publications=desired),
        ObservedState(publications=found),
        Lockfile(project="demo", publications=locked_entries),
        FINGERPRINT,
    )


SCENARIOS: dict[str, Callable[[], Plan]] = {
    "every-action": sample_plan,
    "no-changes": empty_plan,
    "description-edit": description_edit,
    "description-multiline": description_multiline,
    "metadata-nested": metadata_nested,
    "job-parameters": job_parameters,
    "unicode-and-control": unicode_and_control,
    "create-nested": create_nested,
    "conflicts": conflicts,
    "replace-and-adopt": replace_and_adopt,
    "download-files": download_files,
    "drift": drift,
    "publications": publications,
}

COMPACT = frozenset({"description-edit", "description-multiline"})
"""Scenarios also rendered in compact mode (``<name>.compact.txt``)."""

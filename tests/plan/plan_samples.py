"""Plans covering every action, file action and attachment action, shared by the tests."""

from __future__ import annotations

from scisync.plan.model import (
    Action,
    AttachmentAction,
    AttachmentChange,
    FieldChange,
    FileAction,
    FileChange,
    Fingerprint,
    Plan,
    ResourceChange,
    ResourceKind,
)

MiB = 1024 * 1024
FINGERPRINT = Fingerprint(manifest="sha256:m", lockfile="absent", observed="sha256:o")


def upload(path: str, size: int, action: FileAction = FileAction.ADD) -> FileChange:
    return FileChange(
        path=path,
        action=action,
        size=size,
        blake3="ab" * 32,
        checksum="sha256:" + "cd" * 32,
        local=f"/home/u/analysis/{path}",
        remote=f"/data/proc/{path}",
        needs_transfer=action is FileAction.ADD,
    )


def sample_plan() -> Plan:
    create = ResourceChange(
        kind=ResourceKind.DATASET,
        key="run1",
        action=Action.CREATE,
        reason="new in the manifest",
        marker="demo/run1",
        source_folder="/data/proc/run1",
        field_changes=(
            FieldChange(name="datasetName", before=None, after="Run 1"),
            FieldChange(
                name="inputDatasets",
                before=None,
                after=[{"$ref": "dataset.raw"}],
                after_unknown=True,
            ),
            FieldChange(name="scientificMetadata", before=None, after={"temp": {"v": 4.5}}),
        ),
        files=(upload("a.h5", 4 * MiB), upload("b.h5", 8 * MiB + 314573)),
        attachments=(
            AttachmentChange(
                caption="Overview plot",
                action=AttachmentAction.ADD,
                aid="aid-1",
                image="/home/u/analysis/plot.png",
                blake3="ef" * 32,
                thumbnail_sha256="01" * 32,
            ),
        ),
        depends_on=("dataset.raw",),
        body={"datasetName": "Run 1", "inputDatasets": [{"$ref": "dataset.raw"}], "size": 1.5},
        fields_digest="sha256:f1",
        checksum_algorithm="sha256",
    )
    raw = ResourceChange(
        kind=ResourceKind.DATASET,
        key="raw",
        action=Action.CREATE,
        reason="new in the manifest",
        files=(upload("raw/scan.nxs", 1000),),
        body={"datasetName": "raw"},
    )
    update = ResourceChange(
        kind=ResourceKind.DATASET,
        key="run2",
        action=Action.UPDATE,
        reason="metadata differs",
        pid="20.500.12269/abc",
        field_changes=(
            FieldChange(name="description", before="old text", after="new text", drift=True),
            FieldChange(name="keywords", before=["a"], after=["a", "b"]),
        ),
        files=(
            upload("keep.h5", 3 * 1024**3, FileAction.KEEP),
            upload("extra.txt", 2048),
        ),
        attachments=(
            AttachmentChange(
                caption="Fit",
                action=AttachmentAction.UPDATE,
                aid="aid-2",
                image="/home/u/analysis/fit.png",
                blake3="12" * 32,
                thumbnail_sha256="34" * 32,
            ),
        ),
        patch={"description": "new text", "keywords": ["a", "b"]},
        fields_digest="sha256:f2",
    )
    replace = ResourceChange(
        kind=ResourceKind.DATASET,
        key="run3",
        action=Action.REPLACE,
        reason="files changed: c.h5",
        pid="20.500.12269/old",
        files=(upload("c.h5", 10, FileAction.CHANGED), upload("d.h5", 20, FileAction.REMOVED)),
        supersedes=("20.500.12269/old",),
        body={"datasetName": "run3"},
    )
    forget = ResourceChange(
        kind=ResourceKind.DATASET,
        key="gone",
        action=Action.FORGET,
        reason="removed from the manifest",
        pid="20.500.12269/gone",
    )
    adopt = ResourceChange(
        kind=ResourceKind.SAMPLE,
        key="s1",
        action=Action.ADOPT,
        reason="found in SciCat by its sample id; not in scisync.lock",
        pid="sample-1",
        marker="demo/s1",
    )
    download = ResourceChange(
        kind=ResourceKind.DOWNLOAD,
        key="ref",
        action=Action.DOWNLOAD,
        pid="20.500.12269/ref",
        files=(
            FileChange(
                path="ref.h5",
                action=FileAction.ADD,
                size=MiB,
                blake3=None,
                checksum=None,
                local="/home/u/analysis/ref/ref.h5",
                remote="/data/ref/ref.h5",
                needs_transfer=True,
            ),
        ),
    )
    noop = ResourceChange(kind=ResourceKind.DATASET, key="same", action=Action.NOOP, pid="p9")
    return Plan(
        project="demo",
        changes=(raw, create, update, replace, forget, adopt, download, noop),
        fingerprint=FINGERPRINT,
        scisync_version="0.1.0",
        warnings=("dataset.run2: description was edited in SciCat; apply restores it",),
    )


def empty_plan() -> Plan:
    noop = ResourceChange(kind=ResourceKind.DATASET, key="same", action=Action.NOOP, pid="p9")
    return Plan(project="demo", changes=(noop,), fingerprint=FINGERPRINT)


def many_files_plan(n: int) -> Plan:
    files = tuple(upload(f"f{i:03d}.dat", 100) for i in range(n))
    change = ResourceChange(kind=ResourceKind.DATASET, key="big", action=Action.CREATE, files=files)
    return Plan(project="demo", changes=(change,), fingerprint=FINGERPRINT)

"""Building the desired state: resolve globs, hash files, read images.

This is the only stage between the manifest and the planner that reads local files.
It never talks to SciCat or the storage.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path

from scisync._util.columns import PackedStrings
from scisync._util.hashing import unreadable_to_hash
from scisync._util.jsontypes import Json, JsonObject
from scisync._util.names import local_name_problem, shown
from scisync.desired.ids import MARKER_FIELD, canonical_digest, derived_sample_id, make_marker
from scisync.desired.model import (
    DesiredAttachment,
    DesiredDataset,
    DesiredDownload,
    DesiredSample,
    DesiredState,
    Hasher,
    LocalFiles,
    LocalPaths,
    PresentFile,
    reference_value,
)
from scisync.desired.publications import desired_publications
from scisync.desired.thumbnails import thumbnail_data_uri
from scisync.errors import ManifestError, Problem, StorageError, os_error_hint
from scisync.manifest.globs import SymlinkLoop, UnreadableFolder, expand_glob
from scisync.manifest.model import (
    DatasetSpec,
    DownloadSpec,
    FileSelection,
    LocalStorageConfig,
    Manifest,
    SampleSpec,
    SftpStorageConfig,
)
from scisync.storage.base import RemotePath
from scisync.storage.roots import Roots


def storage_root(manifest: Manifest) -> RemotePath | None:
    storage = manifest.storage
    if isinstance(storage, LocalStorageConfig):
        return RemotePath(storage.root.resolve().as_posix())
    if isinstance(storage, SftpStorageConfig):
        return storage.root
    return None


_MAX_NAME_PROBLEMS = 20  # per dataset: enough to see the pattern, not a wall of text


def storage_roots(manifest: Manifest) -> Roots:
    """The manifest's storage root and read-only roots, each as written and resolved.

    A root given through a symlink is known by both names: SciCat records may use either,
    and the local backend compares resolved paths against the resolved roots anyway.
    """
    storage = manifest.storage
    if isinstance(storage, LocalStorageConfig):

        def forms(path: Path) -> tuple[RemotePath, ...]:
            absolute = Path(os.path.abspath(path))
            return tuple(
                dict.fromkeys(RemotePath(p.as_posix()) for p in (absolute, path.resolve()))
            )

        return Roots(
            writable=forms(storage.root),
            read_only=tuple(form for root in storage.read_only_roots for form in forms(root)),
            setting="storage.local.read_only_roots",
        )
    if isinstance(storage, SftpStorageConfig):
        return Roots(
            writable=(storage.root,),
            read_only=storage.read_only_roots,
            setting="storage.sftp.read_only_roots",
        )
    return Roots()


def _matches(selection: FileSelection, pattern: str, where: str) -> list[str]:
    """Relative POSIX paths under the selection's base matching *pattern* (``**``
    recursive, hidden files included); a symlink loop or an unreadable folder is an error."""
    try:
        return expand_glob(
            os.fspath(selection.base), pattern, follow_symlinks=selection.follow_symlinks
        )
    except SymlinkLoop as loop:
        raise ManifestError(
            f"following symlinks runs in a loop: {shown(loop.link)} leads back to "
            f"{shown(loop.target)}",
            where=where,
            hint="remove or fix the link, or drop `follow_symlinks: true` so that '**' "
            "skips linked folders",
        ) from None
    except UnreadableFolder as error:
        raise StorageError(
            f"cannot list folder {shown(error.folder)}: {error.error.strerror}",
            where=where,
            hint=os_error_hint(error.error),
        ) from None


def _name_problems(chosen: Iterable[str], where: str) -> list[Problem]:
    problems = []
    for relative in chosen:
        reason = local_name_problem(relative)
        if reason is not None:
            problems.append(
                Problem(
                    what=f"local file {shown(relative)} cannot be a dataset file: its name "
                    f"{reason}",
                    where=where,
                    hint="rename the file, or leave it out with `exclude:`",
                )
            )
    if len(problems) > _MAX_NAME_PROBLEMS:
        more = len(problems) - _MAX_NAME_PROBLEMS
        problems = problems[:_MAX_NAME_PROBLEMS]
        problems.append(
            Problem(what=f"{more} more local file names cannot be dataset files", where=where)
        )
    return problems


def expand_files(spec: DatasetSpec) -> list[tuple[str, str, os.stat_result]]:
    """(relative path, absolute local path, stat) for every selected regular file, sorted."""
    chosen: dict[str, tuple[str, os.stat_result]] = {}
    problems: list[Problem] = []
    where = str(spec.location) if spec.location else f"dataset {spec.key}"
    for selection in spec.files:
        base = selection.base
        if not base.is_dir():
            problems.append(
                Problem(
                    what=f"files base folder {base} does not exist",
                    where=where,
                    hint="fix `base` or create the folder",
                )
            )
            continue
        base_text = os.fspath(base)
        excluded: set[str] = set()
        for pattern in selection.exclude:
            excluded.update(_matches(selection, pattern, where))
        matched_any = False
        for pattern in selection.include:
            for relative in _matches(selection, pattern, where):
                if relative in excluded:
                    continue
                path = os.path.join(base_text, relative)
                if relative in chosen:
                    matched_any = True
                    if chosen[relative][0] != path:
                        problems.append(
                            Problem(
                                what=f"two files map to the same dataset path {relative!r}: "
                                f"{chosen[relative][0]} and {path}",
                                where=where,
                                hint="make the file selections' bases or patterns disjoint",
                            )
                        )
                    continue
                try:
                    status = os.stat(path)
                except OSError:
                    continue  # a dangling symlink: nothing to upload
                if not stat.S_ISREG(status.st_mode):
                    continue
                matched_any = True
                chosen[relative] = (path, status)
        if not matched_any:
            problems.append(
                Problem(
                    what=f"no file matches {list(selection.include)} under {base}",
                    where=str(selection.location) if selection.location else where,
                    hint="check the patterns; `**/*` selects everything below the base",
                )
            )
    problems.extend(_name_problems(chosen, where))
    if problems:
        raise ManifestError(problems=problems)
    return [(relative, *chosen[relative]) for relative in sorted(chosen)]


def _dataset_body(spec: DatasetSpec, marker: str, source_folder: RemotePath) -> JsonObject:
    body: JsonObject = dict(spec.fields)
    body["type"] = spec.type
    body["sourceFolder"] = source_folder.as_posix()
    metadata: dict[str, Json] = dict(spec.scientific_metadata)
    metadata[MARKER_FIELD] = marker
    body["scientificMetadata"] = metadata
    if spec.sample is not None:
        sample_ids = list(body.get("sampleIds") or [])  # type: ignore[arg-type]
        sample_ids.append(reference_value(spec.sample, "sample"))
        body["sampleIds"] = sample_ids
    if spec.input_datasets:
        body["inputDatasets"] = [reference_value(ref, "dataset") for ref in spec.input_datasets]
    return body


def _default_source_folder(
    root: RemotePath | None, spec: DatasetSpec, files_digest: str
) -> RemotePath:
    if spec.source_folder is not None:
        return spec.source_folder
    if root is None:
        raise ManifestError(
            f"dataset {spec.key!r} has files but no source_folder and the manifest has no storage",
            where=str(spec.location) if spec.location else None,
            hint="add a `storage:` section or set source_folder",
        )
    # The content digest in the folder name means a replacement (new files) never lands
    # on top of the files of the dataset it supersedes.
    return root / spec.key / files_digest[:12]


def build_desired(
    manifest: Manifest, hasher: Hasher, settled: Mapping[str, RemotePath] | None = None
) -> DesiredState:
    """Resolve, hash and shape everything the manifest declares.

    ``settled`` maps the keys of settled datasets (scisync.observe.settled) to the source
    folder SciCat records for them: their files are neither expanded nor hashed.
    """
    settled = settled or {}
    root = storage_root(manifest)
    full = [spec for spec in manifest.datasets if spec.key not in settled]
    # Every dataset is expanded (so every manifest error raised) before anything is read
    # or hashed: a refused manifest leaves nothing behind.  Only the names are kept, packed
    # (about 15 B a file instead of 210 B as two strings and a tuple); the stat results
    # come back a group at a time (about 600 B each, 600 MB for a million).
    names = {spec.key: _packed_names(expand_files(spec)) for spec in full}
    images = list({a.image: None for spec in full for a in spec.attachments})
    image_digests = dict(zip(images, hasher.digests(images, ["blake3"]), strict=True))
    built: dict[str, DesiredDataset] = {}
    for group in _groups(full, names):
        # Popped: the packed names become the columns of the dataset's LocalFiles.
        packed = {spec.key: names.pop(spec.key) for spec in group}
        expanded = {key: _with_stats(paths) for key, paths in packed.items()}
        digests = _group_digests(group, expanded, hasher)
        for spec in group:
            built[spec.key] = _desired_dataset(
                manifest.project,
                spec,
                packed[spec.key],
                expanded[spec.key],
                digests,
                image_digests,
                root,
            )
        del packed, expanded, digests  # before the next group's come
    datasets = [
        _settled_dataset(manifest.project, spec, settled[spec.key])
        if spec.key in settled
        else built[spec.key]
        for spec in manifest.datasets
    ]
    samples = [_desired_sample(manifest.project, spec) for spec in manifest.samples]
    downloads = [_desired_download(spec, hasher) for spec in manifest.downloads]
    return DesiredState(
        project=manifest.project,
        manifest_digest=manifest.digest,
        datasets=tuple(datasets),
        samples=tuple(samples),
        downloads=tuple(downloads),
        roots=storage_roots(manifest),
        publications=desired_publications(manifest),
    )


_GROUP_FILES = 5_000
"""Files stat'ed and hashed together: one hashing batch per group keeps the threads busy,
while the stat results and digests of a million files (about 1 KB each with the digest
texts) are never alive at once.  (20,000 at a time was 40 MB traced while each group was
hashed, the peak of an apply once the files themselves were packed.)"""


def _packed_names(expanded: Iterable[tuple[str, str, os.stat_result]]) -> LocalPaths:
    """The names of a dataset's expanded files: relative paths packed, absolute ones folded."""
    relative, local = [], []
    for rel, path, _ in expanded:
        relative.append(rel)
        local.append(path)
    return LocalPaths(PackedStrings(relative), local)


Expanded = list[tuple[str, str, os.stat_result]]


def _groups(
    specs: Sequence[DatasetSpec], names: Mapping[str, Sequence[object]]
) -> Iterator[list[DatasetSpec]]:
    """The datasets, a group of about ``_GROUP_FILES`` files at a time."""
    group: list[DatasetSpec] = []
    count = 0
    for spec in specs:
        group.append(spec)
        count += len(names[spec.key])
        if count >= _GROUP_FILES:
            yield group
            group, count = [], 0
    if group:
        yield group


def _with_stats(names: LocalPaths) -> Expanded:
    expanded: Expanded = []
    for relative, local in zip(names.relatives, names, strict=True):
        try:
            expanded.append((relative, local, os.stat(local)))
        except OSError as exc:  # removed or made unreadable since it was globbed
            raise unreadable_to_hash(exc, local) from exc
    return expanded


def _group_digests(
    group: Sequence[DatasetSpec], expanded: Mapping[str, Expanded], hasher: Hasher
) -> dict[str, Mapping[str, str]]:
    """Every file's digests (blake3 and its dataset's algorithm), hashed in one batch per
    algorithm: 100,000 files make Path objects and dict lookups a noticeable share of a
    no-op plan."""
    digests: dict[str, Mapping[str, str]] = {}
    by_algorithm: dict[str, list[tuple[str, os.stat_result]]] = {}
    for spec in group:
        batch = by_algorithm.setdefault(spec.checksum_algorithm, [])
        batch.extend((local, status) for _, local, status in expanded[spec.key])
    for algorithm, batch in sorted(by_algorithm.items()):
        paths = [local for local, _ in batch]
        found = hasher.digests(paths, ["blake3", algorithm], [status for _, status in batch])
        for path, result in zip(paths, found, strict=True):
            digests[path] = {**digests[path], **result} if path in digests else result
    return digests


def _settled_dataset(project: str, spec: DatasetSpec, source_folder: RemotePath) -> DesiredDataset:
    """A settled dataset: its body and fields digest (cheap), no files, no attachments."""
    marker = make_marker(project, spec.key)
    body = _dataset_body(spec, marker, source_folder)
    managed = {name: value for name, value in body.items() if name != "sourceFolder"}
    return DesiredDataset(
        spec=spec,
        marker=marker,
        files=(),
        attachments=(),
        body=body,
        fields_digest=canonical_digest(managed),
        source_folder=source_folder,
        settled=True,
    )


def _desired_dataset(
    project: str,
    spec: DatasetSpec,
    names: LocalPaths,
    files: Sequence[tuple[str, str, os.stat_result]],
    digests: Mapping[str, Mapping[str, str]],
    image_digests: Mapping[Path, Mapping[str, str]],
    root: RemotePath | None,
) -> DesiredDataset:
    algorithm = spec.checksum_algorithm
    found = [digests[local] for _, local, _ in files]
    local_files = LocalFiles(
        relative=names.relatives,
        local=names,
        sizes=[status.st_size for _, _, status in files],
        blake3=[each["blake3"] for each in found],
        algorithms=algorithm,
        checksums=[each[algorithm] for each in found],
    )
    del found
    rows = zip(local_files.relatives, local_files.sizes, local_files.blake3s, strict=True)
    files_digest = canonical_digest([list(row) for row in rows])
    marker = make_marker(project, spec.key)
    source_folder = _default_source_folder(root, spec, files_digest)
    body = _dataset_body(spec, marker, source_folder)
    attachments = tuple(
        DesiredAttachment(
            caption=attachment.caption,
            image=attachment.image,
            blake3=image_digests[attachment.image]["blake3"],
            thumbnail_sha256=hashlib.sha256(
                thumbnail_data_uri(attachment.image).encode()
            ).hexdigest(),
        )
        for attachment in spec.attachments
    )
    managed = {name: value for name, value in body.items() if name != "sourceFolder"}
    return DesiredDataset(
        spec=spec,
        marker=marker,
        files=local_files,
        attachments=attachments,
        body=body,
        fields_digest=canonical_digest(managed),
        source_folder=source_folder,
    )


def _desired_sample(project: str, spec: SampleSpec) -> DesiredSample:
    sample_id = spec.sample_id or derived_sample_id(project, spec.key)
    body: JsonObject = dict(spec.fields)
    body["sampleId"] = sample_id
    # The server resets isPublished on every PATCH that omits it, so it is always managed.
    body.setdefault("isPublished", False)
    return DesiredSample(
        spec=spec, sample_id=sample_id, body=body, fields_digest=canonical_digest(body)
    )


def _desired_download(spec: DownloadSpec, hasher: Hasher) -> DesiredDownload:
    present: dict[str, PresentFile] = {}
    found = _present_paths(spec.target)
    for start in range(0, len(found), _GROUP_FILES):
        # A group at a time: a stat result is about 600 B, a million of them at once 600 MB.
        group = found[start : start + _GROUP_FILES]
        stats = [os.stat(path) for _, path in group]
        # sha256 too: SciCat's default checksum, so a file already in place is recognised
        # on a first pull, before the lockfile pins its blake3.
        digests = hasher.digests([path for _, path in group], ["blake3", "sha256"], stats)
        for (relative, _), status, found_digests in zip(group, stats, digests, strict=True):
            present[relative] = PresentFile(
                relative=relative,
                size=status.st_size,
                blake3=found_digests["blake3"],
                checksums=found_digests,
            )
    return DesiredDownload(spec=spec, present=present)


def _present_paths(target: Path) -> list[tuple[str, str]]:
    """(relative POSIX path, absolute path) of the regular files under a download's target
    folder, sorted, without scisync's temporaries; symlinks are neither listed nor followed.
    Strings, not Path objects: a pull's target may hold a million files."""
    if not target.is_dir():
        return []
    root = os.path.abspath(target)
    found: list[tuple[str, str]] = []
    for folder, _, names in os.walk(root):
        for name in names:
            path = os.path.join(folder, name)
            try:
                regular = stat.S_ISREG(os.lstat(path).st_mode)
            except FileNotFoundError:
                continue  # removed while we looked: not present
            if regular and ".scisync-tmp" not in name:
                found.append((os.path.relpath(path, root).replace(os.sep, "/"), path))
    found.sort()
    return found

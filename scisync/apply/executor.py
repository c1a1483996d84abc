"""Executing a plan: dependency order, parallel where independent, journaled, resumable.

Order within a dataset: files onto the storage, then the dataset record, then its file
list (origdatablocks), then attachments, so SciCat never points at missing files.
Every step is safe to repeat: a create whose answer was lost is found again by the
dataset's marker, sample and attachment ids are deterministic, uploads skip files
already in place.  The applier never prints; it reports through events.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from threading import Lock

from scisync._util.columns import hex_column
from scisync._util.jsontypes import Json, JsonObject
from scisync.apply.cancel import Cancellation
from scisync.apply.events import (
    ApplyFinished,
    ApplyStarted,
    ApplyStopped,
    ApplySummary,
    BytesTransferred,
    EventSink,
    FileDone,
    StepFinished,
    StepStarted,
)
from scisync.apply.faults import checkpoint, in_transfer
from scisync.apply.journal import Journal
from scisync.apply.linkwitness import HashCacheWitness
from scisync.apply.ports import Catalog
from scisync.apply.publications import PublicationApplier
from scisync.desired.ids import attachment_id
from scisync.desired.model import Hasher
from scisync.desired.thumbnails import thumbnail_data_uri
from scisync.errors import ApiError, Interrupted, PlanError, Problem, ScisyncError, StorageError
from scisync.plan.model import (
    Action,
    AttachmentAction,
    AttachmentChange,
    FileAction,
    FileChange,
    Plan,
    ResourceChange,
    ResourceKind,
)
from scisync.storage.base import (
    Checksum,
    DownloadJob,
    RemotePath,
    ReportsDownloadDigests,
    Storage,
    UploadJob,
)
from scisync.storage.paths import SafeJoiner

POLL_S = 0.1
"""How often the waiting main thread wakes, so that a signal handler runs promptly."""

FILES_PER_BLOCK = 5_000
"""Files per origdatablock: keeps each request well under SciCat's 16 MB body limit."""


@dataclass
class ApplyResults:
    """What an apply produced, for the lockfile and the summary (filled from threads)."""

    pids: dict[str, str] = field(default_factory=dict)
    attachment_ids: dict[str, dict[str, str]] = field(default_factory=dict)
    # download address -> the blake3 of each of its files, in the order of its
    # change.files (None: not known; the plan's own then counts), packed as digest bytes
    download_digests: dict[str, Sequence[str | None]] = field(default_factory=dict)
    publication_status: dict[str, str] = field(default_factory=dict)  # address -> status
    counts: dict[str, int] = field(default_factory=dict)
    completed: set[str] = field(default_factory=set)  # addresses whose change finished
    bytes_up: int = 0
    bytes_down: int = 0
    summary: ApplySummary = field(default_factory=ApplySummary)
    _lock: Lock = field(default_factory=Lock)

    def finish(self, address: str, action: Action) -> None:
        """The change at *address* completed (all its steps): count it, record it."""
        with self._lock:
            if action is not Action.NOOP:
                self.counts[action.value] = self.counts.get(action.value, 0) + 1
            self.completed.add(address)


def _wait_awake(futures: Sequence[Future[None]]) -> None:
    """Wait for *futures*, waking every POLL_S.

    A signal sent to the process may be delivered to a worker thread; Python then runs
    its handler only when the main thread next executes code, and a main thread asleep
    on a lock would run it only after the whole group finished.
    """
    pending = set(futures)
    while pending:
        _, pending = wait(pending, timeout=POLL_S)


def _levels(plan: Plan) -> list[list[ResourceChange]]:
    """Changes grouped so that everything a change depends on is in an earlier group."""
    level: dict[str, int] = {}
    for change in plan.changes:  # the planner lists dependencies first
        level[change.address] = 1 + max((level.get(dep, 0) for dep in change.depends_on), default=0)
    grouped: dict[int, list[ResourceChange]] = {}
    for change in plan.changes:
        grouped.setdefault(level[change.address], []).append(change)
    return [grouped[number] for number in sorted(grouped)]


class Applier:
    def __init__(
        self,
        plan: Plan,
        catalog: Catalog,
        storage: Storage | None,
        journal: Journal,
        events: EventSink,
        hasher: Hasher,
        *,
        workers: int = 4,
        cancel: Cancellation | None = None,
    ) -> None:
        self.plan = plan
        self.catalog = catalog
        self.storage = storage
        self.journal = journal
        self.events = events
        self.hasher = hasher
        self.workers = max(1, workers)
        self.results = ApplyResults()
        self.cancel = cancel or Cancellation()
        self._resumed_pids = journal.created_pids()
        self._completed = journal.completed_steps()
        # (step, address) of every intent an earlier run journaled (done or not)
        self.intents = frozenset((e.step, e.address) for e in journal.entries())

    # ------------------------------------------------------------------ driver

    def run(self) -> ApplyResults:
        """Execute every change; on failure, raise after recording what completed.

        When the cancel token is set, no new step starts (steps in flight finish and are
        journaled), an :class:`ApplyStopped` event says what was done, and
        :class:`~scisync.errors.Interrupted` is raised.
        """
        started = time.monotonic()
        # Counted, not listed: a new dataset's files are made when read (plan.files
        # UploadFiles), and a list of every one of a million was 320 MB at once.
        files = size = 0
        for change in self.plan.changes:
            for file in change.files:
                if file.needs_transfer:
                    files += 1
                    size += file.size
        total = sum(1 for c in self.plan.changes if c.has_changes)
        self.events(ApplyStarted(changes=total, files=files, bytes=size))
        problems = self._run_levels()
        self.results.summary = _summarize(self.results, time.monotonic() - started)
        if self.cancel.is_set():
            self._stop(total, problems)
        if problems:
            raise ScisyncError(problems=problems)
        self.events(ApplyFinished(self.results.summary))
        return self.results

    def _run_levels(self) -> list[Problem]:
        """Run the plan level by level; a failure skips only the changes that depend on it.

        Independent changes still run, so one bad entry does not hold back the rest, and
        the lockfile records everything that completed.  Returns the failures' problems.
        Once the cancel token is set no further level starts.
        """
        failed: set[str] = set()
        problems: list[Problem] = []
        for group in _levels(self.plan):
            if self.cancel.is_set():
                break
            runnable = [c for c in group if not failed.intersection(c.depends_on)]
            failed.update(c.address for c in group if failed.intersection(c.depends_on))
            with ThreadPoolExecutor(max_workers=self.workers) as pool:
                futures = [(c.address, pool.submit(self._execute, c)) for c in runnable]
                _wait_awake([future for _, future in futures])
                for address, future in futures:
                    error = future.exception()
                    if isinstance(error, Interrupted):
                        failed.add(address)
                    elif isinstance(error, ScisyncError):
                        failed.add(address)
                        problems += error.problems
                    elif error is not None:
                        raise error
        return problems

    def _stop(self, total: int, problems: Sequence[Problem]) -> None:
        """Report what an interrupted apply completed, then raise Interrupted."""
        done = sum(1 for c in self.plan.changes if c.has_changes and self._change_done(c))
        self.events(ApplyStopped(self.results.summary, self.cancel.signal_name, done, total))
        others = [p for p in problems if p.what != "transfer cancelled"]
        raise Interrupted(self.cancel.signal_name, self.cancel.exit_code, problems=others)

    def _change_done(self, change: ResourceChange) -> bool:
        return change.address in self.results.completed

    def _execute(self, change: ResourceChange) -> None:
        if change.action is Action.MARK:
            self._mark(change)
        elif change.action is Action.FORGET:
            self.results.finish(change.address, Action.FORGET)
            return
        elif change.kind is ResourceKind.SAMPLE:
            self._sample(change)
        elif change.kind is ResourceKind.DATASET:
            self._dataset(change)
        elif change.kind is ResourceKind.PUBLICATION:
            self._publication(change)
        else:
            self._download(change)
        self.results.finish(change.address, change.action)

    def _publication(self, change: ResourceChange) -> None:
        steps = PublicationApplier(
            self.catalog, self.journal, self.events, self.cancel, self.intents,
            self._resolve, self._step,
        )  # fmt: skip
        outcome = steps.apply(change)
        with self.results._lock:
            self.results.pids[change.address] = outcome.doi
            if outcome.status is not None:
                self.results.publication_status[change.address] = outcome.status
            if outcome.registered:
                self.results.counts["registered"] = self.results.counts.get("registered", 0) + 1

    # ------------------------------------------------------------------ references

    def _resolve(self, value: Json, address: str) -> Json:
        if isinstance(value, dict):
            if set(value) == {"$ref"} and isinstance(value["$ref"], str):
                target = value["$ref"]
                pid = self.results.pids.get(target)
                if pid is None:
                    raise PlanError(
                        f"{address}: {target} has no pid (it was not created)",
                        hint="fix the error reported for it and run apply again",
                    )
                return pid
            return {name: self._resolve(item, address) for name, item in value.items()}
        if isinstance(value, list):
            return [self._resolve(item, address) for item in value]
        return value

    # ------------------------------------------------------------------ samples

    def _sample(self, change: ResourceChange) -> None:
        assert change.pid is not None
        context = f"sample {change.key}"
        if change.action is Action.CREATE and change.body is not None:
            body = self._resolve(change.body, change.address)
            assert isinstance(body, dict)
            self._step(
                change, "create-sample", lambda: self._create_sample(change.pid, body, context)
            )
        elif change.patch:
            patch = self._resolve(change.patch, change.address)
            assert isinstance(patch, dict)
            self._step(
                change,
                "update-sample",
                lambda: self.catalog.patch_sample(
                    change.pid or "",
                    patch,
                    is_published=bool(patch.get("isPublished", False)),
                    context=context,
                ),
            )
        self.results.pids[change.address] = change.pid

    def _create_sample(self, sample_id: str | None, body: JsonObject, context: str) -> None:
        assert sample_id is not None
        if self.catalog.get_sample(sample_id, context=context) is not None:
            return  # created by an interrupted run (sample ids are deterministic)
        try:
            self.catalog.create_sample(body, context=context)
        except ApiError:
            # SciCat answers a duplicate sampleId with a 500; a lost answer looks the same.
            if self.catalog.get_sample(sample_id, context=context) is None:
                raise

    # ------------------------------------------------------------------ datasets

    def _mark(self, change: ResourceChange) -> None:
        """Set scisync's marker on an existing dataset (``scisync import``).

        A PATCH an interrupted run completed (journaled as done) is not sent again.
        """
        assert change.pid is not None and change.patch is not None
        pid, patch = change.pid, change.patch
        if ("set-marker", change.address) not in self._completed:
            self._step(
                change,
                "set-marker",
                lambda: self.catalog.patch_dataset(
                    pid, patch, merge_patch=True, context=f"dataset {change.key}"
                ),
            )
        self.results.pids[change.address] = pid

    def _dataset(self, change: ResourceChange) -> None:
        context = f"dataset {change.key}"
        # A plan makes its FileChanges as they are read (plan/files.py): read them once.
        files = list(change.files)
        uploads = [f for f in files if f.action is FileAction.ADD and f.needs_transfer]
        if uploads:
            self._upload(change, uploads)
        new_files = [f for f in files if f.action is FileAction.ADD]
        # A new dataset's create intent announces its file registration too (one fsync for
        # both).  A replacement does not: until its POST, its address names the published
        # dataset it replaces, whose file list a resumed plan must not treat as unfinished.
        registers = len(new_files) if change.action is Action.CREATE else 0
        fresh = False  # created by this very request: nothing can be registered in it yet
        if change.action in (Action.CREATE, Action.REPLACE):
            pid, fresh = self._create_dataset(change, context, registers=registers)
        else:
            assert change.pid is not None
            pid = change.pid
            if change.patch:
                patch = self._resolve(change.patch, change.address)
                assert isinstance(patch, dict)
                self._step(
                    change,
                    "update-dataset",
                    lambda: self.catalog.patch_dataset(
                        pid, patch, merge_patch=True, context=context
                    ),
                )
        self.results.pids[change.address] = pid
        if new_files:
            announced = fresh and registers > 0
            self._register_files(change, pid, new_files, context, fresh, announced)
        aids: dict[str, str] = {}
        for attachment in change.attachments:
            aids[attachment.caption] = self._attach(change, pid, attachment, context)
        with self.results._lock:
            self.results.attachment_ids[change.address] = aids

    def _upload(self, change: ResourceChange, files: Sequence[FileChange]) -> None:
        if self.storage is None:
            raise StorageError(
                f"dataset {change.key} has files to upload but the manifest has no storage",
                hint="add a `storage:` section",
            )
        jobs = [
            UploadJob(
                local=Path(f.local or ""),
                remote=RemotePath(f.remote or ""),
                size=f.size,
                blake3=f.blake3 or "",
            )
            for f in files
        ]
        total = sum(f.size for f in files)
        self.cancel.check()
        self.events(StepStarted(change.address, "upload"))
        self.journal.record("intent", "upload", change.address, files=len(files))
        checkpoint(f"before-upload:{change.address}")

        def done(index: int) -> None:
            self.events(FileDone(change.address, files[index].path, files[index].size))

        storage = self.storage_or_fail()
        self._transfer(
            lambda progress: storage.upload(
                jobs, progress, done, cancel=self.cancel, links=HashCacheWitness(self.hasher, files)
            ),
            change.address,
        )
        with self.results._lock:
            self.results.bytes_up += total
        self.journal.record("done", "upload", change.address)
        self.events(StepFinished(change.address, "upload", _files(len(files))))
        checkpoint(f"after-upload:{change.address}")

    def _create_dataset(
        self, change: ResourceChange, context: str, *, registers: int
    ) -> tuple[str, bool]:
        """The new dataset's pid, and whether this call's POST created it.

        Its intent announces the *registers* files registered right after: that fsync'd
        line is what a resumed plan reads (``Journal.registering``), so the register-files
        intent of a dataset this call created needs no fsync of its own."""
        assert change.body is not None and change.marker is not None
        resumed = self._resumed_pids.get(change.address)
        if resumed is not None:
            return resumed, False
        body = self._resolve(change.body, change.address)
        assert isinstance(body, dict)
        self.cancel.check()
        self.events(StepStarted(change.address, "create-dataset"))
        self.journal.record(
            "intent", "create-dataset", change.address, marker=change.marker, registers=registers
        )
        checkpoint(f"before-create:{change.address}")
        # No look-up first: the plan was made from SciCat's state a moment ago (a saved plan
        # is re-checked against it), and the apply lock keeps other applies out.
        fresh = True
        try:
            created = self.catalog.create_dataset(body, context=context)
            pid = str(created["pid"])
        except ApiError as error:
            # The POST is never repeated blindly: maybe it went through and only the
            # answer was lost.  Look for the marker before giving up.
            found = self._find_created(change)
            if found is None or error.status not in (None, 500, 502, 503, 504):
                raise
            pid, fresh = found, False
        self.journal.record("done", "create-dataset", change.address, pid=pid)
        self.events(StepFinished(change.address, "create-dataset", pid))
        checkpoint(f"after-create:{change.address}")
        return pid, fresh

    def _find_created(self, change: ResourceChange) -> str | None:
        """A dataset carrying this change's marker that this change would have created."""
        assert change.marker is not None
        found = self.catalog.find_datasets_by_markers([change.marker]).get(change.marker, ())
        superseded = set(change.supersedes)
        for dataset in found:
            metadata = dataset.fields.get("scientificMetadata")
            supersedes = metadata.get("scisync_supersedes") if isinstance(metadata, dict) else None
            if dataset.pid in superseded:
                continue
            if change.action is Action.REPLACE and supersedes != (change.supersedes or [None])[-1]:
                continue
            return dataset.pid
        return None

    def _register_files(
        self,
        change: ResourceChange,
        pid: str,
        files: Sequence[FileChange],
        context: str,
        fresh: bool,
        announced: bool,
    ) -> None:
        self.cancel.check()
        # announced: the fsync'd create intent of this run already says it (Journal.record)
        address, count = change.address, len(files)
        self.journal.record(
            "intent", "register-files", address, announced=announced, pid=pid, files=count
        )
        checkpoint(f"before-register:{change.address}")
        registered: set[str] = set()
        if not fresh:
            # An earlier, interrupted run may have registered part of the list already.
            current = self.catalog.get_dataset(pid, context=context)
            registered = {f.path for f in current.files} if current is not None else set()
        pending = [f for f in files if f.path not in registered]
        for start in range(0, len(pending), FILES_PER_BLOCK):
            self.cancel.check()  # the journal's intent covers a list left half registered
            chunk = pending[start : start + FILES_PER_BLOCK]
            body = _origdatablock_body(chunk, change.checksum_algorithm)
            self.catalog.create_origdatablock(pid, body, context=context)
            checkpoint(f"after-block:{change.address}:{start}")
        self.journal.record("done", "register-files", change.address, pid=pid)
        self.events(StepFinished(change.address, "register-files", _files(len(pending))))

    def _attach(
        self, change: ResourceChange, pid: str, attachment: AttachmentChange, context: str
    ) -> str:
        aid = attachment.aid or attachment_id(pid, attachment.caption)
        if attachment.action is AttachmentAction.KEEP:
            return aid
        image = Path(attachment.image)
        thumbnail = thumbnail_data_uri(image)
        if hashlib.sha256(thumbnail.encode()).hexdigest() != attachment.thumbnail_sha256:
            raise PlanError(
                f"dataset {change.key}: attachment image {image} changed after the plan was made",
                hint="run `scisync plan` again",
            )
        self.cancel.check()
        self.journal.record("intent", "attach", change.address, aid=aid)
        checkpoint(f"before-attach:{change.address}:{attachment.caption}")
        if attachment.action is AttachmentAction.UPDATE:
            self.catalog.patch_attachment(
                aid, {"thumbnail": thumbnail, "caption": attachment.caption}, context=context
            )
        else:
            owner_group, access_groups = self._groups(change, pid, context)
            try:
                self.catalog.create_attachment(
                    pid,
                    attachment.caption,
                    thumbnail,
                    aid,
                    owner_group,
                    access_groups,
                    context=context,
                )
            except ApiError:
                # A duplicate aid gives a 500 in SciCat: an interrupted run created it.
                current = self.catalog.get_dataset(pid, context=context)
                if current is None or aid not in {a.id for a in current.attachments}:
                    raise
        self.journal.record("done", "attach", change.address, aid=aid)
        return aid

    def _groups(self, change: ResourceChange, pid: str, context: str) -> tuple[str, list[str]]:
        """The dataset's owner and access groups, which its attachments must carry."""
        fields: Mapping[str, Json] | None = change.body
        if fields is None or "ownerGroup" not in fields:
            current = self.catalog.get_dataset(pid, context=context)
            fields = current.fields if current is not None else {}
        access = fields.get("accessGroups")
        return str(fields.get("ownerGroup", "")), [
            str(g) for g in (access if isinstance(access, list) else [])
        ]

    # ------------------------------------------------------------------ downloads

    def _download(self, change: ResourceChange) -> None:
        # A download of a dataset this apply creates learns the pid from that creation.
        pid = change.pid or next(
            (self.results.pids[dep] for dep in change.depends_on if dep in self.results.pids),
            None,
        )
        if pid is None:
            raise PlanError(
                f"download {change.key}: the dataset it downloads was not created",
                hint="fix the error reported for that dataset and run apply again",
            )
        self.results.pids[change.address] = pid
        wanted = [f for f in change.files if f.needs_transfer]
        digests: dict[str, str] = {}
        if wanted:
            if self.storage is None:
                raise StorageError(
                    f"download {change.key}: the manifest has no storage to download from",
                    hint="add a `storage:` section",
                )
            joiners: dict[Path, SafeJoiner] = {}
            jobs = [_download_job(f, _joiner(joiners, _target_dir(f))) for f in wanted]
            self.cancel.check()
            self.journal.record("intent", "download", change.address, files=len(jobs))
            checkpoint(f"before-download:{change.address}")

            self._fetch(change, wanted, jobs, digests)
            self.journal.record("done", "download", change.address)
        # Kept for the lockfile until the end of the apply: one 32-byte slot a file, not
        # a dict entry and a hex string (~150 B a file at a million files; issue 13).
        packed = hex_column([digests.get(f.path) or f.blake3 for f in change.files])
        with self.results._lock:
            self.results.download_digests[change.address] = packed

    def _fetch(
        self,
        change: ResourceChange,
        wanted: Sequence[FileChange],
        jobs: Sequence[DownloadJob],
        digests: dict[str, str],
    ) -> None:
        """Download *jobs*; the blake3 of each file into *digests*, for the lockfile.

        A storage that reports the digests it computed while copying saves reading every
        file again; they also go into the hash cache.  Files it did not report (found
        already in place, or another storage) are hashed here.
        """

        def done(index: int) -> None:
            self.events(FileDone(change.address, wanted[index].path, wanted[index].size))

        reported: dict[int, str] = {}

        def record(index: int, found: Mapping[str, str], st: os.stat_result) -> None:
            self.hasher.record(jobs[index].local, st, found)
            reported[index] = found["blake3"]

        storage = self.storage_or_fail()
        if isinstance(storage, ReportsDownloadDigests):
            reporting = storage

            def start(progress: Callable[[int], None]) -> None:
                reporting.download_reporting(
                    jobs, progress, done, cancel=self.cancel, digests=record
                )
        else:

            def start(progress: Callable[[int], None]) -> None:
                storage.download(jobs, progress, done, cancel=self.cancel)

        self._transfer(start, change.address)
        with self.results._lock:
            self.results.bytes_down += sum(f.size for f in wanted)
        missing = [index for index in range(len(jobs)) if index not in reported]
        found = self.hasher.digests([jobs[index].local for index in missing], ["blake3"])
        for index, result in zip(missing, found, strict=True):
            reported[index] = result["blake3"]
        for index, f in enumerate(wanted):
            digests[f.path] = reported[index]

    # ------------------------------------------------------------------ helpers

    def storage_or_fail(self) -> Storage:
        assert self.storage is not None  # the callers checked, with a clear message
        return self.storage

    def _transfer(self, start: Callable[[Callable[[int], None]], None], address: str) -> None:
        """Run a storage transfer; if it stopped because of the cancel token, raise Interrupted."""

        def progress(n: int) -> None:
            self.events(BytesTransferred(address, n))
            in_transfer()  # a test hook: signal this process in the middle of a transfer

        try:
            start(progress)
        except StorageError:
            self.cancel.check()
            raise

    def _step(self, change: ResourceChange, step: str, action: Callable[[], object]) -> None:
        self.cancel.check()
        self.events(StepStarted(change.address, step))
        self.journal.record("intent", step, change.address)
        checkpoint(f"before-{step}:{change.address}")
        action()
        self.journal.record("done", step, change.address)
        self.events(StepFinished(change.address, step, ""))
        checkpoint(f"after-{step}:{change.address}")


def _download_job(file: FileChange, joiner: SafeJoiner) -> DownloadJob:
    # The joiner refuses paths that would leave the target folder (.., symlinks); the
    # storage checks again just before it writes (`within`).
    expected = []
    if file.checksum:
        algorithm, _, value = file.checksum.partition(":")
        expected.append(Checksum(algorithm, value))
    if file.blake3:
        expected.append(Checksum("blake3", file.blake3))
    return DownloadJob(
        remote=RemotePath(file.remote or ""),
        local=joiner.join(file.path),
        size=file.size,
        expected=tuple(expected),
        within=joiner.target_dir,
    )


def _joiner(joiners: dict[Path, SafeJoiner], target_dir: Path) -> SafeJoiner:
    joiner = joiners.get(target_dir)
    if joiner is None:
        joiner = joiners[target_dir] = SafeJoiner(target_dir)
    return joiner


def _target_dir(file: FileChange) -> Path:
    """The download's target folder, recovered from the planned local path."""
    local = Path(file.local or "")
    depth = len(file.path.split("/"))
    for _ in range(depth):
        local = local.parent
    return local


def _origdatablock_body(files: Sequence[FileChange], algorithm: str | None) -> JsonObject:
    entries: list[Json] = []
    for f in files:
        try:  # one stat per file: a dataset of small files is registered 5,000 at a time
            mtime = os.stat(f.local or "").st_mtime
        except OSError:
            mtime = time.time()
        entry: JsonObject = {
            "path": f.path,
            "size": f.size,
            "time": datetime.fromtimestamp(mtime, UTC).isoformat().replace("+00:00", "Z"),
        }
        if f.checksum:
            entry["chk"] = f.checksum.partition(":")[2]
        entries.append(entry)
    body: JsonObject = {
        "size": sum(f.size for f in files),
        "dataFileList": entries,
    }
    if algorithm:
        body["chkAlg"] = algorithm
    return body


def _files(n: int) -> str:
    return "1 file" if n == 1 else f"{n} files"


def _summarize(results: ApplyResults, elapsed: float) -> ApplySummary:
    counts: Mapping[str, int] = results.counts
    return ApplySummary(
        created=counts.get("create", 0),
        updated=counts.get("update", 0),
        replaced=counts.get("replace", 0),
        adopted=counts.get("adopt", 0),
        forgotten=counts.get("forget", 0),
        downloaded=counts.get("download", 0),
        registered=counts.get("registered", 0),
        bytes_up=results.bytes_up,
        bytes_down=results.bytes_down,
        elapsed_s=elapsed,
    )

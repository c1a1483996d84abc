"""The Python API: load, plan, apply and pull as plain functions returning data.

The CLI is a thin layer over these; notebooks and scripts call them directly::

    from scisync import api
    project = api.load_project(["scisync.yaml"])
    with api.connect(project) as connection:
        plan = api.plan(project, connection)
        outcome = api.apply(project, connection, plan)
"""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scisync._util import racy
from scisync._util.hashing import CachedHasher
from scisync._util.limits import SshLimits
from scisync._util.secrets import register_secret
from scisync._util.version import VERSION
from scisync.apply.cancel import Cancellation
from scisync.apply.journal import Journal
from scisync.apply.lockbuild import keeps_record, updated_lock
from scisync.desired.build import build_desired, storage_roots
from scisync.desired.ids import make_marker, rows_digest
from scisync.desired.model import DesiredState, LocalFiles
from scisync.desired.stamps import LocalStamp, StampWalk
from scisync.errors import LockfileError, PlanError
from scisync.lock.filelock import ApplyLock
from scisync.lock.io import check_lists, lock_digest, read_lock, write_lock
from scisync.lock.model import Lockfile
from scisync.manifest import load_manifest
from scisync.manifest.graph import DependencyGraph, dependency_graph
from scisync.manifest.model import LocalStorageConfig, Manifest, SftpStorageConfig
from scisync.observe.model import ObservedDataset, ObservedState
from scisync.observe.observe import observe, observed_digest
from scisync.observe.settled import (
    SETTLED_FILE,
    Candidate,
    SettledStamps,
    current_stamps,
    settled_datasets,
)
from scisync.plan.codec import load_plan, save_plan
from scisync.plan.model import Action, Fingerprint, Plan, ResourceKind
from scisync.plan.planner import PlanOptions, make_plan
from scisync.scicat.auth import ExpiringToken, open_catalog
from scisync.scicat.client import ScicatClient
from scisync.scicat.http import RetryListener, stop_idle_watchdog
from scisync.storage.base import RemotePath, Storage

if TYPE_CHECKING:
    # Only apply and import need these (imported where used): `scisync plan` and a
    # notebook's first `import scisync.api` do not pay for them.
    from scisync.adopt.importer import ImportResult
    from scisync.apply.events import ApplySummary, EventSink
    from scisync.apply.executor import ApplyResults

LOCK_NAME = "scisync.lock"
STATE_DIR = ".scisync"  # journal, hash cache, apply lock: machine-local, not committed
SANDBOX_USER = "ingestor"  # the embedded sandbox's account scisync signs in as


@dataclass(frozen=True)
class Project:
    """A loaded manifest and where its state lives."""

    manifest: Manifest
    lock_path: Path
    state_dir: Path


def load_project(
    paths: Sequence[Path | str],
    *,
    variables: Mapping[str, str] | None = None,
    var_files: Sequence[Path] = (),
    lock_path: Path | None = None,
) -> Project:
    """Load, render and validate the manifest; the lockfile sits beside the first file."""
    # A 10,000-item for_each allocates millions of acyclic nodes: without the pause the
    # collector's full passes made the load grow faster than the manifest (1.6x the time).
    with _without_cyclic_gc():
        manifest = load_manifest(
            [Path(p) for p in paths], variables=dict(variables or {}), var_files=list(var_files)
        )
    base = manifest.base_dir
    return Project(
        manifest=manifest,
        lock_path=lock_path or base / LOCK_NAME,
        state_dir=base / STATE_DIR,
    )


def check_local_inputs(project: Project) -> None:
    """Offline: every file selection matches a file and every attachment image exists
    (raises one ManifestError listing every problem)."""
    from scisync.desired.local_inputs import check_local_inputs as check

    check(project.manifest)


@dataclass
class Connection:
    """Open handles to SciCat and the storage for one plan/apply."""

    catalog: ScicatClient
    storage: Storage | None
    hasher: CachedHasher
    url: str
    expiring_token: ExpiringToken | None = None
    """Set when the SciCat token expires within ``scicat.auth.EXPIRES_SOON`` (announce it)."""


def _open_storage(manifest: Manifest) -> Storage | None:
    config = manifest.storage
    if isinstance(config, LocalStorageConfig):
        from scisync.storage.local import LocalStorage

        return LocalStorage(hardlink=config.hardlink, roots=storage_roots(manifest))
    if isinstance(config, SftpStorageConfig):
        from scisync.storage.sftp import SftpStorage

        limits = SshLimits()
        return SftpStorage(
            config.host,
            config.port,
            config.user,
            connect_timeout=limits.connect_timeout,
            io_timeout=limits.io_timeout,
            limits=limits,
            connections=config.connections,
            ssh_config_path=config.ssh_config,
            known_hosts=config.known_hosts,
            roots=storage_roots(manifest),
        )
    return None


@contextmanager
def connect(
    project: Project,
    *,
    environ: Mapping[str, str] | None = None,
    on_retry: RetryListener | None = None,
) -> Iterator[Connection]:
    """Sign in to SciCat (starting the embedded sandbox if the manifest asks) and open storage.

    ``on_retry`` hears of every retried SciCat request (what failed, when it tries again)
    before the pause; the CLI prints it.
    """
    env = os.environ if environ is None else environ
    config = project.manifest.scicat
    expiring_token: ExpiringToken | None = None
    with ExitStack() as stack:
        if config.sandbox is not None:
            from scisync.sandbox import SandboxServer

            sandbox_dir = config.sandbox
            server = stack.enter_context(SandboxServer(sandbox_dir).start())
            # Always the sandbox's own demo account: a $SCICAT_TOKEN in the environment is
            # meant for a real SciCat, and the sandbox would take it for anonymous.
            token = server.login(SANDBOX_USER)
            register_secret(token)
            catalog = ScicatClient(
                server.url,
                token,
                token_env=config.token_env,
                limits=config.http_limits,
                on_retry=on_retry,
            )
        else:
            catalog, expiring_token = open_catalog(config, env, on_retry=on_retry)
        if catalog.authenticated:
            # SciCat treats a token it cannot verify as anonymous instead of refusing it;
            # without this check a wrong token shows up later as 403s or an empty catalogue.
            catalog.verify_token()
        stack.callback(catalog.close)
        storage = _open_storage(project.manifest)
        if storage is not None:
            stack.callback(storage.close)
        hasher = CachedHasher(project.state_dir / "hashcache.sqlite")
        stack.callback(hasher.flush)  # digests computed since its last write (even on failure)
        yield Connection(
            catalog=catalog,
            storage=storage,
            hasher=hasher,
            url=catalog.base_url,
            expiring_token=expiring_token,
        )


@contextmanager
def _without_cyclic_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while the three states are built.

    Planning 100,000 files allocates about a million small, acyclic objects; each
    allocation burst triggers full collections that walk every live object, which cost
    half the planning time (bench/bench_plan.py).  Reference counting still frees
    everything; the collector is restored (if it was on) when planning ends.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@dataclass(frozen=True)
class PlanInputs:
    desired: DesiredState
    recorded: Lockfile
    fingerprint: Fingerprint
    # key -> every dataset that can be settled, with its stamp (scisync.observe.settled)
    stamps: Mapping[str, Candidate] = field(default_factory=dict)


def _gather(
    project: Project,
    connection: Connection,
    *,
    downloads_only: bool = False,
    locked: bool = False,
    resuming: frozenset[str] = frozenset(),
    settle: bool = True,
) -> tuple[PlanInputs, ObservedState]:
    manifest = project.manifest
    if downloads_only:
        # A collaborator pulling data has the manifest but not the producer's local files.
        manifest = replace(manifest, datasets=(), samples=())
    # The local folders are walked for their stamps (half of them in a child process)
    # while the lockfile is read and SciCat answers the marker query.  The walk forks only
    # in a single-threaded process: the deadline thread of the requests made so far (the
    # token check) is ended first.
    stop_idle_watchdog()
    with StampWalk(manifest.datasets) as walk:
        return _gather_with(project, connection, manifest, walk, locked, resuming, settle)


def _gather_with(
    project: Project,
    connection: Connection,
    manifest: Manifest,
    walk: StampWalk,
    locked: bool,
    resuming: frozenset[str],
    settle: bool,
) -> tuple[PlanInputs, ObservedState]:
    known = SettledStamps(project.state_dir / SETTLED_FILE).stamps if settle else {}
    # SciCat answers the marker query (which depends only on the manifest) while the
    # lockfile is read and the local folders are walked.  With settled stamps recorded,
    # it asks for summaries (blocks without file lists): all the settled rule reads; the
    # datasets that turn out not settled are fetched whole after it.
    markers = sorted({make_marker(manifest.project, spec.key) for spec in manifest.datasets})
    catalog = connection.catalog
    query = catalog.find_dataset_summaries_by_markers if known else catalog.find_datasets_by_markers
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="scisync-observe") as pool:
        found = pool.submit(query, markers)
        # sha256 of the lockfile (a saved plan's fingerprint): hashlib lets go of the GIL
        lock_digested = pool.submit(lock_digest, project.lock_path)
        recorded = read_lock(project.lock_path) or Lockfile(project=project.manifest.project)
        if recorded.project != project.manifest.project:
            raise PlanError(
                f"{project.lock_path.name} belongs to project {recorded.project!r}, "
                f"the manifest is {project.manifest.project!r}",
                where=str(project.lock_path),
                hint="use the lockfile of this manifest, or move the other one away",
            )
        local = walk.result()
        found_by_marker: Mapping[str, Sequence[ObservedDataset]] = found.result()
    current = current_stamps(manifest, recorded, local, found_by_marker, resuming)
    settled = settled_datasets(current, known, racy.now_ns())
    if known:
        found_by_marker = _with_file_lists(catalog, manifest, found_by_marker, settled)
    check_lists(recorded, settled)  # every lockfile list this plan may read: refused now
    desired = build_desired(manifest, connection.hasher, settled)
    observed = observe(
        desired,
        recorded,
        connection.catalog,
        connection.storage,
        found_by_marker=found_by_marker,
        pinned=locked,
    )
    fingerprint = Fingerprint(
        manifest=_desired_digest(project.manifest.digest, desired, local),
        lockfile=lock_digested.result(),
        observed=observed_digest(observed),
    )
    return PlanInputs(desired, recorded, fingerprint, current), observed


def _with_file_lists(
    catalog: ScicatClient,
    manifest: Manifest,
    summaries: Mapping[str, Sequence[ObservedDataset]],
    settled: Mapping[str, RemotePath],
) -> dict[str, Sequence[ObservedDataset]]:
    """The marker query's answer with every dataset that is not settled fetched whole:
    the planner compares those files; a settled dataset's summary is all it reads."""
    found = dict(summaries)
    again = [
        marker
        for marker in (make_marker(manifest.project, spec.key) for spec in manifest.datasets
                       if spec.key not in settled)
        if found.get(marker)
    ]  # fmt: skip
    if again:
        found.update(catalog.find_datasets_by_markers(again))
    return found


def _desired_digest(
    manifest_digest: str, desired: DesiredState, local: Mapping[str, LocalStamp | None]
) -> str:
    """The manifest side of a saved plan's fingerprint: a dataset with a local stamp is
    digested by it (it moves with any file), one without by its files' content; the same
    whether the dataset was settled or planned in full."""
    rows: list[list[object]] = [[manifest_digest]]
    for dataset in desired.datasets:
        stamp = local.get(dataset.key)
        if stamp is not None:
            rows.append([dataset.key, "local", stamp.digest])
            continue
        files = LocalFiles.of(dataset.files)  # by columns: no LocalFile per file
        rows.extend(
            [dataset.key, relative, blake3]
            for relative, blake3 in zip(files.relatives, files.blake3s, strict=True)
        )
        rows.extend([dataset.key, a.caption, a.blake3] for a in dataset.attachments)
    return rows_digest(rows)


def _record_settled(project: Project, inputs: PlanInputs, the_plan: Plan) -> None:
    """Record the settled stamps (scisync.observe.settled) of the datasets this plan found
    unchanged with a lockfile entry its apply writes back as it is; forget the others.
    A settled dataset keeps its record as it is (the racy rule let it vouch); one planned
    in full is recorded with the time of this plan's walk (scisync._util.racy)."""
    store = SettledStamps(project.state_dir / SETTLED_FILE)
    keys = {spec.key for spec in project.manifest.datasets}
    stamps = {key: stamp for key, stamp in store.stamps.items() if key in keys}
    conflicted = {conflict.address for conflict in the_plan.conflicts}
    settled = {dataset.key for dataset in inputs.desired.datasets if dataset.settled}
    for change in the_plan.changes:
        if change.kind is not ResourceKind.DATASET:
            continue
        candidate = inputs.stamps.get(change.key)
        if change.key in settled and change.key in stamps:
            continue
        unchanged = change.key in settled or (
            change.action is Action.NOOP
            and change.address not in conflicted
            and keeps_record(change, inputs.recorded.datasets.get(change.key))
        )
        if candidate is not None and unchanged:
            stamps[change.key] = candidate.recorded
        else:
            stamps.pop(change.key, None)
    store.save(stamps)


def require_lockfile(project: Project) -> None:
    """Refuse ``--locked`` without a lockfile: there is nothing to hold the run to, and
    going ahead would download unpinned data and write a new lockfile as if it were fine."""
    if not project.lock_path.exists():
        raise LockfileError(
            f"--locked needs {project.lock_path.name}, and there is none",
            where=str(project.lock_path),
            hint="commit the lockfile with the manifest (git add scisync.lock); to create "
            "it, run the same command once without --locked",
        )


def plan(
    project: Project,
    connection: Connection,
    *,
    targets: Sequence[str] = (),
    locked: bool = False,
    downloads_only: bool = False,
    settle: bool = True,
) -> Plan:
    """What apply would do, computed from the manifest, SciCat, the storage and the lockfile.

    ``downloads_only`` plans just the manifest's downloads (``scisync pull``); ``locked``
    makes any difference between the catalogue and the lockfile's pinned downloads an error.
    ``settle=False`` plans every dataset in full, settled ones too (scisync.observe.settled):
    the plan then lists every file of every dataset, as ``scisync plan --json`` shows them;
    a settled dataset's change otherwise lists none (the same no-op, its files not read).
    """
    if locked:
        require_lockfile(project)
    journal = Journal(project.state_dir / "journal.jsonl")
    resuming = journal.registering()
    with _without_cyclic_gc():
        inputs, observed = _gather(
            project,
            connection,
            downloads_only=downloads_only,
            locked=locked,
            resuming=resuming,
            settle=settle,
        )
    options = PlanOptions(
        targets=frozenset(targets),
        locked=locked,
        downloads_only=downloads_only,
        scisync_version=VERSION,
        resuming=resuming,
    )
    with _without_cyclic_gc():
        the_plan = make_plan(inputs.desired, observed, inputs.recorded, inputs.fingerprint, options)
    if not downloads_only:
        _record_settled(project, inputs, the_plan)
    return the_plan


@dataclass(frozen=True)
class ApplyOutcome:
    plan: Plan
    results: ApplyResults
    lock: Lockfile
    lock_written: bool

    @property
    def summary(self) -> ApplySummary:
        return self.results.summary


def check_fresh(project: Project, connection: Connection, saved: Plan) -> None:
    """Refuse a saved plan whose inputs moved on since it was made."""
    inputs, _ = _gather(project, connection)
    if inputs.fingerprint.observed != saved.fingerprint.observed and any(
        d.query is not None for d in project.manifest.downloads
    ):
        # A plan made --locked did not run the queries the lockfile pins: observe the same way.
        pinned, _ = _gather(project, connection, locked=True)
        if pinned.fingerprint.observed == saved.fingerprint.observed:
            inputs = pinned
    moved = [
        name
        for name, then, now in (
            (
                "the manifest or its local files",
                saved.fingerprint.manifest,
                inputs.fingerprint.manifest,
            ),
            ("scisync.lock", saved.fingerprint.lockfile, inputs.fingerprint.lockfile),
            ("SciCat or the storage", saved.fingerprint.observed, inputs.fingerprint.observed),
        )
        if then != now
    ]
    if moved:
        raise PlanError(
            f"the saved plan is stale: {', '.join(moved)} changed since it was made",
            hint="run `scisync plan --out FILE` again and apply the new plan",
        )


def refuse_conflicts(the_plan: Plan, *, shown: bool = False) -> None:
    """Raise if *the_plan* has conflicts: such a plan is never applied.

    ``shown`` says the conflicts were just rendered with the plan, so the error only
    points at them; otherwise it lists every one.
    """
    if not the_plan.conflicts:
        return
    n = len(the_plan.conflicts)
    if shown:
        raise PlanError(
            f"the plan has {n} conflict{'s' if n != 1 else ''} (listed above, under their "
            "entries); nothing was changed",
            hint="follow each conflict's hint, then run `scisync plan` again",
        )
    raise PlanError(problems=[conflict.as_problem() for conflict in the_plan.conflicts])


def apply(
    project: Project,
    connection: Connection,
    the_plan: Plan,
    *,
    events: EventSink | None = None,
    workers: int = 4,
    cancel: Cancellation | None = None,
) -> ApplyOutcome:
    """Execute *the_plan* and record the outcome in the lockfile.

    The caller holds the apply lock (see :func:`apply_lock`) from planning to here so
    that nothing else changes the lockfile in between.  A plan with conflicts is refused.
    Setting *cancel* (from a signal handler or another thread) stops the apply before its
    next side effect: transfers in flight are aborted, SciCat requests in flight finish,
    the lockfile records what completed, the journal is kept for the resume, and
    :class:`~scisync.errors.Interrupted` is raised.
    """
    from scisync.apply.executor import Applier

    refuse_conflicts(the_plan)
    journal = Journal(project.state_dir / "journal.jsonl")
    recorded = read_lock(project.lock_path) or Lockfile(project=project.manifest.project)
    applier = Applier(
        the_plan,
        connection.catalog,
        connection.storage,
        journal,
        events or (lambda event: None),
        connection.hasher,
        workers=workers,
        cancel=cancel,
    )
    # Without the cyclic collector, as planning: every collection walked the plan's
    # per-file objects again, a quarter of a 10,000-file apply's time (docs/performance.md).
    with _without_cyclic_gc():
        try:
            results = applier.run()
        finally:
            # Record whatever completed, even on failure: the next run starts from there.
            lock = updated_lock(
                recorded,
                the_plan,
                applier.results.pids,
                applier.results.attachment_ids,
                applier.results.download_digests,
                applier.results.completed,
                applier.results.publication_status,
            )
            written = write_lock(project.lock_path, lock)
    journal.finish()
    return ApplyOutcome(plan=the_plan, results=results, lock=lock, lock_written=written)


def import_dataset(
    project: Project,
    connection: Connection,
    pid: str,
    key: str,
    *,
    manifest_path: Path | None = None,
    variables: Mapping[str, str] | None = None,
    var_files: Sequence[Path] = (),
    cancel: Cancellation | None = None,
) -> ImportResult:
    """Write a manifest entry for dataset *pid* under *key*, mark it, and adopt it.

    *manifest_path* (default: the project's first manifest file) receives the entry.
    The marker is set by applying the import's adopt plan (journaled, resumable); the
    dataset is recorded in the lockfile only when adopting it changes nothing in SciCat;
    if the manifest's ``defaults:`` would add or change fields, the entry is written and
    marked, and ``pending`` lists what ``scisync apply`` would change.  The caller holds
    the apply lock (see :func:`apply_lock`).  *cancel* stops it as it stops :func:`apply`:
    a step in flight finishes and is journaled, and the next run resumes from there.
    """
    from scisync.adopt.importer import adoption, draft_import, marking_plan, write_entry
    from scisync.apply.faults import checkpoint

    stop = cancel or Cancellation()
    variables = dict(variables or {})
    draft = draft_import(
        project.manifest,
        connection.catalog,
        pid,
        key,
        manifest_path=(manifest_path or project.manifest.sources[0]).resolve(),
        variables=variables,
        var_files=var_files,
        where=connection.url,
    )
    marking = marking_plan(project.manifest.project, draft)
    checkpoint(f"drafted:dataset.{key}")
    if marking.has_changes:
        apply(project, connection, marking, cancel=stop)
    # Last stop: the marker is set and journaled, and the next run writes the entry.  Past
    # here the import finishes: only the lockfile is left, and an entry written without its
    # lock record would make the re-run refuse the key as taken.
    stop.check()
    write_entry(draft)
    reloaded = load_project(
        project.manifest.sources, variables=variables, var_files=var_files,
        lock_path=project.lock_path,
    )  # fmt: skip
    to_apply, pending = adoption(plan(reloaded, connection, targets=[key]), draft)
    if to_apply is None:
        return draft.result(adopted=False, lock_written=False, pending=pending)
    outcome = apply(reloaded, connection, to_apply)
    return draft.result(adopted=True, lock_written=outcome.lock_written)


def interrupted_apply(project: Project) -> int:
    """How many journal entries an interrupted apply left (0 when the last one finished)."""
    return len(Journal(project.state_dir / "journal.jsonl").entries())


def graph(project: Project) -> DependencyGraph:
    """The manifest's dependency graph (samples, datasets, downloads; offline)."""
    return dependency_graph(project.manifest)


def apply_lock(project: Project, timeout: float) -> ApplyLock:
    """The lock that keeps two applies on the same lockfile from running at once."""
    project.state_dir.mkdir(parents=True, exist_ok=True)
    return ApplyLock(project.state_dir / "apply.lock", timeout=timeout)


def __getattr__(name: str) -> Any:
    """``api.ImportResult``, imported when first asked for (see TYPE_CHECKING above)."""
    if name == "ImportResult":
        from scisync.adopt.importer import ImportResult

        return ImportResult
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ApplyOutcome",
    "Cancellation",
    "Connection",
    "ImportResult",
    "PlanInputs",
    "Project",
    "apply",
    "apply_lock",
    "check_fresh",
    "connect",
    "graph",
    "import_dataset",
    "interrupted_apply",
    "load_plan",
    "load_project",
    "plan",
    "require_lockfile",
    "save_plan",
]

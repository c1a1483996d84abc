"""Guarantee 7, interruption: real SIGINT and SIGTERM sent to a real `scisync apply` or
`scisync pull` at many points, local storage and a real sshd.

The process signals itself at a named checkpoint of the applier (scisync/apply/faults.py)
or after the first chunk a transfer reports, and waits until its handler ran, so each
case knows where the apply stood.  Every case asserts: exit code 130 (SIGINT) or 143
(SIGTERM); a message that says how to resume and no "internal error"; no temporary file
left anywhere (after a second signal, which exits at once, none left once the resume
ran); a valid lockfile that claims nothing SciCat does not hold; what the case
expects of the step in flight; then a plain apply (or pull) converges to what an
uninterrupted run produces, with nothing duplicated.
"""

from __future__ import annotations

import json
import subprocess
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from scisync.lock.io import read_lock
from scisync.sandbox import SandboxServer
from tests.cli_process import run_scisync
from tests.e2e.workspace import catalogue_snapshot, normalised_lock, write_manifest


@dataclass(frozen=True)
class Run:
    """One interrupted run, for a case's own expectation."""

    root: Path
    store: Path
    sandbox: SandboxServer
    token: str
    result: subprocess.CompletedProcess[str]

    def datasets(self) -> dict[str, dict[str, object]]:
        """SciCat's datasets by manifest key, with their files and attachments."""
        answer = requests.get(
            self.sandbox.root_url + "/v4/datasets",
            params={"filter": json.dumps({"include": ["origdatablocks", "attachments"]})},
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=30,
        )
        answer.raise_for_status()
        return {
            str(d["scientificMetadata"]["scisync_marker"]).split("/", 1)[1]: d
            for d in answer.json()
        }

    def journal(self) -> list[dict[str, object]]:
        path = self.root / ".scisync" / "journal.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


Expectation = Callable[[Run], None]


@dataclass(frozen=True)
class Case:
    name: str
    signals: str  # "SIGINT", "SIGTERM", "SIGINT+SIGINT" (a second one at once)
    at: str  # a checkpoint name, or "transfer" (after the first chunk of a transfer)
    command: str = "apply"  # or "pull"
    expect: Expectation | None = None
    kinds: tuple[str, ...] = ("local",)
    exit_code: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        last = self.signals.split("+")[-1]
        object.__setattr__(self, "exit_code", 130 if last == "SIGINT" else 143)

    @property
    def second(self) -> bool:
        return "+" in self.signals


def _files(run: Run, key: str) -> list[str]:
    found = run.datasets().get(key)
    blocks = found.get("origdatablocks", []) if found else []
    assert isinstance(blocks, list)
    return [f["path"] for block in blocks for f in block["dataFileList"]]


def sample_created(run: Run) -> None:
    samples = requests.get(
        run.sandbox.url + "/samples",
        headers={"Authorization": f"Bearer {run.token}"},
        timeout=30,
    ).json()
    assert [s["sampleName"] for s in samples] == ["A crystal"]  # the request in flight finished
    assert run.datasets() == {}  # ... and nothing after it started


def nothing_uploaded(key: str) -> Expectation:
    def check(run: Run) -> None:
        uploaded = [p for p in (run.store / key).rglob("*") if p.is_file()]
        assert uploaded == [], uploaded  # the signal came before the transfer's first job

    return check


def created_and_journaled(key: str) -> Expectation:
    def check(run: Run) -> None:
        assert key in run.datasets()  # the POST in flight finished ...
        done = [
            e
            for e in run.journal()
            if e["phase"] == "done" and e["step"] == "create-dataset" and key in str(e["address"])
        ]
        assert len(done) == 1 and done[0]["data"]  # ... and its pid was journaled
        assert _files(run, key) == []  # no new step (file registration) started
        lock = read_lock(run.root / "scisync.lock")
        assert lock is None or key not in lock.datasets  # not complete: not claimed

    return check


def registered_not_attached(key: str) -> Expectation:
    def check(run: Run) -> None:
        dataset = run.datasets()[key]
        assert sorted(_files(run, key)) == ["frame-1.dat", "frame-2.dat", "frame-3.dat"]
        assert dataset.get("attachments", []) == []

    return check


def not_registered(key: str) -> Expectation:
    def check(run: Run) -> None:
        assert key in run.datasets() and _files(run, key) == []

    return check


def attached_and_locked(key: str) -> Expectation:
    def check(run: Run) -> None:
        attachments = run.datasets()[key].get("attachments", [])
        assert isinstance(attachments, list) and len(attachments) == 1
        lock = read_lock(run.root / "scisync.lock")
        assert lock is not None and key in lock.datasets  # completed, so recorded

    return check


def reduced_not_started(run: Run) -> None:
    assert "reduced" not in run.datasets()


def nothing_downloaded(run: Run) -> None:
    target = run.root / "data"
    assert not target.exists() or [p for p in target.rglob("*") if p.is_file()] == []
    lock = read_lock(run.root / "scisync.lock")
    assert lock is None or "frames" not in lock.downloads


def download_not_claimed(run: Run) -> None:
    lock = read_lock(run.root / "scisync.lock")
    assert lock is None or "frames" not in lock.downloads


def said_stopped(run: Run) -> None:
    assert "Stopped by SIG" in run.result.stderr  # what completed was reported


BOTH = ("local", "sftp")
CASES = [
    Case(
        "sample in flight", "SIGINT", "before-create-sample:sample.crystal", expect=sample_created
    ),
    Case(
        "after the sample", "SIGTERM", "after-create-sample:sample.crystal", expect=sample_created
    ),
    Case(
        "before an upload",
        "SIGINT",
        "before-upload:dataset.raw-1",
        expect=nothing_uploaded("raw-1"),
        kinds=BOTH,
    ),
    Case("before an upload", "SIGTERM", "before-upload:dataset.raw-2"),
    Case("after an upload", "SIGTERM", "after-upload:dataset.raw-1", kinds=BOTH),
    Case(
        "create in flight",
        "SIGINT",
        "before-create:dataset.raw-1",
        expect=created_and_journaled("raw-1"),
        kinds=BOTH,
    ),
    Case(
        "create in flight",
        "SIGTERM",
        "before-create:dataset.raw-2",
        expect=created_and_journaled("raw-2"),
    ),
    Case(
        "after a create",
        "SIGINT",
        "after-create:dataset.raw-1",
        expect=created_and_journaled("raw-1"),
    ),
    Case(
        "before registering",
        "SIGTERM",
        "before-register:dataset.raw-1",
        expect=not_registered("raw-1"),
    ),
    Case(
        "after a file block",
        "SIGINT",
        "after-block:dataset.raw-1:0",
        expect=registered_not_attached("raw-1"),
    ),
    Case(
        "attachment in flight",
        "SIGTERM",
        "before-attach:dataset.raw-1:Intensity of run 1",
        expect=attached_and_locked("raw-1"),
    ),
    Case(
        "before the derived dataset",
        "SIGINT",
        "before-upload:dataset.reduced",
        expect=reduced_not_started,
    ),
    Case("upload in flight", "SIGINT", "transfer", expect=said_stopped, kinds=BOTH),
    Case("upload in flight", "SIGTERM", "transfer", expect=said_stopped, kinds=BOTH),
    Case(
        "second SIGINT, create in flight",
        "SIGINT+SIGINT",
        "before-create:dataset.raw-1",
        kinds=BOTH,
    ),
    Case("second SIGINT, upload in flight", "SIGINT+SIGINT", "transfer"),
    Case("SIGTERM then SIGINT", "SIGTERM+SIGINT", "after-block:dataset.raw-2:0"),
    Case(
        "before a download",
        "SIGINT",
        "before-download:download.frames",
        command="pull",
        expect=nothing_downloaded,
        kinds=BOTH,
    ),
    Case(
        "before a download",
        "SIGTERM",
        "before-download:download.frames",
        command="pull",
        expect=nothing_downloaded,
    ),
    Case(
        "download in flight",
        "SIGINT",
        "transfer",
        command="pull",
        expect=download_not_claimed,
        kinds=BOTH,
    ),
    Case("download in flight", "SIGTERM", "transfer", command="pull", expect=download_not_claimed),
    Case("second SIGINT, download in flight", "SIGINT+SIGINT", "transfer", command="pull"),
]


def _params() -> list[object]:
    params: list[object] = []
    for case in CASES:
        for kind in case.kinds:
            marks = [pytest.mark.sftp] if kind == "sftp" else []
            label = f"{kind}-{case.command}-{case.signals}-{case.name}".replace(" ", "-")
            params.append(pytest.param(case, kind, id=label, marks=marks))
    return params


def _storage(kind: str, store: Path, request: pytest.FixtureRequest) -> str:
    from tests.e2e.workspace import storage_yaml

    sshd = request.getfixturevalue("sshd_server") if kind == "sftp" else None
    return storage_yaml(kind, store, sshd)


def _collaborator(root: Path, url: str, storage: str, pid: str) -> None:
    root.mkdir(parents=True, exist_ok=True)
    manifest = textwrap.dedent(
        f"""\
        version: 1
        project: collab
        scicat:
          url: {url}
        {{storage}}
        downloads:
          - key: frames
            dataset: {{pid: "{pid}"}}
            target: data/frames
        """
    ).replace("{storage}\n", storage)
    (root / "scisync.yaml").write_text(manifest)


def _temporaries(*folders: Path) -> list[str]:
    return sorted(
        str(p) for f in folders if f.exists() for p in f.rglob("*") if "scisync-tmp" in p.name
    )


_REFERENCE: dict[str, tuple[dict[str, object], str]] = {}


def _reference(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> tuple[dict[str, object], str]:
    """What an uninterrupted apply leaves (computed once per storage kind)."""
    if kind not in _REFERENCE:
        root = tmp_path / "reference" / "proj"
        root.mkdir(parents=True)
        with SandboxServer(tmp_path / "reference" / "scicat").start() as sandbox:
            write_manifest(root, sandbox.url, _storage(kind, root.with_name("proj-store"), request))
            token = sandbox.login("ingestor")
            done = run_scisync(root, token, "apply", "--auto-approve")
            assert done.returncode == 0, done.stderr
            _REFERENCE[kind] = (
                catalogue_snapshot(sandbox, token, root),
                normalised_lock(root / "scisync.lock", sandbox, token),
            )
    return _REFERENCE[kind]


def _signal_env(case: Case) -> dict[str, str]:
    if case.at == "transfer":
        return {"SCISYNC_TEST_SIGNAL_IN_TRANSFER": case.signals}
    return {"SCISYNC_TEST_SIGNAL_AT": f"{case.signals}@{case.at}"}


def _check_interrupted(case: Case, run: Run, extra: list[Path]) -> None:
    result = run.result
    assert result.returncode == case.exit_code, (result.returncode, result.stderr[-2000:])
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr
    if case.second:
        assert "Interrupted again: exiting at once" in result.stderr
        assert "Run the same command again to resume" in result.stderr
    else:
        signal_name = case.signals
        assert f"interrupted by {signal_name}" in result.stderr, result.stderr[-2000:]
        assert "run the same command again" in result.stderr
        assert f"Stopped by {signal_name}" in result.stderr
        # A second signal exits at once: its temporaries are swept by the resume (below).
        assert _temporaries(run.store, *extra) == []
    read_lock(run.root / "scisync.lock")  # valid (or absent): raises if not
    if case.expect is not None:
        case.expect(run)


@pytest.mark.parametrize(("case", "kind"), _params())
def test_signal_then_resume(
    case: Case, kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    expected_catalogue, expected_lock = _reference(kind, tmp_path, request)
    root = tmp_path / "proj"
    root.mkdir()
    store = root.with_name("proj-store")
    with SandboxServer(tmp_path / "scicat").start() as sandbox:
        storage = _storage(kind, store, request)
        write_manifest(root, sandbox.url, storage)
        token = sandbox.login("ingestor")
        if case.command == "apply":
            work, args = root, ("apply", "--auto-approve")
        else:
            assert run_scisync(root, token, "apply", "--auto-approve").returncode == 0
            pid = json.loads((root / "scisync.lock").read_text())["datasets"]["raw-1"]["pid"]
            work, args = tmp_path / "collaborator", ("pull",)
            _collaborator(work, sandbox.url, storage, pid)
        result = run_scisync(work, token, *args, **_signal_env(case))
        run = Run(work, store, sandbox, token, result)
        _check_interrupted(case, run, [work])

        resumed = run_scisync(work, token, *args)
        assert resumed.returncode == 0, resumed.stderr[-2000:]
        assert _temporaries(store, work) == []
        assert catalogue_snapshot(sandbox, token, root) == expected_catalogue  # no duplicates
        if case.command == "apply":
            assert normalised_lock(root / "scisync.lock", sandbox, token) == expected_lock
        else:
            frames = sorted(p.name for p in (work / "data" / "frames").iterdir())
            assert frames == ["frame-1.dat", "frame-2.dat", "frame-3.dat"]
            lock = read_lock(work / "scisync.lock")
            assert lock is not None and len(lock.downloads["frames"].files) == 3
        clean = run_scisync(work, token, "plan", "--detailed-exitcode")
        assert clean.returncode == 0, clean.stdout[-2000:]


def test_at_least_fifteen_signal_points() -> None:
    runs = [(case, kind) for case in CASES for kind in case.kinds]
    assert len(runs) >= 15
    assert {c.signals for c, _ in runs} >= {"SIGINT", "SIGTERM", "SIGINT+SIGINT"}
    assert {k for _, k in runs} == {"local", "sftp"}
    assert {c.command for c, _ in runs} == {"apply", "pull"}

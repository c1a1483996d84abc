"""Guarantee 1, confinement: scisync reads the storage only under its roots and writes
downloads only under their target, whatever a SciCat record says.

Each case builds a hostile (or legitimate) dataset record in the sandbox and pulls it
with the real command line, in process, while a Python audit hook records every file
the process opens.  Each asserts the exit code and message (no "internal error"), that
no file under the forbidden area was opened, and that nothing was written outside the
target.  A table of lexical cases pins the rule itself (:class:`Roots`).
"""

from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import requests
from click.testing import CliRunner, Result

from scisync._util.secrets import forget_secrets
from scisync.cli import main
from scisync.sandbox import SandboxServer
from scisync.storage.roots import Roots
from scisync.testing.sshd import SshServer

CONTENT = b"hello\n"  # what every file holds, so a checksum check alone would not stop a read

# ----------------------------------------------------------------------------- the rule

P = PurePosixPath
ROOTS = Roots(writable=(P("/srv/store"),), read_only=(P("/facility/data"),))


@pytest.mark.parametrize(
    ("path", "readable", "writable"),
    [
        ("/srv/store", True, True),
        ("/srv/store/ds/1", True, True),
        ("/srv/store/../../home/u/.ssh", False, False),
        ("/srv/store-evil/ds", False, False),  # a prefix of the string is not a parent
        ("/srv", False, False),
        ("/facility/data/run-7", True, False),  # read-only: downloads yes, uploads never
        ("/facility/database", False, False),
        ("srv/store/ds", False, False),  # relative
        ("//srv/store/ds", False, False),  # two leading slashes: implementation-defined
        ("/srv/store/ds\x00/x", False, False),
        ("", False, False),
        ("/home/u/.ssh", False, False),
        ("/srv/./store/ds", True, True),  # "." is harmless
    ],
)
def test_roots_rule(path: str, readable: bool, writable: bool) -> None:
    assert ROOTS.may_read(path) is readable
    assert ROOTS.may_write(path) is writable


def test_no_storage_means_no_roots() -> None:
    assert not Roots().may_read("/anything")
    assert "the manifest has no storage" in Roots().describe()


# ----------------------------------------------------------------------------- auditing

_opened: list[str] | None = None


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if _opened is not None and event in ("open", "os.listdir", "os.scandir") and args:
        path = args[0]
        if isinstance(path, (str, bytes, os.PathLike)):
            _opened.append(os.fsdecode(path))


sys.addaudithook(_audit)  # audit hooks cannot be removed; it records only inside opened()


@contextmanager
def opened() -> Iterator[list[str]]:
    """Every path the process opens or lists meanwhile."""
    global _opened
    _opened = []
    try:
        yield _opened
    finally:
        _opened = None


def _touched(paths: list[str], area: Path) -> list[str]:
    real = os.path.realpath(area)
    return [p for p in paths if os.path.realpath(p).startswith(real + os.sep) or p == real]


def _snapshot(folder: Path) -> dict[str, tuple[int, bytes]]:
    return {
        str(p): (p.lstat().st_mode, p.read_bytes() if p.is_file() and not p.is_symlink() else b"")
        for p in sorted(folder.rglob("*"))
    }


# ----------------------------------------------------------------------------- the world


@dataclass
class World:
    tmp: Path
    sandbox: SandboxServer
    token: str

    @property
    def store(self) -> Path:
        return self.tmp / "store"

    @property
    def secret(self) -> Path:
        """The user's private area: a 0600 key nobody should copy."""
        return self.tmp / "secret"

    @property
    def facility(self) -> Path:
        return self.tmp / "facility"

    @property
    def project(self) -> Path:
        return self.tmp / "project"

    @property
    def target(self) -> Path:
        return self.project / "data"

    def dataset(self, folder: str, paths: list[str]) -> str:
        headers = {"Authorization": f"Bearer {self.token}"}
        body: dict[str, Any] = {
            "type": "raw",
            "datasetName": "hostile record",
            "owner": "Mallory",
            "ownerGroup": "ingestor",
            "contactEmail": "mallory@example.org",
            "creationTime": "2026-01-01T00:00:00Z",
            "sourceFolder": folder,
            "principalInvestigators": ["Mallory"],
            "creationLocation": "nowhere",
        }
        made = requests.post(
            self.sandbox.root_url + "/v4/datasets", json=body, headers=headers, timeout=30
        )
        assert made.status_code == 201, made.text
        pid = str(made.json()["pid"])
        files = [
            {
                "path": path,
                "size": len(CONTENT),
                "time": "2026-01-01T00:00:00Z",
                "chk": hashlib.sha256(CONTENT).hexdigest(),
            }
            for path in paths
        ]
        block = {
            "datasetId": pid,
            "size": 6 * len(files),
            "chkAlg": "sha256",
            "dataFileList": files,
        }
        answer = requests.post(
            self.sandbox.root_url + "/v4/origdatablocks", json=block, headers=headers, timeout=30
        )
        assert answer.status_code == 201, answer.text
        return pid

    def manifest(self, pid: str, storage: str) -> None:
        self.project.mkdir(exist_ok=True)
        (self.project / "scisync.yaml").write_text(
            f"version: 1\nproject: p\nscicat: {{url: {self.sandbox.url}}}\n{storage}"
            f"downloads:\n  - key: d\n    dataset: {{pid: {pid}}}\n    target: data\n"
        )

    def pull(self) -> Result:
        result = CliRunner().invoke(
            main,
            ["-C", str(self.project), "pull"],
            env={"SCICAT_TOKEN": self.token, "NO_COLOR": "1"},
        )
        forget_secrets()
        return result


@pytest.fixture
def world(tmp_path: Path, scicat_sandbox: SandboxServer) -> World:
    world = World(tmp_path, scicat_sandbox, scicat_sandbox.login("ingestor"))
    (world.store / "ds").mkdir(parents=True)
    (world.store / "ds" / "frame.dat").write_bytes(CONTENT)
    world.secret.mkdir()
    key = world.secret / "id_key"
    key.write_bytes(CONTENT)
    key.chmod(0o600)
    (world.facility / "beamtime" / "run-7").mkdir(parents=True)
    (world.facility / "beamtime" / "run-7" / "frame.dat").write_bytes(CONTENT)
    return world


def local(store: Path, read_only: list[Path] | None = None) -> str:
    extra = f", read_only_roots: [{', '.join(map(str, read_only))}]" if read_only else ""
    return f"storage: {{local: {{root: {store}{extra}}}}}\n"


# ----------------------------------------------------------------------------- cases


@dataclass(frozen=True)
class Case:
    name: str
    arrange: Callable[[World], tuple[str, str]]  # -> (pid, storage section)
    allowed: bool  # True: the pull succeeds and the file lands in the target
    message: tuple[str, ...] = ()  # fragments of the refusal (with the pid as "{pid}")


def _outside(w: World) -> tuple[str, str]:
    return w.dataset(str(w.secret), ["id_key"]), local(w.store)


def _dotdot(w: World) -> tuple[str, str]:
    return w.dataset(f"{w.store}/../secret", ["id_key"]), local(w.store)


def _relative(w: World) -> tuple[str, str]:
    return w.dataset("secret", ["id_key"]), local(w.store)


def _double_slash(w: World) -> tuple[str, str]:
    return w.dataset("/" + str(w.secret), ["id_key"]), local(w.store)


def _prefix_sibling(w: World) -> tuple[str, str]:
    sibling = w.tmp / "store-evil"
    sibling.mkdir()
    (sibling / "id_key").write_bytes(CONTENT)
    return w.dataset(str(sibling), ["id_key"]), local(w.store)


def _symlinked_folder_in_root(w: World) -> tuple[str, str]:
    (w.store / "link").symlink_to(w.secret)
    return w.dataset(f"{w.store}/link", ["id_key"]), local(w.store)


def _symlinked_file_in_root(w: World) -> tuple[str, str]:
    (w.store / "ds" / "id_key").symlink_to(w.secret / "id_key")
    return w.dataset(f"{w.store}/ds", ["id_key"]), local(w.store)


def _inside(w: World) -> tuple[str, str]:
    return w.dataset(f"{w.store}/ds", ["frame.dat"]), local(w.store)


def _symlinked_root_real_name(w: World) -> tuple[str, str]:
    link = w.tmp / "store-link"
    link.symlink_to(w.store)
    return w.dataset(f"{w.store}/ds", ["frame.dat"]), local(link)


def _symlinked_root_link_name(w: World) -> tuple[str, str]:
    link = w.tmp / "store-link"
    link.symlink_to(w.store)
    return w.dataset(f"{link}/ds", ["frame.dat"]), local(link)


def _read_only_allowed(w: World) -> tuple[str, str]:
    folder = w.facility / "beamtime" / "run-7"
    return w.dataset(str(folder), ["frame.dat"]), local(w.store, [w.facility])


def _read_only_other(w: World) -> tuple[str, str]:
    return w.dataset(str(w.secret), ["id_key"]), local(w.store, [w.facility])


def _read_only_relative_to_manifest(w: World) -> tuple[str, str]:
    folder = w.facility / "beamtime" / "run-7"
    return w.dataset(str(folder), ["frame.dat"]), local(w.store, [Path("../facility")])


def _symlink_in_read_only_root(w: World) -> tuple[str, str]:
    (w.facility / "escape").symlink_to(w.secret)
    return w.dataset(f"{w.facility}/escape", ["id_key"]), local(w.store, [w.facility])


def _dotdot_file_path(w: World) -> tuple[str, str]:
    return w.dataset(f"{w.store}/ds", ["../../secret/id_key"]), local(w.store)


def _absolute_file_path(w: World) -> tuple[str, str]:
    return w.dataset(f"{w.store}/ds", [str(w.secret / "id_key")]), local(w.store)


def _no_storage(w: World) -> tuple[str, str]:
    return w.dataset(str(w.secret), ["id_key"]), ""


REFUSED_IN_PLAN = ("dataset {pid} has sourceFolder", "lies outside the storage roots")
LOCAL_SETTING = ("storage.local.read_only_roots",)
REFUSED_BY_STORAGE = ("refusing to read",)
CASES = [
    Case("sourceFolder outside the root", _outside, False, REFUSED_IN_PLAN + LOCAL_SETTING),
    Case("sourceFolder escaping with ..", _dotdot, False, (*REFUSED_IN_PLAN, "/../secret")),
    Case("relative sourceFolder", _relative, False, REFUSED_IN_PLAN),
    Case("sourceFolder with //", _double_slash, False, REFUSED_IN_PLAN),
    Case("sibling sharing the root's prefix", _prefix_sibling, False, REFUSED_IN_PLAN),
    Case("symlinked folder inside the root", _symlinked_folder_in_root, False, REFUSED_BY_STORAGE),
    Case("symlinked file inside the root", _symlinked_file_in_root, False, REFUSED_BY_STORAGE),
    Case("sourceFolder inside the root", _inside, True),
    Case("symlinked root, record uses the real path", _symlinked_root_real_name, True),
    Case("symlinked root, record uses the link", _symlinked_root_link_name, True),
    Case("read-only root allows", _read_only_allowed, True),
    Case("read-only root relative to the manifest", _read_only_relative_to_manifest, True),
    Case("read-only root does not allow elsewhere", _read_only_other, False, REFUSED_IN_PLAN),
    Case("symlink out of a read-only root", _symlink_in_read_only_root, False, REFUSED_BY_STORAGE),
    # Refused where the record enters (scisync.scicat.records): a malformed record.
    Case("file path with ..", _dotdot_file_path, False, ("malformed-record", "'..' component")),
    Case("absolute file path", _absolute_file_path, False, ("malformed-record", "is absolute")),
    Case("no storage declared", _no_storage, False, ("none: the manifest has no storage",)),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_pull_reads_only_under_the_roots(world: World, case: Case) -> None:
    pid, storage = case.arrange(world)
    world.manifest(pid, storage)
    secret_before = _snapshot(world.secret)
    with opened() as paths:
        result = world.pull()
    assert "internal error" not in result.output
    assert _touched(paths, world.secret) == []  # nothing under the private area was read
    assert _snapshot(world.secret) == secret_before
    landed = sorted(p.name for p in world.target.rglob("*")) if world.target.exists() else []
    if case.allowed:
        assert result.exit_code == 0, result.output
        assert landed == ["frame.dat"]
        assert (world.target / "frame.dat").read_bytes() == CONTENT
    else:
        assert result.exit_code == 1, result.output
        assert landed == []
        for fragment in case.message:
            assert fragment.format(pid=pid) in result.output, result.output
        lock = world.project / "scisync.lock"
        assert not lock.exists() or hashlib.sha256(CONTENT).hexdigest() not in lock.read_text()


# ----------------------------------------------------------------------------- the target


def test_a_target_that_is_itself_a_symlink_is_the_users_choice(world: World) -> None:
    """The target folder the manifest names may be a link (data -> /scratch/data): the
    user chose it.  Links *inside* it are not followed out (the next tests)."""
    scratch = world.tmp / "scratch"
    scratch.mkdir()
    world.manifest(world.dataset(f"{world.store}/ds", ["frame.dat"]), local(world.store))
    world.target.parent.mkdir(parents=True, exist_ok=True)
    world.target.symlink_to(scratch)
    result = world.pull()
    assert result.exit_code == 0, result.output
    assert (scratch / "frame.dat").read_bytes() == CONTENT


def test_symlink_in_target_subfolder_is_not_written_through(world: World) -> None:
    pid = world.dataset(f"{world.store}/ds", ["sub/frame.dat"])
    (world.store / "ds" / "sub").mkdir()
    (world.store / "ds" / "sub" / "frame.dat").write_bytes(CONTENT)
    world.manifest(pid, local(world.store))
    world.target.mkdir(parents=True)
    (world.target / "sub").symlink_to(world.secret)
    before = _snapshot(world.secret)
    result = world.pull()
    assert result.exit_code == 1 and "internal error" not in result.output
    assert "leads outside the target folder" in result.output
    assert _snapshot(world.secret) == before


def test_symlink_planted_as_the_file_is_not_written_through(world: World) -> None:
    world.manifest(world.dataset(f"{world.store}/ds", ["frame.dat"]), local(world.store))
    world.target.mkdir(parents=True)
    (world.target / "frame.dat").symlink_to(world.secret / "id_key")
    before = _snapshot(world.secret)
    with opened() as paths:
        result = world.pull()
    assert result.exit_code == 1 and "internal error" not in result.output
    assert "symlink" in result.output
    assert _snapshot(world.secret) == before
    assert _touched(paths, world.secret) == []  # not even hashed through the link


def test_upload_outside_the_storage_root_is_refused(world: World) -> None:
    world.project.mkdir()
    (world.project / "files").mkdir()
    (world.project / "files" / "a.dat").write_bytes(CONTENT)
    (world.project / "scisync.yaml").write_text(
        f"version: 1\nproject: p\nscicat: {{url: {world.sandbox.url}}}\n{local(world.store)}"
        "datasets:\n  - key: run\n    type: raw\n    dataset_name: Run\n    owner: A\n"
        "    owner_group: ingestor\n    contact_email: a@example.org\n"
        "    principal_investigator: A\n    creation_location: here\n"
        "    creation_time: 2026-01-01T00:00:00Z\n"
        f"    source_folder: {world.secret}\n"
        "    files: [{base: files, include: ['*.dat']}]\n"
    )
    before = _snapshot(world.secret)
    result = CliRunner().invoke(
        main,
        ["-C", str(world.project), "apply", "--auto-approve"],
        env={"SCICAT_TOKEN": world.token, "NO_COLOR": "1"},
    )
    forget_secrets()
    assert result.exit_code == 1, result.output
    assert "its files would be uploaded to" in result.output
    assert str(world.secret) in result.output and "outside the storage root" in result.output
    assert _snapshot(world.secret) == before


# ----------------------------------------------------------------------------- SFTP


def sftp(sshd: SshServer, root: Path, read_only: list[Path] | None = None) -> str:
    extra = f"    read_only_roots: [{', '.join(map(str, read_only))}]\n" if read_only else ""
    return (
        "storage:\n  sftp:\n"
        f"    host: {sshd.host_alias}\n"
        f"    root: {root}\n"
        f"    ssh_config: {sshd.ssh_config}\n"
        f"    known_hosts: {sshd.known_hosts}\n" + extra
    )


SFTP_CASES = [
    ("outside the root", lambda w: str(w.secret), ["id_key"], None, False),
    ("escaping with ..", lambda w: f"{w.store}/../secret", ["id_key"], None, False),
    ("inside the root", lambda w: f"{w.store}/ds", ["frame.dat"], None, True),
    (
        "read-only root allows",
        lambda w: str(w.facility / "beamtime" / "run-7"),
        ["frame.dat"],
        "facility",
        True,
    ),
    (
        "read-only root does not allow elsewhere",
        lambda w: str(w.secret),
        ["id_key"],
        "facility",
        False,
    ),
]


@pytest.mark.sftp
@pytest.mark.parametrize(
    ("name", "folder", "paths", "read_only", "allowed"), SFTP_CASES, ids=[c[0] for c in SFTP_CASES]
)
def test_sftp_pull_reads_only_under_the_roots(
    world: World,
    request: pytest.FixtureRequest,
    name: str,
    folder: Callable[[World], str],
    paths: list[str],
    read_only: str | None,
    allowed: bool,
) -> None:
    sshd: SshServer = request.getfixturevalue("sshd_server")
    pid = world.dataset(folder(world), paths)
    world.manifest(pid, sftp(sshd, world.store, [world.facility] if read_only else None))
    result = world.pull()
    assert "internal error" not in result.output
    landed = sorted(p.name for p in world.target.rglob("*")) if world.target.exists() else []
    if allowed:
        assert result.exit_code == 0, result.output
        assert landed == ["frame.dat"]
    else:
        assert result.exit_code == 1, result.output
        assert landed == []
        assert f"dataset {pid} has sourceFolder" in result.output
        assert "storage.sftp.read_only_roots" in result.output

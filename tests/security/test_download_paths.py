"""Downloads never write outside their target folder, whatever SciCat's file list says."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import requests
from click.testing import CliRunner, Result

from scisync._util.secrets import forget_secrets
from scisync.cli import main
from scisync.sandbox import SandboxServer


def _dataset(sandbox: SandboxServer, token: str, folder: Path, paths: list[str]) -> str:
    headers = {"Authorization": f"Bearer {token}"}
    body: dict[str, Any] = {
        "type": "raw",
        "datasetName": "hostile file list",
        "owner": "Mallory",
        "ownerGroup": "ingestor",
        "contactEmail": "mallory@example.org",
        "creationTime": "2026-01-01T00:00:00Z",
        "sourceFolder": str(folder),
        "principalInvestigators": ["Mallory"],
        "creationLocation": "nowhere",
    }
    made = requests.post(sandbox.root_url + "/v4/datasets", json=body, headers=headers, timeout=30)
    assert made.status_code == 201, made.text
    pid = str(made.json()["pid"])
    files = [
        {
            "path": path,
            "size": 6,
            "time": "2026-01-01T00:00:00Z",
            "chk": hashlib.sha256(b"hello\n").hexdigest(),
        }
        for path in paths
    ]
    block = {"datasetId": pid, "size": 6 * len(files), "chkAlg": "sha256", "dataFileList": files}
    answer = requests.post(
        sandbox.root_url + "/v4/origdatablocks", json=block, headers=headers, timeout=30
    )
    assert answer.status_code == 201, answer.text
    return pid


def _project(root: Path, url: str, store: Path, pid: str) -> None:
    root.mkdir()
    (root / "scisync.yaml").write_text(
        f"version: 1\nproject: p\nscicat: {{url: {url}}}\n"
        f"storage: {{local: {{root: {store}}}}}\n"
        f"downloads:\n  - key: d\n    dataset: {{pid: {pid}}}\n    target: data\n"
    )


def _pull(root: Path, token: str) -> Result:
    result = CliRunner().invoke(
        main, ["-C", str(root), "pull"], env={"SCICAT_TOKEN": token, "NO_COLOR": "1"}
    )
    forget_secrets()
    return result


def _files_under(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*"))


def test_dotdot_and_absolute_paths_are_refused(
    tmp_path: Path, scicat_sandbox: SandboxServer
) -> None:
    token = scicat_sandbox.login("ingestor")
    store = tmp_path / "store" / "ds"
    store.mkdir(parents=True)
    (store / "ok.txt").write_bytes(b"hello\n")
    (tmp_path / "store" / "x").write_bytes(b"hello\n")  # what ../x names on the storage
    pid = _dataset(scicat_sandbox, token, store, ["ok.txt", "../x", "/etc/passwd", "a/../../y"])
    root = tmp_path / "project"
    _project(root, scicat_sandbox.url, tmp_path / "store", pid)
    before = _files_under(tmp_path / "store")

    result = _pull(root, token)
    assert result.exit_code == 1
    # Refused where the record enters (scisync.scicat.records), naming each bad path.
    assert "conflict (malformed-record)" in result.output
    for path, problem in (
        ("'../x'", "has a '..' component"),
        ("'/etc/passwd'", "is absolute"),
        ("'a/../../y'", "has a '..' component"),
    ):
        assert f"file path {path} {problem}" in result.output
    assert _files_under(tmp_path / "store") == before
    assert not (root / "data").exists()  # nothing downloaded at all
    assert sorted(p.name for p in tmp_path.iterdir()) == ["project", "scicat-sandbox", "store"]


def test_a_symlink_in_the_target_folder_is_not_followed_outside(
    tmp_path: Path, scicat_sandbox: SandboxServer
) -> None:
    token = scicat_sandbox.login("ingestor")
    store = tmp_path / "store" / "ds"
    (store / "sub").mkdir(parents=True)
    (store / "sub" / "evil.txt").write_bytes(b"hello\n")
    (store / "evil-too.txt").write_bytes(b"hello\n")
    pid = _dataset(scicat_sandbox, token, store, ["sub/evil.txt", "evil-too.txt"])
    root = tmp_path / "project"
    _project(root, scicat_sandbox.url, tmp_path / "store", pid)
    outside = tmp_path / "outside"
    outside.mkdir()
    (root / "data").mkdir()
    (root / "data" / "sub").symlink_to(outside, target_is_directory=True)
    (root / "data" / "evil-too.txt").symlink_to(outside / "planted.txt")

    result = _pull(root, token)
    assert result.exit_code == 1
    assert "leads outside the target folder through a symlink" in result.output
    assert list(outside.iterdir()) == []

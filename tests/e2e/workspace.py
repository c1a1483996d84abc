"""The Workspace used by end-to-end tests: a manifest, local storage, the sandbox over HTTP."""

from __future__ import annotations

import shutil
import textwrap
from dataclasses import dataclass
from pathlib import Path

from click.testing import CliRunner, Result

from scisync.cli import main
from scisync.sandbox import SandboxServer
from scisync.testing.sshd import SshServer

QUICKSTART = Path(__file__).parents[2] / "manifests.example" / "quickstart"


def storage_yaml(kind: str, store: Path, sshd: SshServer | None = None) -> str:
    """The manifest's storage section: a local folder, or the same folder over real SFTP."""
    if kind == "local":
        return f"storage:\n  local:\n    root: {store}\n"
    assert sshd is not None
    return (
        "storage:\n  sftp:\n"
        f"    host: {sshd.host_alias}\n"
        f"    root: {store}\n"
        f"    ssh_config: {sshd.ssh_config}\n"
        f"    known_hosts: {sshd.known_hosts}\n"
        "    connections: 2\n"
    )


@dataclass
class Workspace:
    root: Path
    sandbox: SandboxServer
    token: str
    store: Path  # where the storage keeps files (the sftp server's folder, seen locally)
    storage: str = ""  # the manifest's storage section

    @property
    def manifest(self) -> Path:
        return self.root / "scisync.yaml"

    @property
    def lock(self) -> Path:
        return self.root / "scisync.lock"

    def run(self, *args: str, env: dict[str, str] | None = None) -> Result:
        runner = CliRunner()
        environment = {"SCICAT_TOKEN": self.token, "NO_COLOR": "1", **(env or {})}
        return runner.invoke(
            main, ["-C", str(self.root), *args], env=environment, catch_exceptions=False
        )

    def edit(self, old: str, new: str) -> None:
        text = self.manifest.read_text()
        assert old in text, f"{old!r} not in the manifest"
        self.manifest.write_text(text.replace(old, new))


def local_workspace(tmp_path: Path, sandbox: SandboxServer, storage_options: str = "") -> Workspace:
    """A workspace with local storage (``storage_options``: more lines of its section)."""
    root = tmp_path / "project"
    root.mkdir()
    store = tmp_path / "store"
    storage = storage_yaml("local", store) + storage_options
    write_manifest(root, sandbox.url, storage)
    return Workspace(
        root=root, sandbox=sandbox, token=sandbox.login("ingestor"), store=store, storage=storage
    )


def write_manifest(root: Path, url: str, storage: str, datasets: int = 2, extra: str = "") -> None:
    """A manifest with a sample, `datasets` raw datasets with files and a plot, and one derived."""
    (root / "plots").mkdir(exist_ok=True)
    shutil.copy(QUICKSTART / "plots" / "intensity.png", root / "plots" / "intensity.png")
    entries = []
    for number in range(1, datasets + 1):
        folder = root / "runs" / f"run-{number}"
        folder.mkdir(parents=True, exist_ok=True)
        for frame in range(1, 4):
            (folder / f"frame-{frame}.dat").write_text(f"run {number} frame {frame}\n" * 50)
        entries.append(
            textwrap.dedent(
                f"""\
                  - key: raw-{number}
                    type: raw
                    dataset_name: Raw run {number}
                    description: Run {number} as measured.
                    owner: Ada Lovelace
                    owner_group: ingestor
                    contact_email: ada@example.org
                    principal_investigator: Ada Lovelace
                    creation_location: Beamline 1
                    creation_time: 2026-03-0{number}T12:00:00Z
                    sample: crystal
                    files:
                      - base: runs/run-{number}
                        include: ["*.dat"]
                    attachments:
                      - image: plots/intensity.png
                        caption: Intensity of run {number}
                    scientific_metadata:
                      temperature: {{value: {290 + number}, unit: K}}
                """
            )
        )
    (root / "reduced").mkdir(exist_ok=True)
    (root / "reduced" / "result.txt").write_text("reduced data\n")
    inputs = ", ".join(f"raw-{n}" for n in range(1, datasets + 1))
    manifest = textwrap.dedent(
        f"""\
        version: 1
        project: e2e
        scicat:
          url: {url}
          token_env: SCICAT_TOKEN
        {{storage}}
        samples:
          - key: crystal
            sample_name: A crystal
            owner_group: ingestor
        datasets:
        """
    )
    manifest = manifest.replace("{storage}\n", storage)
    manifest += "".join(entries)
    manifest += textwrap.dedent(
        f"""\
          - key: reduced
            type: derived
            dataset_name: Reduced
            description: Everything, reduced.
            owner: Ada Lovelace
            owner_group: ingestor
            contact_email: ada@example.org
            investigator: Ada Lovelace
            creation_time: 2026-03-10T12:00:00Z
            used_software: [scisync-tests]
            input_datasets: [{inputs}]
            files:
              - base: reduced
                include: ["*.txt"]
        """
    )
    (root / "scisync.yaml").write_text(manifest + extra)


SERVER_FIELDS = frozenset(
    {
        "pid",
        "_id",
        "id",
        "createdAt",
        "updatedAt",
        "createdBy",
        "updatedBy",
        "history",
        "version",
        "origdatablocks",
        "attachments",
        "datasetlifecycle",
    }
)


def catalogue_snapshot(sandbox: SandboxServer, token: str, root: Path) -> dict[str, object]:
    """SciCat's contents with run-specific values (pids, ids, times, temp paths) neutralised,
    so two catalogues built by different runs of the same manifest compare equal."""
    import json

    import requests

    headers = {"Authorization": f"Bearer {token}"}
    answer = requests.get(
        sandbox.root_url + "/v4/datasets",
        params={
            "filter": json.dumps(
                {"include": ["origdatablocks", "attachments"], "limits": {"limit": 1000}}
            )
        },
        headers=headers,
        timeout=30,
    )
    answer.raise_for_status()
    documents = answer.json()
    marker_of = {d["pid"]: d["scientificMetadata"].get("scisync_marker") for d in documents}
    datasets: dict[str, object] = {}
    for document in documents:
        marker = marker_of[document["pid"]]
        fields = {k: v for k, v in document.items() if k not in SERVER_FIELDS}
        fields["inputDatasets"] = sorted(
            marker_of.get(p, p) for p in fields.get("inputDatasets", [])
        )
        fields["sourceFolder"] = str(fields.get("sourceFolder", "")).replace(str(root), "<root>")
        files = sorted(
            (f["path"], f["size"], f.get("chk"))
            for block in document.get("origdatablocks", [])
            for f in block["dataFileList"]
        )
        attachments = sorted(
            (a["caption"], len(a.get("thumbnail") or "")) for a in document.get("attachments", [])
        )
        key = f"{marker}#{len([k for k in datasets if k.startswith(str(marker))])}"
        datasets[key] = {"fields": fields, "files": files, "attachments": attachments}
    samples = requests.get(sandbox.url + "/samples", headers=headers, timeout=30).json()
    return {
        "datasets": datasets,
        "samples": sorted((s["sampleId"], s["sampleName"], s["ownerGroup"]) for s in samples),
    }


def normalised_lock(lock: Path, sandbox: SandboxServer, token: str) -> str:
    """The lockfile with pids replaced by markers and attachment ids blanked."""
    import json
    import re

    import requests

    text = lock.read_text()
    answer = requests.get(
        sandbox.root_url + "/v4/datasets",
        params={"filter": json.dumps({"limits": {"limit": 1000}})},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    for document in answer.json():
        text = text.replace(
            document["pid"], f"<{document['scientificMetadata']['scisync_marker']}>"
        )
    return re.sub(r'"id": "[0-9a-f-]{36}"', '"id": "<aid>"', text)

"""A table of hostile catalogue records: each is refused in the plan, naming the dataset.

The hostile SciCat of ``scisync.testing`` serves each record exactly as given (the
sandbox would validate it), and the real CLI plans and pulls it over HTTP on 127.0.0.1.
Every case asserts: exit code 1, one error naming the download, the dataset's pid and
what is wrong with its record, nothing written anywhere (no target folder, no lockfile,
no file outside the project's state folder), and no "internal error".
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from scisync._util.secrets import forget_secrets
from scisync.cli import main
from scisync.scicat.convert import dataset_from_document
from scisync.testing.hostile import HostileScicat

PID = "20.500.12269/hostile-1"
SHA256_HELLO = "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"  # "hello\n"


@pytest.fixture(autouse=True)
def _forget() -> Iterator[None]:
    yield
    forget_secrets()


@dataclass
class Catalog:
    root: Path
    store: Path
    server: HostileScicat

    def serve(self, document: dict[str, Any]) -> None:
        self.server.serve(datasets=[document])

    def run(self, *args: str) -> Result:
        project = self.root / "project"
        project.mkdir(exist_ok=True)
        (project / "scisync.yaml").write_text(
            "version: 1\nproject: p\n"
            f"scicat: {{url: {self.server.url}}}\n"
            f"storage: {{local: {{root: {self.store}}}}}\n"
            f"downloads:\n  - key: d\n    dataset: {{pid: {PID}}}\n    target: data\n"
        )
        return CliRunner().invoke(
            main,
            ["-C", str(project), *args],
            env={"SCICAT_TOKEN": "hostile-catalog-token", "NO_COLOR": "1"},
        )

    def files(self) -> set[str]:
        """Every file under the test's folder, except scisync's own state folder."""
        return {
            p.relative_to(self.root).as_posix()
            for p in self.root.rglob("*")
            if ".scisync" not in p.parts and p.name != "scisync.yaml"
        }


@pytest.fixture
def catalog(tmp_path: Path) -> Iterator[Catalog]:
    store = tmp_path / "store"
    (store / "ds").mkdir(parents=True)
    (store / "ds" / "ok.txt").write_bytes(b"hello\n")
    (store / "secret").write_bytes(b"hello\n")  # what ../secret would name
    (tmp_path / "project").mkdir()
    with HostileScicat() as server:
        yield Catalog(tmp_path, store, server)


def _document(store: Path, files: Any, **changes: Any) -> dict[str, Any]:
    block: dict[str, Any] = {"_id": "block-1", "chkAlg": "sha256", "dataFileList": files}
    block.update(changes.pop("block", {}))
    document: dict[str, Any] = {
        "pid": PID,
        "type": "raw",
        "sourceFolder": str(store / "ds"),
        "origdatablocks": [block],
        "attachments": [],
    }
    document.update(changes)
    return document


def _file(path: Any, size: Any = 6, chk: Any = SHA256_HELLO) -> dict[str, Any]:
    return {"path": path, "size": size, "chk": chk, "time": "2026-01-01T00:00:00Z"}


OK = _file("ok.txt")

# (case id, dataFileList or a document-changing function, expected fragment)
PATH_CASES: list[tuple[str, Any, str]] = [
    ("dotdot", "../secret", "has a '..' component"),
    ("dotdot deep", "a/../../secret", "has a '..' component"),
    ("absolute", "/etc/passwd", "is absolute"),
    ("dot", "./ok.txt", "has a '.' component"),
    ("empty", "", "is empty"),
    ("double slash", "a//b", "has an empty component"),
    ("trailing slash", "a/", "has an empty component"),
    ("backslash", "..\\secret", "holds a backslash"),
    ("NUL", "ok.txt\x00.png", "holds a control character"),
    ("newline", "ok.txt\nfake plan line", "holds a control character"),
    ("carriage return", "a\rb", "holds a control character"),
    ("escape sequence", "\x1b]0;pwned\x07", "holds a control character"),
    ("DEL", "a\x7fb", "holds a control character"),
    ("C1 CSI", "a\x9b31mb", "holds a control character"),
    ("lone surrogate", "a\udcffb", "holds a control character"),
    ("name over 255 bytes", "a" * 256, "longer than 255 bytes"),
    ("path over 4096 bytes", "/".join(["abcdefgh"] * 500), "longer than 4096 bytes"),
    ("number", 42, "is a number, not a string"),
    ("null", None, "is null, not a string"),
    ("list", ["ok.txt"], "is a list, not a string"),
    ("object", {"$gt": ""}, "is an object, not a string"),
]

OTHER_CASES: list[tuple[str, Any, str]] = [
    ("negative size", [_file("ok.txt", size=-1)], "size is -1, outside"),
    ("size as a string", [_file("ok.txt", size="6")], "size is a string, not a number"),
    ("fractional size", [_file("ok.txt", size=6.5)], "not a whole number"),
    ("boolean size", [_file("ok.txt", size=True)], "size is a boolean"),
    ("size over 2**63", [_file("ok.txt", size=2**64)], "outside 0..2**63-1"),
    ("missing size", [{"path": "ok.txt"}], "size is null"),
    ("checksum as a number", [_file("ok.txt", chk=12)], "chk is a number"),
    ("checksum with spaces", [_file("ok.txt", chk="ab cd")], "printable ASCII"),
    ("checksum of 1000 chars", [_file("ok.txt", chk="a" * 1000)], "longer than 256"),
    ("file and folder", [OK, _file("ok.txt/inner")], "is also a folder"),
    ("listed twice", [OK, OK], "is listed twice"),
    ("entry not an object", [OK, "ok.txt"], "entry is a string, not an object"),
    ("dataFileList not a list", "ok.txt", "dataFileList is a string, not a list"),
]


def _variant(name: str) -> dict[str, Any]:
    return {
        "unknown chkAlg": {"block": {"chkAlg": "rot13"}},
        "chkAlg a number": {"block": {"chkAlg": 256}},
        "sourceFolder a number": {"sourceFolder": 7},
        "sourceFolder with a newline": {"sourceFolder": "/data\n/etc"},
        "origdatablocks not a list": {"origdatablocks": {"dataFileList": []}},
        "an origdatablock not an object": {"origdatablocks": ["block"]},
    }[name]


DOCUMENT_CASES: list[tuple[str, str]] = [
    ("unknown chkAlg", "chkAlg 'rot13' is not an algorithm scisync knows"),
    ("chkAlg a number", "chkAlg is a number"),
    ("sourceFolder a number", "sourceFolder is a number, not a string"),
    ("sourceFolder with a newline", "sourceFolder '/data\\n/etc' holds a control character"),
    ("origdatablocks not a list", "origdatablocks is an object, not a list"),
    ("an origdatablock not an object", "an origdatablock is not an object"),
]


def _assert_refused(catalog: Catalog, result: Result, fragment: str) -> None:
    output = result.output
    assert result.exit_code == 1, output
    assert "internal error" not in output and "Traceback" not in output
    # A conflict of the download entry, naming the dataset and what is wrong, on one line.
    malformed = [line for line in output.splitlines() if "is malformed" in line]
    assert len(malformed) == 1, output
    assert "conflict (malformed-record)" in malformed[0]
    assert f"the SciCat record of dataset '{PID}' is malformed" in malformed[0]
    assert fragment in malformed[0]
    assert "download.d cannot be planned" in output
    assert output.count("Error:") == 1
    # Escaped: nothing from the record is a raw control or format character.
    assert not [c for c in output.replace("\n", "") if unicodedata.category(c) in ("Cc", "Cf")]


def _check(catalog: Catalog, document: dict[str, Any], fragment: str) -> None:
    before = catalog.files()
    catalog.serve(document)
    for command in ("plan", "pull"):
        _assert_refused(catalog, catalog.run(command), fragment)
    assert catalog.files() == before  # no target folder, no lockfile, nothing elsewhere
    assert catalog.server.writes == []


@pytest.mark.parametrize(
    ("path", "fragment"), [c[1:] for c in PATH_CASES], ids=[c[0] for c in PATH_CASES]
)
def test_a_hostile_file_path_is_refused(catalog: Catalog, path: Any, fragment: str) -> None:
    _check(catalog, _document(catalog.store, [OK, _file(path)]), fragment)


@pytest.mark.parametrize(
    ("files", "fragment"), [c[1:] for c in OTHER_CASES], ids=[c[0] for c in OTHER_CASES]
)
def test_a_hostile_file_entry_is_refused(catalog: Catalog, files: Any, fragment: str) -> None:
    _check(catalog, _document(catalog.store, files), fragment)


@pytest.mark.parametrize(("name", "fragment"), DOCUMENT_CASES, ids=[c[0] for c in DOCUMENT_CASES])
def test_a_hostile_document_is_refused(catalog: Catalog, name: str, fragment: str) -> None:
    _check(catalog, _document(catalog.store, [OK], **_variant(name)), fragment)


def test_many_problems_are_counted_not_all_listed(catalog: Catalog) -> None:
    files = [_file(f"../x{n}") for n in range(40)]
    catalog.serve(_document(catalog.store, files))
    result = catalog.run("plan")
    assert result.exit_code == 1
    assert "and 35 more" in result.output
    assert len(result.output) < 3000


def test_a_well_formed_record_is_downloaded(catalog: Catalog) -> None:
    """The control case: the same server and record shape, valid, is pulled and locked."""
    catalog.serve(_document(catalog.store, [OK]))
    result = catalog.run("pull")
    assert result.exit_code == 0, result.output
    assert (catalog.root / "project" / "data" / "ok.txt").read_bytes() == b"hello\n"


def test_a_file_without_checksum_is_downloaded_with_a_warning_and_pinned_by_blake3(
    catalog: Catalog,
) -> None:
    (catalog.store / "ds" / "plain.txt").write_bytes(b"no checksum\n")
    files = [OK, {"path": "plain.txt", "size": 12}]
    catalog.serve(_document(catalog.store, files))
    result = catalog.run("pull")
    assert result.exit_code == 0, result.output
    assert "SciCat lists no checksum for 'plain.txt'" in result.output
    assert "pinned by blake3 in scisync.lock" in result.output
    assert "'ok.txt'" not in result.output.split("Warnings:")[-1]
    lock = json.loads((catalog.root / "project" / "scisync.lock").read_text())
    pinned = {f["path"]: f for f in lock["downloads"]["d"]["files"]}
    assert len(pinned["plain.txt"]["blake3"]) == 64
    # The next pull verifies against the pin: the file changed on the server is caught.
    (catalog.root / "project" / "data" / "plain.txt").unlink()
    (catalog.store / "ds" / "plain.txt").write_bytes(b"NO CHECKSUM\n")
    again = catalog.run("pull", "--locked")
    assert again.exit_code == 1, again.output
    assert "internal error" not in again.output


def test_problems_ride_on_the_observed_record() -> None:
    """The rule's one place: convert.py keeps good files and lists the bad ones."""
    document = _document(Path("/s"), [OK, _file("../x"), _file("a", size=-2)])
    observed = dataset_from_document(document)
    assert [f.path for f in observed.files] == ["ok.txt"]
    assert len(observed.problems) == 2
    assert observed.problems[0].startswith("origdatablock block-1: file path '../x'")

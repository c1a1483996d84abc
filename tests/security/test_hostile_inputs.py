"""A table of hostile inputs, each driven through the real CLI against the sandbox.

Categories: manifests (input bombs), local file names, lockfiles, saved plans, and
operating-system errors.  Every case asserts its exit code and message, that no
"internal error" (or traceback) is printed, and that nothing was written: the project
and storage folders are byte-for-byte unchanged and the catalogue holds the same records
(see hostile.py).  Cases that need another user or a resource limit run in a subprocess
(test_os_errors.py).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from scisync._util.limits import (
    MAX_FOR_EACH_ITEMS,
    MAX_LOCKFILE_BYTES,
    MAX_MANIFEST_BYTES,
    MAX_PLAN_BYTES,
)
from scisync._util.secrets import forget_secrets
from scisync.sandbox import SandboxServer
from tests.e2e.workspace import Workspace

from .hostile import (
    Hostile,
    lock_text,
    locked_dataset,
    locked_file,
    make_workspace,
    run_case,
    run_cli,
)


@pytest.fixture
def workspace(tmp_path: Path, scicat_sandbox_session: SandboxServer) -> Iterator[Workspace]:
    sandbox = scicat_sandbox_session
    yield make_workspace(tmp_path, sandbox, sandbox.login("ingestor"))
    forget_secrets()


# --- manifests ------------------------------------------------------------------------


def _write(text: str, name: str = "scisync.yaml") -> Callable[[Workspace], list[str]]:
    def prepare(ws: Workspace) -> list[str]:
        (ws.root / name).write_text(text, encoding="utf-8")
        return ["validate", "-f", name]

    return prepare


def _laughs(levels: int = 9, key: str = "x") -> str:
    lines = [f'{key}0: &{key}0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, levels):
        refs = ", ".join([f"*{key}{level - 1}"] * 9)
        lines.append(f"{key}{level}: &{key}{level} [{refs}]")
    return "\n".join(lines) + "\n"


def _appended(extra: str) -> Callable[[Workspace], list[str]]:
    def prepare(ws: Workspace) -> list[str]:
        ws.manifest.write_text(ws.manifest.read_text() + extra)
        return ["plan"]

    return prepare


def _in_metadata(value: str) -> Callable[[Workspace], list[str]]:
    """*value* as a dataset's scientific metadata entry (the free-form part of a manifest)."""

    def prepare(ws: Workspace) -> list[str]:
        ws.edit("temperature: {value: 291, unit: K}\n", f"hostile: {value}\n")
        return ["plan"]

    return prepare


def _big_manifest(ws: Workspace) -> list[str]:
    filler = "# " + "x" * 1000 + "\n"
    text = ws.manifest.read_text() + filler * (MAX_MANIFEST_BYTES // len(filler) + 1)
    ws.manifest.write_text(text)
    return ["plan"]


def _for_each(items: str) -> Callable[[Workspace], list[str]]:
    def prepare(ws: Workspace) -> list[str]:
        ws.edit("- key: reduced\n", f'- for_each: {items}\n  key: "r-{{{{ each }}}}"\n')
        return ["validate"]

    return prepare


def _var_file(text: str) -> Callable[[Workspace], list[str]]:
    def prepare(ws: Workspace) -> list[str]:
        (ws.root / "vars.yaml").write_text(text)
        return ["plan", "--var-file", "vars.yaml"]

    return prepare


def _not_utf8(ws: Workspace) -> list[str]:
    ws.manifest.write_bytes(ws.manifest.read_bytes() + b"# caf\xe9\n")
    return ["validate"]


def _manifest_folder(ws: Workspace) -> list[str]:
    (ws.root / "manifest.d").mkdir()
    return ["validate", "-f", "manifest.d"]


DEEP = 3000
MANIFESTS = [
    Hostile("billion-laughs", _write("version: 1\nproject: lol\n" + _laughs()),
            "YAML aliases expand the document"),
    Hostile("billion-laughs-in-metadata",
            _in_metadata('{a: &a [x, x, x, x, x, x, x, x, x, x], '
                         'b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a], '
                         'c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b], '
                         'd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c], '
                         'e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d], '
                         'f: [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]}'),
            "YAML aliases expand the document"),
    Hostile("merge-key-bomb",
            _write("version: 1\nproject: lol\n"
                   + "m0: &m0 {" + ", ".join(f"k{i}: v" for i in range(10)) + "}\n"
                   + "".join(f"m{n}: &m{n} {{" + ", ".join(f"k{i}: [*m{n - 1}, *m{n - 1}]"
                                                             for i in range(10)) + "}\n"
                             for n in range(1, 8))),
            "YAML aliases expand the document"),
    Hostile("alias-inside-itself", _write("version: 1\nproject: x\nloop: &a {b: 1, c: *a}\n"),
            "a YAML alias refers to the node that contains it"),
    Hostile("alias-depth-chain", _write("version: 1\nproject: deep\n" + "".join(
        f"a{i}: &a{i} " + "[" * 60 + (f"*a{i - 1}" if i else "x") + "]" * 60 + "\n"
        for i in range(30))), "YAML aliases nest the document deeper than 64 levels"),
    Hostile("billion-laughs-in-var-file", _var_file(_laughs(key="v")),
            "YAML aliases expand the document"),
    Hostile("flow-nesting-3000", _write("version: 1\nproject: deep\nx: " + "[" * DEEP + "]" * DEEP),
            "nests deeper than the limit of 64 levels"),
    Hostile("flow-nesting-100000",
            _write("version: 1\nproject: deep\nx: " + "{a: " * 100_000 + "}" * 100_000),
            "nests deeper than the limit"),
    Hostile("block-nesting-200",
            _write("version: 1\nproject: deep\nx:\n"
                   + "".join("  " * i + "- \n" for i in range(1, 200))),
            "nests deeper than the limit"),
    Hostile("deep-metadata", _in_metadata("[" * 80 + "]" * 80), "nests deeper than the limit"),
    Hostile("deep-var-file", _var_file("deep: " + "[" * DEEP + "]" * DEEP),
            "nests deeper than the limit"),
    Hostile("manifest-over-size-limit", _big_manifest, "larger than the limit"),
    Hostile("for-each-jinja-range",
            _for_each(f"\"{{{{ range({MAX_FOR_EACH_ITEMS + 1}) | list }}}}\""),
            f"for_each gave {MAX_FOR_EACH_ITEMS + 1:,} items"),
    Hostile("for-each-yaml-list",
            _for_each("[" + ", ".join(str(i) for i in range(MAX_FOR_EACH_ITEMS + 1)) + "]"),
            "more than the limit of"),
    Hostile("template-string-repeat", _in_metadata("\"{{ 'lol' * 10**9 }}\""),
            "would build a value of 3,000,000,000 characters"),
    Hostile("template-list-repeat", _in_metadata("\"{{ [0] * 10**8 }}\""),
            "more than the limit of 1,000,000"),
    Hostile("template-center-filter", _in_metadata("\"{{ 'x' | center(1000000000) }}\""),
            "center() would build a value of 1,000,000,000"),
    Hostile("template-replace-chain",
            _in_metadata("\"{{ ('a' * 1000) | replace('a', 'b' * 1000) | replace('b', 'cc') }}\""),
            "replace() would build a value of 2,000,000"),
    Hostile("template-format-width", _in_metadata("\"{{ '{:>999999999}'.format(1) }}\""),
            "format would build a value of 999,999,999"),
    Hostile("template-concat-doubling",
            _in_metadata("\"{% set s = 'xx' %}" + "{% set s = s ~ s %}" * 30 + "{{ s }}\""),
            "'~' would build a value of 1,048,576"),
    Hostile("template-loop-output",
            _in_metadata("\"{% for i in range(100000) %}{% for j in range(100000) %}x"
                         "{% endfor %}{% endfor %}\""),
            "the template's output would build a value of 1,000,001"),
    Hostile("template-power", _in_metadata("\"{{ 10 ** 1000000 }}\""),
            "'**' would build a number of more than"),
    Hostile("manifest-not-utf8", _not_utf8, "not UTF-8 text"),
    Hostile("manifest-is-a-folder", _manifest_folder, "the manifest is a folder"),
    Hostile("manifest-nul-byte", _write("version: 1\nproject: a\x00b\n"), "YAML error"),
    Hostile("undefined-alias", _write("version: 1\nproject: *nowhere\n"), "undefined alias"),
]  # fmt: skip


# --- local file names -----------------------------------------------------------------


def _local_file(name: bytes, folder: bytes = b"") -> Callable[[Workspace], list[str]]:
    """A file named *name* (raw bytes: need not be UTF-8) in run-1's folder."""

    def prepare(ws: Workspace) -> list[str]:
        base = os.path.join(os.fsencode(ws.root / "runs" / "run-1"), folder)
        os.makedirs(base, exist_ok=True)
        with open(os.path.join(base, name + b".dat"), "wb") as handle:
            handle.write(b"hostile\n")
        if folder:
            ws.edit('include: ["*.dat"]', 'include: ["**/*.dat"]')
        return ["plan"]

    return prepare


def _long_path(ws: Workspace) -> list[str]:
    """Folders nested until the path is over 4096 bytes (made one level at a time)."""
    fd = os.open(ws.root / "runs" / "run-1", os.O_RDONLY)
    try:
        for _ in range(20):
            os.mkdir("d" * 250, dir_fd=fd)
            inner = os.open("d" * 250, os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = inner
        with open(os.open("deep.dat", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd), "wb") as out:
            out.write(b"deep\n")
    finally:
        os.close(fd)
    ws.edit('include: ["*.dat"]', 'include: ["**/*.dat"]')
    return ["plan"]


def _symlink_loop(follow: bool) -> Callable[[Workspace], list[str]]:
    def prepare(ws: Workspace) -> list[str]:
        os.symlink("..", ws.root / "runs" / "run-1" / "loop")
        option = "\n      follow_symlinks: true" if follow else ""
        ws.edit(
            '- base: runs/run-1\n      include: ["*.dat"]',
            f'- base: runs/run-1\n      include: ["**/*.dat"]{option}',
        )
        return ["plan"]

    return prepare


NAMES = [
    Hostile("newline-in-name", _local_file(b"bad\nname"), "control character U+000A"),
    Hostile("carriage-return", _local_file(b"bad\rname"), "control character U+000D"),
    Hostile("escape-sequence", _local_file(b"\x1b[31mred"), "control character U+001B"),
    Hostile("tab", _local_file(b"tab\there"), "control character U+0009"),
    Hostile("delete-char", _local_file(b"del\x7f"), "control character U+007F"),
    Hostile("c1-next-line", _local_file("nel\u0085".encode()), "control character U+0085"),
    Hostile("line-separator", _local_file("ls\u2028x".encode()), "control character U+2028"),
    Hostile("invalid-utf8", _local_file(b"caf\xe9"), "is not valid UTF-8"),
    Hostile("lone-surrogate-bytes", _local_file(b"x\xed\xa0\x80"), "is not valid UTF-8"),
    Hostile("backslash", _local_file(b"back\\slash"), "contains a backslash"),
    Hostile("newline-in-folder", _local_file(b"x", folder=b"sub\ndir"), "U+000A"),
    Hostile("path-over-4096-bytes", _long_path, "File name too long"),
    Hostile("symlink-loop-followed", _symlink_loop(follow=True), "runs in a loop"),
]


# --- lockfiles ------------------------------------------------------------------------


def _lock(text: str | bytes, *args: str) -> Callable[[Workspace], list[str]]:
    def prepare(ws: Workspace) -> list[str]:
        if isinstance(text, bytes):
            ws.lock.write_bytes(text)
        else:
            ws.lock.write_text(text, encoding="utf-8")
        return list(args or ["plan"])

    return prepare


def _sparse_lock(ws: Workspace) -> list[str]:
    with ws.lock.open("wb") as handle:
        handle.truncate(MAX_LOCKFILE_BYTES + 1)
    return ["plan"]


def _no_lock(*args: str) -> Callable[[Workspace], list[str]]:
    def prepare(ws: Workspace) -> list[str]:
        ws.edit(
            "datasets:\n",
            "downloads:\n  - key: mirror\n    dataset: {pid: some/pid}\n    target: mirror\n"
            "datasets:\n",
        )
        return list(args)

    return prepare


_FILE_AND_FOLDER = locked_dataset(files=[locked_file("a"), locked_file("a/b.dat")])
_DOWNLOAD = {"pid": "pid/d", "files": [locked_file("x.dat")]}
LOCKFILES = [
    Hostile("100000-brackets", _lock("[" * 100_000 + "]" * 100_000),
            "nested deeper than 128 levels"),
    # Within what the parser takes: the schema (which fixes the lockfile's shape) refuses it.
    Hostile("deep-object", _lock('{"a": ' * 500 + "1" + "}" * 500), "scisync.lock is invalid"),
    Hostile("duplicate-dataset-key",
            _lock(lock_text({"raw-1": locked_dataset()}).replace(
                '"raw-1": {', '"raw-1": ' + json.dumps(locked_dataset("pid/9")) + ',\n"raw-1": {')),
            "key 'raw-1' is written twice"),
    Hostile("duplicate-section",
            _lock(lock_text().replace('"samples": {}', '"samples": {}, "samples": {}')),
            "key 'samples' is written twice"),
    Hostile("duplicate-file", _lock(lock_text({"raw-1": locked_dataset(
        files=[locked_file("frame-1.dat"), locked_file("frame-1.dat", size=7)])})),
            "is listed twice"),
    Hostile("file-and-folder", _lock(lock_text({"raw-1": _FILE_AND_FOLDER})),
            "listed as a file and also as the folder"),
    Hostile("two-datasets-one-pid",
            _lock(lock_text({"raw-1": locked_dataset("pid/1"), "raw-2": locked_dataset("pid/1")})),
            "record the same pid"),
    Hostile("two-samples-one-id", _lock(lock_text(samples={
        "a": {"sample_id": "s1", "fields_digest": "d"},
        "b": {"sample_id": "s1", "fields_digest": "d"}})), "record the same sample_id"),
    Hostile("two-attachments-one-id", _lock(lock_text({"raw-1": locked_dataset(attachments=[
        {"caption": "a", "id": "aid", "blake3": "ab"},
        {"caption": "b", "id": "aid", "blake3": "ab"}])})), "record the same attachment id"),
    Hostile("superseded-but-live", _lock(lock_text({
        "raw-1": locked_dataset("pid/1"), "raw-2": locked_dataset("pid/2", supersedes=["pid/1"])})),
            "which is the live dataset"),
    Hostile("downloads-contradict", _lock(lock_text(downloads={
        "one": _DOWNLOAD,
        "two": {"pid": "pid/d", "files": [locked_file("x.dat", size=99)]}})),
            "pin different content"),
    Hostile("negative-size", _lock(lock_text({"raw-1": locked_dataset(
        files=[locked_file("f.dat", size=-1)])})), "scisync.lock is invalid"),
    Hostile("size-is-text", _lock(lock_text({"raw-1": locked_dataset(
        files=[{"path": "f.dat", "size": "6", "blake3": "ab"}])})), "scisync.lock is invalid"),
    Hostile("absolute-path", _lock(lock_text({"raw-1": locked_dataset(
        files=[locked_file("/etc/passwd")])})), "scisync.lock is invalid"),
    Hostile("climbing-path", _lock(lock_text({"raw-1": locked_dataset(
        files=[locked_file("../../x")])})), "scisync.lock is invalid"),
    Hostile("escape-in-path", _lock(lock_text({"raw-1": locked_dataset(
        files=[locked_file("\x1b]0;owned\x07.dat")])})), "control character U+001B"),
    Hostile("blake3-not-hex", _lock(lock_text({"raw-1": locked_dataset(
        files=[locked_file("f.dat", blake3="zz")])})), "scisync.lock is invalid"),
    Hostile("unknown-field", _lock(lock_text(extra_field=1)), "scisync.lock is invalid"),
    Hostile("not-json", _lock("<<<<<<< HEAD\n{}\n"), "not valid JSON"),
    Hostile("not-utf8", _lock(b'{"project": "caf\xe9"}'), "not UTF-8"),
    Hostile("over-size-limit", _sparse_lock, "larger than the limit"),
    Hostile("newer-version", _lock(lock_text(version=99)), "written by a newer scisync"),
    Hostile("other-project", _lock(lock_text(project="someone-else")),
            "belongs to project 'someone-else'"),
    Hostile("plan-locked-without-lockfile", _no_lock("plan", "--locked"), "--locked needs"),
    Hostile("pull-locked-without-lockfile", _no_lock("pull", "--locked"), "--locked needs"),
]  # fmt: skip


# --- saved plans ----------------------------------------------------------------------


Prepare = Callable[[Workspace], list[str]]


def _saved_plan(
    edit: Callable[[dict[str, object]], object] | None = None,
    text: Callable[[str], str] | None = None,
) -> Prepare:
    """``plan --out plan.json``, then the saved file edited by *edit* (on the JSON data)
    or by *text* (on the text); the case applies it."""

    def prepare(ws: Workspace) -> list[str]:
        code, output = run_cli(ws, ["plan", "--out", "plan.json"])
        assert code == 0, output
        path = ws.root / "plan.json"
        if edit is not None:
            data = json.loads(path.read_text())
            edit(data)
            path.write_text(json.dumps(data, indent=2))
        if text is not None:
            path.write_text(text(path.read_text()))
        return ["apply", "--auto-approve", "plan.json"]

    return prepare


def _first_change(data: dict[str, object]) -> dict[str, object]:
    changes = data["changes"]
    assert isinstance(changes, list) and changes
    return changes[0]  # type: ignore[no-any-return]


def _sparse_plan(ws: Workspace) -> list[str]:
    with (ws.root / "plan.json").open("wb") as handle:
        handle.truncate(MAX_PLAN_BYTES + 1)
    return ["apply", "plan.json"]


PLANS = [
    Hostile("action-edited", _saved_plan(lambda d: _first_change(d).update(action="delete")),
            "changed after it was saved"),
    Hostile("body-edited", _saved_plan(
        lambda d: _first_change(d).update(body={"sampleId": "x", "owner": "Mallory"})),
            "changed after it was saved"),
    Hostile("source-folder-edited",
            _saved_plan(lambda d: [c.update(source_folder="/etc") for c in d["changes"]]),  # type: ignore[attr-defined]
            "changed after it was saved"),
    Hostile("digest-removed", _saved_plan(lambda d: d.pop("digest")), "has no digest"),
    Hostile("digest-forged", _saved_plan(lambda d: d.update(digest="sha256:" + "0" * 64)),
            "changed after it was saved"),
    Hostile("plan-100000-brackets", _saved_plan(text=lambda t: "[" * 100_000 + "]" * 100_000),
            "nested deeper than"),
    Hostile("plan-duplicate-key",
            _saved_plan(text=lambda t: t.replace('"project":', '"project": "x", "project":', 1)),
            "key 'project' is written twice"),
    Hostile("plan-not-json", _saved_plan(text=lambda t: t[: len(t) // 2]), "not valid JSON"),
    Hostile("plan-over-size-limit", _sparse_plan, "larger than the limit"),
    Hostile("plan-missing", lambda ws: ["apply", "nowhere.json"], "the saved plan does not exist"),
]  # fmt: skip


# --- operating-system errors (those a root process meets; see test_os_errors.py) -------


def _lock_is_folder(ws: Workspace) -> list[str]:
    ws.lock.mkdir()
    return ["plan"]


def _long_manifest_name(ws: Workspace) -> list[str]:
    return ["validate", "-f", "m" * 300 + ".yaml"]


def _out_under_file(ws: Workspace) -> list[str]:
    (ws.root / "afile").write_text("a file, not a folder\n")
    return ["plan", "--out", "afile/plan.json"]


def _base_under_file(ws: Workspace) -> list[str]:
    (ws.root / "notes.txt").write_text("a file, not a folder\n")
    ws.edit("base: reduced", "base: notes.txt/reduced")
    return ["plan"]


def _state_is_file(*args: str) -> Prepare:
    def prepare(ws: Workspace) -> list[str]:
        (ws.root / ".scisync").write_text("not a folder\n")
        return list(args)

    return prepare


def _download_under_file(ws: Workspace) -> list[str]:
    """An applied project whose download target lies below a file."""
    code, output = run_cli(ws, ["apply", "--auto-approve"])
    assert code == 0, output
    (ws.root / "notes.txt").write_text("a file, not a folder\n")
    ws.edit(
        "datasets:\n",
        "downloads:\n  - key: mirror\n    dataset: raw-1\n    target: notes.txt/mirror\n"
        "datasets:\n",
    )
    return ["pull"]


# `plan --out` plans before it saves: the hash cache (.scisync/, machine-local) is written.
_CACHE = frozenset({".scisync"})
OS_ERRORS = [
    Hostile("ENOENT-out-folder", lambda ws: ["plan", "--out", "missing/plan.json"],
            "No such file or directory", may_write=_CACHE),
    Hostile("ENOTDIR-out-under-file", _out_under_file, "Not a directory", may_write=_CACHE),
    Hostile("ENOTDIR-files-base-under-file", _base_under_file, "does not exist"),
    Hostile("EISDIR-lockfile-is-folder", _lock_is_folder, "Is a directory"),
    Hostile("EISDIR-out-is-folder", lambda ws: ["plan", "--out", "runs"], "Is a directory",
            may_write=_CACHE),
    Hostile("ENAMETOOLONG-manifest", _long_manifest_name, "File name too long"),
    Hostile("ENAMETOOLONG-out", lambda ws: ["plan", "--out", "p" * 300], "File name too long",
            may_write=_CACHE),
    # Fails during the transfer: the apply journal (.scisync/, machine-local) records it.
    Hostile("ENOTDIR-download-target-under-file", _download_under_file, "Not a directory",
            may_write=_CACHE),
    # Not translated where it happens: the CLI boundary's catch-all names path and errno.
    Hostile("EEXIST-state-folder-is-a-file-pull", _state_is_file("pull"),
            "file system error: File exists"),
    Hostile("EEXIST-state-folder-is-a-file-apply", _state_is_file("apply", "--auto-approve"),
            "something already exists at this path"),
]  # fmt: skip


CASES = [
    *(pytest.param(case, id=f"manifest-{case.name}") for case in MANIFESTS),
    *(pytest.param(case, id=f"name-{case.name}") for case in NAMES),
    *(pytest.param(case, id=f"lockfile-{case.name}") for case in LOCKFILES),
    *(pytest.param(case, id=f"plan-{case.name}") for case in PLANS),
    *(pytest.param(case, id=f"os-{case.name}") for case in OS_ERRORS),
]


@pytest.mark.parametrize("case", CASES)
def test_hostile_input_is_refused_with_nothing_written(case: Hostile, workspace: Workspace) -> None:
    started = time.monotonic()
    run_case(case, workspace)
    assert time.monotonic() - started < 20, "a bounded input must be refused quickly"


def test_the_table_is_large_enough() -> None:
    assert len(CASES) >= 50

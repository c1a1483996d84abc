"""Property tests for the file-name rule (scisync/_util/names.py) and the glob walker.

The rule's promise: a name it accepts can be stored in SciCat (JSON, UTF-8) and in
scisync.lock (one file per line) and read back unchanged; a name it refuses is refused
for a stated reason, and the message shows it without any raw control character.
"""

from __future__ import annotations

import os
import unicodedata
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from scisync._util.limits import MAX_NAME_BYTES, MAX_PATH_BYTES
from scisync._util.names import local_name_problem, shown
from scisync.errors import LockfileError
from scisync.lock.io import check_lists, dumps_lock, loads_lock
from scisync.lock.model import LockedDataset, LockedFile, Lockfile
from scisync.manifest.globs import SymlinkLoop, expand_glob

# Components: any character but '/', including surrogates (what os.fsdecode makes of bytes
# that are not UTF-8), control characters and separators.
component = st.text(st.characters(exclude_characters="/"), min_size=1, max_size=40)
names = st.lists(component, min_size=1, max_size=4).map("/".join)


def _is_control(char: str) -> bool:
    return unicodedata.category(char) == "Cc" or char in "\u2028\u2029"


def _lock_with(path: str) -> Lockfile:
    entry = LockedDataset(key="d", pid="p/1", fields_digest="f", files=(LockedFile(path, 1, "ab"),))
    return Lockfile(project="p", datasets={"d": entry})


@given(names)
@example("bad\nname.dat")
@example("caf\udce9.dat")
@example("a\\b")
@example("x" * 256)
@settings(max_examples=400, deadline=None)
def test_an_accepted_name_round_trips_through_the_lockfile(name: str) -> None:
    problem = local_name_problem(name)
    if problem is not None:
        return
    assert not any(_is_control(char) for char in name)
    assert "\\" not in name
    encoded = name.encode("utf-8")  # no surrogates: it is text SciCat can store
    assert len(encoded) <= MAX_PATH_BYTES
    assert all(len(part.encode()) <= MAX_NAME_BYTES for part in name.split("/"))
    if any(part in ("", ".", "..") for part in name.split("/")):
        return  # not a relative path: the lockfile's own path rule refuses it
    text = dumps_lock(_lock_with(name))
    assert text.count("\n") == dumps_lock(_lock_with("plain.dat")).count("\n")
    assert loads_lock(text, "scisync.lock").datasets["d"].files[0].path == name


@given(names, st.sampled_from([*map(chr, range(32)), "\x7f", "\x85", "\x9b", "\u2028"]))
@settings(deadline=None)
def test_a_control_character_anywhere_is_refused(name: str, control: str) -> None:
    cut = len(name) // 2
    hostile = name[:cut] + control + name[cut:]
    problem = local_name_problem(hostile)
    assert problem is not None
    if "UTF-8" not in problem:  # a surrogate earlier in the name is reported first
        assert problem.startswith("contains")


@given(st.binary(min_size=1, max_size=40).filter(lambda b: b"/" not in b and b"\0" not in b))
@settings(deadline=None)
def test_bytes_that_are_not_utf8_are_refused(raw: bytes) -> None:
    name = os.fsdecode(raw)
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        assert local_name_problem(name) == (
            "is not valid UTF-8 (the file system holds bytes SciCat cannot store)"
        )


@given(names)
@settings(deadline=None)
def test_a_shown_name_never_holds_a_raw_control_character(name: str) -> None:
    text = shown(name)
    assert not any(_is_control(char) for char in text)
    assert "\n" not in text


@given(names.filter(lambda n: local_name_problem(n) is not None and "/" not in n))
@settings(max_examples=100, deadline=None)
def test_a_refused_name_in_an_edited_lockfile_is_refused_too(name: str) -> None:
    text = dumps_lock(_lock_with("x.dat")).replace('"x.dat"', _json_string(name))
    with pytest.raises(LockfileError):
        # Loading, then the list check every plan runs before planning (check_lists).
        check_lists(loads_lock(text, "scisync.lock"))


def _json_string(text: str) -> str:
    import json

    return json.dumps(text, ensure_ascii=True)


# --- the glob walker -----------------------------------------------------------------


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "x.dat").write_text("x")
    (tmp_path / "a" / "b" / "y.dat").write_text("y")
    (tmp_path / ".hidden.dat").write_text("h")
    elsewhere = tmp_path.parent / f"{tmp_path.name}-elsewhere"
    elsewhere.mkdir()
    (elsewhere / "z.dat").write_text("z")
    os.symlink(elsewhere, tmp_path / "linked")
    return tmp_path


def test_double_star_skips_linked_folders_unless_asked(tree: Path) -> None:
    assert expand_glob(str(tree), "**/*.dat") == [".hidden.dat", "a/b/y.dat", "a/x.dat"]
    assert expand_glob(str(tree), "**/*.dat", follow_symlinks=True) == [
        ".hidden.dat",
        "a/b/y.dat",
        "a/x.dat",
        "linked/z.dat",
    ]


def test_a_named_linked_folder_is_followed_as_in_a_shell(tree: Path) -> None:
    assert expand_glob(str(tree), "linked/*.dat") == ["linked/z.dat"]
    assert expand_glob(str(tree), "*/z.dat") == ["linked/z.dat"]


def test_a_symlink_loop_is_an_error_only_when_followed(tree: Path) -> None:
    os.symlink("../..", tree / "a" / "b" / "up")
    assert not [p for p in expand_glob(str(tree), "**") if p.startswith("a/b/up/")]
    with pytest.raises(SymlinkLoop) as raised:
        expand_glob(str(tree), "**/*.dat", follow_symlinks=True)
    assert raised.value.link.endswith("a/b/up")


@given(st.sampled_from(["*", "**", "**/*", "a/*", "*/*.dat", "**/b/*", "a/**/*.dat", "?/x.dat"]))
@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_without_links_the_walker_agrees_with_glob(tree: Path, pattern: str) -> None:
    import glob

    os.unlink(tree / "linked") if (tree / "linked").is_symlink() else None
    expected = sorted(
        path.rstrip("/")
        for path in glob.glob(pattern, root_dir=tree, recursive=True, include_hidden=True)
        if path
    )
    found = expand_glob(str(tree), pattern)
    # glob's "**" also yields the base folder of a trailing "**" (as "a/"): not a file
    assert [p for p in found if (tree / p).is_file()] == [
        p for p in expected if (tree / p).is_file()
    ]

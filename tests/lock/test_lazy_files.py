"""File lists read lazily (scisync.lock.layout, scisync.lock.filelist): a hostile edit to
one is refused, naming the entry and its line, before any file of it is handed out;
whether at load or at first use depends only on whether the edit kept the writer's
layout.  The digest tells any byte change; the writer copies an unread list as read."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from scisync.errors import LockfileError
from scisync.lock.io import dumps_lock, loads_lock
from scisync.lock.model import LockedDataset, LockedDownload, LockedFile, LockedFiles, Lockfile
from tests.lock.lock_samples import random_lock, small_lock

SOURCE = "repo/scisync.lock"
GOOD_LINE = '        {"path": "z.h5", "size": 3, "blake3": "' + "a" * 64 + '"}'


def _line(text: str, **replace: str) -> str:
    for old, new in replace.items():
        text = text.replace(old, new)
    return text


# Each case edits the second file line of run1 (z.h5), in the canonical layout.
EDITS: dict[str, Callable[[str], str]] = {
    "negative size": lambda line: line.replace('"size": 3', '"size": -3'),
    "size a string": lambda line: line.replace('"size": 3', '"size": "3"'),
    "size a float": lambda line: line.replace('"size": 3', '"size": 3.0'),
    "size a boolean": lambda line: line.replace('"size": 3', '"size": true'),
    "upper-case digest": lambda line: line.replace("a" * 64, "A" * 64),
    "empty digest": lambda line: line.replace("a" * 64, ""),
    "parent segment": lambda line: line.replace("z.h5", "../z.h5"),
    "absolute path": lambda line: line.replace("z.h5", "/etc/z.h5"),
    "empty segment": lambda line: line.replace("z.h5", "q//z.h5"),
    "backslash": lambda line: line.replace("z.h5", "q\\\\z.h5"),
    "control character": lambda line: line.replace("z.h5", "z\\u0001.h5"),
    "line break": lambda line: line.replace("z.h5", "z\\n.h5"),
    "drive letter": lambda line: line.replace("z.h5", "C:z.h5"),
    "listed twice": lambda line: line.replace("z.h5", "a/b.h5"),
    "file and folder": lambda line: line.replace("z.h5", "a"),
    "missing key": lambda line: line.replace(', "size": 3', ""),
    "extra key": lambda line: line.replace('"size": 3', '"size": 3, "mode": 420'),
    "repeated key": lambda line: line.replace('"size": 3', '"size": 3, "size": 4'),
    "checksum null": lambda line: line.replace("}", ', "checksum": null}'),
    "checksum without colon": lambda line: line.replace("}", ', "checksum": "sha256"}'),
    "not an object": lambda line: "        [1, 2]",
    "nested list": lambda line: line.replace('"size": 3', '"size": [\n      ]'),
    "not JSON": lambda line: "        {oops",
    "merge marker": lambda line: "<<<<<<< HEAD\n" + line,
}


def _edited(edit: Callable[[str], str]) -> tuple[str, int]:
    text = dumps_lock(small_lock())
    assert GOOD_LINE in text
    line = text[: text.index(GOOD_LINE)].count("\n") + 1
    return text.replace(GOOD_LINE, edit(GOOD_LINE)), line


def _refusal(text: str) -> tuple[str, str]:
    """("load" or "use", message): when and how *text* is refused."""
    try:
        lock = loads_lock(text, SOURCE)
    except LockfileError as error:
        return "load", str(error)
    entry = lock.datasets["run1"]
    assert isinstance(entry.files, LockedFiles) and entry.files.unread is not None
    with pytest.raises(LockfileError) as raised:
        list(entry.files)
    # Refused once, refused again: no half-built list is kept.
    with pytest.raises(LockfileError):
        entry.files[0]
    return "use", str(raised.value)


@pytest.mark.parametrize("name", EDITS)
def test_a_hostile_file_entry_is_refused_naming_its_entry(name: str) -> None:
    text, line = _edited(EDITS[name])
    _, message = _refusal(text)
    # The entry by its JSON path, or (for a line that is not JSON) the line itself.
    assert "$.datasets.run1" in message or f"{SOURCE}:{line}:" in message, message


@pytest.mark.parametrize("name", EDITS)
def test_the_same_edit_outside_the_layout_is_refused_at_load(name: str) -> None:
    text, _ = _edited(EDITS[name])
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return  # not JSON: refused at load either way (test above)
    if name == "repeated key":
        return  # json.loads dropped it: nothing left to re-layout
    compact = json.dumps(data)  # one line: no list can be cut out
    with pytest.raises(LockfileError, match=r"run1|\$\.datasets"):
        loads_lock(compact, SOURCE)


def test_the_lazy_refusal_says_exactly_what_the_eager_one_says() -> None:
    text, line = _edited(EDITS["negative size"])
    when, lazy = _refusal(text)
    assert when == "use"
    with pytest.raises(LockfileError) as eager:
        loads_lock(json.dumps(json.loads(text), indent=1), SOURCE)
    column = text.splitlines()[line - 1].index("-3") + 1
    assert f"{SOURCE}:{line}:{column}: $.datasets.run1.files[1].size" in lazy
    assert lazy.split(": ", 2)[2] == str(eager.value).split(": ", 2)[2]


@pytest.mark.parametrize(
    "edit",
    [
        # A list written by hand that looks like the placeholder of a cut list.
        lambda text: text.replace('"files": []', '"files": [0]'),
        # A key repeated in an entry: parse_json refuses it, with its line.
        lambda text: text.replace(
            '      "pid": "20.500.12269/abc"', '      "pid": "x",\n      "pid": "y"'
        ),
        # A files list in an entry that has none.
        lambda text: text.replace(
            '      "sample_id"', '      "files": [\n        1\n      ],\n      "sample_id"'
        ),
    ],
)
def test_edits_around_the_cut_lists_are_read_the_slow_way_and_refused(
    edit: Callable[[str], str],
) -> None:
    lock = Lockfile(
        project="p",
        datasets={
            **small_lock().datasets,
            "empty": LockedDataset(key="empty", pid="e", fields_digest="d"),
        },
        samples=small_lock().samples,
    )
    text = dumps_lock(lock)
    edited = edit(text)
    assert edited != text
    with pytest.raises(LockfileError):
        loads_lock(edited, SOURCE)


def test_a_list_is_unread_until_used_and_the_digest_tells_every_byte() -> None:
    text = dumps_lock(small_lock())
    entry = loads_lock(text, SOURCE).datasets["run1"]
    assert isinstance(entry.files, LockedFiles) and entry.files.unread is not None
    digest = entry.files_digest
    assert len(digest) == 64
    assert loads_lock(text, SOURCE).datasets["run1"].files_digest == digest
    resized = text.replace('"size": 10', '"size": 11')
    assert loads_lock(resized, SOURCE).datasets["run1"].files_digest != digest
    assert [f.path for f in entry.files] == ["a/b.h5", "z.h5"]  # now read, checked, sorted
    assert entry.files.unread is None
    assert entry.files_digest == digest  # kept once read
    in_memory = small_lock().datasets["run1"]
    assert in_memory.files_digest == ""
    assert entry.files == tuple(sorted(in_memory.files))
    assert tuple(sorted(in_memory.files)) == entry.files
    assert hash(entry.files) == hash(tuple(sorted(in_memory.files)))
    assert entry.files[1:] == (LockedFile("z.h5", 3, "a" * 64),)


@pytest.mark.parametrize("seed", range(50))
def test_unread_lists_are_written_back_byte_for_byte(seed: int) -> None:
    text = dumps_lock(random_lock(seed))
    lock = loads_lock(text, SOURCE)
    assert dumps_lock(lock) == text  # unread lists copied
    for entry in [*lock.datasets.values(), *lock.downloads.values()]:
        list(entry.files)
    assert dumps_lock(lock) == text  # read lists written anew: the same bytes


def test_an_unread_list_out_of_order_is_sorted_when_read() -> None:
    text = dumps_lock(small_lock())
    first = '        {"path": "a/b.h5"'
    lines = text.split("\n")
    at = next(n for n, line in enumerate(lines) if line.startswith(first))
    lines[at], lines[at + 1] = lines[at + 1] + ",", lines[at].rstrip(",")
    swapped = "\n".join(lines)
    lock = loads_lock(swapped, SOURCE)
    assert [f.path for f in lock.datasets["run1"].files] == ["a/b.h5", "z.h5"]
    assert dumps_lock(lock) == text


def test_downloads_of_one_dataset_are_compared_at_load() -> None:
    files = (LockedFile("x.dat", 1, "ab"),)
    other = (LockedFile("x.dat", 2, "cd"),)
    lock = Lockfile(
        project="p",
        downloads={
            "a": LockedDownload(key="a", pid="p/1", files=files),
            "b": LockedDownload(key="b", pid="p/1", files=other),
            "c": LockedDownload(key="c", pid="p/2", files=other),
        },
    )
    with pytest.raises(LockfileError, match="pin different content") as raised:
        loads_lock(dumps_lock(lock), SOURCE)
    assert f"{SOURCE}:" in str(raised.value)
    fine = loads_lock(
        dumps_lock(Lockfile(project="p", downloads={"c": lock.downloads["c"]})), SOURCE
    )
    assert isinstance(fine.downloads["c"].files, LockedFiles)
    assert fine.downloads["c"].files.unread is not None  # the only one of its dataset


def test_a_list_that_is_not_utf8_inside_is_refused_when_the_file_is_read(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from scisync.lock.io import read_lock

    path = tmp_path / "scisync.lock"
    path.write_bytes(dumps_lock(small_lock()).encode().replace(b"z.h5", b"z\xff.h5"))
    with pytest.raises(LockfileError, match="not UTF-8"):
        read_lock(path)


def test_check_lists_refuses_a_bad_list_unless_its_dataset_is_settled() -> None:
    from scisync.lock.io import check_lists

    text, _ = _edited(EDITS["listed twice"])
    lock = loads_lock(text, SOURCE)
    check_lists(lock, settled={"run1"})  # settled: its plan reads nothing of it
    assert lock.datasets["run1"].files.unread is not None  # type: ignore[attr-defined]
    with pytest.raises(LockfileError, match="listed twice") as raised:
        check_lists(lock)
    assert "$.datasets.run1" in str(raised.value)
    good = loads_lock(dumps_lock(small_lock()), SOURCE)
    check_lists(good)
    files = good.datasets["run1"].files
    assert isinstance(files, LockedFiles) and files.unread is not None  # checked, not kept


@pytest.mark.parametrize("seed", range(30))
def test_the_digest_does_not_depend_on_the_layout_a_list_was_read_in(seed: int) -> None:
    text = dumps_lock(random_lock(seed))
    lazy = loads_lock(text, SOURCE)
    eager = loads_lock(json.dumps(json.loads(text)), SOURCE)
    for key, entry in lazy.datasets.items():
        assert eager.datasets[key].files_digest == entry.files_digest != ""

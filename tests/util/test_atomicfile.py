from __future__ import annotations

import os
from pathlib import Path

import pytest

from scisync._util.atomicfile import ReplaceIfChanged, write_atomic, write_if_changed


def test_write_if_changed(tmp_path: Path) -> None:
    path = tmp_path / "f"
    assert write_if_changed(path, b"one") is True
    assert write_if_changed(path, b"one") is False
    assert write_if_changed(path, b"two") is True
    assert path.read_bytes() == b"two"


def test_keeps_existing_mode(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"old")
    path.chmod(0o640)
    write_atomic(path, b"new")
    assert path.stat().st_mode & 0o777 == 0o640


def test_failed_replace_leaves_old_content_and_no_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"old")

    def refuse(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    # Fault injection below the code under test: the rename fails as on a full disk.
    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError):
        write_atomic(path, b"new")
    monkeypatch.undo()
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["f"]


OLD = b"0123456789" * 3


@pytest.mark.parametrize(
    ("parts", "written"),
    [
        pytest.param([OLD[:7], OLD[7:20], OLD[20:]], False, id="same-bytes-other-cuts"),
        pytest.param([OLD], False, id="same-bytes-one-part"),
        pytest.param([b"X", OLD[1:]], True, id="first-byte-differs"),
        pytest.param([OLD[:12], b"XY", OLD[14:]], True, id="middle-differs"),
        pytest.param([OLD[:-1], b"X"], True, id="last-byte-differs"),
        pytest.param([OLD, b"more"], True, id="longer"),
        pytest.param([OLD[:-3]], True, id="shorter"),
        pytest.param([], True, id="empty"),
        pytest.param([memoryview(OLD)[:5], memoryview(OLD)[5:]], False, id="views"),
    ],
)
def test_replace_if_changed_writes_exactly_when_the_parts_differ(
    tmp_path: Path, parts: list[bytes], written: bool
) -> None:
    path = tmp_path / "lock"
    path.write_bytes(OLD)
    os.utime(path, ns=(1, 1))
    out = ReplaceIfChanged(path)
    for part in parts:
        out.append(part)
    assert out.finish() is written
    assert path.read_bytes() == b"".join(bytes(p) for p in parts)
    assert (path.stat().st_mtime_ns == 1) is not written
    assert [p.name for p in tmp_path.iterdir()] == ["lock"]


def test_replace_if_changed_creates_and_abandons_cleanly(tmp_path: Path) -> None:
    path = tmp_path / "lock"
    out = ReplaceIfChanged(path)
    out.append(b"new")
    assert out.finish() is True
    assert path.read_bytes() == b"new"
    failing = ReplaceIfChanged(path)
    failing.append(b"other text")  # differs: a temporary file now holds it
    failing.abandon()  # the writer failed half way
    assert path.read_bytes() == b"new"
    assert [p.name for p in tmp_path.iterdir()] == ["lock"]

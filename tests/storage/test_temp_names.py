"""Temporary names (scisync.storage._transfer.temp_name): recognisable, and never the same
twice, neither within a process nor in a forked child."""

from __future__ import annotations

import os

import pytest

from scisync.storage._transfer import is_temp_name, stale_temporaries, temp_name


def test_temp_names_are_recognised_and_name_their_file() -> None:
    name = temp_name("f0001.dat")
    assert name.startswith(".f0001.dat.scisync-tmp-")
    assert is_temp_name(name)
    assert stale_temporaries([name, "f0001.dat"], {"f0001.dat"}) == [name]


def test_no_two_temp_names_are_equal_in_a_process() -> None:
    names = [temp_name("a") for _ in range(10_000)]
    assert len(set(names)) == len(names)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_makes_other_names_than_its_parent() -> None:
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its next names, to the parent
        os.close(read_end)
        os.write(write_end, "\n".join(temp_name("a") for _ in range(100)).encode())
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as stream:
        child = set(stream.read().decode().split("\n"))
    os.waitpid(pid, 0)
    parent = {temp_name("a") for _ in range(100)}
    assert len(child) == 100
    assert not child & parent

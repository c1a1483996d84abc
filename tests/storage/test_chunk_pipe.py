"""ChunkPipe must behave like paramiko's BufferedPipe, which it replaces in SFTP channels."""

from __future__ import annotations

import threading
import time

import pytest
from paramiko.buffered_pipe import BufferedPipe, PipeTimeout

from scisync.storage.sftp.stream import ChunkPipe


@pytest.mark.parametrize("pipe_class", [BufferedPipe, ChunkPipe])
def test_reads_across_and_within_chunks(pipe_class: type) -> None:
    pipe = pipe_class()
    pipe.feed(b"abcdef")
    pipe.feed(b"ghij")
    assert len(pipe) == 10
    assert pipe.read(4) == b"abcd"
    assert pipe.read(4) == b"efgh"
    assert pipe.read(100) == b"ij"
    assert not pipe.read_ready()
    assert len(pipe) == 0


def test_chunk_pipe_joins_reads_spanning_chunks_and_returns_whole_packets_uncopied() -> None:
    pipe = ChunkPipe()
    first = b"x" * 1000
    pipe.feed(first)
    pipe.feed(b"yz")
    assert pipe.read(1001) == first + b"y"
    pipe.feed(first)
    pipe.read(1)  # "z"
    assert pipe.read(1000) is first


def test_chunk_pipe_times_out_and_reports_close() -> None:
    pipe = ChunkPipe()
    with pytest.raises(PipeTimeout):
        pipe.read(10, timeout=0.05)
    with pytest.raises(PipeTimeout):
        pipe.read(10, timeout=0.0)
    pipe.feed(b"last")
    pipe.close()
    assert pipe.read(10) == b"last"
    assert pipe.read(10) == b""  # closed and drained: EOF


def test_chunk_pipe_wakes_a_blocked_reader_and_sets_the_event() -> None:
    pipe = ChunkPipe()
    event = threading.Event()
    pipe.set_event(event)
    assert not event.is_set()
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(pipe.read(10, timeout=5)))
    reader.start()
    time.sleep(0.05)
    pipe.feed(b"hello")
    reader.join(5)
    assert got == [b"hello"]
    assert not event.is_set()  # drained
    pipe.feed(b"more")
    assert event.is_set()
    assert pipe.empty() == b"more"
    assert len(pipe) == 0

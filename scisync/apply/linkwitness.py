"""The hash cache as the witness ``hardlink: true`` asks before linking a local file."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from threading import Lock

from scisync.desired.model import Hasher
from scisync.plan.model import FileChange


class HashCacheWitness:
    """Vouches for an upload's files by the stamps they were hashed under, and carries
    each file's cache entry across the link (see :class:`scisync.storage.base.LinkWitness`).

    A file the cache cannot vouch for (edited since the plan hashed it, or hashed by
    nobody in this run) is read by the storage before it is linked."""

    def __init__(self, hasher: Hasher, files: Sequence[FileChange]) -> None:
        self._hasher = hasher
        self._files = files
        self._voucher: Callable[[int, os.stat_result], bool] | None = None
        self._making = Lock()

    def vouches(self, index: int, before: os.stat_result) -> bool:
        with self._making:  # asked from worker threads; the entries are read once
            if self._voucher is None:
                self._voucher = self._hasher.voucher(
                    [f.local or "" for f in self._files], [f.blake3 or "" for f in self._files]
                )
        file = self._files[index]
        return bool(file.local and file.blake3) and self._voucher(index, before)

    def linked(self, index: int, before: os.stat_result, after: os.stat_result) -> None:
        # the link moved the local file's ctime; its cached digests follow it
        file = self._files[index]
        algorithms = ["blake3"]
        if file.checksum:
            algorithms.append(file.checksum.partition(":")[0])
        self._hasher.follow_link(file.local or "", before, after, algorithms)

"""Racily clean files: when a recorded ``stat`` stamp may vouch for a file's content.

scisync trusts a file as unchanged, without reading it, when its stat equals one recorded
earlier (the hash cache, :mod:`scisync._util.hashing`; the settled stamps,
:mod:`scisync.observe.settled`).  File timestamps have a granularity: before Linux 6.13,
ext4 and xfs stamp mtime and ctime from a clock that ticks once a jiffy (1-10 ms); a
1-second file system (Lustre, ext3, HFS+, an NFS export of one) or FAT (2 s) is coarser.
A file rewritten in place with the same size, within the tick of the stamp that was
recorded, keeps size, mtime, ctime and inode: the stamp would vouch for content nobody
saw.  Such a stamp is *racy*, and the one rule below treats it as a miss: the file is read
again (the hash cache) or its dataset planned in full (the settled stamps), and the record
made then is no longer racy once time has moved on.

A write at real time ``t`` gets a timestamp above ``t - granularity - lag``, where *lag* is
how far the clock that stamps the file is behind this machine's.  So when both of a file's
timestamps are below ``recorded - RACY_MARGIN_NS``, and the margin covers granularity plus
lag, every write the file has seen happened before ``recorded``: before the stat and the
read the record was made from.
"""

from __future__ import annotations

import os
import time

RACY_MARGIN_NS = 3_000_000_000
"""How much older than the moment of recording a file's mtime and ctime must be for the
record to vouch for it (3 s).  It covers the coarsest timestamps scisync expects to meet
(FAT's 2-s mtime; 1 s on Lustre, ext3, HFS+ and NFS exports of them; 1-10 ms on ext4/xfs
before Linux 6.13) plus up to one second by which the clock that stamps the file (an NFS
server's, another Lustre client's) may be behind this machine's; NTP keeps facility
machines far closer.  A clock that stamps files ahead of ours only makes more records
racy (re-read once more), never fewer.  The cost of a wider margin is small: a file
written less than 3 s before a plan is read again by the next plan."""


def now_ns() -> int:
    """The "recorded at" clock: this machine's real-time clock, read *before* the stat or
    read a record is made from (an earlier reading only makes the rule stricter).

    Why not the file system's own clock (the mtime of a file the recorder just wrote, as
    git does with its index)?  The records cover files on several file systems (the
    project's, an NFS mount, a detector's share) while the cache and settled.json live in
    one of them: no single file's mtime is the clock of them all.  The margin covers the
    difference instead (see :data:`RACY_MARGIN_NS`)."""
    return time.time_ns()


def newest_change_ns(st: os.stat_result) -> int:
    """The later of a stat's mtime and ctime: what the rule compares."""
    return max(st.st_mtime_ns, st.st_ctime_ns)


def stamp_vouches(newest_ns: int, recorded_ns: int, now: int) -> bool:
    """THE RULE: a stamp recorded at *recorded_ns* may vouch for a file (or a set of files)
    whose latest mtime or ctime is *newest_ns*, checked at *now* (all ns since the epoch).

    Only if the file changed last strictly before ``recorded_ns - RACY_MARGIN_NS``.  A
    recorded time after *now* (the clock set back, a tampered or damaged record) vouches
    for nothing: the file is read again and recorded afresh with a time that is not in the
    future, so it costs one read, never trust forever.  A file stamped in the future is
    racy until the clock passes it (read on every plan until then)."""
    return recorded_ns <= now and newest_ns < recorded_ns - RACY_MARGIN_NS

"""Lockfiles for the tests: a hand-made one and a seeded random generator."""

from __future__ import annotations

import random

from scisync.lock.model import (
    LockedAttachment,
    LockedDataset,
    LockedDownload,
    LockedFile,
    LockedSample,
    Lockfile,
)

# Keys and paths with characters that need care in JSON: unicode, quotes, spaces.
_NAMES = ["a", "b", "run-01", "Run 2", "ü-data", 'q"uote', "x_y.z", "日本", "zz"]


def hexdigest(rng: random.Random) -> str:
    return "".join(rng.choice("0123456789abcdef") for _ in range(64))


def random_path(rng: random.Random) -> str:
    # Files end in ".dat" and folders do not, so no path is also the folder of another
    # (a lockfile that says so is refused: scisync/lock/consistency.py).
    folders = [rng.choice(_NAMES) for _ in range(rng.randint(0, 2))]
    return "/".join([*folders, rng.choice(_NAMES) + ".dat"])


def random_files(rng: random.Random) -> tuple[LockedFile, ...]:
    paths = {random_path(rng) for _ in range(rng.randint(0, 6))}
    files = [
        LockedFile(
            path=path,
            size=rng.choice([0, 1, 1023, 2**40 + 7]),
            blake3=hexdigest(rng),
            checksum=rng.choice([None, "sha256:" + hexdigest(rng), "md5:0a1b"]),
        )
        for path in paths
    ]
    rng.shuffle(files)
    return tuple(files)


def random_lock(seed: int) -> Lockfile:
    rng = random.Random(seed)
    datasets = {}
    for key in rng.sample(_NAMES, rng.randint(0, 4)):
        captions = rng.sample(_NAMES, rng.randint(0, 3))
        datasets[key] = LockedDataset(
            key=key,
            pid=f"20.500.12269/{key}-{rng.randrange(10**6)}",
            fields_digest="sha256:" + hexdigest(rng),
            files=random_files(rng),
            attachments=tuple(
                LockedAttachment(caption=c, id=f"aid-{key}-{n}", blake3=hexdigest(rng))
                for n, c in enumerate(captions)
            ),
            supersedes=tuple(f"20.500.12269/old{i}" for i in range(rng.randint(0, 2))),
        )
    samples = {
        key: LockedSample(key=key, sample_id=f"s-{key}", fields_digest="sha256:" + hexdigest(rng))
        for key in rng.sample(_NAMES, rng.randint(0, 3))
    }
    downloads = {
        key: LockedDownload(key=key, pid=f"20.500.12269/d{key}", files=random_files(rng))
        for key in rng.sample(_NAMES, rng.randint(0, 2))
    }
    return Lockfile(
        project=rng.choice(_NAMES), datasets=datasets, samples=samples, downloads=downloads
    )


def reversed_order(lock: Lockfile) -> Lockfile:
    """The same content with every mapping and list built in the opposite order."""
    return Lockfile(
        project=lock.project,
        version=lock.version,
        datasets={
            key: LockedDataset(
                key=entry.key,
                pid=entry.pid,
                fields_digest=entry.fields_digest,
                files=tuple(reversed(entry.files)),
                attachments=tuple(reversed(entry.attachments)),
                supersedes=entry.supersedes,
            )
            for key, entry in reversed(list(lock.datasets.items()))
        },
        samples=dict(reversed(list(lock.samples.items()))),
        downloads={
            key: LockedDownload(key=entry.key, pid=entry.pid, files=tuple(reversed(entry.files)))
            for key, entry in reversed(list(lock.downloads.items()))
        },
    )


def small_lock() -> Lockfile:
    return Lockfile(
        project="demo",
        datasets={
            "run1": LockedDataset(
                key="run1",
                pid="20.500.12269/abc",
                fields_digest="sha256:" + "f" * 64,
                files=(
                    LockedFile(path="z.h5", size=3, blake3="a" * 64),
                    LockedFile(path="a/b.h5", size=10, blake3="b" * 64, checksum="sha256:ff"),
                ),
                attachments=(LockedAttachment(caption="Plot", id="aid-1", blake3="c" * 64),),
            )
        },
        samples={"s1": LockedSample(key="s1", sample_id="sample-1", fields_digest="sha256:d")},
    )

"""A dataset's files as columns (scisync.desired.model.LocalFiles): whatever files it is
given, it gives back exactly those LocalFiles, and compares and hashes like their tuple,
so a desired state built from columns equals one built with tuples (issue 13)."""

from __future__ import annotations

import sys

import pytest

from scisync._util.columns import PackedStrings, Same
from scisync.desired.model import LocalFile, LocalFiles, LocalPaths
from scisync.storage.base import Checksum

B3 = "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"
SHA = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
MD5 = "d41d8cd98f00b204e9800998ecf8427e"
SHA256 = Checksum("sha256", SHA)


def file(
    relative: str,
    local: str | None = None,
    size: int = 16,
    blake3: str = B3,
    checksum: Checksum = SHA256,
) -> LocalFile:
    local = f"/data/ds/{relative}" if local is None else local
    return LocalFile(relative=relative, local=local, size=size, blake3=blake3, checksum=checksum)


CASES: list[tuple[str, tuple[LocalFile, ...]]] = [
    ("empty", ()),
    ("one", (file("f0000.dat"),)),
    ("many in one folder", tuple(file(f"f{n:04d}.dat", size=n) for n in range(100))),
    ("subfolders", (file("a/b/c.dat"), file("a/d.dat"), file("z.dat"))),
    ("unicode names", (file("données/é.dat"), file("日本語.txt"), file("emoji 😀.bin"))),
    (
        "odd characters and newlines",
        (file("a\nb"), file("tab\there"), file('quote"and\\slash'), file(" lead space")),
    ),
    (
        "two bases",
        (
            file("a.dat", "/one/a.dat"),
            file("b.dat", "/two/base/b.dat"),
            file("c.dat", "/one/c.dat"),
        ),
    ),
    ("root folder", (file("a.dat", "/a.dat"),)),
    ("base with trailing slash", (file("a.dat", "/data//a.dat"),)),
    ("local not folder + relative", (file("a.dat", "/elsewhere/b.dat"), file("b.dat"))),
    ("local equal to relative", (file("a.dat", "a.dat"),)),
    (
        "upper-case digests",
        (file("a", blake3=B3.upper(), checksum=Checksum("sha256", SHA.upper())),),
    ),
    (
        "digests that are not hex",
        (file("a", blake3="not hex"), file("b", checksum=Checksum("sha256", ""))),
    ),
    (
        "odd-length digests",
        (file("a", blake3=B3[:-1]), file("b", checksum=Checksum("sha256", "abc"))),
    ),
    (
        "mixed algorithms",
        (
            file("a", checksum=Checksum("md5", MD5)),
            file("b"),
            file("c", checksum=Checksum("md5", MD5)),
        ),
    ),
    ("sizes past 64 bits and zero", (file("a", size=2**64), file("b", size=0))),
]


@pytest.mark.parametrize(("case", "files"), CASES, ids=[c for c, _ in CASES])
def test_columns_give_back_the_files(case: str, files: tuple[LocalFile, ...]) -> None:
    packed = LocalFiles.of(files)
    assert tuple(packed) == files and packed == files and files == packed
    assert hash(packed) == hash(files)
    assert len(packed) == len(files)
    for index, original in enumerate(files):
        got = packed[index]
        assert (got.relative, got.local, got.size) == (
            original.relative,
            original.local,
            original.size,
        )
        assert (got.blake3, got.checksum) == (original.blake3, original.checksum)
        assert got.checksum_text == original.checksum_text
    assert packed[::-1] == files[::-1]
    assert list(packed.relatives) == [f.relative for f in files]
    assert list(packed.locals) == [f.local for f in files]
    assert list(packed.sizes) == [f.size for f in files]
    assert list(packed.blake3s) == [f.blake3 for f in files]
    assert list(packed.checksum_texts()) == [f.checksum_text for f in files]
    assert list(packed.algorithms()) == [f.checksum.algorithm for f in files]
    assert list(packed.checksum_values) == [f.checksum.value for f in files]
    assert LocalFiles.of(packed) is packed
    assert LocalFiles.of(files) == packed and hash(LocalFiles.of(files)) == hash(packed)
    if files:
        changed = (*files[:-1], file(files[-1].relative, size=files[-1].size + 1))
        assert packed != changed and changed != packed and packed != LocalFiles.of(changed)
        assert packed != files[:-1] and LocalFiles.of(files[:-1]) != packed


def test_columns_refuse_columns_of_different_lengths() -> None:
    with pytest.raises(ValueError, match="different lengths"):
        LocalFiles(["a", "b"], ["/x/a", "/x/b"], [1], [B3, B3], "sha256", [SHA, SHA])
    with pytest.raises(ValueError, match="different lengths"):
        LocalFiles(["a"], ["/x/a"], [1], [B3], ["sha256", "md5"], [SHA])


def test_local_paths_keep_one_folder_without_a_column() -> None:
    paths = LocalPaths(("a", "b/c"), ("/data/x/a", "/data/x/b/c"))
    assert tuple(paths) == ("/data/x/a", "/data/x/b/c")
    assert paths._which is None and paths._odd is None and paths._folders == ("/data/x",)


def test_packed_files_take_a_fraction_of_the_objects() -> None:
    files = tuple(file(f"f{n:04d}.dat") for n in range(100))
    packed = LocalFiles.of(files)
    assert len(packed.blake3s._blob) == 3200 and packed.blake3s._odd is None
    assert packed.checksum_values._odd is None
    algorithms = packed._algorithms  # one algorithm for all: kept once, interned
    assert isinstance(algorithms, Same) and algorithms.value is sys.intern("sha256")
    mixed = LocalFiles.of((*files[:-1], file("md5.dat", checksum=Checksum("md5", MD5))))
    assert isinstance(mixed._algorithms, PackedStrings)


ALGORITHM_CASES: list[tuple[str, object, list[str], type]] = [
    ("one name for all", "sha256", ["sha256"] * 3, Same),
    ("per file, all one", ["sha256"] * 3, ["sha256"] * 3, Same),
    ("per file from an iterator", iter(["md5"] * 3), ["md5"] * 3, Same),
    ("per file, mixed", ["md5", "sha256", "md5"], ["md5", "sha256", "md5"], PackedStrings),
]


@pytest.mark.parametrize(
    ("case", "algorithms", "names", "kind"), ALGORITHM_CASES, ids=[c[0] for c in ALGORITHM_CASES]
)
def test_algorithms_given_once_or_per_file_read_back_alike(
    case: str, algorithms: str | list[str], names: list[str], kind: type
) -> None:
    packed = LocalFiles(
        ["a", "b", "c"], ["/x/a", "/x/b", "/x/c"], [1, 2, 3], [B3] * 3, algorithms, [MD5] * 3
    )
    assert isinstance(packed._algorithms, kind)
    assert list(packed.algorithms()) == names and len(packed.algorithms()) == 3
    assert list(packed.checksum_texts()) == [f"{name}:{MD5}" for name in names]
    assert [f.checksum_text for f in packed] == [f"{name}:{MD5}" for name in names]

"""Rules that hold between the entries of a lockfile, beyond what its schema can say.

The schema checks each entry's shape; a lockfile edited by hand (or merged badly by git)
can still be well-formed and contradict itself: two keys claiming one SciCat record, a
record both live and replaced, one path that is both a file and a folder, two downloads
of one dataset that pin different content for the same file.  Acting on such a file
would upload, skip or delete on the strength of an entry that cannot be true, so it is
refused with the entry named.

The rules within one file list (:func:`check_file_tree`) are part of the file-list rule
(scisync.lock.filelist), which runs when the list is first read; the rules between
entries run when the lockfile is loaded (:func:`check_consistent`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from functools import partial

from scisync._util.jsonpos import locate
from scisync._util.limits import MAX_NAME_BYTES
from scisync._util.names import local_name_problem, shown
from scisync.errors import LockfileError
from scisync.lock.model import LockedFile, Lockfile

#: How each problem is located: the lockfile's JSON path -> "file:line:col: $.path".
Locator = Callable[[tuple[str, ...]], str]

_HINT = (
    "restore scisync.lock from git (git checkout -- scisync.lock), or delete it and run "
    "'scisync plan': scisync finds its datasets again by their markers"
)


def check_consistent(lock: Lockfile, where: Locator) -> None:
    """Raise :class:`LockfileError` naming the first entry that contradicts another.

    Reads the files of only the downloads that share a dataset with another download."""
    # The location is computed only for an error: locating parses the text, and doing it
    # per entry made a 1,000-dataset lockfile take minutes to load.
    _check_unique(
        ((key, entry.pid) for key, entry in lock.datasets.items()),
        "pid",
        lambda key: where(("datasets", key, "pid")),
    )
    _check_unique(
        ((key, entry.sample_id) for key, entry in lock.samples.items()),
        "sample_id",
        lambda key: where(("samples", key, "sample_id")),
    )
    for key, entry in lock.datasets.items():
        _check_unique(
            ((a.caption, a.id) for a in entry.attachments),
            "attachment id",
            _ignoring_name(partial(where, ("datasets", key, "attachments"))),
        )
    _check_superseded(lock, where)
    _check_downloads_agree(lock, where)


def _ignoring_name(where: Callable[[], str]) -> Callable[[str], str]:
    return lambda _name: where()


def check_file_tree(paths: Sequence[str], where: Callable[[], str]) -> None:
    """Every path (sorted, unique) a name scisync could have written; none also the folder
    of another (``a`` and ``a/b``)."""
    _check_names(paths, where)
    folders: set[str] = set()
    for parent in {path.rpartition("/")[0] for path in paths if "/" in path}:
        while parent and parent not in folders:
            folders.add(parent)
            parent = parent.rpartition("/")[0]
    clashes = folders.intersection(paths)
    if clashes:
        folder = min(clashes)
        inside = next(path for path in paths if path.startswith(folder + "/"))
        raise LockfileError(
            f"{folder!r} is listed as a file and also as the folder of {inside!r}",
            where=where(),
            hint=_HINT,
        )


def _check_names(paths: Sequence[str], where: Callable[[], str]) -> None:
    # local_name_problem per path, with the common case (printable ASCII, no backslash,
    # no ':', short) decided for the whole list at once: a million paths take seconds
    # one by one.
    joined = "".join(paths)
    if (
        joined.isascii()
        and joined.isprintable()
        and "\\" not in joined
        and ":" not in joined
        and max(map(len, paths), default=0) <= MAX_NAME_BYTES
    ):
        return
    for path in paths:
        reason = local_name_problem(path)
        if reason is not None:
            raise LockfileError(f"file path {shown(path)} {reason}", where=where(), hint=_HINT)


def _check_unique(pairs: Iterable[tuple[str, str]], what: str, where: Callable[[str], str]) -> None:
    owner: dict[str, str] = {}
    for name, value in pairs:
        if value in owner:
            raise LockfileError(
                f"{owner[value]!r} and {name!r} record the same {what} {value!r}",
                where=where(name),
                hint=_HINT,
            )
        owner[value] = name


def _check_superseded(lock: Lockfile, where: Locator) -> None:
    live = {entry.pid: key for key, entry in lock.datasets.items()}
    for key, entry in lock.datasets.items():
        for pid in entry.supersedes:
            if pid in live:
                raise LockfileError(
                    f"dataset {key!r} records that it replaced {pid}, which is the live "
                    f"dataset of {live[pid]!r}",
                    where=where(("datasets", key, "supersedes")),
                    hint=_HINT,
                )


def _check_downloads_agree(lock: Lockfile, where: Locator) -> None:
    counts = Counter(download.pid for download in lock.downloads.values())
    pinned: dict[tuple[str, str], tuple[str, LockedFile]] = {}
    for key, download in lock.downloads.items():
        if counts[download.pid] == 1:
            continue  # the only download of its dataset: nothing to agree with
        for file in download.files:
            first = pinned.setdefault((download.pid, file.path), (key, file))
            if (first[1].size, first[1].blake3) != (file.size, file.blake3):
                raise LockfileError(
                    f"downloads {first[0]!r} and {key!r} pin different content for file "
                    f"{file.path!r} of dataset {download.pid}",
                    where=where(("downloads", key, "files")),
                    hint=_HINT,
                )


def entry_locator(source: str, text: str | Callable[[], str] | None) -> Locator:
    """A :data:`Locator` for lockfile *text* read from *source* (or a function that
    decodes it: called only for an error)."""

    def where(parts: tuple[str, ...]) -> str:
        path = "$." + ".".join(parts)
        found = None
        if text is not None:
            found = locate(text if isinstance(text, str) else text(), parts)
        return f"{source}:{found[0]}:{found[1]}: {path}" if found else f"{source}: {path}"

    return where


__all__ = ["Locator", "check_consistent", "check_file_tree", "entry_locator"]

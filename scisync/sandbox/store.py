"""Persistence: one JSON document per row in SQLite (WAL), per collection.

Reads run concurrently (one connection per thread); writes are serialised by a lock so
that read-modify-write sequences (a block updating its dataset's counters) are atomic.
``refs`` indexes the links clients filter on most (a block's ``datasetId``, an
attachment's ``relationships.targetId``) and the dataset fields list queries narrow by
(:data:`INDEXED`: the scisync marker, proposal ids, ...) so batched lookups read only the
documents they answer with, not every body in the store.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from scisync.sandbox.filters import strings_at

DB_FILE = "sandbox.sqlite3"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS docs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    collection TEXT NOT NULL,
    id TEXT NOT NULL,
    body TEXT NOT NULL,
    access TEXT NOT NULL DEFAULT '{}',
    UNIQUE (collection, id)
);
CREATE TABLE IF NOT EXISTS refs (
    collection TEXT NOT NULL,
    ref TEXT NOT NULL,
    doc_id TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS refs_by_ref ON refs (collection, ref);
CREATE INDEX IF NOT EXISTS refs_by_doc ON refs (collection, doc_id);
CREATE TABLE IF NOT EXISTS briefs (
    seq INTEGER PRIMARY KEY,
    collection TEXT NOT NULL,
    id TEXT NOT NULL,
    access TEXT NOT NULL,
    brief TEXT NOT NULL,
    name TEXT,
    type TEXT,
    owner TEXT,
    created TEXT,
    size INTEGER,
    text TEXT NOT NULL,
    UNIQUE (collection, id)
);
CREATE INDEX IF NOT EXISTS briefs_by_access ON briefs (collection, access);
CREATE INDEX IF NOT EXISTS briefs_by_created ON briefs (collection, created);
CREATE INDEX IF NOT EXISTS briefs_by_name ON briefs (collection, name);
"""

_CHUNK = 500  # stay well below SQLite's bound-parameter limit


LAYOUT_VERSION = 3
"""Bumped when the tables change shape; a data folder of another layout is refused, not
misread (an index that silently comes back empty would hide every origdatablock).
Layouts 1 (no ``briefs`` table, no links in ``refs``) and 2 (no :data:`INDEXED` fields in
``refs``) are upgraded in place from the bodies."""
_UPGRADABLE = frozenset({1, 2})


class IncompatibleDataFolder(Exception):
    """The data folder was written by a sandbox with another table layout."""


class DuplicateId(Exception):
    """A document with this id already exists in the collection."""


class Store:
    """JSON documents keyed by (collection, id)."""

    def __init__(self, data_dir: Path) -> None:
        self._path = data_dir / DB_FILE
        self._local = threading.local()
        self._write_lock = threading.RLock()
        self._all: list[sqlite3.Connection] = []
        self._all_lock = threading.Lock()
        with self._connection() as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            self._check_layout(conn)
            (version,) = conn.execute("PRAGMA user_version").fetchone()
            conn.executescript(_SCHEMA)
            columns = {row[1] for row in conn.execute("PRAGMA table_info(docs)")}
            if "access" not in columns:  # a data folder from before the column existed
                conn.execute("ALTER TABLE docs ADD COLUMN access TEXT NOT NULL DEFAULT '{}'")
            if version == 1:
                _fill_briefs(conn)
            if version in _UPGRADABLE:
                _fill_index(conn)
            conn.execute(f"PRAGMA user_version={LAYOUT_VERSION}")
            conn.commit()

    def _check_layout(self, conn: sqlite3.Connection) -> None:
        (version,) = conn.execute("PRAGMA user_version").fetchone()
        if version == LAYOUT_VERSION or version in _UPGRADABLE:
            return
        has_documents = (
            conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type='table' AND name='docs'"
            ).fetchone()
            is not None
            and conn.execute("SELECT 1 FROM docs LIMIT 1").fetchone()
        )
        if version == 0 and not has_documents:
            return  # a new data folder
        raise IncompatibleDataFolder(
            f"{self._path} was written by a sandbox with table layout {version}, this one "
            f"uses layout {LAYOUT_VERSION}"
        )

    def _connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self._path, timeout=30, check_same_thread=False)
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA busy_timeout=30000")
            self._local.conn = conn
            with self._all_lock:
                self._all.append(conn)
        return conn

    def release_thread(self) -> None:
        """Close the calling thread's connection (each HTTP connection has its own thread)."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            return
        self._local.conn = None
        with self._all_lock:
            if conn in self._all:
                self._all.remove(conn)
        with contextlib.suppress(sqlite3.Error):
            conn.close()

    def open_connections(self) -> int:
        with self._all_lock:
            return len(self._all)

    def close(self) -> None:
        with self._all_lock:
            for conn in self._all:
                with contextlib.suppress(sqlite3.Error):
                    conn.close()
            self._all.clear()
        self._local = threading.local()

    @contextlib.contextmanager
    def write(self) -> Iterator[Writer]:
        """A write transaction; everything inside commits together or not at all."""
        with self._write_lock:
            conn = self._connection()
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield Writer(conn)
            except BaseException:
                conn.rollback()
                raise
            conn.commit()

    # --- reads ------------------------------------------------------------------------
    def get(self, collection: str, doc_id: str) -> dict[str, Any] | None:
        row = (
            self._connection()
            .execute("SELECT body FROM docs WHERE collection=? AND id=?", (collection, doc_id))
            .fetchone()
        )
        return None if row is None else _load(row[0])

    def all(self, collection: str) -> list[dict[str, Any]]:
        rows = self._connection().execute(
            "SELECT body FROM docs WHERE collection=? ORDER BY seq", (collection,)
        )
        return [_load(body) for (body,) in rows]

    def _rows_in(
        self, sql: str, params: Sequence[Any], values: Sequence[str]
    ) -> Iterator[tuple[Any, ...]]:
        """The rows of *sql* for all of *values*: its ``IN ({marks})`` is run on chunks of
        them, bound after *params* (SQLite bounds the number of parameters)."""
        for start in range(0, len(values), _CHUNK):
            chunk = values[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            yield from self._connection().execute(sql.replace("{marks}", marks), (*params, *chunk))

    def by_ids(self, collection: str, ids: Iterable[str]) -> list[dict[str, Any]]:
        found: list[tuple[int, dict[str, Any]]] = []
        wanted = list(dict.fromkeys(ids))
        rows = self._rows_in(
            "SELECT seq, body FROM docs WHERE collection=? AND id IN ({marks})",
            (collection,),
            wanted,
        )
        found.extend((seq, _load(body)) for seq, body in rows)
        return [doc for _, doc in sorted(found, key=lambda pair: pair[0])]

    def by_refs(self, collection: str, refs: Iterable[str]) -> list[dict[str, Any]]:
        """Documents linked (see :meth:`Writer.put`) to any of *refs*, in insertion order."""
        found: dict[int, dict[str, Any]] = {}
        wanted = list(dict.fromkeys(refs))
        rows = self._rows_in(
            "SELECT DISTINCT d.seq, d.body FROM refs r JOIN docs d"
            " ON d.collection=r.collection AND d.id=r.doc_id"
            " WHERE r.collection=? AND r.ref IN ({marks})",
            (collection,),
            wanted,
        )
        for seq, body in rows:
            if seq not in found:
                found[seq] = _load(body)
        return [found[seq] for seq in sorted(found)]

    def by_index(self, collection: str, path: str, values: Iterable[str]) -> list[dict[str, Any]]:
        """Documents of *collection* with one of the strings *values* at the :data:`INDEXED`
        *path* (as :func:`~scisync.sandbox.filters.strings_at` finds them), in insertion order.

        Exactly the documents a ``where`` of ``{path: {"$in": values}}`` matches.
        """
        if path not in INDEXED.get(collection, ()):
            raise ValueError(f"{collection}.{path} is not indexed")
        found: dict[int, str] = {}
        wanted = list(dict.fromkeys(values))
        rows = self._rows_in(
            "SELECT d.seq, d.body FROM refs r JOIN docs d ON d.collection=? AND d.id=r.doc_id"
            " WHERE r.collection=? AND r.ref IN ({marks})",
            (collection, _index_of(collection, path)),
            wanted,
        )
        found.update(rows)
        return [_load(found[seq]) for seq in sorted(found)]

    def access_counts(self, collection: str) -> list[tuple[str, int]]:
        """``(access JSON, documents)`` per distinct stored access of a :data:`LISTED`
        collection: few rows (a catalogue has few combinations), read from an index."""
        rows = self._connection().execute(
            "SELECT access, count(*) FROM briefs WHERE collection=? GROUP BY access",
            (collection,),
        )
        return [(str(access), int(count)) for access, count in rows]

    def by_access(self, collection: str, accesses: Sequence[str]) -> list[dict[str, Any]]:
        """Documents of a :data:`LISTED` collection whose stored access JSON is one of
        *accesses* (from :meth:`access_counts`), in insertion order."""
        found: dict[int, str] = {}
        rows = self._rows_in(
            "SELECT d.seq, d.body FROM briefs b JOIN docs d ON d.seq=b.seq"
            " WHERE b.collection=? AND b.access IN ({marks})",
            (collection,),
            accesses,
        )
        found.update(rows)
        return [_load(found[seq]) for seq in sorted(found)]

    def by_refs_raw(
        self, collection: str, refs: Iterable[str]
    ) -> list[tuple[str, dict[str, Any], str]]:
        """Like :meth:`by_refs` but unparsed: ``(ref, access fields, JSON text)``.

        Large includes (1,000 blocks of 100 files) are spliced into responses as stored,
        which saves parsing and re-serialising megabytes per request.
        """
        found: list[tuple[int, str, dict[str, Any], str]] = []
        wanted = list(dict.fromkeys(refs))
        rows = self._rows_in(
            "SELECT d.seq, r.ref, d.access, d.body FROM refs r JOIN docs d"
            " ON d.collection=r.collection AND d.id=r.doc_id"
            " WHERE r.collection=? AND r.ref IN ({marks})",
            (collection,),
            wanted,
        )
        found.extend((seq, ref, _load(access), body) for seq, ref, access, body in rows)
        found.sort(key=lambda row: row[0])
        return [(ref, access, body) for _, ref, access, body in found]

    def by_refs_fields(
        self, collection: str, refs: Iterable[str], fields: Sequence[str]
    ) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
        """Like :meth:`by_refs_raw`, each document projected to *fields* (and ``_id``,
        as a MongoDB projection keeps it): ``(ref, access fields, projection)``.

        SQLite reads the fields out of the stored JSON, so a projection that leaves out a
        block's file list never parses it.  Dotted names select nested values."""
        names = list(dict.fromkeys(["_id", *fields]))
        paths = ["$" + "".join(f'."{part}"' for part in name.split(".")) for name in names]
        if any('"' in name or not name for name in names):
            raise ValueError(f"unsupported field name in {names!r}")
        columns = ", ".join("json_type(d.body, ?), d.body -> ?" for _ in paths)
        selected = [value for path in paths for value in (path, path)]
        found: list[tuple[int, str, dict[str, Any], dict[str, Any]]] = []
        wanted = list(dict.fromkeys(refs))
        rows = self._rows_in(
            f"SELECT d.seq, r.ref, d.access, {columns} FROM refs r JOIN docs d"
            " ON d.collection=r.collection AND d.id=r.doc_id"
            " WHERE r.collection=? AND r.ref IN ({marks})",
            (*selected, collection),
            wanted,
        )
        for seq, ref, access, *values in rows:
            projected: dict[str, Any] = {}
            for name, kind, text in zip(names, values[::2], values[1::2], strict=True):
                if kind is not None:
                    _put(projected, name.split("."), json.loads(text))
            found.append((seq, ref, _load(access), projected))
        found.sort(key=lambda row: row[0])
        return [(ref, access, projected) for _, ref, access, projected in found]

    def select(
        self,
        collection: str,
        columns: str,
        where: str,
        params: Sequence[Any],
        tail: str = "",
    ) -> list[tuple[Any, ...]]:
        """``SELECT columns FROM briefs`` of *collection* ``WHERE`` *where* ``tail``.

        For tables over many documents (the web page): each row has ``seq``, ``id`` and the
        columns :func:`_brief` fills (``access`` and ``brief`` are JSON).  *columns*,
        *where* and *tail* are fixed SQL text from the caller's code with ``?``
        placeholders; every value goes in *params*.
        """
        rows = self._connection().execute(
            f"SELECT {columns} FROM briefs WHERE collection=? AND ({where}) {tail}",
            (collection, *params),
        )
        return list(rows)

    def referring(self, collection: str, key: str) -> list[dict[str, Any]]:
        """Documents of *collection* whose ``inputDatasets`` or ``sampleIds`` hold *key*
        (the datasets derived from a dataset, the datasets of a sample), in insertion order."""
        rows = self._connection().execute(
            "SELECT DISTINCT d.seq, d.body FROM refs r JOIN docs d"
            " ON d.collection=? AND d.id=r.doc_id WHERE r.collection=? AND r.ref=? ORDER BY d.seq",
            (collection, _links_of(collection), key),
        )
        return [_load(body) for _, body in rows]

    def mentioning(self, collection: str, value: str) -> list[dict[str, Any]]:
        """Documents of *collection* whose stored JSON holds the string *value* somewhere,
        in insertion order: a cheap pre-filter (SQLite compares text, no body is parsed
        unless it matches); callers check the field they mean on what comes back."""
        rows = self._connection().execute(
            "SELECT body FROM docs WHERE collection=? AND instr(body, ?) > 0 ORDER BY seq",
            (collection, json.dumps(value, ensure_ascii=False)),
        )
        return [_load(body) for (body,) in rows]


class Writer:
    """Write operations inside one transaction (see :meth:`Store.write`)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def insert(
        self, collection: str, doc_id: str, doc: dict[str, Any], refs: Iterable[str] = ()
    ) -> None:
        try:
            cursor = self._conn.execute(
                "INSERT INTO docs (collection, id, body, access) VALUES (?, ?, ?, ?)",
                (collection, doc_id, _dump(doc), _access(doc)),
            )
        except sqlite3.IntegrityError:
            raise DuplicateId(doc_id) from None
        if collection in LISTED:
            self._conn.execute(
                f"INSERT INTO briefs (seq, collection, id, {_BRIEF_COLUMNS})"
                f" VALUES (?, ?, ?{_BRIEF_MARKS})",
                (cursor.lastrowid, collection, doc_id, *_brief(doc)),
            )
            _set_links(self._conn, collection, doc_id, doc)
        _set_index(self._conn, collection, doc_id, doc)
        self._set_refs(collection, doc_id, refs)

    def replace(
        self, collection: str, doc_id: str, doc: dict[str, Any], refs: Iterable[str] | None = None
    ) -> None:
        self._conn.execute(
            "UPDATE docs SET body=?, access=? WHERE collection=? AND id=?",
            (_dump(doc), _access(doc), collection, doc_id),
        )
        if collection in LISTED:
            self._conn.execute(
                f"UPDATE briefs SET ({_BRIEF_COLUMNS}) = ({_BRIEF_MARKS[2:]})"
                " WHERE collection=? AND id=?",
                (*_brief(doc), collection, doc_id),
            )
            _set_links(self._conn, collection, doc_id, doc)
        _set_index(self._conn, collection, doc_id, doc)
        if refs is not None:
            self._set_refs(collection, doc_id, refs)

    def delete(self, collection: str, doc_id: str) -> None:
        self._conn.execute("DELETE FROM docs WHERE collection=? AND id=?", (collection, doc_id))
        self._conn.execute("DELETE FROM briefs WHERE collection=? AND id=?", (collection, doc_id))
        for indexed in (_links_of(collection), *_indexes_of(collection)):
            self._conn.execute(
                "DELETE FROM refs WHERE collection=? AND doc_id=?", (indexed, doc_id)
            )
        self._conn.execute("DELETE FROM refs WHERE collection=? AND doc_id=?", (collection, doc_id))

    def _set_refs(self, collection: str, doc_id: str, refs: Iterable[str]) -> None:
        self._conn.execute("DELETE FROM refs WHERE collection=? AND doc_id=?", (collection, doc_id))
        self._conn.executemany(
            "INSERT INTO refs (collection, ref, doc_id) VALUES (?, ?, ?)",
            [(collection, ref, doc_id) for ref in dict.fromkeys(refs)],
        )


def _dump(doc: dict[str, Any]) -> str:
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False)


ACCESS_FIELDS = ("ownerGroup", "accessGroups", "isPublished", "sharedWith")


def _access(doc: dict[str, Any]) -> str:
    """The fields read access depends on, kept beside the body to check without parsing it."""
    return _dump({k: doc[k] for k in ACCESS_FIELDS if k in doc})


# What tables of many documents show, search and sort on (the sandbox's web page), kept
# in the narrow ``briefs`` table: a page over 100,000 datasets never reads the bodies.
# Only the collections the page lists have briefs (and links): blocks and attachments,
# written far more often, pay nothing for it.
LISTED = frozenset({"datasets", "samples"})
_BRIEF_FIELDS = ("description", "keywords", "numberOfFiles", "sampleId", "isPublished")
_BRIEF_DESCRIPTION = 300  # characters of the description a table shows
_BRIEF_COLUMNS = "access, brief, name, type, owner, created, size, text"
_BRIEF_MARKS = ", ?" * 8


def _brief(doc: dict[str, Any]) -> tuple[Any, ...]:
    """The ``briefs`` columns of *doc*, in ``_BRIEF_COLUMNS`` order."""
    shown = {k: doc[k] for k in _BRIEF_FIELDS if k in doc}
    description = doc.get("description")
    if isinstance(description, str):
        shown["description"] = description[:_BRIEF_DESCRIPTION]
    name = doc.get("datasetName", doc.get("sampleName"))
    keywords = doc.get("keywords")
    words = [str(k) for k in keywords] if isinstance(keywords, list) else []
    # case-insensitive search text, folded here: SQLite's lower() and LIKE fold ASCII only
    searched = [name, description, *words]
    size = doc.get("size")
    return (
        _access(doc),
        _dump(shown),
        name if isinstance(name, str) else None,
        str(doc["type"]) if isinstance(doc.get("type"), str) else None,
        str(doc["ownerGroup"]) if isinstance(doc.get("ownerGroup"), str) else None,
        str(doc.get("creationTime") or doc.get("createdAt") or "") or None,
        size if isinstance(size, int) and not isinstance(size, bool) else None,
        "\n".join(t for t in searched if isinstance(t, str)).casefold(),
    )


# Lists of ids a document points to, indexed in ``refs`` under "<collection>#links" so the
# reverse direction (what was derived from this dataset) needs no scan of every body.
_LINK_FIELDS = ("inputDatasets", "sampleIds")


def _links_of(collection: str) -> str:
    return f"{collection}#links"


def _set_links(conn: sqlite3.Connection, collection: str, doc_id: str, doc: dict[str, Any]) -> None:
    links = _links_of(collection)
    conn.execute("DELETE FROM refs WHERE collection=? AND doc_id=?", (links, doc_id))
    targets = [
        value
        for name in _LINK_FIELDS
        if isinstance(doc.get(name), list)
        for value in doc[name]
        if isinstance(value, str)
    ]
    conn.executemany(
        "INSERT INTO refs (collection, ref, doc_id) VALUES (?, ?, ?)",
        [(links, target, doc_id) for target in dict.fromkeys(targets)],
    )


# Fields list queries narrow by, per collection: every string at the path (array elements
# included, as the ``where`` engine walks it) is a row in ``refs`` under
# "<collection>@<path>".  The scisync marker is what every plan looks datasets up by; the
# others are what ``fullquery`` forms and download queries select on.  No Date fields:
# their conditions compare parsed moments, not strings.
INDEXED: dict[str, tuple[str, ...]] = {
    "datasets": (
        "scientificMetadata.scisync_marker",
        "proposalIds",
        "sourceFolder",
        "sampleIds",
        "ownerGroup",
        "type",
    ),
}


def _index_of(collection: str, path: str) -> str:
    return f"{collection}@{path}"


def _indexes_of(collection: str) -> list[str]:
    return [_index_of(collection, path) for path in INDEXED.get(collection, ())]


def _set_index(conn: sqlite3.Connection, collection: str, doc_id: str, doc: dict[str, Any]) -> None:
    rows: list[tuple[str, str, str]] = []
    for path in INDEXED.get(collection, ()):
        index = _index_of(collection, path)
        conn.execute("DELETE FROM refs WHERE collection=? AND doc_id=?", (index, doc_id))
        rows.extend((index, value, doc_id) for value in strings_at(doc, path))
    conn.executemany("INSERT INTO refs (collection, ref, doc_id) VALUES (?, ?, ?)", rows)


def _fill_index(conn: sqlite3.Connection) -> None:
    for collection in INDEXED:
        rows = conn.execute("SELECT id, body FROM docs WHERE collection=?", (collection,))
        for doc_id, body in rows.fetchall():
            _set_index(conn, collection, doc_id, _load(body))


def _fill_briefs(conn: sqlite3.Connection) -> None:
    marks = ",".join("?" * len(LISTED))
    rows = conn.execute(
        f"SELECT seq, collection, id, body FROM docs WHERE collection IN ({marks})", sorted(LISTED)
    )
    for seq, collection, doc_id, body in rows.fetchall():
        doc = _load(body)
        _set_links(conn, collection, doc_id, doc)
        conn.execute(
            f"INSERT OR REPLACE INTO briefs (seq, collection, id, {_BRIEF_COLUMNS})"
            f" VALUES (?, ?, ?{_BRIEF_MARKS})",
            (seq, collection, doc_id, *_brief(doc)),
        )


def _put(target: dict[str, Any], parts: list[str], value: Any) -> None:
    for part in parts[:-1]:
        target = target.setdefault(part, {})
    target[parts[-1]] = value


def _load(body: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(body)
    return doc

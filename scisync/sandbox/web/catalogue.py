"""The datasets table: search, filters, sort and pages over what the caller may read.

At 100,000 datasets, parsing every stored body per page view takes seconds, so the table
reads the store's narrow ``briefs`` rows, and SQLite does the search, sorting and paging.
Who may see what is the API's own list rule (``Access.read_clause``), so the page lists
exactly the datasets the API would list for the same caller.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from scisync.sandbox.access import Access
from scisync.sandbox.auth import Caller
from scisync.sandbox.endpoints.base import DATASET_DATES
from scisync.sandbox.filters import Matcher
from scisync.sandbox.store import Store

DATASETS = "datasets"
_MATCHER = Matcher(DATASET_DATES)
PER_PAGE = 25
MAX_TEXT = 200  # longer search text is refused (a page, not a query engine)
MAX_PAGE = 100_000
# columns whose first click sorts newest or largest first (every table, and _sorthead.html)
DESCENDING_FIRST = frozenset({"created", "size", "year"})

# column name in the URL -> stored field it sorts on
SORTS: dict[str, str] = {
    "name": "datasetName",
    "created": "creationTime",
    "type": "type",
    "group": "ownerGroup",
    "size": "size",
}


class BadQuery(ValueError):
    """A table parameter out of range; the page says which."""


@dataclass(frozen=True)
class TableQuery:
    """What the visitor asked the table for (all parameters optional in the URL)."""

    text: str = ""
    type: str = ""
    group: str = ""
    published_only: bool = False
    sort: str = "created"
    descending: bool = True
    page: int = 1


@dataclass(frozen=True)
class DatasetRow:
    pid: str
    name: str
    description: str
    keywords: tuple[str, ...]
    type: str
    owner_group: str
    creation_time: str
    size: int
    files: int
    published: bool


@dataclass(frozen=True)
class TablePage:
    rows: tuple[DatasetRow, ...]
    total: int
    page: int
    pages: int
    types: tuple[str, ...]  # choices for the type filter, among the readable datasets
    groups: tuple[str, ...]  # choices for the owner group filter


def one(query: dict[str, list[str]], name: str) -> str:
    values = query.get(name)
    return values[-1].strip() if values else ""


def parse_table_query(query: dict[str, list[str]], *, published_only: bool = False) -> TableQuery:
    """The URL's parameters, checked: every one has a default, a bound and one meaning."""
    text, sort, descending, page = parse_common(query, SORTS)
    return TableQuery(
        text=text,
        type=one(query, "type")[:MAX_TEXT],
        group=one(query, "group")[:MAX_TEXT],
        published_only=published_only,
        sort=sort,
        descending=descending,
        page=page,
    )


def parse_common(
    query: dict[str, list[str]], sorts: Collection[str], default_sort: str = "created"
) -> tuple[str, str, bool, int]:
    """Search text, sort column, descending?, page: the parameters every table takes."""
    text = one(query, "q")
    if len(text) > MAX_TEXT:
        raise BadQuery(f"the search text is longer than {MAX_TEXT} characters")
    sort = one(query, "sort") or default_sort
    if sort not in sorts:
        raise BadQuery(f"cannot sort by {sort!r}; choose one of {', '.join(sorts)}")
    order = one(query, "order") or ("desc" if sort in DESCENDING_FIRST else "asc")
    if order not in ("asc", "desc"):
        raise BadQuery("order must be asc or desc")
    page_text = one(query, "page") or "1"
    if not page_text.isdigit() or not 1 <= int(page_text) <= MAX_PAGE:
        raise BadQuery(f"page must be a number from 1 to {MAX_PAGE}")
    return text, sort, order == "desc", int(page_text)


def readable_access(
    store: Store, access: Access, caller: Caller, where: Any, collection: str = DATASETS
) -> list[str]:
    """The distinct stored ``access`` values whose datasets *caller* may list.

    A catalogue has few distinct combinations of owner group, access groups, published
    flag and shares, so the API's own rule (``read_clause``, through the API's ``where``
    engine) runs once per combination, not once per dataset; SQLite then selects the rows
    by the index on ``access``.
    """
    read = access.read_clause(caller)
    clauses = [c for c in (read, where) if c]
    combined = {"$and": clauses} if clauses else {}
    texts = [text for (text,) in store.select(collection, "DISTINCT access", "1", [])]
    docs = [json.loads(text) for text in texts]
    chosen = {id(doc) for doc in _MATCHER.select(docs, combined)}
    return [text for text, doc in zip(texts, docs, strict=True) if id(doc) in chosen]


_ORDER_SQL = {
    "name": "name COLLATE NOCASE",
    "created": "created",
    "type": "type",
    "group": "owner",
    "size": "size",
}


def _filters(query: TableQuery) -> tuple[str, list[Any]]:
    parts: list[str] = []
    params: list[Any] = []
    if query.text:
        parts.append("instr(text, ?) > 0")
        params.append(query.text.casefold())
    if query.type:
        parts.append("type = ?")
        params.append(query.type)
    if query.group:
        parts.append("owner = ?")
        params.append(query.group)
    return " AND ".join(parts) or "1", params


def _in(column: str, values: list[str]) -> str:
    return f"{column} IN ({','.join('?' * len(values))})" if values else "0"


def table(
    store: Store, access: Access, caller: Caller, query: TableQuery, collection: str = DATASETS
) -> TablePage:
    """One page of the datasets (or samples) table as *caller* may see it."""
    published = {"isPublished": True} if query.published_only else None
    allowed = readable_access(store, access, caller, published, collection)
    read_sql = _in("access", allowed)
    choices = store.select(collection, "DISTINCT type, owner", read_sql, allowed)
    types = tuple(sorted({str(t) for t, _ in choices if t}))
    groups = tuple(sorted({str(g) for _, g in choices if g}))
    filter_sql, filter_params = _filters(query)
    where = f"{read_sql} AND {filter_sql}"
    params = [*allowed, *filter_params]
    ((total,),) = store.select(collection, "count(*)", where, params)
    pages = max(1, -(-total // PER_PAGE))
    page = min(query.page, pages)
    direction = "DESC" if query.descending else "ASC"
    rows = store.select(
        collection,
        "id, access, brief, name, type, owner, created, size",
        where,
        [*params, PER_PAGE, (page - 1) * PER_PAGE],
        f"ORDER BY {_ORDER_SQL[query.sort]} {direction}, seq {direction} LIMIT ? OFFSET ?",
    )
    return TablePage(tuple(_row(*r) for r in rows), total, page, pages, types, groups)


def _row(
    pid: str,
    access_text: str,
    brief_text: str,
    name: str | None,
    type_: str | None,
    owner: str | None,
    created: str | None,
    size: int | None,
) -> DatasetRow:
    access: dict[str, Any] = json.loads(access_text)
    brief: dict[str, Any] = json.loads(brief_text)
    keywords = brief.get("keywords")
    files = brief.get("numberOfFiles")
    return DatasetRow(
        pid=pid,
        name=name or "",
        description=str(brief.get("description") or ""),
        keywords=tuple(str(k) for k in keywords) if isinstance(keywords, list) else (),
        type=type_ or "",
        owner_group=owner or "",
        creation_time=created or "",
        size=size or 0,
        files=files if isinstance(files, int) else 0,
        published=access.get("isPublished") is True,
    )

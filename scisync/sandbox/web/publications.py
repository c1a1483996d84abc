"""Published data (SciCat's DOI records) on the web page: the table and a record's page.

Who sees which record is the API's own rule (``Access.published_data_clause``), the one the
``/v4/publisheddata`` list applies: anonymous visitors see ``registered`` records only,
signed-in ones also ``public`` and ``amended`` records and the ``private`` ones they
created, admins everything.  Records are few next to datasets (one per paper), so the table
reads them whole, as the API's list does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from scisync.sandbox import dto
from scisync.sandbox.access import Access
from scisync.sandbox.auth import Caller
from scisync.sandbox.endpoints.published_data import PUBLISHED_DATA, PUBLISHED_DATA_DATES
from scisync.sandbox.filters import Matcher
from scisync.sandbox.store import Store
from scisync.sandbox.web.catalogue import MAX_TEXT, PER_PAGE, one, parse_common
from scisync.sandbox.web.views import DATASETS, MAX_LINKED, Link, Views, shown

_MATCHER = Matcher(PUBLISHED_DATA_DATES)
STATUSES = dto.PUBLISHED_DATA_STATUSES  # in lifecycle order, which is how they sort
SORTS = ("title", "creators", "year", "status", "doi", "created")
MAX_CREATORS_LISTED = 3  # in a table row; the record page names them all
# top-level fields a record page shows in their own places rather than in "All fields"
_PLACED = frozenset({"_id", "title", "abstract", "doi", "status", "datasetPids", "metadata"})
# metadata a record page shows in its summary rather than under "Metadata"
_PLACED_METADATA = frozenset({"creators", "publisher", "publicationYear", "resourceType"})


def publication_href(doi: str) -> str:
    return "/publisheddata/" + quote(doi, safe="")


@dataclass(frozen=True)
class PublishedQuery:
    text: str = ""
    status: str = ""
    sort: str = "year"
    descending: bool = True
    page: int = 1

    def params(self) -> dict[str, Any]:
        return {
            "q": self.text,
            "status": self.status,
            "sort": self.sort,
            "order": "desc" if self.descending else "asc",
            "page": self.page,
        }


@dataclass(frozen=True)
class PublishedRow:
    doi: str
    title: str
    status: str
    year: str
    creators: tuple[str, ...]  # the first few
    more_creators: int  # how many more there are


@dataclass(frozen=True)
class PublishedPage:
    rows: tuple[PublishedRow, ...]
    total: int
    page: int
    pages: int
    statuses: tuple[str, ...]  # choices for the status filter, among the visible records


@dataclass(frozen=True)
class PublicationView:
    doi: str
    title: str
    abstract: str
    status: str
    year: str
    creators: tuple[str, ...]
    publisher: str
    resource_type: str
    datasets: tuple[Link, ...]
    datasets_total: int
    metadata: tuple[tuple[str, str], ...]  # the rest of ``metadata``, as text
    fields: tuple[tuple[str, str], ...]  # the rest of the record, as text


def parse_published_query(query: dict[str, list[str]]) -> PublishedQuery:
    text, sort, descending, page = parse_common(query, SORTS, default_sort="year")
    return PublishedQuery(text, one(query, "status")[:MAX_TEXT], sort, descending, page)


def _metadata(record: dict[str, Any]) -> dict[str, Any]:
    metadata = record.get("metadata")
    return metadata if isinstance(metadata, dict) else {}


def creator_names(record: dict[str, Any]) -> tuple[str, ...]:
    """Each creator's name: ``name``, else given and family name, else the entry as text."""
    creators = _metadata(record).get("creators")
    if not isinstance(creators, list):
        return () if creators is None else (shown(creators),)
    names = []
    for creator in creators:
        if isinstance(creator, dict) and isinstance(creator.get("name"), str):
            names.append(creator["name"])
        elif isinstance(creator, dict) and (creator.get("givenName") or creator.get("familyName")):
            parts = (creator.get("givenName"), creator.get("familyName"))
            names.append(" ".join(shown(p) for p in parts if p))
        else:
            names.append(shown(creator))
    return tuple(names)


def _year(record: dict[str, Any]) -> int | None:
    year = _metadata(record).get("publicationYear")
    if isinstance(year, str) and year.strip().isdecimal() and len(year.strip()) <= 6:
        return int(year)
    return year if isinstance(year, int) and not isinstance(year, bool) else None


def _year_text(record: dict[str, Any]) -> str:
    year = _metadata(record).get("publicationYear")
    return "" if year is None else shown(year)


def _named(value: Any) -> str:
    """A publisher (``{name, ...}`` or plain text) as text."""
    if isinstance(value, dict) and isinstance(value.get("name"), str):
        return str(value["name"])
    return "" if value is None else shown(value)


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _text(record: dict[str, Any], name: str) -> str:
    value = record.get(name)
    return "" if value is None else shown(value)


def _sort_key(sort: str) -> Any:
    """What a column sorts on; None: the record has no value there (listed last)."""
    keys: dict[str, Any] = {
        "title": lambda r: _text(r, "title").casefold(),
        "creators": lambda r: "; ".join(creator_names(r)).casefold() or None,
        "year": _year,
        "status": lambda r: STATUSES.index(r["status"]) if r.get("status") in STATUSES else None,
        "doi": lambda r: _text(r, "doi"),
        "created": lambda r: _text(r, "createdAt") or None,
    }
    return keys[sort]


def _ordered(records: list[dict[str, Any]], query: PublishedQuery) -> list[dict[str, Any]]:
    """Sorted by the chosen column, then newest first; records without a value go last."""
    key = _sort_key(query.sort)
    records = sorted(records, key=lambda r: _text(r, "createdAt"), reverse=True)
    present = [r for r in records if key(r) is not None]
    missing = [r for r in records if key(r) is None]
    return sorted(present, key=key, reverse=query.descending) + missing


def _searched(record: dict[str, Any]) -> str:
    parts = [_text(record, "title"), _text(record, "abstract"), _text(record, "doi")]
    parts += creator_names(record)
    parts.append(_named(_metadata(record).get("publisher")))
    return "\n".join(parts).casefold()


def _row(record: dict[str, Any]) -> PublishedRow:
    names = creator_names(record)
    return PublishedRow(
        doi=_text(record, "doi"),
        title=_text(record, "title"),
        status=_text(record, "status"),
        year=_year_text(record),
        creators=names[:MAX_CREATORS_LISTED],
        more_creators=max(0, len(names) - MAX_CREATORS_LISTED),
    )


class Publications:
    """Published-data records as one visitor may see them."""

    def __init__(self, store: Store, access: Access, views: Views) -> None:
        self.store = store
        self.access = access
        self.views = views

    def visible(self, caller: Caller, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The records *caller* may see: the API list's rule (``published_data_clause``)."""
        clause = self.access.published_data_clause(caller, listing=True)
        return records if clause is None else _MATCHER.select(records, clause)

    def table(self, caller: Caller, query: PublishedQuery) -> PublishedPage:
        records = self.visible(caller, self.store.all(PUBLISHED_DATA))
        statuses = tuple(s for s in STATUSES if any(r.get("status") == s for r in records))
        if query.status:
            records = [r for r in records if r.get("status") == query.status]
        if query.text:
            wanted = query.text.casefold()
            records = [r for r in records if wanted in _searched(r)]
        pages = max(1, -(-len(records) // PER_PAGE))
        page = min(query.page, pages)
        chosen = _ordered(records, query)[(page - 1) * PER_PAGE : page * PER_PAGE]
        return PublishedPage(tuple(_row(r) for r in chosen), len(records), page, pages, statuses)

    def record(self, caller: Caller, doi: str) -> PublicationView | None:
        found = self.store.get(PUBLISHED_DATA, doi)
        if found is None or not self.visible(caller, [found]):
            return None
        metadata = _metadata(found)
        pids = [shown(p) for p in _list(found.get("datasetPids"))]
        return PublicationView(
            doi=doi,
            title=_text(found, "title"),
            abstract=_text(found, "abstract"),
            status=_text(found, "status"),
            year=_year_text(found),
            creators=creator_names(found),
            publisher=_named(metadata.get("publisher")),
            resource_type=_named(metadata.get("resourceType")),
            datasets=self.views.links(caller, DATASETS, pids[:MAX_LINKED]),
            datasets_total=len(pids),
            metadata=tuple(
                (k, shown(metadata[k])) for k in sorted(metadata) if k not in _PLACED_METADATA
            ),
            fields=tuple((k, shown(found[k])) for k in sorted(found) if k not in _PLACED),
        )

    def citing(self, caller: Caller, pid: str) -> tuple[Link, ...]:
        """The records the visitor may see whose ``datasetPids`` name dataset *pid*."""
        mentioning = self.store.mentioning(PUBLISHED_DATA, pid)
        citing = [r for r in mentioning if pid in _list(r.get("datasetPids"))]
        links = []
        for record in self.visible(caller, citing)[:MAX_LINKED]:
            doi = _text(record, "doi")
            label = _text(record, "title") or doi
            links.append(Link(f"{label} (doi:{doi})", publication_href(doi)))
        return tuple(links)

"""A typed SciCat REST client: the only module that talks HTTP to SciCat.

Reads are batched: looking up N datasets costs ``ceil(N / chunk)`` list queries with
``{"$in": [...]}`` (chunks keep each URL under :data:`MAX_URL_LENGTH`), paginated with
``limits.skip``, instead of N single GETs.  Writes go to the v4 routes (v3 only where
SciCat has nothing else: auth and samples).  Every failure becomes one
:class:`~scisync.errors.ApiError` naming what scisync was doing (``context``), the
request, and the server's own words.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from email.utils import format_datetime
from types import TracebackType
from urllib.parse import quote

import requests

from scisync._util.jsontypes import Json, JsonObject
from scisync._util.limits import HttpLimits
from scisync._util.secrets import register_secret
from scisync.desired.ids import MARKER_FIELD
from scisync.errors import ApiError, AuthError, ConfigError, QueryLimitError
from scisync.manifest.model import DownloadQuery
from scisync.observe.model import ObservedDataset, ObservedPublication, ObservedSample
from scisync.scicat.convert import (
    BLOCK_SUMMARY_FIELDS,
    INCLUDED_RELATIONS,
    dataset_from_document,
    dataset_summary_from_document,
    sample_from_document,
)
from scisync.scicat.http import RetryListener, Transport, api_root, make_session
from scisync.scicat.problems import describe_request, error_from_response
from scisync.scicat.published import PublishedDataRecord, published_from_document
from scisync.scicat.query import DatasetQuery, query_from_manifest

MAX_URL_LENGTH = 6000
"""Longest URL a batched list query may produce; proxies commonly allow 8 KB."""

DEFAULT_PAGE_SIZE = 500
MERGE_PATCH = "application/merge-patch+json"
JSON_TYPE = "application/json"


def quote_id(identifier: str) -> str:
    """Percent-encode a pid/id for a URL path segment, slashes included."""
    return quote(identifier, safe="")


def _compact(value: Json) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def filter_query(filter_: JsonObject) -> str:
    """``filter=<percent-encoded compact JSON>``: exactly what is sent, so lengths are exact."""
    return "filter=" + quote(_compact(filter_), safe="")


class ScicatClient:
    """Talks to one SciCat instance with one token.

    ``base_url`` is what scitacean and pyscicat take (``https://host/api/v3``); the client
    derives the ``/api`` root and uses v3 or v4 routes per endpoint.  ``request_count``
    counts the HTTP requests issued (retries of one request count once).  A ``session``
    passed in is configured in place (retrying adapters, bearer auth) and used for every
    request; the client is safe to share between threads.
    """

    def __init__(
        self,
        base_url: str,
        token: str | None,
        *,
        timeout: float | None = None,
        retries: int | None = None,
        session: requests.Session | None = None,
        backoff_factor: float | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
        token_env: str = "SCICAT_TOKEN",
        limits: HttpLimits | None = None,
        on_retry: RetryListener | None = None,
    ) -> None:
        register_secret(token)
        self.base_url = base_url
        try:
            self.api_root = api_root(base_url)
        except ValueError as error:
            raise ConfigError(
                str(error),
                where="scicat.url",
                hint="give the SciCat API URL, e.g. https://scicat.example.org/api/v3",
            ) from None
        # timeout/retries/backoff_factor: shorthands that override the matching limits.
        overrides: dict[str, float] = {}
        if timeout is not None:
            overrides["read_timeout"] = timeout
        if retries is not None:
            overrides["retries"] = retries
        if backoff_factor is not None:
            overrides["backoff_factor"] = backoff_factor
        self.limits = replace(limits or HttpLimits(), **overrides)  # type: ignore[arg-type]
        self.timeout = self.limits.read_timeout
        self.page_size = page_size
        self.token_env = token_env
        self._authenticated = bool(token)
        self._session = make_session(token, session=session)
        self._transport = Transport(self._session, self.limits, on_retry=on_retry)
        self._count_lock = threading.Lock()
        self.request_count = 0

    def __repr__(self) -> str:
        state = "with a token" if self._authenticated else "anonymous"
        return f"ScicatClient({self.base_url!r}, {state})"

    @property
    def authenticated(self) -> bool:
        return self._authenticated

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> ScicatClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- plumbing ----------------------------------------------------------------------

    def url(self, path: str) -> str:
        """``"v4/datasets"`` -> ``"http://host/api/v4/datasets"``."""
        return f"{self.api_root}/{path.lstrip('/')}"

    @property
    def token_hint(self) -> str:
        return f"run `scisync login`, or set a fresh token in ${self.token_env}"

    def send(
        self,
        method: str,
        path: str,
        *,
        body: Json | None = None,
        query: str | None = None,
        content_type: str = JSON_TYPE,
        headers: Mapping[str, str] | None = None,
        context: str | None = None,
        missing_ok: bool = False,
    ) -> requests.Response | None:
        """One request; a non-2xx answer raises ApiError (or returns None on 404 if missing_ok)."""
        url = self.url(path)
        if query:
            url = f"{url}?{query}"
        sent_headers = dict(headers or {})
        data: bytes | None = None
        if body is not None:
            sent_headers["Content-Type"] = content_type
            data = json.dumps(body).encode("utf-8")
        with self._count_lock:
            self.request_count += 1
        response = self._transport.request(
            method, url, data=data, headers=sent_headers, context=context
        )
        if missing_ok and response.status_code == 404:
            return None
        if not response.ok:
            raise error_from_response(
                response,
                context=context,
                authenticated=self._authenticated,
                token_hint=self.token_hint,
            )
        return response

    def request_json(
        self,
        method: str,
        path: str,
        *,
        body: Json | None = None,
        query: str | None = None,
        content_type: str = JSON_TYPE,
        headers: Mapping[str, str] | None = None,
        context: str | None = None,
    ) -> Json:
        """Send a request and return its parsed JSON body (None for an empty body)."""
        response = self.send(
            method,
            path,
            body=body,
            query=query,
            content_type=content_type,
            headers=headers,
            context=context,
        )
        assert response is not None  # missing_ok is False
        return _parse(response, context)

    def _object(
        self,
        method: str,
        path: str,
        *,
        body: Json | None = None,
        content_type: str = JSON_TYPE,
        headers: Mapping[str, str] | None = None,
        context: str | None = None,
    ) -> JsonObject:
        result = self.request_json(
            method, path, body=body, content_type=content_type, headers=headers, context=context
        )
        if not isinstance(result, dict):
            raise _unexpected(method, self.url(path), "a JSON object", context)
        return result

    def _get_optional(self, path: str, query: str | None, context: str | None) -> JsonObject | None:
        response = self.send("GET", path, query=query, context=context, missing_ok=True)
        if response is None:
            return None
        result = _parse(response, context)
        if not isinstance(result, dict):
            raise _unexpected("GET", self.url(path), "a JSON object", context)
        return result

    def find_in(
        self,
        path: str,
        field: str,
        values: Sequence[str],
        *,
        operator: str = "$in",
        extra: JsonObject | None = None,
        limits: JsonObject | None = None,
        context: str | None = None,
    ) -> list[JsonObject]:
        """Every document whose ``field`` is one of ``values``: chunked and paginated.

        ``extra`` adds top-level filter keys (``include``, ``fields``); ``limits`` adds to
        ``limits`` (a stable ``sort``/``order`` so pages do not overlap).
        """
        return list(
            self.iter_in(
                path, field, values, operator=operator, extra=extra, limits=limits, context=context
            )
        )

    def iter_in(
        self,
        path: str,
        field: str,
        values: Sequence[str],
        *,
        operator: str = "$in",
        extra: JsonObject | None = None,
        limits: JsonObject | None = None,
        context: str | None = None,
    ) -> Iterator[JsonObject]:
        """:meth:`find_in` one document at a time, each let go of once it is yielded.

        Datasets with their file lists are read this way: a caller that converts each
        document holds one page of SciCat's JSON at a time, not the JSON of every
        dataset (a pull of a million files held ~0.5 GB of it; issue 13)."""
        unique = list(dict.fromkeys(values))
        for chunk in self._chunks(path, field, unique, operator, extra, limits):
            skip = 0
            while True:
                filter_ = _filter(field, chunk, operator, extra, limits, self.page_size, skip)
                page = self.request_json("GET", path, query=filter_query(filter_), context=context)
                if not isinstance(page, list):
                    raise _unexpected("GET", self.url(path), "a JSON list", context)
                full = len(page) >= self.page_size
                page.reverse()  # popped from the end: in order, each dropped as it goes
                while page:
                    item = page.pop()
                    if isinstance(item, dict):
                        yield item
                    del item
                if not full:
                    break
                skip += self.page_size

    def _chunks(
        self,
        path: str,
        field: str,
        values: list[str],
        operator: str,
        extra: JsonObject | None,
        limits: JsonObject | None,
    ) -> Iterator[list[str]]:
        # The URL of an empty chunk with the largest plausible skip, plus each value's
        # encoded length and a comma, gives the exact URL length of a chunk.
        empty = _filter(field, [], operator, extra, limits, self.page_size, 10**9)
        base = len(self.url(path)) + 1 + len(filter_query(empty))
        chunk: list[str] = []
        length = base
        for value in values:
            cost = len(quote(_compact(value), safe="")) + len(quote(",", safe=""))
            if chunk and length + cost > MAX_URL_LENGTH:
                yield chunk
                chunk, length = [], base
            chunk.append(value)
            length += cost
        if chunk:
            yield chunk

    # -- auth --------------------------------------------------------------------------

    def whoami(self) -> JsonObject | None:
        """``{username, email, currentGroups, ...}``, or None when SciCat sees us as anonymous."""
        result = self.request_json("GET", "v3/auth/whoami", context="checking the SciCat token")
        if isinstance(result, dict) and result:
            return result
        return None

    def verify_token(self) -> JsonObject:
        """whoami, insisting that SciCat recognises the token.

        SciCat treats an invalid token as *anonymous* rather than refusing it, so without
        this check a wrong token only shows up later as 403s or as an empty catalogue.
        """
        me = self.whoami()
        if me is None:
            state = "does not recognise the token" if self._authenticated else "got no token"
            raise AuthError(
                f"SciCat {state} (whoami at {self.url('v3/auth/whoami')} answered anonymous)",
                where="SciCat login",
                hint=self.token_hint + " (a token from another SciCat instance is invalid here)",
            )
        return me

    # -- datasets ----------------------------------------------------------------------

    def get_dataset(self, pid: str, *, context: str | None = None) -> ObservedDataset | None:
        """One dataset with its origdatablocks and attachments; None if SciCat has no such pid."""
        query = "&".join(f"include={name}" for name in INCLUDED_RELATIONS)
        document = self._get_optional(f"v4/datasets/{quote_id(pid)}", query, context)
        return None if document is None else dataset_from_document(document)

    def get_datasets(
        self, pids: Sequence[str], *, context: str | None = None
    ) -> dict[str, ObservedDataset]:
        """The readable datasets among ``pids`` (absent ones are simply missing), batched."""
        documents = self._find_datasets("pid", pids, context)
        return {dataset.pid: dataset for dataset in documents}

    def find_datasets_by_markers(
        self, markers: Sequence[str], *, context: str | None = None
    ) -> dict[str, list[ObservedDataset]]:
        """Datasets carrying each marker in ``scientificMetadata.scisync_marker``, batched.

        Every requested marker is a key; more than one dataset under a marker means two
        earlier runs raced.
        """
        field = f"scientificMetadata.{MARKER_FIELD}"
        return _by_marker(markers, self._find_datasets(field, markers, context))

    def find_dataset_summaries_by_markers(
        self, markers: Sequence[str], *, context: str | None = None
    ) -> dict[str, list[ObservedDataset]]:
        """Like :meth:`find_datasets_by_markers`, each origdatablock a summary
        (:data:`~scisync.scicat.convert.BLOCK_SUMMARY_FIELDS`, through an include scope):
        the datasets come with ``files_listed`` False, their file lists not fetched.

        A SciCat that answers with whole blocks gives the same summaries (slower); one
        that leaves the blocks out gives datasets without blocks, whose stamps then
        differ from the recorded ones (scisync.observe.settled): they are fetched whole."""
        field = f"scientificMetadata.{MARKER_FIELD}"
        summaries = self._find_datasets(field, markers, context, summaries=True)
        return _by_marker(markers, summaries)

    def _find_datasets(
        self, field: str, values: Sequence[str], context: str | None, *, summaries: bool = False
    ) -> list[ObservedDataset]:
        if not values:
            return []
        include: list[Json] = list(INCLUDED_RELATIONS)
        if summaries:
            scope: JsonObject = {"fields": list(BLOCK_SUMMARY_FIELDS)}
            include = [{"relation": "origdatablocks", "scope": scope}, "attachments"]
        documents = self.iter_in(
            "v4/datasets",
            field,
            values,
            extra={"include": include},
            limits={"sort": {"pid": "asc"}},
            context=context or "looking up datasets in SciCat",
        )
        convert = dataset_summary_from_document if summaries else dataset_from_document
        seen: dict[str, ObservedDataset] = {}
        for document in documents:
            dataset = convert(document)
            seen.setdefault(dataset.pid, dataset)
        return list(seen.values())

    def query_datasets(
        self,
        query: DatasetQuery,
        *,
        limit: int,
        batch_size: int = 100,
        context: str | None = None,
    ) -> list[ObservedDataset]:
        """The datasets ``query`` selects, with their files, sorted by pid.

        The query runs in SciCat (``GET /api/v3/datasets/fullquery``, ``batch_size`` pids
        a page, sorted by pid), then the matches are read with their origdatablocks in
        batched ``$in`` lookups.  More than ``limit`` matches is a
        :class:`~scisync.errors.QueryLimitError`, found after reading at most ``limit + 1``
        matches and before reading any file list.
        """
        if limit < 1 or batch_size < 1:
            raise ValueError("limit and batch_size must be positive")
        where = context or "dataset query"
        pids = self.query_dataset_pids(query, limit=limit, batch_size=batch_size, context=where)
        found = self.get_datasets(pids, context=where)
        return [found[pid] for pid in sorted(found)]

    def query_download_datasets(
        self, query: DownloadQuery, *, limit: int, context: str | None = None
    ) -> list[ObservedDataset]:
        """A manifest download's query (:meth:`query_datasets`)."""
        return self.query_datasets(query_from_manifest(query), limit=limit, context=context)

    def query_dataset_pids(
        self, query: DatasetQuery, *, limit: int, batch_size: int = 100, context: str | None = None
    ) -> list[str]:
        """The pids ``query`` matches (at most ``limit``, else QueryLimitError)."""
        fields = _compact(query.to_fullquery_fields())
        pids: dict[str, None] = {}
        skip = 0
        while True:
            page_size = min(batch_size, limit + 1 - len(pids))
            limits = _compact({"limit": page_size, "skip": skip, "order": "pid:asc"})
            url_query = f"fields={quote(fields, safe='')}&limits={quote(limits, safe='')}"
            if len(self.url("v3/datasets/fullquery")) + len(url_query) > MAX_URL_LENGTH:
                raise QueryLimitError(
                    f"the query is too long for one request ({len(url_query)} characters)",
                    where=context,
                    hint="list fewer proposal ids, keywords or owner groups",
                )
            page = self.request_json(
                "GET", "v3/datasets/fullquery", query=url_query, context=context
            )
            if not isinstance(page, list):
                raise _unexpected("GET", self.url("v3/datasets/fullquery"), "a JSON list", context)
            for item in page:
                pid = item.get("pid") if isinstance(item, dict) else None
                if isinstance(pid, str):
                    pids[pid] = None
            if len(pids) > limit:
                raise QueryLimitError(
                    f"the query matches more than {limit} datasets",
                    where=context,
                    hint="narrow the query, or raise its limit (a download's max_datasets) if you "
                    "mean to download them all",
                )
            if len(page) < page_size:
                return list(pids)
            skip += page_size

    def create_dataset(self, body: Mapping[str, Json], *, context: str | None = None) -> JsonObject:
        """``POST /api/v4/datasets`` (never retried); returns the stored document."""
        return self._object("POST", "v4/datasets", body=dict(body), context=context)

    def patch_dataset(
        self,
        pid: str,
        changes: Mapping[str, Json],
        *,
        merge_patch: bool,
        unmodified_since: datetime | None = None,
        context: str | None = None,
    ) -> JsonObject:
        """``PATCH /api/v4/datasets/{pid}``.

        ``merge_patch=True`` sends RFC 7386 merge-patch (nested objects merged, ``None``
        deletes a key); otherwise SciCat ``$set``s each top-level field (scientificMetadata
        replaced whole).  ``unmodified_since`` makes SciCat answer 412 if someone else
        changed the dataset after that time.
        """
        headers = {}
        if unmodified_since is not None:
            headers["If-Unmodified-Since"] = http_date(unmodified_since)
        return self._object(
            "PATCH",
            f"v4/datasets/{quote_id(pid)}",
            body=dict(changes),
            content_type=MERGE_PATCH if merge_patch else JSON_TYPE,
            headers=headers,
            context=context,
        )

    # -- origdatablocks ----------------------------------------------------------------

    def create_origdatablock(
        self, pid: str, body: Mapping[str, Json], *, context: str | None = None
    ) -> JsonObject:
        """``POST /api/v4/origdatablocks`` with ``datasetId`` set to ``pid``."""
        document = {**body, "datasetId": pid}
        return self._object("POST", "v4/origdatablocks", body=document, context=context)

    # -- attachments -------------------------------------------------------------------

    def create_attachment(
        self,
        pid: str,
        caption: str,
        thumbnail: str | None,
        aid: str | None,
        owner_group: str,
        access_groups: Sequence[str] = (),
        *,
        is_published: bool = False,
        context: str | None = None,
    ) -> JsonObject:
        """``POST /api/v4/attachments`` attached to dataset ``pid``, with our own ``aid``.

        A duplicate ``aid`` makes SciCat answer 500 (not 409); look before creating.
        """
        body: JsonObject = {
            "caption": caption,
            "ownerGroup": owner_group,
            "accessGroups": list(access_groups),
            "isPublished": is_published,
            "relationships": [{"targetId": pid, "targetType": "dataset"}],
        }
        if thumbnail is not None:
            body["thumbnail"] = thumbnail
        if aid is not None:
            body["aid"] = aid
        return self._object("POST", "v4/attachments", body=body, context=context)

    def patch_attachment(
        self, aid: str, changes: Mapping[str, Json], *, context: str | None = None
    ) -> JsonObject:
        """``PATCH /api/v4/attachments/{aid}`` (a ``$set`` of the given fields)."""
        return self._object(
            "PATCH", f"v4/attachments/{quote_id(aid)}", body=dict(changes), context=context
        )

    # -- samples (v3 only) -------------------------------------------------------------

    def get_sample(self, sample_id: str, *, context: str | None = None) -> ObservedSample | None:
        document = self._get_optional(f"v3/samples/{quote_id(sample_id)}", None, context)
        return None if document is None else sample_from_document(document)

    def get_samples(
        self, sample_ids: Sequence[str], *, context: str | None = None
    ) -> dict[str, ObservedSample]:
        """The readable samples among ``sample_ids``, batched (v3 ``inq`` filter)."""
        if not sample_ids:
            return {}
        documents = self.find_in(
            "v3/samples",
            "sampleId",
            sample_ids,
            operator="inq",
            limits={"order": "sampleId:asc"},
            context=context or "looking up samples in SciCat",
        )
        samples = (sample_from_document(document) for document in documents)
        return {sample.sample_id: sample for sample in samples}

    def create_sample(self, body: Mapping[str, Json], *, context: str | None = None) -> JsonObject:
        """``POST /api/v3/samples``; a duplicate ``sampleId`` gives 500, so look first."""
        return self._object("POST", "v3/samples", body=dict(body), context=context)

    def patch_sample(
        self,
        sample_id: str,
        changes: Mapping[str, Json],
        *,
        is_published: bool,
        context: str | None = None,
    ) -> JsonObject:
        """``PATCH /api/v3/samples/{id}``, always sending ``isPublished``.

        SciCat's update DTO defaults ``isPublished`` to false, so a PATCH without it would
        unpublish the sample.
        """
        body = {**changes, "isPublished": is_published}
        return self._object(
            "PATCH", f"v3/samples/{quote_id(sample_id)}", body=body, context=context
        )

    # -- published data (v4) -------------------------------------------------------------

    def create_published_data(
        self, body: Mapping[str, Json], *, context: str | None = None
    ) -> PublishedDataRecord:
        """``POST /api/v4/publisheddata`` (never retried): a ``private`` record.

        ``body`` holds ``title``, ``abstract``, ``datasetPids`` (required) and optionally
        ``metadata`` (DataCite fields: creators, publisher, publicationYear, resourceType,
        ...); SciCat assigns the DOI.
        """
        document = self._object("POST", "v4/publisheddata", body=dict(body), context=context)
        return published_from_document(document, context)

    def get_published_data(
        self, doi: str, *, context: str | None = None
    ) -> PublishedDataRecord | None:
        """One record by DOI; None when it does not exist or the caller may not see it."""
        document = self._get_optional(f"v4/publisheddata/{quote_id(doi)}", None, context)
        return None if document is None else published_from_document(document, context)

    def find_published_data(
        self, where: Mapping[str, Json] | None = None, *, context: str | None = None
    ) -> list[PublishedDataRecord]:
        """Every visible record matching ``where`` (LoopBack/Mongo syntax), paginated."""
        found: list[PublishedDataRecord] = []
        skip = 0
        while True:
            filter_: JsonObject = {
                "where": dict(where or {}),
                "limits": {"limit": self.page_size, "skip": skip, "order": "doi:asc"},
            }
            page = self.request_json(
                "GET", "v4/publisheddata", query=filter_query(filter_), context=context
            )
            if not isinstance(page, list):
                raise _unexpected("GET", self.url("v4/publisheddata"), "a JSON list", context)
            found.extend(
                published_from_document(item, context) for item in page if isinstance(item, dict)
            )
            if len(page) < self.page_size:
                return found
            skip += self.page_size

    def find_published_data_by_metadata(
        self, key: str, values: Sequence[str], *, context: str | None = None
    ) -> dict[str, list[PublishedDataRecord]]:
        """Records whose ``metadata.<key>`` is one of ``values`` (e.g. a manifest marker),
        batched; every value is a key of the answer."""
        found: dict[str, list[PublishedDataRecord]] = {value: [] for value in values}
        documents = self.find_in(
            "v4/publisheddata",
            f"metadata.{key}",
            values,
            operator="inq",
            limits={"order": "doi:asc"},
            context=context or "looking up published data in SciCat",
        )
        for document in documents:
            record = published_from_document(document, context)
            value = record.metadata.get(key)
            if isinstance(value, str) and value in found:
                found[value].append(record)
        return found

    def find_publications_by_markers(
        self, markers: Sequence[str], *, context: str | None = None
    ) -> dict[str, list[ObservedPublication]]:
        """The observe step's view of :meth:`find_published_data_by_metadata` on scisync's
        marker: every marker is a key of the answer."""
        found = self.find_published_data_by_metadata(MARKER_FIELD, markers, context=context)
        return {
            marker: [ObservedPublication(r.doi, r.status, r.fields) for r in records]
            for marker, records in found.items()
        }

    def update_published_data(
        self, doi: str, changes: Mapping[str, Json], *, context: str | None = None
    ) -> PublishedDataRecord:
        """``PATCH /api/v4/publisheddata/{doi}``: a ``$set`` of ``changes``.

        SciCat refuses (400) once the record is registered or amended, and for non-admins
        once it is no longer private; check :attr:`PublishedDataRecord.is_registered` first.
        """
        document = self._object(
            "PATCH", f"v4/publisheddata/{quote_id(doi)}", body=dict(changes), context=context
        )
        return published_from_document(document, context)

    def publish_published_data(
        self, doi: str, *, context: str | None = None
    ) -> PublishedDataRecord:
        """``POST .../publish``: private -> public; its datasets become ``isPublished``."""
        return self._published_action(doi, "publish", context)

    def register_published_data(
        self, doi: str, *, context: str | None = None
    ) -> PublishedDataRecord:
        """``POST .../register``: registers the DOI (SciCat calls DataCite if configured)
        and sets ``registeredTime``; its datasets become ``isPublished``."""
        return self._published_action(doi, "register", context)

    def amend_published_data(self, doi: str, *, context: str | None = None) -> PublishedDataRecord:
        """``POST .../amend`` (ADMIN_GROUPS only): registered -> amended.

        In the backend (783086a0) this changes only the status: an amended record's content
        still cannot be PATCHed, and ``register`` sets it back to registered.
        """
        return self._published_action(doi, "amend", context)

    def resync_published_data(
        self, doi: str, changes: Mapping[str, Json], *, context: str | None = None
    ) -> None:
        """``POST .../resync``: the same update as PATCH, pushed to SciCat's OAI provider
        if one is configured (its answer is discarded)."""
        self.request_json(
            "POST",
            f"v4/publisheddata/{quote_id(doi)}/resync",
            body=dict(changes),
            context=context,
        )

    def _published_action(self, doi: str, action: str, context: str | None) -> PublishedDataRecord:
        document = self._object(
            "POST", f"v4/publisheddata/{quote_id(doi)}/{action}", body={}, context=context
        )
        return published_from_document(document, context)


def _by_marker(
    markers: Sequence[str], datasets: Iterable[ObservedDataset]
) -> dict[str, list[ObservedDataset]]:
    """Every requested marker -> the datasets carrying it (more than one: earlier runs raced)."""
    found: dict[str, list[ObservedDataset]] = {marker: [] for marker in markers}
    for dataset in datasets:
        marker = dataset.marker
        if marker in found:
            found[marker].append(dataset)
    return found


def http_date(moment: datetime) -> str:
    """An RFC 7231 date (``Sat, 21 Nov 2026 09:30:00 GMT``); naive times are taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return format_datetime(moment.astimezone(UTC), usegmt=True)


def _filter(
    field: str,
    values: list[str],
    operator: str,
    extra: JsonObject | None,
    limits: JsonObject | None,
    limit: int,
    skip: int,
) -> JsonObject:
    in_values: list[Json] = list(values)
    filter_: JsonObject = {"where": {field: {operator: in_values}}}
    filter_.update(extra or {})
    filter_["limits"] = {"limit": limit, "skip": skip, **(limits or {})}
    return filter_


def _parse(response: requests.Response, context: str | None) -> Json:
    body = response.content
    if not body.strip():
        return None
    request = response.request
    try:
        parsed: Json = json.loads(body)
    except (ValueError, RecursionError):
        # RecursionError: JSON nested thousands deep; no SciCat document is.
        kind = response.headers.get("Content-Type", "no Content-Type")
        raise _unexpected(
            request.method or "?", request.url or response.url, "JSON", context, kind
        ) from None
    return parsed


def _unexpected(
    method: str, url: str, wanted: str, context: str | None, kind: str | None = None
) -> ApiError:
    received = f" ({' '.join(kind.split())[:80]})" if kind else ""
    return ApiError(
        f"SciCat answered {describe_request(method, url)} with something that is not "
        f"{wanted}{received}",
        where=context or "SciCat",
        hint="check that the SciCat URL points at the API (it usually ends in /api/v3)",
    )

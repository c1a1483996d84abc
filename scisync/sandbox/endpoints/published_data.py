"""Published data, v4 (``/v4/publisheddata``): DOIs for the datasets a paper used.

Follows ``src/published-data/published-data.v4.controller.ts`` (backend 783086a0):

- status ``private`` (on create) -> ``public`` (``publish``, only from private) ->
  ``registered`` (``register``, from any status; the DOI is registered) -> ``amended``
  (``amend``, ADMIN_GROUPS only, only from registered);
- ``PATCH`` and ``resync`` change content only while the record is not registered or
  amended (admins), or only while it is private (everyone else);
- ``publish`` and ``register`` set ``isPublished`` on every dataset in ``datasetPids``
  through the dataset update path, so the caller must be allowed to update them;
- the DOI is ``DOI_PREFIX/<uuid>`` from creation on; ``register`` would POST DataCite
  JSON to ``REGISTER_DOI_URI``: the sandbox never calls out; it sets the status and
  ``registeredTime`` as the backend does after a successful registration.

- ``publish`` and ``register`` first validate ``metadata`` (see
  :mod:`scisync.sandbox.published_metadata`): a 400 whose body is ajv's error list.

Not served: ``/config``, ``/formpopulate``, the v3 ``/publisheddata`` routes and the OAI
resync call.
"""

from __future__ import annotations

import secrets
import uuid
from typing import Any

from scisync.sandbox import dto, quirks
from scisync.sandbox.auth import Caller
from scisync.sandbox.endpoints.base import (
    DATASETS,
    Endpoints,
    bad_request,
    filter_error,
    merge_patch,
    not_found,
)
from scisync.sandbox.filters import (
    FilterError,
    Matcher,
    apply_page,
    page_v3,
    parse_json_param,
    project,
    v3_where,
)
from scisync.sandbox.http import (
    HttpError,
    Request,
    Response,
    error,
    forbidden,
    unauthenticated,
)
from scisync.sandbox.published_metadata import DEFAULT_SCHEMA, MetadataCheck

PUBLISHED_DATA = "publisheddata"
PRIVATE, PUBLIC, REGISTERED, AMENDED = dto.PUBLISHED_DATA_STATUSES
PUBLISHED_DATA_DATES = frozenset({"createdAt", "updatedAt", "registeredTime"})
_MATCHER = Matcher(PUBLISHED_DATA_DATES)


class PublishedDataEndpoints(Endpoints):
    """``/v4/publisheddata``."""

    # Replaced by the server with the data folder's publishedDataConfig.json, if any.
    published_metadata = MetadataCheck(DEFAULT_SCHEMA, {"publicationYear": "currentYear"})

    def _check_metadata(self, record: dict[str, Any]) -> None:
        """``ValidatorService.validate``: ajv's error list is the whole 400 body."""
        errors = self.published_metadata.errors(record.get("metadata"))
        if errors:
            raise HttpError(400, errors)

    # --- access --------------------------------------------------------------------
    def _find_visible(self, caller: Caller, doi: str, message: str) -> dict[str, Any]:
        record = self.store.get(PUBLISHED_DATA, doi)
        clause = self.access.published_data_clause(caller, listing=False)
        if record is None or (clause is not None and not _MATCHER.matches(record, clause)):
            raise error(404, message)
        return record

    def _require_user(self, caller: Caller) -> None:
        if caller.account is None:
            raise unauthenticated()

    def _check_editable(self, caller: Caller, record: dict[str, Any], doi: str, verb: str) -> None:
        """The status rule shared by PATCH and resync (and, with its own words, DELETE)."""
        status = record.get("status")
        if self.access.is_admin(caller):
            if status in (REGISTERED, AMENDED):
                raise error(
                    400,
                    f"Published data with id {doi} is already registered or amended. "
                    f"It cannot be {verb}.",
                )
        elif status != PRIVATE:
            # The backend says "resynced" on PATCH too (a copied message).
            word = "removed" if verb == "removed" else "resynced"
            raise error(400, f"Published data can only be {word} if it is in {PRIVATE} state.")

    # --- create and read -------------------------------------------------------------
    def published_create(self, req: Request) -> Response:
        caller = req.caller
        if caller.account is None:
            raise forbidden()  # PoliciesGuard, not the authenticated one: 403
        errors = dto.validate(dto.PUBLISHED_DATA_CREATE, req.body)
        if errors:
            raise bad_request(errors)
        doc: dict[str, Any] = {k: v for k, v in req.body.items() if v is not None}
        doi = self._new_doi()
        doc["_id"] = doc["doi"] = doi
        doc["pid"] = f"{self.settings.pid_prefix.rstrip('/')}/{uuid.uuid4()}"
        doc.setdefault("status", PRIVATE)
        doc.setdefault("metadata", {})
        if isinstance(doc.get("registeredTime"), str):
            doc["registeredTime"] = quirks.normalize_date(doc["registeredTime"])
        self._stamp(doc, caller, created=True)
        with self.store.write() as tx:
            tx.insert(PUBLISHED_DATA, doi, doc)
        return Response(201, doc)

    def _new_doi(self) -> str:
        prefix = self.settings.doi_prefix.rstrip("/") or "undefined"
        suffix = secrets.token_hex(5) if self.settings.doi_short_suffix else str(uuid.uuid4())
        return f"{prefix}/{suffix}"

    def published_list(self, req: Request, *, count: bool = False) -> Response:
        try:
            filter_ = parse_json_param(req.query_one("filter"))
            fields = parse_json_param(req.query_one("fields"), "fields")
            limits = filter_.get("limits") or parse_json_param(req.query_one("limits"), "limits")
            where = v3_where(filter_.get("where") or {})
            if fields:  # AppendFieldsToFilterPipe: fields are more where conditions
                where = {"$and": [v3_where(fields), where]} if where else v3_where(fields)
            clause = self.access.published_data_clause(req.caller, listing=True)
            if clause is not None:  # the backend spreads its keys over the caller's
                where = {**where, **clause}
            found = _MATCHER.select(self.store.all(PUBLISHED_DATA), where)
            page = page_v3(limits, default_limit=100)
        except FilterError as exc:
            raise filter_error(exc) from None
        if count:
            return Response(200, {"count": len(found)})
        return Response(200, [project(d, filter_.get("fields")) for d in apply_page(found, page)])

    def published_get(self, req: Request) -> Response:
        doi = req.params["id"]
        return Response(
            200, self._find_visible(req.caller, doi, f"Published data with doi {doi} not found.")
        )

    # --- changes -----------------------------------------------------------------------
    def published_patch(self, req: Request) -> Response:
        return self._edit(req, "updated", answer_record=True)

    def published_resync(self, req: Request) -> Response:
        # Without an OAI provider configured the backend answers null after updating.
        return self._edit(req, "resynced", answer_record=False)

    def _edit(self, req: Request, verb: str, *, answer_record: bool) -> Response:
        caller = req.caller
        self._require_user(caller)
        doi = req.params["id"]
        errors = dto.validate(dto.PUBLISHED_DATA_UPDATE, req.body)
        if errors:
            raise bad_request(errors)
        record = self._find_visible(caller, doi, f"Published data with id {doi} not found.")
        self._check_editable(caller, record, doi, verb)
        changes = dict(req.body)
        if isinstance(changes.get("registeredTime"), str):
            changes["registeredTime"] = quirks.normalize_date(changes["registeredTime"])
        updated = self._save(caller, record, changes)
        return Response(200 if answer_record else 201, updated if answer_record else None)

    def _save(
        self, caller: Caller, record: dict[str, Any], changes: dict[str, Any]
    ) -> dict[str, Any]:
        updated = {**record, **changes}
        self._stamp(updated, caller, created=False)
        with self.store.write() as tx:
            tx.replace(PUBLISHED_DATA, updated["doi"], updated)
        return updated

    def published_publish(self, req: Request) -> Response:
        caller = req.caller
        self._require_user(caller)
        doi = req.params["id"]
        record = self._find_visible(caller, doi, f"Published data with id {doi} not found.")
        if record.get("status") != PRIVATE:
            raise error(400, f"Published data can only be published if it is in {PRIVATE} state.")
        self._check_metadata(record)
        self._publish_datasets(caller, record, None)
        return Response(201, self._save(caller, record, {"status": PUBLIC}))

    def published_register(self, req: Request) -> Response:
        caller = req.caller
        self._require_user(caller)
        doi = req.params["id"]
        record = self._find_visible(caller, doi, f"Published data with id {doi} not found.")
        self._check_metadata(record)
        moment = quirks.now_iso()
        self._publish_datasets(caller, record, moment)
        changes = {"status": REGISTERED, "registeredTime": moment}
        return Response(201, self._save(caller, record, changes))

    def published_amend(self, req: Request) -> Response:
        caller = req.caller
        self._require_user(caller)
        if not self.access.is_admin(caller):
            raise error(403, "Only admin users can amend published data.")
        doi = req.params["id"]
        record = self.store.get(PUBLISHED_DATA, doi)
        if record is None:
            raise error(404, f"Published data with id {doi} not found.")
        if record.get("status") != REGISTERED:
            raise error(400, f"Published data can only be amended if it is in {REGISTERED} state.")
        return Response(201, self._save(caller, record, {"status": AMENDED}))

    def published_delete(self, req: Request) -> Response:
        caller = req.caller
        self._require_user(caller)
        if not self.access.may_delete(caller):
            raise forbidden()
        doi = req.params["id"]
        record = self.store.get(PUBLISHED_DATA, doi)
        if record is None:
            raise error(404, f"Published data with id {doi} not found.")
        self._check_editable(caller, record, doi, "removed")
        with self.store.write() as tx:
            tx.delete(PUBLISHED_DATA, doi)
        return Response(200, record)

    def _publish_datasets(
        self, caller: Caller, record: dict[str, Any], published_on: str | None
    ) -> None:
        """``isPublished: true`` on each dataset, through the dataset update rules."""
        pids = [str(pid) for pid in record.get("datasetPids") or []]
        with self.store.write() as tx:
            for pid in pids:
                dataset = self.store.get(DATASETS, pid)
                if dataset is None:
                    raise not_found("dataset", pid)
                if not self.access.may_update_dataset(caller, dataset):
                    raise forbidden("Unauthorized to update this dataset")
                changes: dict[str, Any] = {"isPublished": True}
                if published_on is not None:
                    changes["datasetlifecycle"] = {"publishedOn": published_on}
                updated = dict(merge_patch(dataset, changes))
                self._stamp(updated, caller, created=False)
                tx.replace(DATASETS, pid, updated)

"""Samples (v3 only), with the backend's isPublished-on-PATCH quirk."""

from __future__ import annotations

import uuid
from typing import Any

from scisync.sandbox import dto, quirks
from scisync.sandbox.auth import Caller
from scisync.sandbox.endpoints.base import (
    SAMPLES,
    Endpoints,
    bad_request,
    filter_error,
    strip_si,
)
from scisync.sandbox.filters import (
    FilterError,
    apply_page,
    page_v3,
    project,
    v3_where,
)
from scisync.sandbox.http import (
    Request,
    Response,
    error,
    forbidden,
    internal_error,
    unauthenticated,
)
from scisync.sandbox.store import DuplicateId


class SampleEndpoints(Endpoints):
    """``/v3/samples``."""

    def _require_sample_user(self, caller: Caller) -> None:
        if caller.account is None:
            raise unauthenticated()
        if not self.access.sample_creator(caller):
            raise forbidden()

    def sample_create(self, req: Request) -> Response:
        caller = req.caller
        self._require_sample_user(caller)
        errors = dto.validate(dto.SAMPLE_CREATE, req.body)
        if errors:
            raise bad_request(errors)
        body = req.body
        if not self.access.sample_any_owner(caller) and body["ownerGroup"] not in caller.groups:
            raise forbidden("Unauthorized to create this sample")
        doc: dict[str, Any] = {k: v for k, v in body.items() if v is not None}
        doc["sampleId"] = doc.get("sampleId") or str(uuid.uuid4())
        doc["_id"] = doc["sampleId"]
        doc.setdefault("isPublished", False)
        doc.setdefault("accessGroups", [])
        doc["sampleCharacteristics"] = quirks.add_si_units(doc.get("sampleCharacteristics") or {})
        self._stamp(doc, caller, created=True)
        try:
            with self.store.write() as tx:
                tx.insert(SAMPLES, doc["sampleId"], doc)
        except DuplicateId:
            raise internal_error() from None
        return Response(201, doc)

    def sample_get(self, req: Request) -> Response:
        doc = self.store.get(SAMPLES, req.params["id"])
        if doc is None:
            raise error(404, "Not Found", with_error_name=False)
        if not self.access.can_read(req.caller, doc):
            raise forbidden("Unauthorized access")
        return Response(200, doc)

    def sample_list(self, req: Request, *, one: bool = False, count: bool = False) -> Response:
        filter_ = self._filter(req)
        try:
            where = v3_where(filter_.get("where") or {})
            read = self.access.read_clause(req.caller)
            clauses = [c for c in (where, read) if c]
            combined = {"$and": clauses} if clauses else {}
            found = self.plain_matcher.select(self.store.all(SAMPLES), combined)
            page = page_v3(filter_.get("limits"), default_limit=100)
        except FilterError as exc:
            raise filter_error(exc) from None
        if count:
            return Response(200, {"count": len(found)})
        docs = [project(s, filter_.get("fields")) for s in apply_page(found, page)]
        if one:
            return Response(200, docs[0] if docs else None)
        return Response(200, docs)

    def sample_patch(self, req: Request) -> Response:
        caller = req.caller
        self._require_sample_user(caller)
        errors = dto.validate(dto.SAMPLE_UPDATE, req.body)
        if errors:
            raise bad_request(errors)
        sample_id = req.params["id"]
        with self.store.write() as tx:
            doc = self.store.get(SAMPLES, sample_id)
            if doc is None:
                raise error(404, "Not Found", with_error_name=False)
            if not self.access.may_update_sample(caller, doc):
                raise forbidden("Unauthorized to update this sample")
            self._check_unmodified_since(req, doc)
            changes = dict(req.body)
            # The update DTO defaults isPublished to false, so leaving it out unpublishes.
            changes.setdefault("isPublished", False)
            if isinstance(changes.get("sampleCharacteristics"), dict):
                changes["sampleCharacteristics"] = quirks.add_si_units(
                    strip_si(changes["sampleCharacteristics"])
                )
            updated = {**doc, **changes}
            self._stamp(updated, caller, created=False)
            tx.replace(SAMPLES, sample_id, updated)
        return Response(200, updated)

    def sample_delete(self, req: Request) -> Response:
        if req.caller.account is None:
            raise unauthenticated()
        if not self.access.may_delete(req.caller):
            raise forbidden()
        sample_id = req.params["id"]
        with self.store.write() as tx:
            doc = self.store.get(SAMPLES, sample_id)
            if doc is None:
                raise error(404, "Not Found", with_error_name=False)
            tx.delete(SAMPLES, sample_id)
        return Response(200, doc)

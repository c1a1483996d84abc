"""Attachments: v3 under a dataset, v4 with relationships to any target."""

from __future__ import annotations

import uuid
from typing import Any

from scisync.sandbox import dto
from scisync.sandbox.endpoints.base import (
    ATTACHMENTS,
    DATASETS,
    Endpoints,
    bad_request,
    filter_error,
    merge_patch,
    not_found,
)
from scisync.sandbox.filters import (
    FilterError,
    apply_page,
    page_v4,
    project,
)
from scisync.sandbox.http import Request, Response, error, forbidden, internal_error
from scisync.sandbox.store import DuplicateId


class AttachmentEndpoints(Endpoints):
    """``/v3/datasets/{pid}/attachments`` and ``/v4/attachments``."""

    def _attachment_v3(self, doc: dict[str, Any], dataset_id: str | None) -> dict[str, Any]:
        out = {k: v for k, v in doc.items() if k not in ("relationships", "aid")}
        out["id"] = doc["_id"]
        if dataset_id is None:
            targets = [
                r.get("targetId")
                for r in doc.get("relationships") or []
                if r.get("targetType") == "dataset"
            ]
            dataset_id = targets[0] if targets else None
        if dataset_id is not None:
            out["datasetId"] = dataset_id
        return out

    def attachment_create_v3(self, req: Request) -> Response:
        caller = req.caller
        if not self.access.dataset_creator(caller):
            raise forbidden()
        errors = dto.validate(dto.ATTACHMENT_V3_CREATE, req.body)
        if errors:
            raise bad_request(errors)
        pid = req.params["pid"]
        dataset = self.store.get(DATASETS, pid)
        if dataset is None:
            raise not_found("dataset", pid)
        if not self.access.may_update_dataset(caller, dataset):
            raise forbidden("Unauthorized to update this dataset")
        doc: dict[str, Any] = {k: v for k, v in req.body.items() if v is not None}
        doc["_id"] = doc["aid"] = str(uuid.uuid4())
        doc["ownerGroup"] = dataset.get("ownerGroup")
        doc.setdefault("accessGroups", [])
        doc["isPublished"] = False
        doc["relationships"] = [
            {"targetId": pid, "targetType": "dataset", "relationType": "is attached to"}
        ]
        self._stamp(doc, caller, created=True)
        with self.store.write() as tx:
            tx.insert(ATTACHMENTS, doc["_id"], doc, [pid])
        return Response(201, self._attachment_v3(doc, pid))

    def attachment_list_v3(self, req: Request, *, count: bool = False) -> Response:
        dataset = self._readable_dataset(req, req.params["pid"])
        found = [
            a
            for a in self.store.by_refs(ATTACHMENTS, [dataset["pid"]])
            if self.access.can_read(req.caller, a)
        ]
        found.sort(key=lambda a: str(a.get("createdAt", "")), reverse=True)
        found = found[:10]  # findAllComplete's hard limit, for the list and the count
        if count:
            return Response(200, {"count": len(found)})
        return Response(200, [self._attachment_v3(a, dataset["pid"]) for a in found])

    def attachment_create(self, req: Request) -> Response:
        caller = req.caller
        if not self.access.attachment_creator(caller):
            raise forbidden()
        errors = dto.validate(dto.ATTACHMENT_V4_CREATE, req.body)
        if errors:
            raise bad_request(errors)
        body = req.body
        if not self.access.attachment_any_owner(caller) and body["ownerGroup"] not in caller.groups:
            raise forbidden("Unauthorized to create this attachment")
        doc: dict[str, Any] = {k: v for k, v in body.items() if v is not None}
        doc["_id"] = doc["aid"] = doc.get("aid") or str(uuid.uuid4())
        doc.setdefault("accessGroups", [])
        doc["relationships"] = [
            {**rel, "relationType": rel.get("relationType") or "is attached to"}
            for rel in doc.get("relationships") or []
        ]
        self._stamp(doc, caller, created=True)
        try:
            with self.store.write() as tx:
                tx.insert(ATTACHMENTS, doc["_id"], doc, _targets(doc))
        except DuplicateId:
            raise internal_error() from None
        return Response(201, doc)

    def attachment_list(self, req: Request) -> Response:
        if req.caller.account is None:
            raise forbidden()
        filter_ = self._filter(req)
        where = filter_.get("where") or {}
        try:
            read = self.access.read_clause(req.caller)
            clauses = [c for c in (where, read) if c]
            combined = {"$and": clauses} if clauses else {}
            candidates = self._ref_candidates(ATTACHMENTS, where, "relationships.targetId")
            found = self.plain_matcher.select(candidates, combined)
            page = page_v4(filter_.get("limits"), default_limit=10)
        except FilterError as exc:
            raise filter_error(exc) from None
        return Response(200, [project(a, filter_.get("fields")) for a in apply_page(found, page)])

    def attachment_get(self, req: Request) -> Response:
        if req.caller.account is None:
            raise forbidden()
        doc = self.store.get(ATTACHMENTS, req.params["id"])
        if doc is None:
            raise error(404, "Not Found", with_error_name=False)
        if not self.access.can_read(req.caller, doc):
            raise forbidden("Unauthorized access")
        return Response(200, doc)

    def attachment_patch(self, req: Request) -> Response:
        caller = req.caller
        if not self.access.attachment_creator(caller):
            raise forbidden()
        errors = dto.validate(dto.ATTACHMENT_V4_UPDATE, req.body)
        if errors:
            raise bad_request(errors)
        aid = req.params["id"]
        with self.store.write() as tx:
            doc = self.store.get(ATTACHMENTS, aid)
            if doc is None:
                raise error(404, "Not Found", with_error_name=False)
            if not self.access.may_update_attachment(caller, doc):
                raise forbidden("Unauthorized to update this attachment")
            updated = merge_patch(doc, req.body) if req.merge_patch else {**doc, **req.body}
            self._stamp(updated, caller, created=False)
            tx.replace(ATTACHMENTS, aid, updated, _targets(updated))
        return Response(200, updated)

    def attachment_delete(self, req: Request) -> Response:
        if not self.access.may_delete(req.caller):
            raise forbidden()
        aid = req.params["id"]
        with self.store.write() as tx:
            doc = self.store.get(ATTACHMENTS, aid)
            if doc is None:
                raise error(404, "Not Found", with_error_name=False)
            tx.delete(ATTACHMENTS, aid)
        return Response(200, doc)


def _targets(attachment: dict[str, Any]) -> list[str]:
    return [
        str(rel["targetId"])
        for rel in attachment.get("relationships") or []
        if isinstance(rel, dict) and rel.get("targetId") is not None
    ]

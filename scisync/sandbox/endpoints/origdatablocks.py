"""OrigDatablocks: file lists of datasets; they keep the dataset's size and file count."""

from __future__ import annotations

import uuid
from typing import Any

from scisync.sandbox import dto
from scisync.sandbox.endpoints.base import (
    BLOCKS,
    DATASETS,
    Endpoints,
    bad_request,
    filter_error,
    merge_patch,
    normalize_files,
    not_found,
)
from scisync.sandbox.filters import (
    FilterError,
    apply_page,
    page_v3,
    page_v4,
    project,
    v3_where,
)
from scisync.sandbox.http import Request, Response, error, forbidden


class BlockEndpoints(Endpoints):
    """``/v3/origdatablocks``, ``/v4/origdatablocks`` and ``/v3/datasets/{pid}/origdatablocks``."""

    def block_create(self, req: Request, version: str, *, nested: bool = False) -> Response:
        caller = req.caller
        if not self.access.dataset_creator(caller):
            raise forbidden()
        table = dto.DATASET_ORIGDATABLOCK_CREATE if nested else dto.ORIGDATABLOCK_CREATE
        errors = dto.validate(table, req.body)
        if errors:
            raise bad_request(errors)
        body = dict(req.body)
        pid = req.params["pid"] if nested else body["datasetId"]
        with self.store.write() as tx:
            dataset = self.store.get(DATASETS, pid)
            if dataset is None:
                raise not_found("dataset", pid)
            if not self.access.may_update_dataset(caller, dataset):
                raise forbidden("Unauthorized to update this dataset")
            doc: dict[str, Any] = {k: v for k, v in body.items() if v is not None}
            doc["_id"] = str(uuid.uuid4())
            doc["datasetId"] = pid
            doc["dataFileList"] = normalize_files(doc["dataFileList"])
            doc["ownerGroup"] = dataset.get("ownerGroup")
            doc["accessGroups"] = list(dataset.get("accessGroups") or [])
            if dataset.get("instrumentGroup") is not None:
                doc["instrumentGroup"] = dataset["instrumentGroup"]
            else:
                doc.pop("instrumentGroup", None)
            doc.setdefault("isPublished", False)
            self._stamp(doc, caller, created=True)
            tx.insert(BLOCKS, doc["_id"], doc, [pid])
            self._bump_dataset(tx, dataset, doc["size"], len(doc["dataFileList"]), caller)
        return Response(201, doc)

    def block_list_for_dataset(self, req: Request, *, count: bool = False) -> Response:
        dataset = self._readable_dataset(req, req.params["pid"])
        blocks = [
            b
            for b in self.store.by_refs(BLOCKS, [dataset["pid"]])
            if self.access.can_read(req.caller, b)
        ][:100]
        if count:
            return Response(200, {"count": len(blocks)})
        return Response(200, blocks)

    def block_list(self, req: Request, version: str) -> Response:
        if version == "v4" and req.caller.account is None:
            raise forbidden()
        filter_ = self._filter(req)
        where = filter_.get("where") or {}
        try:
            if version == "v3":
                where = v3_where(where)
            read = self.access.read_clause(req.caller)
            clauses = [c for c in (where, read) if c]
            combined = {"$and": clauses} if clauses else {}
            candidates = self._ref_candidates(BLOCKS, where, "datasetId")
            found = self.block_matcher.select(candidates, combined)
            if version == "v4":
                page = page_v4(filter_.get("limits"), default_limit=10)
            else:
                page = page_v3(filter_.get("limits"), default_limit=100)
        except FilterError as exc:
            raise filter_error(exc) from None
        docs = [project(b, filter_.get("fields")) for b in apply_page(found, page)]
        return Response(200, docs)

    def block_get(self, req: Request, version: str) -> Response:
        if version == "v4" and req.caller.account is None:
            raise forbidden()
        block = self.store.get(BLOCKS, req.params["id"])
        if block is None:
            raise error(404, "Not Found", with_error_name=False)
        if not self.access.can_read(req.caller, block):
            raise forbidden("Unauthorized access")
        return Response(200, block)

    def block_patch(self, req: Request, version: str) -> Response:
        caller = req.caller
        if not self.access.dataset_creator(caller):
            raise forbidden()
        block_id = req.params["id"]
        errors = dto.validate(dto.ORIGDATABLOCK_UPDATE, req.body)
        if errors:
            raise bad_request(errors)
        with self.store.write() as tx:
            block = self.store.get(BLOCKS, block_id)
            if block is None or ("pid" in req.params and block["datasetId"] != req.params["pid"]):
                raise error(404, "Not Found", with_error_name=False)
            dataset = self.store.get(DATASETS, block["datasetId"])
            if dataset is None or not self.access.may_update_dataset(caller, dataset):
                raise forbidden("Unauthorized to update this dataset")
            changes = dict(req.body)
            if "dataFileList" in changes:
                changes["dataFileList"] = normalize_files(changes["dataFileList"])
            updated = merge_patch(block, changes) if req.merge_patch else {**block, **changes}
            for owned in ("ownerGroup", "accessGroups", "instrumentGroup"):
                if owned in dataset:
                    updated[owned] = dataset[owned]
            self._stamp(updated, caller, created=False)
            tx.replace(BLOCKS, block_id, updated)
            size_delta = int(updated.get("size") or 0) - int(block.get("size") or 0)
            files_delta = len(updated.get("dataFileList") or []) - len(
                block.get("dataFileList") or []
            )
            if size_delta or files_delta:
                self._bump_dataset(tx, dataset, size_delta, files_delta, caller)
        return Response(200, updated)

    def block_delete(self, req: Request) -> Response:
        if not self.access.may_delete(req.caller):
            raise forbidden()
        block_id = req.params["id"]
        with self.store.write() as tx:
            block = self.store.get(BLOCKS, block_id)
            if block is None:
                raise error(404, "Not Found", with_error_name=False)
            tx.delete(BLOCKS, block_id)
            dataset = self.store.get(DATASETS, block["datasetId"])
            if dataset is not None:
                self._bump_dataset(
                    tx,
                    dataset,
                    -int(block.get("size") or 0),
                    -len(block.get("dataFileList") or []),
                    req.caller,
                )
        return Response(200, block)

"""The SciCat endpoints: datasets, origdatablocks, attachments, samples, auth.

Each handler takes a :class:`Request` and returns a :class:`Response` or raises
:class:`HttpError` with the backend's status and body.  Order of checks follows NestJS:
endpoint guards (403/401) before body validation (400) before per-object checks.
"""

from __future__ import annotations

import json
import re
import uuid
from email.utils import parsedate_to_datetime
from typing import Any

from scisync.sandbox import dto, quirks
from scisync.sandbox.access import Access
from scisync.sandbox.auth import Authenticator, Caller
from scisync.sandbox.filters import (
    FilterError,
    Matcher,
    apply_page,
    check_v4_filter,
    include_names,
    page_v3,
    page_v4,
    parse_json_param,
    project,
    v3_where,
)
from scisync.sandbox.http import HttpError, Request, Response, error, forbidden, internal_error
from scisync.sandbox.settings import SandboxSettings
from scisync.sandbox.store import DuplicateId, Store

DATASETS = "datasets"
BLOCKS = "origdatablocks"
ATTACHMENTS = "attachments"
SAMPLES = "samples"

_DATASET_DATES = frozenset({"creationTime", "startTime", "endTime", "createdAt", "updatedAt"})
_BLOCK_DATES = frozenset({"createdAt", "updatedAt", "dataFileList.time"})
_PLAIN_DATES = frozenset({"createdAt", "updatedAt"})

_DATASET_FIELDS = frozenset(
    set(dto.V4_DATASET_CREATE.fields)
    | set(dto.V4_DATASET_CREATE.nested)
    | {"_id", "createdAt", "updatedAt", "createdBy", "updatedBy", "history"}
    | {"datasetlifecycle", "origdatablocks", "attachments"}
)
_DATASET_INCLUDES = frozenset(
    {"origdatablocks", "attachments", "datablocks", "samples", "proposals", "instruments", "all"}
)
# v3 responses carry the obsolete singular fields next to the stored arrays.
_SINGULARS = {
    "principalInvestigator": "principalInvestigators",
    "proposalId": "proposalIds",
    "sampleId": "sampleIds",
    "instrumentId": "instrumentIds",
}
_LIFECYCLE_DEFAULT = {
    "archivable": True,
    "retrievable": False,
    "publishable": False,
    "isOnCentralDisk": True,
    "archiveStatusMessage": "datasetCreated",
    "retrieveStatusMessage": "",
    "retrieveIntegrityCheck": False,
}


def _bad_request_v3(errors: list[dto.ValidationError]) -> HttpError:
    records = [e.record() for e in errors]
    return HttpError(400, {"status": 400, "message": json.dumps(records)})


def _bad_request(errors: list[dto.ValidationError]) -> HttpError:
    return error(400, dto.messages(errors))


def _filter_error(exc: FilterError) -> HttpError:
    return error(400, str(exc))


def _not_found(kind: str, key: str) -> HttpError:
    return error(404, f"{kind}: {key} not found")


def _merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = _merge_patch(result.get(key), value)
    return result


def _normalize_dates(body: dict[str, Any], names: frozenset[str]) -> None:
    for name in names:
        value = body.get(name)
        if isinstance(value, str):
            body[name] = quirks.normalize_date(value) or value


def _normalize_files(files: Any) -> Any:
    if not isinstance(files, list):
        return files
    out = []
    for item in files:
        entry = dict(item)
        if isinstance(entry.get("time"), str):
            entry["time"] = quirks.normalize_date(entry["time"]) or entry["time"]
        out.append(entry)
    return out


class Api:
    """Endpoint handlers over one store."""

    def __init__(self, store: Store, auth: Authenticator, settings: SandboxSettings) -> None:
        self.store = store
        self.auth = auth
        self.settings = settings
        self.access = Access(settings)
        self.dataset_matcher = Matcher(_DATASET_DATES)
        self.block_matcher = Matcher(_BLOCK_DATES)
        self.plain_matcher = Matcher(_PLAIN_DATES)

    # ==== auth =========================================================================
    def login(self, req: Request) -> Response:
        body = req.body if isinstance(req.body, dict) else {}
        account = self.auth.check_password(body.get("username"), body.get("password"))
        if account is None:
            raise error(401, "Unauthorized", with_error_name=False)
        return Response(201, self.auth.login_response(account))

    def users_login(self, req: Request) -> Response:
        # Deprecated route: the guard checks the password, the handler returns nothing.
        self.login(req)
        return Response(201, None)

    def whoami(self, req: Request) -> Response:
        account = req.caller.account
        if account is None:
            return Response(200, None)
        return Response(
            200,
            {
                "_id": account.user_id,
                "username": account.username,
                "email": account.email,
                "currentGroups": list(req.caller.groups),
                "authStrategy": "local",
            },
        )

    def logout(self, req: Request) -> Response:
        return Response(201, {"logout": "successful"} if req.caller.account else None)

    # ==== helpers ==========================================================================
    def _filter(self, req: Request) -> dict[str, Any]:
        raw = req.query_one("filter")
        if raw is None:
            raw = req.headers.get("filter")
        try:
            return parse_json_param(raw)
        except FilterError as exc:
            raise _filter_error(exc) from None

    def _stamp(self, doc: dict[str, Any], caller: Caller, *, created: bool) -> None:
        now = quirks.now_iso()
        if created:
            doc["createdBy"] = caller.username
            doc["createdAt"] = now
        doc["updatedBy"] = caller.username
        doc["updatedAt"] = now

    def _readable_dataset(self, req: Request, pid: str) -> dict[str, Any]:
        dataset = self.store.get(DATASETS, pid)
        if dataset is None:
            raise _not_found("dataset", pid)
        if not self.access.can_read(req.caller, dataset):
            raise forbidden("Unauthorized access")
        return dataset

    def _check_unmodified_since(self, req: Request, doc: dict[str, Any]) -> None:
        header = req.headers.get("if-unmodified-since")
        if not header:
            return
        try:
            limit = parsedate_to_datetime(header)
        except (TypeError, ValueError):
            return
        updated = quirks.parse_date(str(doc.get("updatedAt", "")))
        if updated is not None and limit.tzinfo is not None and updated > limit:
            raise error(412, "Update error due to failed if-unmodified-since condition")

    # ==== datasets ======================================================================
    def dataset_output(
        self, doc: dict[str, Any], version: str, *, history: bool = False
    ) -> dict[str, Any]:
        out = dict(doc)
        if version == "v3":
            for singular, plural in _SINGULARS.items():
                values = out.get(plural)
                if isinstance(values, list) and values:
                    out.setdefault(singular, values[0])
            investigators = out.get("principalInvestigators")
            if out.get("type") == "derived" and isinstance(investigators, list) and investigators:
                out.setdefault("investigator", investigators[0])
            if history:
                out["history"] = []
        return out

    def _require_creator(self, caller: Caller) -> None:
        if not self.access.dataset_creator(caller):
            raise forbidden()

    def dataset_is_valid(self, req: Request, version: str) -> Response:
        self._require_creator(req.caller)
        body = req.body
        table = dto.dataset_create_table(
            version, body.get("type") if isinstance(body, dict) else None
        )
        errors = dto.validate(table, body)
        if errors:
            return Response(200, {"valid": False, "reason": [e.record() for e in errors]})
        return Response(200, {"valid": True})

    def dataset_create(self, req: Request, version: str) -> Response:
        caller = req.caller
        self._require_creator(caller)
        body = req.body
        dataset_type = body.get("type") if isinstance(body, dict) else None
        table = dto.dataset_create_table(version, dataset_type)
        errors = dto.validate(table, body)
        if errors:
            raise _bad_request_v3(errors) if version == "v3" else _bad_request(errors)
        assert isinstance(body, dict)
        if "pid" in body and not self.access.may_supply_pid(caller):
            raise forbidden("Unauthorized to create this dataset")
        if not self.access.any_owner_group(caller) and body["ownerGroup"] not in caller.groups:
            raise forbidden("Unauthorized to create this dataset")
        doc = self._new_dataset(body, version, caller)
        try:
            with self.store.write() as tx:
                tx.insert(DATASETS, doc["pid"], doc)
        except DuplicateId:
            raise error(409, f"A dataset with pid {doc['pid']} already exists!") from None
        return Response(201, self.dataset_output(doc, version))

    def _new_dataset(self, body: dict[str, Any], version: str, caller: Caller) -> dict[str, Any]:
        doc: dict[str, Any] = {k: v for k, v in body.items() if v is not None}
        doc.pop("version", None)
        for singular, plural in _SINGULARS.items():
            if singular in doc:
                doc[plural] = [doc.pop(singular)]
        if "investigator" in doc:  # v3 derived: the investigator is the principal one
            doc.setdefault("principalInvestigators", [doc.pop("investigator")])
        if "pid" in doc:
            pid = doc["pid"]
        else:
            pid = f"{self.settings.pid_prefix.rstrip('/')}/{uuid.uuid4()}"
        _normalize_dates(doc, dto.DATE_FIELDS)
        if not doc.get("datasetName"):
            doc["datasetName"] = quirks.dataset_name_from_source_folder(doc["sourceFolder"])
        if "scientificMetadata" in doc:
            doc["scientificMetadata"] = quirks.add_si_units(doc["scientificMetadata"])
        lifecycle = dict(_LIFECYCLE_DEFAULT)
        lifecycle.update(doc.get("datasetlifecycle") or {})
        defaults: dict[str, Any] = {
            "isPublished": False,
            "size": 0,
            "packedSize": 0,
            "numberOfFiles": 0,
            "numberOfFilesArchived": 0,
            "keywords": [],
            "sharedWith": [],
            "accessGroups": [],
            "techniques": [],
            "relationships": [],
            "principalInvestigators": [],
            "proposalIds": [],
            "sampleIds": [],
            "instrumentIds": [],
            "inputDatasets": [],
            "usedSoftware": [],
        }
        for key, value in defaults.items():
            doc.setdefault(key, value)
        doc["datasetlifecycle"] = lifecycle
        doc["classification"] = quirks.CLASSIFICATION
        doc["pid"] = pid
        doc["_id"] = pid
        doc["version"] = version.removeprefix("v")
        self._stamp(doc, caller, created=True)
        return doc

    def dataset_get(self, req: Request, version: str) -> Response:
        pid = req.params["pid"]
        if version == "v4" and req.caller.account is None:
            raise forbidden()
        dataset = self._readable_dataset(req, pid)
        filter_ = self._filter(req) if version == "v3" else {}
        includes = req.query.get("include", [])
        try:
            names = include_names(includes) + include_names(filter_.get("include"))
        except FilterError as exc:
            raise _filter_error(exc) from None
        out = self.dataset_output(dataset, version, history=version == "v3")
        self._add_includes(req.caller, [out], names)
        return Response(200, project(out, filter_.get("fields")))

    def _add_includes(
        self, caller: Caller, datasets: list[dict[str, Any]], names: list[str]
    ) -> None:
        wanted = set(names)
        unknown = wanted - _DATASET_INCLUDES
        if unknown:
            raise error(400, f"Invalid include: {sorted(unknown)[0]}")
        if "all" in wanted:
            wanted |= {"origdatablocks", "attachments", "datablocks"}
        pids = [d["pid"] for d in datasets]
        if "origdatablocks" in wanted:
            grouped: dict[str, list[dict[str, Any]]] = {pid: [] for pid in pids}
            for block in self.store.by_refs(BLOCKS, pids):
                if self.access.can_read(caller, block) and block.get("datasetId") in grouped:
                    grouped[block["datasetId"]].append(block)
            for dataset in datasets:
                dataset["origdatablocks"] = grouped[dataset["pid"]]
        if "attachments" in wanted:
            by_target: dict[str, list[dict[str, Any]]] = {pid: [] for pid in pids}
            for attachment in self.store.by_refs(ATTACHMENTS, pids):
                if not self.access.can_read(caller, attachment):
                    continue
                for rel in attachment.get("relationships") or []:
                    target = rel.get("targetId")
                    wanted_target = rel.get("targetType") == "dataset" and target in by_target
                    if wanted_target and attachment not in by_target[target]:
                        by_target[target].append(attachment)
            for dataset in datasets:
                dataset["attachments"] = by_target[dataset["pid"]]
        for name in ("datablocks", "samples", "proposals", "instruments"):
            if name in wanted:
                for dataset in datasets:
                    dataset[name] = []

    def _dataset_query(
        self, req: Request, version: str
    ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """All datasets the caller may see that match the filter's ``where`` (unpaged)."""
        filter_ = self._filter(req)
        where = filter_.get("where") or {}
        try:
            if version == "v4":
                check_v4_filter(filter_, _DATASET_FIELDS)
            else:
                where = v3_where(where)
            read = self.access.read_clause(req.caller)
            clauses = [c for c in (where, read) if c]
            combined = {"$and": clauses} if clauses else {}
            candidates = self._dataset_candidates(where)
            found = self.dataset_matcher.select(candidates, combined)
        except FilterError as exc:
            raise _filter_error(exc) from None
        return found, filter_

    def _dataset_candidates(self, where: Any) -> list[dict[str, Any]]:
        # Use the primary key when the filter pins pids; otherwise scan the collection.
        if isinstance(where, dict):
            for key in ("pid", "_id"):
                condition = where.get(key)
                if isinstance(condition, str):
                    return self.store.by_ids(DATASETS, [condition])
                if isinstance(condition, dict) and set(condition) == {"$in"}:
                    values = condition["$in"]
                    if isinstance(values, list) and all(isinstance(v, str) for v in values):
                        return self.store.by_ids(DATASETS, values)
        return self.store.all(DATASETS)

    def dataset_list(self, req: Request, version: str, *, one: bool = False) -> Response:
        if version == "v4" and req.caller.account is None:
            raise forbidden()
        found, filter_ = self._dataset_query(req, version)
        try:
            if version == "v4":
                page = page_v4(filter_.get("limits"), default_limit=10)
            else:
                page = page_v3(filter_.get("limits"), default_limit=100)
            names = include_names(filter_.get("include"))
        except FilterError as exc:
            raise _filter_error(exc) from None
        if one:
            page = type(page)(limit=1, skip=page.skip, sort=page.sort)
        docs = [self.dataset_output(d, version) for d in apply_page(found, page)]
        if "origdatablocks" in names and not one and not filter_.get("fields"):
            # The batched lookup scisync makes: splice stored block JSON into the answer.
            self._add_includes(req.caller, docs, [n for n in names if n != "origdatablocks"])
            return Response(200, payload=self._with_raw_blocks(req.caller, docs))
        self._add_includes(req.caller, docs, names)
        docs = [project(d, filter_.get("fields")) for d in docs]
        if one:
            return Response(200, docs[0] if docs else None)
        return Response(200, docs)

    def _with_raw_blocks(self, caller: Caller, datasets: list[dict[str, Any]]) -> bytes:
        """``[dataset..., ]`` JSON with each dataset's readable blocks as stored."""
        grouped: dict[str, list[str]] = {d["pid"]: [] for d in datasets}
        for ref, access, body in self.store.by_refs_raw(BLOCKS, list(grouped)):
            if ref in grouped and self.access.can_read(caller, access):
                grouped[ref].append(body)
        parts = []
        for dataset in datasets:
            text = json.dumps(dataset, ensure_ascii=False)
            blocks = '"origdatablocks":[' + ",".join(grouped[dataset["pid"]]) + "]"
            parts.append(text[:-1] + ("," if len(dataset) else "") + blocks + "}")
        return ("[" + ",".join(parts) + "]").encode("utf-8")

    def dataset_fullquery(self, req: Request) -> Response:
        """``GET /datasets/fullquery?fields={...}&limits={...}`` (the search-form query)."""
        try:
            fields = parse_json_param(req.query_one("fields"), "fields")
            limits = parse_json_param(req.query_one("limits"), "limits")
            clauses = [_fullquery_clause(key, value) for key, value in fields.items()]
            read = self.access.read_clause(req.caller)
            where = {"$and": [c for c in [*clauses, read] if c]}
            found = self.dataset_matcher.select(self.store.all(DATASETS), where)
            page = page_v3(limits, default_limit=100)
        except FilterError as exc:
            raise _filter_error(exc) from None
        return Response(200, [self.dataset_output(d, "v3") for d in apply_page(found, page)])

    def dataset_public_list(self, req: Request, *, one: bool = False) -> Response:
        anonymous = Request(**{**req.__dict__, "caller": Caller(account=None, groups=())})
        found, filter_ = self._dataset_query(anonymous, "v3")
        page = page_v4(filter_.get("limits"), default_limit=10)
        docs = apply_page(found, page)
        if one:
            return Response(200, docs[0] if docs else None)
        return Response(200, docs)

    def dataset_public_get(self, req: Request) -> Response:
        dataset = self.store.get(DATASETS, req.params["pid"])
        if dataset is None or dataset.get("isPublished") is not True:
            raise _not_found("dataset", req.params["pid"])
        return Response(200, dataset)

    def dataset_count(self, req: Request, version: str) -> Response:
        if version == "v4" and req.caller.account is None:
            raise forbidden()
        found, _ = self._dataset_query(req, version)
        return Response(200, {"count": len(found)})

    def dataset_patch(self, req: Request, version: str) -> Response:
        caller = req.caller
        if caller.account is None or not self.access.dataset_creator(caller):
            raise forbidden()
        pid = req.params["pid"]
        # Read and write under the write lock so a concurrent block upload's counter
        # update is not lost (MongoDB's $set touches only the sent fields).
        with self.store.write() as tx:
            current = self.store.get(DATASETS, pid)
            if current is None:
                raise _not_found("dataset", pid)
            updated = self._patched_dataset(req, version, current)
            tx.replace(DATASETS, pid, updated)
        return Response(200, self.dataset_output(updated, version))

    def _patched_dataset(
        self, req: Request, version: str, current: dict[str, Any]
    ) -> dict[str, Any]:
        caller = req.caller
        body = req.body
        table = dto.dataset_update_table(version, current.get("type"))
        errors = dto.validate(table, body)
        if errors:
            raise _bad_request_v3(errors) if version == "v3" else _bad_request(errors)
        assert isinstance(body, dict)
        if not self.access.may_update_dataset(caller, current):
            raise forbidden("Unauthorized to update this dataset")
        self._check_unmodified_since(req, current)
        self._check_quantities(current.get("scientificMetadata"), body.get("scientificMetadata"))
        changes = dict(body)
        for singular, plural in _SINGULARS.items():
            if singular in changes:
                changes[plural] = [changes.pop(singular)]
        if "investigator" in changes:
            changes["principalInvestigators"] = [changes.pop("investigator")]
        _normalize_dates(changes, dto.DATE_FIELDS)
        updated: dict[str, Any]
        if req.merge_patch and version == "v4":
            updated = dict(_merge_patch(current, changes))
        else:
            updated = {**current, **changes}
        if "scientificMetadata" in changes and isinstance(updated.get("scientificMetadata"), dict):
            updated["scientificMetadata"] = quirks.add_si_units(
                _strip_si(updated["scientificMetadata"])
            )
        partial_dto = version == "v4" or current.get("type") not in ("raw", "derived")
        if self.settings.patch_resets_counters and partial_dto:
            for counter in ("size", "packedSize", "numberOfFiles"):
                if counter not in changes:
                    updated[counter] = 0
        updated["classification"] = quirks.CLASSIFICATION
        self._stamp(updated, caller, created=False)
        return updated

    def _check_quantities(self, stored: Any, patch: Any) -> None:
        """A stored ``{value, unit}`` must be patched with both (the backend's 400)."""
        if not isinstance(stored, dict) or not isinstance(patch, dict):
            return
        for key, new in patch.items():
            old = stored.get(key)
            quantity = isinstance(old, dict) and "value" in old and "unit" in old
            if quantity and isinstance(new, dict) and ("value" in new) != ("unit" in new):
                raise error(
                    400,
                    f"scientificMetadata.{key}: a quantity needs both value and unit",
                )

    def dataset_delete(self, req: Request) -> Response:
        if not self.access.may_delete(req.caller):
            raise forbidden()
        pid = req.params["pid"]
        current = self.store.get(DATASETS, pid)
        if current is None:
            raise _not_found("dataset", pid)
        with self.store.write() as tx:
            tx.delete(DATASETS, pid)
        return Response(200, current)

    # ==== origdatablocks ==================================================================
    def block_create(self, req: Request, version: str, *, nested: bool = False) -> Response:
        caller = req.caller
        if not self.access.dataset_creator(caller):
            raise forbidden()
        table = dto.DATASET_ORIGDATABLOCK_CREATE if nested else dto.ORIGDATABLOCK_CREATE
        errors = dto.validate(table, req.body)
        if errors:
            raise _bad_request(errors)
        body = dict(req.body)
        pid = req.params["pid"] if nested else body["datasetId"]
        with self.store.write() as tx:
            dataset = self.store.get(DATASETS, pid)
            if dataset is None:
                raise _not_found("dataset", pid)
            if not self.access.may_update_dataset(caller, dataset):
                raise forbidden("Unauthorized to update this dataset")
            doc: dict[str, Any] = {k: v for k, v in body.items() if v is not None}
            doc["_id"] = str(uuid.uuid4())
            doc["datasetId"] = pid
            doc["dataFileList"] = _normalize_files(doc["dataFileList"])
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

    def _bump_dataset(
        self, tx: Any, dataset: dict[str, Any], size: int, files: int, caller: Caller
    ) -> None:
        # The backend's atomic $inc on the dataset's counters (master 87188a18).
        dataset["size"] = int(dataset.get("size") or 0) + size
        dataset["numberOfFiles"] = int(dataset.get("numberOfFiles") or 0) + files
        self._stamp(dataset, caller, created=False)
        tx.replace(DATASETS, dataset["pid"], dataset)

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
            raise _filter_error(exc) from None
        docs = [project(b, filter_.get("fields")) for b in apply_page(found, page)]
        return Response(200, docs)

    def _ref_candidates(self, collection: str, where: Any, ref_key: str) -> list[dict[str, Any]]:
        if isinstance(where, dict):
            condition = where.get(ref_key)
            if isinstance(condition, str):
                return self.store.by_refs(collection, [condition])
            if isinstance(condition, dict):
                values = condition.get("$in", condition.get("inq"))
                if isinstance(values, list) and all(isinstance(v, str) for v in values):
                    return self.store.by_refs(collection, values)
        return self.store.all(collection)

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
            raise _bad_request(errors)
        with self.store.write() as tx:
            block = self.store.get(BLOCKS, block_id)
            if block is None or ("pid" in req.params and block["datasetId"] != req.params["pid"]):
                raise error(404, "Not Found", with_error_name=False)
            dataset = self.store.get(DATASETS, block["datasetId"])
            if dataset is None or not self.access.may_update_dataset(caller, dataset):
                raise forbidden("Unauthorized to update this dataset")
            changes = dict(req.body)
            if "dataFileList" in changes:
                changes["dataFileList"] = _normalize_files(changes["dataFileList"])
            updated = _merge_patch(block, changes) if req.merge_patch else {**block, **changes}
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

    # ==== attachments ===================================================================
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
            raise _bad_request(errors)
        pid = req.params["pid"]
        dataset = self.store.get(DATASETS, pid)
        if dataset is None:
            raise _not_found("dataset", pid)
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
            raise _bad_request(errors)
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
            raise _filter_error(exc) from None
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
            raise _bad_request(errors)
        aid = req.params["id"]
        with self.store.write() as tx:
            doc = self.store.get(ATTACHMENTS, aid)
            if doc is None:
                raise error(404, "Not Found", with_error_name=False)
            if not self.access.may_update_attachment(caller, doc):
                raise forbidden("Unauthorized to update this attachment")
            updated = _merge_patch(doc, req.body) if req.merge_patch else {**doc, **req.body}
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

    # ==== samples ========================================================================
    def _require_sample_user(self, caller: Caller) -> None:
        if caller.account is None:
            raise error(401, "Unauthenticated", with_error_name=False)
        if not self.access.sample_creator(caller):
            raise forbidden()

    def sample_create(self, req: Request) -> Response:
        caller = req.caller
        self._require_sample_user(caller)
        errors = dto.validate(dto.SAMPLE_CREATE, req.body)
        if errors:
            raise _bad_request(errors)
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
            raise _filter_error(exc) from None
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
            raise _bad_request(errors)
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
                    _strip_si(changes["sampleCharacteristics"])
                )
            updated = {**doc, **changes}
            self._stamp(updated, caller, created=False)
            tx.replace(SAMPLES, sample_id, updated)
        return Response(200, updated)

    def sample_delete(self, req: Request) -> Response:
        if req.caller.account is None:
            raise error(401, "Unauthenticated", with_error_name=False)
        if not self.access.may_delete(req.caller):
            raise forbidden()
        sample_id = req.params["id"]
        with self.store.write() as tx:
            doc = self.store.get(SAMPLES, sample_id)
            if doc is None:
                raise error(404, "Not Found", with_error_name=False)
            tx.delete(SAMPLES, sample_id)
        return Response(200, doc)


_SCIENTIFIC_OPS = {"GREATER_THAN": "$gt", "LESS_THAN": "$lt"}


def _fullquery_clause(key: str, value: Any) -> dict[str, Any]:
    """One search-form field as a ``where`` clause (``createFullqueryFilter``, simplified)."""
    if key == "mode":
        return value if isinstance(value, dict) else {}
    if key == "text":
        if not isinstance(value, str) or not value:
            return {}
        pattern = re.escape(value)
        names = ("datasetName", "description", "keywords", "sourceFolder", "pid")
        return {"$or": [{n: {"$regex": pattern, "$options": "i"}} for n in names]}
    if key == "scientific":
        return {"$and": [_scientific(c) for c in value]} if isinstance(value, list) else {}
    if isinstance(value, list):
        return {key: {"$in": value}} if value else {}
    if isinstance(value, dict) and ("begin" in value or "end" in value):
        span: dict[str, Any] = {}
        if value.get("begin"):
            span["$gte"] = value["begin"]
        if value.get("end"):
            span["$lte"] = value["end"]
        return {key: span} if span else {}
    return {key: value}


def _scientific(condition: Any) -> dict[str, Any]:
    if not isinstance(condition, dict) or not isinstance(condition.get("lhs"), str):
        raise FilterError("Invalid scientific condition in fields")
    lhs, rhs, relation = condition["lhs"], condition.get("rhs"), condition.get("relation")
    unit = condition.get("unit")
    base = f"scientificMetadata.{lhs}"
    if relation == "EQUAL_TO_STRING":
        return {"$or": [{f"{base}.value": rhs}, {base: rhs}]}
    if isinstance(unit, str) and unit:
        rhs, _ = quirks.si_value(rhs, unit)
        path = f"{base}.valueSI"
    else:
        path = f"{base}.value"
    if relation in _SCIENTIFIC_OPS:
        return {path: {_SCIENTIFIC_OPS[relation]: rhs}}
    return {path: rhs}


def _targets(attachment: dict[str, Any]) -> list[str]:
    return [
        str(rel["targetId"])
        for rel in attachment.get("relationships") or []
        if isinstance(rel, dict) and rel.get("targetId") is not None
    ]


def _strip_si(metadata: Any) -> Any:
    """Drop stale valueSI/unitSI so they are recomputed from the new value and unit."""
    if isinstance(metadata, list):
        return [_strip_si(item) for item in metadata]
    if not isinstance(metadata, dict):
        return metadata
    cleaned = {k: _strip_si(v) for k, v in metadata.items()}
    if "valueSI" in cleaned and "unitSI" in cleaned and len(cleaned) > 2:
        cleaned.pop("valueSI")
        cleaned.pop("unitSI")
    return cleaned

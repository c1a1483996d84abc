"""Datasets, v3 and v4: create, read, list with filters and includes, patch, delete."""

from __future__ import annotations

import dataclasses
import json
import re
import uuid
from typing import Any

from scisync.sandbox import dto, fullquery, quirks
from scisync.sandbox.auth import ANONYMOUS, Caller
from scisync.sandbox.endpoints.base import (
    ATTACHMENTS,
    BLOCKS,
    DATASETS,
    Endpoints,
    bad_request,
    bad_request_v3,
    filter_error,
    merge_patch,
    normalize_dates,
    not_found,
    strip_si,
)
from scisync.sandbox.filters import (
    FilterError,
    apply_page,
    check_v4_filter,
    include_fields,
    include_names,
    page_v3,
    page_v4,
    parse_json_param,
    project,
    v3_where,
)
from scisync.sandbox.http import Request, Response, error, forbidden, internal_error
from scisync.sandbox.store import DuplicateId

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


class DatasetEndpoints(Endpoints):
    """``/v3/datasets`` and ``/v4/datasets``."""

    def dataset_output(
        self, doc: dict[str, Any], version: str, *, history: bool = False
    ) -> dict[str, Any]:
        out = dict(doc)
        if version == "v3":
            for singular, plural in _SINGULARS.items():
                values = out.get(plural)
                if isinstance(values, list) and values:
                    out.setdefault(singular, values[0])
            # No singular `investigator`: convertCurrentToObsoleteSchema adds it only when
            # the document has an `investigator` path, which the schema does not have.
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
            raise bad_request_v3(errors) if version == "v3" else bad_request(errors)
        assert isinstance(body, dict)
        pattern = self.settings.dataset_creation_validation_regex
        if pattern is not None and "pid" in body and not re.search(pattern, str(body["pid"])):
            raise error(400, "PID is not following required standards")
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
        normalize_dates(doc, dto.DATE_FIELDS)
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
            scopes = include_fields(filter_.get("include"))
        except FilterError as exc:
            raise filter_error(exc) from None
        out = self.dataset_output(dataset, version, history=version == "v3")
        self._add_includes(req.caller, [out], names, scopes)
        return Response(200, project(out, filter_.get("fields")))

    def _add_includes(
        self,
        caller: Caller,
        datasets: list[dict[str, Any]],
        names: list[str],
        scopes: dict[str, list[str]] | None = None,
    ) -> None:
        """Each included relation, its documents projected to the scope's ``fields``."""
        wanted = set(names)
        unknown = wanted - _DATASET_INCLUDES
        if unknown:
            raise error(400, f"Invalid include: {sorted(unknown)[0]}")
        if "all" in wanted:
            wanted |= {"origdatablocks", "attachments", "datablocks"}
        scopes = scopes or {}
        pids = [d["pid"] for d in datasets]
        if "origdatablocks" in wanted:
            grouped: dict[str, list[dict[str, Any]]] = {pid: [] for pid in pids}
            fields = scopes.get("origdatablocks")
            for ref, access, block in self._blocks_of(pids, fields):
                if self.access.can_read(caller, access) and ref in grouped:
                    grouped[ref].append(block)
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
                attachments = by_target[dataset["pid"]]
                if "attachments" in scopes:
                    attachments = [project(a, scopes["attachments"]) for a in attachments]
                dataset["attachments"] = attachments
        for name in ("datablocks", "samples", "proposals", "instruments"):
            if name in wanted:
                for dataset in datasets:
                    dataset[name] = []

    def _blocks_of(
        self, pids: list[str], fields: list[str] | None
    ) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
        """``(datasetId, access fields, block)`` of every block of *pids*, projected to
        *fields* when given (read from the stored JSON by SQLite, no body parsed: the
        block summaries of a million files come back without their file lists)."""
        if fields is not None:
            return self.store.by_refs_fields(BLOCKS, pids, fields)
        return [
            (str(block.get("datasetId")), block, block)
            for block in self.store.by_refs(BLOCKS, pids)
        ]

    def _dataset_where(self, req: Request, version: str) -> tuple[Any, dict[str, Any]]:
        """The filter's ``where`` ANDed with the caller's read rule, and the filter."""
        filter_ = self._filter(req)
        where = filter_.get("where") or {}
        try:
            if version == "v4":
                check_v4_filter(filter_, _DATASET_FIELDS)
            else:
                where = v3_where(where)
        except FilterError as exc:
            raise filter_error(exc) from None
        read = self.access.read_clause(req.caller)
        clauses = [c for c in (where, read) if c]
        return ({"$and": clauses} if clauses else {}), filter_

    def _dataset_query(
        self, req: Request, version: str
    ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """All datasets the caller may see that match the filter's ``where`` (unpaged)."""
        combined, filter_ = self._dataset_where(req, version)
        try:
            candidates = self.dataset_candidates.matching(combined)
            found = self.dataset_matcher.select(candidates, combined)
        except FilterError as exc:
            raise filter_error(exc) from None
        return found, filter_

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
            scopes = include_fields(filter_.get("include"))
        except FilterError as exc:
            raise filter_error(exc) from None
        if one:
            page = type(page)(limit=1, skip=page.skip, sort=page.sort)
        docs = [self.dataset_output(d, version) for d in apply_page(found, page)]
        raw = "origdatablocks" in names and "origdatablocks" not in scopes
        if raw and not one and not filter_.get("fields"):
            # The batched lookup scisync makes: splice stored block JSON into the answer.
            rest = [n for n in names if n != "origdatablocks"]
            self._add_includes(req.caller, docs, rest, scopes)
            return Response(200, payload=self._with_raw_blocks(req.caller, docs))
        self._add_includes(req.caller, docs, names, scopes)
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
        """``GET /datasets/fullquery?fields={...}&limits={...}`` (see :mod:`..fullquery`)."""
        caller = req.caller
        try:
            fields = parse_json_param(req.query_one("fields"), "fields")
            limits = parse_json_param(req.query_one("limits"), "limits")
            fullquery.access_fields(
                fields,
                anonymous=caller.account is None,
                admin=self.access.is_admin(caller),
                groups=list(caller.groups),
            )
            where = fullquery.fullquery_where(fields)
            text = where.pop("$text", None)
            clauses = [where, _text_clause(text)] if text is not None else [where]
            combined = {"$and": clauses}
            candidates = self.dataset_candidates.matching(combined)
            found = self.dataset_matcher.select(candidates, combined)
            page = page_v3(limits, default_limit=100)
        except fullquery.BrokenQuery:
            raise internal_error() from None
        except FilterError as exc:
            raise filter_error(exc) from None
        return Response(200, [self.dataset_output(d, "v3") for d in apply_page(found, page)])

    def dataset_public_list(self, req: Request, *, one: bool = False) -> Response:
        anonymous = dataclasses.replace(req, caller=ANONYMOUS)
        found, filter_ = self._dataset_query(anonymous, "v3")
        try:
            page = page_v4(filter_.get("limits"), default_limit=10)
        except FilterError as exc:
            raise filter_error(exc) from None
        docs = apply_page(found, page)
        if one:
            return Response(200, docs[0] if docs else None)
        return Response(200, docs)

    def dataset_public_get(self, req: Request) -> Response:
        dataset = self.store.get(DATASETS, req.params["pid"])
        if dataset is None or dataset.get("isPublished") is not True:
            raise not_found("dataset", req.params["pid"])
        return Response(200, dataset)

    def dataset_count(self, req: Request, version: str) -> Response:
        if version == "v4" and req.caller.account is None:
            raise forbidden()
        combined, _ = self._dataset_where(req, version)
        try:
            count = self.dataset_candidates.count(combined)
        except FilterError as exc:
            raise filter_error(exc) from None
        return Response(200, {"count": count})

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
                raise not_found("dataset", pid)
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
            raise bad_request_v3(errors) if version == "v3" else bad_request(errors)
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
        normalize_dates(changes, dto.DATE_FIELDS)
        updated: dict[str, Any]
        if req.merge_patch and version == "v4":
            updated = dict(merge_patch(current, changes))
        else:
            updated = {**current, **changes}
        if "scientificMetadata" in changes and isinstance(updated.get("scientificMetadata"), dict):
            updated["scientificMetadata"] = quirks.add_si_units(
                strip_si(updated["scientificMetadata"])
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
            raise not_found("dataset", pid)
        with self.store.write() as tx:
            tx.delete(DATASETS, pid)
        return Response(200, current)


_TEXT_FIELDS = ("datasetName", "description", "keywords", "sourceFolder", "pid")


def _text_clause(text: Any) -> dict[str, Any]:
    """``$text: {$search}`` approximated: every word, case-insensitively, in a text field.

    MongoDB's text index tokenises and stems; the sandbox has no text index, so it looks
    for each word as a substring of the fields the backend's index covers most often.
    """
    words = str(text or "").split()
    return (
        {
            "$and": [
                {"$or": [{n: {"$regex": re.escape(w), "$options": "i"}} for n in _TEXT_FIELDS]}
                for w in words
            ]
        }
        if words
        else {}
    )

"""What every endpoint group shares: the store, access rules, error helpers.

Each handler takes a :class:`Request` and returns a :class:`Response` or raises
:class:`HttpError` with the backend's status and body.  Order of checks follows NestJS:
endpoint guards (403/401) before body validation (400) before per-object checks.
"""

from __future__ import annotations

import json
from email.utils import parsedate_to_datetime
from typing import Any

from scisync.sandbox import dto, quirks
from scisync.sandbox.access import Access
from scisync.sandbox.auth import Authenticator, Caller
from scisync.sandbox.candidates import Candidates
from scisync.sandbox.filters import (
    FilterError,
    Matcher,
    parse_json_param,
)
from scisync.sandbox.http import HttpError, Request, error, forbidden
from scisync.sandbox.settings import SandboxSettings
from scisync.sandbox.store import Store, Writer

DATASETS = "datasets"
BLOCKS = "origdatablocks"
ATTACHMENTS = "attachments"
SAMPLES = "samples"

DATASET_DATES = frozenset({"creationTime", "startTime", "endTime", "createdAt", "updatedAt"})
BLOCK_DATES = frozenset({"createdAt", "updatedAt", "dataFileList.time"})
PLAIN_DATES = frozenset({"createdAt", "updatedAt"})


def bad_request_v3(errors: list[dto.ValidationError]) -> HttpError:
    records = [e.record() for e in errors]
    return HttpError(400, {"status": 400, "message": json.dumps(records)})


def bad_request(errors: list[dto.ValidationError]) -> HttpError:
    return error(400, dto.messages(errors))


def filter_error(exc: FilterError) -> HttpError:
    return error(400, str(exc))


def not_found(kind: str, key: str) -> HttpError:
    return error(404, f"{kind}: {key} not found")


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def normalize_dates(body: dict[str, Any], names: frozenset[str]) -> None:
    for name in names:
        value = body.get(name)
        if isinstance(value, str):
            body[name] = quirks.normalize_date(value) or value


def normalize_files(files: Any) -> Any:
    if not isinstance(files, list):
        return files
    out = []
    for item in files:
        entry = dict(item)
        if isinstance(entry.get("time"), str):
            entry["time"] = quirks.normalize_date(entry["time"]) or entry["time"]
        out.append(entry)
    return out


def strip_si(metadata: Any) -> Any:
    """Drop stale valueSI/unitSI so they are recomputed from the new value and unit."""
    if isinstance(metadata, list):
        return [strip_si(item) for item in metadata]
    if not isinstance(metadata, dict):
        return metadata
    cleaned = {k: strip_si(v) for k, v in metadata.items()}
    if "valueSI" in cleaned and "unitSI" in cleaned and len(cleaned) > 2:
        cleaned.pop("valueSI")
        cleaned.pop("unitSI")
    return cleaned


class Endpoints:
    """State and helpers shared by the endpoint groups (mixed together in ``api.Api``)."""

    def __init__(self, store: Store, auth: Authenticator, settings: SandboxSettings) -> None:
        self.store = store
        self.auth = auth
        self.settings = settings
        self.access = Access(settings)
        self.dataset_matcher = Matcher(DATASET_DATES)
        self.dataset_candidates = Candidates(
            store, DATASETS, self.dataset_matcher, ("pid", "_id"), DATASET_DATES
        )
        self.block_matcher = Matcher(BLOCK_DATES)
        self.plain_matcher = Matcher(PLAIN_DATES)

    # ==== helpers ==========================================================================
    def _filter(self, req: Request) -> dict[str, Any]:
        raw = req.query_one("filter")
        if raw is None:
            raw = req.headers.get("filter")
        try:
            return parse_json_param(raw)
        except FilterError as exc:
            raise filter_error(exc) from None

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
            raise not_found("dataset", pid)
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

    def _bump_dataset(
        self, tx: Writer, dataset: dict[str, Any], size: int, files: int, caller: Caller
    ) -> None:
        # The backend's atomic $inc on the dataset's counters (master 87188a18).
        dataset["size"] = int(dataset.get("size") or 0) + size
        dataset["numberOfFiles"] = int(dataset.get("numberOfFiles") or 0) + files
        self._stamp(dataset, caller, created=False)
        tx.replace(DATASETS, dataset["pid"], dataset)

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

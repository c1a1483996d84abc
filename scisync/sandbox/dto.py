"""Field tables of the backend's DTOs, and validation that answers like class-validator.

The backend's global ``ValidationPipe`` rejects unknown properties, missing required ones
and mistyped ones.  :func:`validate` returns the same error records, which the server
renders in the v3 dataset shape (a JSON *string* of records) or the standard shape
(a list of messages).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from scisync.sandbox.quirks import parse_date

Check = Callable[[str, Any], dict[str, str]]  # property path, value -> failed constraints


@dataclass(frozen=True)
class ValidationError:
    """One class-validator error record (children flattened into dotted paths)."""

    property: str
    value: Any
    constraints: dict[str, str]
    missing: bool = False  # undefined in JavaScript: no "value" in the record

    def messages(self) -> list[str]:
        return list(self.constraints.values())

    def record(self) -> dict[str, Any]:
        record: dict[str, Any] = {"property": self.property}
        if not self.missing:
            record["value"] = self.value
        record["children"] = []
        record["constraints"] = self.constraints
        return record


# --- single-value checks (messages are class-validator's defaults) ------------------
def is_string(path: str, value: Any) -> dict[str, str]:
    return {} if isinstance(value, str) else {"isString": f"{path} must be a string"}


def non_empty_string(path: str, value: Any) -> dict[str, str]:
    errors = is_string(path, value)
    if value is None or value == "":
        errors["isNotEmpty"] = f"{path} should not be empty"
    return errors


_EMAIL = re.compile(r"^[^@\s;]+@[^@\s;]+\.[^@\s;]+$")


def is_email(path: str, value: Any) -> dict[str, str]:
    if isinstance(value, str) and _EMAIL.match(value.strip()):
        return {}
    return {"isEmail": f"{path} must be an email"}


def email_list(path: str, value: Any) -> dict[str, str]:
    """contactEmail: one address or a ``;``-separated list."""
    if (
        isinstance(value, str)
        and value
        and all(_EMAIL.match(part.strip()) for part in value.split(";"))
    ):
        return {}
    return {"isEmailList": f"{path} must be an email or a list of emails separated by ;"}


def is_date(path: str, value: Any) -> dict[str, str]:
    if isinstance(value, str) and parse_date(value) is not None:
        return {}
    return {"isDateString": f"{path} must be a valid ISO 8601 date string"}


def is_int(path: str, value: Any) -> dict[str, str]:
    if isinstance(value, int) and not isinstance(value, bool):
        return {}
    return {"isInt": f"{path} must be an integer number"}


def is_number(path: str, value: Any) -> dict[str, str]:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return {}
    return {"isNumber": f"{path} must be a number conforming to the specified constraints"}


def is_bool(path: str, value: Any) -> dict[str, str]:
    return {} if isinstance(value, bool) else {"isBoolean": f"{path} must be a boolean value"}


def is_object(path: str, value: Any) -> dict[str, str]:
    return {} if isinstance(value, dict) else {"isObject": f"{path} must be an object"}


def empty_object(path: str, value: Any) -> dict[str, str]:
    """File ``metadata``: the default DATAFILES_METADATA_SCHEMA only accepts ``{}``."""
    errors = is_object(path, value)
    if not errors and value:
        errors["matchesSchema"] = f"{path} does not match the data file metadata schema"
    return errors


def string_list(path: str, value: Any) -> dict[str, str]:
    if not isinstance(value, list):
        return {
            "isArray": f"{path} must be an array",
            "isString": f"each value in {path} must be a string",
        }
    if not all(isinstance(item, str) for item in value):
        return {"isString": f"each value in {path} must be a string"}
    return {}


def one_of(*choices: str) -> Check:
    def check(path: str, value: Any) -> dict[str, str]:
        if value in choices:
            return {}
        return {"isEnum": f"{path} must be one of the following values: {', '.join(choices)}"}

    return check


@dataclass(frozen=True)
class Field:
    check: Check
    required: bool = False


@dataclass(frozen=True)
class Table:
    """The properties one DTO allows; nested object lists validate with their own table."""

    fields: Mapping[str, Field]
    nested: Mapping[str, Table] = field(default_factory=dict)
    non_empty_lists: frozenset[str] = frozenset()

    def extend(self, **more: Field) -> Table:
        return Table({**self.fields, **more}, self.nested, self.non_empty_lists)

    def without(self, *names: str) -> Table:
        return Table(
            {k: v for k, v in self.fields.items() if k not in names},
            {k: v for k, v in self.nested.items() if k not in names},
            self.non_empty_lists,
        )

    def optional(self) -> Table:
        """The update DTO: every property optional (PartialType)."""
        return Table(
            {k: Field(v.check) for k, v in self.fields.items()},
            self.nested,
            frozenset(),
        )


def _object_list(path: str, value: Any) -> dict[str, str]:
    if not isinstance(value, list):
        return {"isArray": f"{path} must be an array"}
    if not all(isinstance(item, dict) for item in value):
        return {"nestedValidation": f"each value in nested property {path} must be an object"}
    return {}


def validate(table: Table, body: Any, prefix: str = "") -> list[ValidationError]:
    """All errors for *body* against *table* (empty when it is valid)."""
    if not isinstance(body, dict):
        return [
            ValidationError(
                prefix or "body", body, {"isObject": "an instance of an object was expected"}
            )
        ]
    errors: list[ValidationError] = []
    for name, value in body.items():
        path = f"{prefix}{name}"
        spec = table.fields.get(name)
        if spec is None and name not in table.nested:
            errors.append(
                ValidationError(
                    path, value, {"whitelistValidation": f"property {path} should not exist"}
                )
            )
            continue
        if value is None and (spec is None or not spec.required):
            continue  # @IsOptional() skips null and undefined
        if name in table.nested:
            failed = _object_list(path, value)
            if not failed and name in table.non_empty_lists and not value:
                failed = {"arrayNotEmpty": f"{path} should not be empty"}
            if failed:
                errors.append(ValidationError(path, value, failed))
                continue
            for index, item in enumerate(value):
                errors.extend(validate(table.nested[name], item, f"{path}.{index}."))
            continue
        assert spec is not None
        failed = spec.check(path, value)
        if failed:
            errors.append(ValidationError(path, value, failed))
    for name, spec in table.fields.items():
        if spec.required and name not in body:
            path = f"{prefix}{name}"
            errors.append(ValidationError(path, None, spec.check(path, None), missing=True))
    for name in table.nested:
        if name in table.non_empty_lists and name not in body:
            path = f"{prefix}{name}"
            errors.append(
                ValidationError(
                    path,
                    None,
                    {
                        "arrayNotEmpty": f"{path} should not be empty",
                        "isArray": f"{path} must be an array",
                    },
                    missing=True,
                )
            )
    return errors


def messages(errors: list[ValidationError]) -> list[str]:
    return [message for error in errors for message in error.messages()]


# --- the tables ----------------------------------------------------------------------
def _f(check: Check, required: bool = False) -> Field:
    return Field(check, required)


OPT_STR = _f(is_string)
TECHNIQUE = Table({"pid": _f(is_string, True), "name": _f(is_string, True)})
DATASET_RELATIONSHIP = Table(
    {
        "identifier": _f(is_string, True),
        "identifierType": OPT_STR,
        "relationship": OPT_STR,
        "entityType": OPT_STR,
        "externalId": OPT_STR,
    }
)
DATA_FILE = Table(
    {
        "path": _f(is_string, True),
        "size": _f(is_number, True),
        "time": _f(is_date, True),
        "chk": OPT_STR,
        "uid": OPT_STR,
        "gid": OPT_STR,
        "perm": OPT_STR,
        "type": OPT_STR,
        "metadata": _f(empty_object),
    }
)
ATTACHMENT_RELATIONSHIP = Table(
    {
        "targetId": _f(is_string, True),
        "targetType": _f(one_of("dataset", "proposal", "sample", "published_data"), True),
        "relationType": OPT_STR,
    }
)

_OWNABLE = {
    "ownerGroup": _f(non_empty_string, True),
    "accessGroups": _f(string_list),
    "instrumentGroup": OPT_STR,
}

_DATASET_COMMON = {
    **_OWNABLE,
    "pid": OPT_STR,
    "owner": OPT_STR,
    "ownerEmail": _f(is_email),
    "orcidOfOwner": OPT_STR,
    "contactEmail": _f(email_list, True),
    "sourceFolder": _f(non_empty_string, True),
    "sourceFolderHost": OPT_STR,
    "size": _f(is_int),
    "packedSize": _f(is_int),
    "numberOfFiles": _f(is_int),
    "numberOfFilesArchived": _f(is_int),
    "creationTime": _f(is_date, True),
    "type": _f(is_string, True),
    "validationStatus": OPT_STR,
    "keywords": _f(string_list),
    "description": OPT_STR,
    "datasetName": OPT_STR,
    "classification": OPT_STR,
    "license": OPT_STR,
    "version": OPT_STR,
    "isPublished": _f(is_bool),
    "sharedWith": _f(string_list),
    "datasetlifecycle": _f(is_object),
    "scientificMetadata": _f(is_object),
    "scientificMetadataSchema": OPT_STR,
    "scientificMetadataValid": _f(is_bool),
    "comment": OPT_STR,
    "dataQualityMetrics": _f(is_number),
    "runNumber": OPT_STR,
}
_DATASET_NESTED = {"techniques": TECHNIQUE, "relationships": DATASET_RELATIONSHIP}

V4_DATASET_CREATE = Table(
    {
        **_DATASET_COMMON,
        "datasetName": _f(is_string, True),
        "principalInvestigators": _f(string_list),
        "proposalIds": _f(string_list),
        "sampleIds": _f(string_list),
        "instrumentIds": _f(string_list),
        "creationLocation": OPT_STR,
        "inputDatasets": _f(string_list),
        "usedSoftware": _f(string_list),
        "jobParameters": _f(is_object),
        "jobLogData": OPT_STR,
        "startTime": _f(is_date),
        "endTime": _f(is_date),
        "dataFormat": OPT_STR,
    },
    _DATASET_NESTED,
)
V3_RAW_CREATE = Table(
    {
        **_DATASET_COMMON,
        "owner": _f(non_empty_string, True),
        "principalInvestigator": _f(is_string, True),
        "creationLocation": _f(is_string, True),
        "startTime": _f(is_date),
        "endTime": _f(is_date),
        "dataFormat": OPT_STR,
        "proposalId": OPT_STR,
        "sampleId": OPT_STR,
        "instrumentId": OPT_STR,
    },
    _DATASET_NESTED,
)
V3_DERIVED_CREATE = Table(
    {
        **_DATASET_COMMON,
        "owner": _f(non_empty_string, True),
        "investigator": _f(is_string, True),
        "inputDatasets": _f(string_list, True),
        "usedSoftware": _f(string_list, True),
        "jobParameters": _f(is_object),
        "jobLogData": OPT_STR,
    },
    _DATASET_NESTED,
)
# The update DTOs: PartialType of the create DTO without the identity fields.
V4_DATASET_UPDATE = V4_DATASET_CREATE.optional().without("pid", "type", "version")
V3_RAW_UPDATE = V3_RAW_CREATE.optional().without("pid", "type", "version")
V3_DERIVED_UPDATE = V3_DERIVED_CREATE.optional().without("pid", "type", "version")

ORIGDATABLOCK_CREATE = Table(
    {
        **{k: Field(v.check) for k, v in _OWNABLE.items()},
        "isPublished": _f(is_bool),
        "datasetId": _f(is_string, True),
        "size": _f(is_int, True),
        "chkAlg": _f(non_empty_string),
    },
    {"dataFileList": DATA_FILE},
    frozenset({"dataFileList"}),
)
# On /datasets/{pid}/origdatablocks the dataset comes from the URL and ownership from it.
DATASET_ORIGDATABLOCK_CREATE = ORIGDATABLOCK_CREATE.without(
    "datasetId", "ownerGroup", "accessGroups", "instrumentGroup"
)
ORIGDATABLOCK_UPDATE = ORIGDATABLOCK_CREATE.optional().without("datasetId")

ATTACHMENT_V3_CREATE = Table(
    {
        **_OWNABLE,
        "caption": _f(is_string, True),
        "thumbnail": OPT_STR,
    }
)
ATTACHMENT_V4_CREATE = Table(
    {
        **_OWNABLE,
        "caption": _f(is_string, True),
        "isPublished": _f(is_bool, True),
        "thumbnail": OPT_STR,
        "aid": OPT_STR,
    },
    {"relationships": ATTACHMENT_RELATIONSHIP},
)
ATTACHMENT_V4_UPDATE = ATTACHMENT_V4_CREATE.optional().without("aid")

SAMPLE_CREATE = Table(
    {
        **_OWNABLE,
        "sampleId": OPT_STR,
        "sampleName": _f(is_string, True),
        "owner": OPT_STR,
        "description": OPT_STR,
        "type": OPT_STR,
        "proposalId": OPT_STR,
        "parentSampleId": OPT_STR,
        "sampleCharacteristics": _f(is_object),
        "isPublished": _f(is_bool),
    }
)
SAMPLE_UPDATE = SAMPLE_CREATE.optional().without("sampleId")

# src/published-data/dto/update-published-data.v4.dto.ts (create = the same, update = partial)
PUBLISHED_DATA_STATUSES = ("private", "public", "registered", "amended")
PUBLISHED_DATA_CREATE = Table(
    {
        "title": _f(is_string, True),
        "abstract": _f(is_string, True),
        "datasetPids": _f(string_list, True),
        "registeredTime": _f(is_date),
        "status": _f(one_of(*PUBLISHED_DATA_STATUSES)),
        "metadata": _f(is_object),
    }
)
PUBLISHED_DATA_UPDATE = PUBLISHED_DATA_CREATE.optional()

LOGIN = Table({"username": _f(is_string, True), "password": _f(is_string, True)})

DATE_FIELDS = frozenset({"creationTime", "startTime", "endTime"})


def dataset_create_table(version: str, dataset_type: Any) -> Table:
    if version == "v3" and dataset_type == "raw":
        return V3_RAW_CREATE
    if version == "v3" and dataset_type == "derived":
        return V3_DERIVED_CREATE
    return V4_DATASET_CREATE


def dataset_update_table(version: str, stored_type: Any) -> Table:
    if version == "v3" and stored_type == "raw":
        return V3_RAW_UPDATE
    if version == "v3" and stored_type == "derived":
        return V3_DERIVED_UPDATE
    return V4_DATASET_UPDATE

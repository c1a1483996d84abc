# ruff: noqa: E501  (one field per line reads better than wrapped table rows)
"""The one table of SciCat fields a manifest may set.

The JSON Schema (:mod:`scisync.manifest.schema`), the snake_case -> camelCase
translation (:mod:`scisync.manifest.construct`) and the docs reference are all generated
from these tables, so they cannot drift apart.  Manifest names follow scitacean
(snake_case); SciCat names are the v4 backend's camelCase.  Singular v3 names
(``principal_investigator``, ``proposal_id``, ...) are accepted too and become the
v4 arrays.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

RAW = frozenset({"raw"})
DERIVED = frozenset({"derived"})
BOTH = RAW | DERIVED

_STRING: dict[str, Any] = {"type": "string"}
_NONEMPTY: dict[str, Any] = {"type": "string", "minLength": 1}
_STRINGS: dict[str, Any] = {"type": "array", "items": {"type": "string", "minLength": 1}}
_ISO_8601 = r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$"
_TIME: dict[str, Any] = {"type": "string", "pattern": _ISO_8601}
_EMAILS: dict[str, Any] = {
    "type": "string",
    "pattern": r"^[^@\s;]+@[^@\s;]+(\s*;\s*[^@\s;]+@[^@\s;]+)*$",
}
_TECHNIQUE: dict[str, Any] = {
    "type": "array",
    "items": {
        "type": "object",
        "additionalProperties": False,
        "required": ["pid", "name"],
        "properties": {
            "pid": {"type": "string", "description": "Technique identifier (an ontology URI)."},
            "name": {
                "type": "string",
                "description": "Technique name, e.g. 'small angle X-ray scattering'.",
            },
        },
    },
}

#: relationships items: manifest snake_case -> SciCat camelCase
RELATIONSHIP_KEYS: dict[str, str] = {
    "identifier": "identifier",
    "identifier_type": "identifierType",
    "relationship": "relationship",
    "entity_type": "entityType",
    "external_id": "externalId",
}
_RELATIONSHIPS: dict[str, Any] = {
    "type": "array",
    "items": {
        "type": "object",
        "additionalProperties": False,
        "required": ["identifier"],
        "properties": {
            "identifier": {"type": "string", "description": "Identifier of the related entity."},
            "identifier_type": {
                "type": "string",
                "description": "Kind of identifier (DOI, URL, Other...).",
            },
            "relationship": {
                "type": "string",
                "description": "How it relates, e.g. 'IsSupplementTo'.",
            },
            "entity_type": {"type": "string", "description": "Kind of entity, e.g. 'dataset'."},
            "external_id": {"type": "string", "description": "An external id for the relation."},
        },
    },
}


@dataclass(frozen=True)
class FieldDef:
    """One SciCat field: its manifest name, SciCat name, JSON type and who may use it."""

    name: str  # manifest (snake_case, scitacean's name)
    scicat: str  # SciCat v4 camelCase
    schema: dict[str, Any]  # JSON Schema of the manifest value
    description: str
    types: frozenset[str] = BOTH  # dataset types the field is valid for (v3 and v4 alike)
    required: frozenset[str] = frozenset()  # types for which SciCat requires it
    singular: bool = False  # a v3 singular name: the value is wrapped into the v4 array
    camel_keys: dict[str, str] | None = None  # item keys to translate (relationships)


DATASET_FIELDS: tuple[FieldDef, ...] = (
    FieldDef(
        "dataset_name", "datasetName", _NONEMPTY, "Human-readable dataset name. Default: the key."
    ),
    FieldDef("description", "description", _STRING, "Free text describing the dataset."),
    FieldDef("owner", "owner", _NONEMPTY, "Owner of the data (a person's name).", required=BOTH),
    FieldDef("owner_email", "ownerEmail", _EMAILS, "Email of the owner."),
    FieldDef(
        "owner_group",
        "ownerGroup",
        _NONEMPTY,
        "Group that owns the dataset (access control).",
        required=BOTH,
    ),
    FieldDef(
        "access_groups", "accessGroups", _STRINGS, "Further groups that may read the dataset."
    ),
    FieldDef(
        "contact_email",
        "contactEmail",
        _EMAILS,
        "Email(s) to contact about the data; several separated by ';'.",
        required=BOTH,
    ),
    FieldDef(
        "creation_time",
        "creationTime",
        _TIME,
        "When the data was created, ISO-8601 (e.g. 2026-03-01T12:00:00Z).",
        required=BOTH,
    ),
    FieldDef("orcid_of_owner", "orcidOfOwner", _STRING, "ORCID of the owner."),
    FieldDef(
        "source_folder_host",
        "sourceFolderHost",
        _STRING,
        "Host (or URL) of the file server holding source_folder.",
    ),
    FieldDef(
        "instrument_group", "instrumentGroup", _STRING, "Group of the instrument (access control)."
    ),
    FieldDef("keywords", "keywords", _STRINGS, "Tags to find the dataset by."),
    FieldDef("license", "license", _STRING, "License of the data, e.g. CC-BY-4.0."),
    FieldDef(
        "is_published",
        "isPublished",
        {"type": "boolean"},
        "Publicly visible (to anonymous users too).",
    ),
    FieldDef("techniques", "techniques", _TECHNIQUE, "Experimental techniques, as {pid, name}."),
    FieldDef("shared_with", "sharedWith", _STRINGS, "Emails of users the dataset is shared with."),
    FieldDef(
        "relationships",
        "relationships",
        _RELATIONSHIPS,
        "Links to related entities.",
        camel_keys=RELATIONSHIP_KEYS,
    ),
    FieldDef("comment", "comment", _STRING, "A comment on the dataset."),
    FieldDef(
        "data_quality_metrics",
        "dataQualityMetrics",
        {"type": "number"},
        "A number rating the data quality.",
    ),
    FieldDef("run_number", "runNumber", _STRING, "Run number (a string in SciCat)."),
    FieldDef("validation_status", "validationStatus", _STRING, "Outcome of data validation."),
    FieldDef(
        "scientific_metadata_schema",
        "scientificMetadataSchema",
        _STRING,
        "URL of a JSON Schema for scientific_metadata.",
    ),
    # raw only
    FieldDef(
        "principal_investigator",
        "principalInvestigators",
        _NONEMPTY,
        "Principal investigator (v3 singular name; becomes principalInvestigators). Raw datasets need this or principal_investigators.",
        types=RAW,
        singular=True,
    ),
    FieldDef(
        "principal_investigators",
        "principalInvestigators",
        {**_STRINGS, "minItems": 1},
        "Principal investigators. Raw datasets need this or principal_investigator.",
        types=RAW,
    ),
    FieldDef(
        "creation_location",
        "creationLocation",
        _NONEMPTY,
        "Where the data was created (instrument/beamline).",
        types=RAW,
        required=RAW,
    ),
    FieldDef(
        "data_format", "dataFormat", _STRING, "Format of the data files, e.g. NeXus.", types=RAW
    ),
    FieldDef("start_time", "startTime", _TIME, "Start of the measurement, ISO-8601.", types=RAW),
    FieldDef("end_time", "endTime", _TIME, "End of the measurement, ISO-8601.", types=RAW),
    FieldDef(
        "proposal_id",
        "proposalIds",
        _NONEMPTY,
        "Proposal id (v3 singular name; becomes proposalIds).",
        types=RAW,
        singular=True,
    ),
    FieldDef("proposal_ids", "proposalIds", _STRINGS, "Proposal ids.", types=RAW),
    FieldDef(
        "sample_id",
        "sampleIds",
        _NONEMPTY,
        "Id of a sample not managed here (v3 singular; becomes sampleIds). For a managed sample use 'sample'.",
        types=RAW,
        singular=True,
    ),
    FieldDef(
        "sample_ids",
        "sampleIds",
        _STRINGS,
        "Ids of samples not managed here. For a managed sample use 'sample'.",
        types=RAW,
    ),
    FieldDef(
        "instrument_id",
        "instrumentIds",
        _NONEMPTY,
        "Instrument id (v3 singular; becomes instrumentIds).",
        types=RAW,
        singular=True,
    ),
    FieldDef("instrument_ids", "instrumentIds", _STRINGS, "Instrument ids.", types=RAW),
    # derived only
    FieldDef(
        "investigator",
        "principalInvestigators",
        _NONEMPTY,
        "Who made the derived data (SciCat v4 keeps it in principalInvestigators).",
        types=DERIVED,
        required=DERIVED,
        singular=True,
    ),
    FieldDef(
        "used_software",
        "usedSoftware",
        {**_STRINGS, "minItems": 1},
        "Software (with versions/URLs) that produced the data.",
        types=DERIVED,
        required=DERIVED,
    ),
    FieldDef(
        "job_parameters",
        "jobParameters",
        {"type": "object"},
        "Parameters of the job that produced the data.",
        types=DERIVED,
    ),
    FieldDef("job_log_data", "jobLogData", _STRING, "Log output of that job.", types=DERIVED),
)

DATASET_FIELDS_BY_NAME: dict[str, FieldDef] = {f.name: f for f in DATASET_FIELDS}

SAMPLE_FIELDS: tuple[FieldDef, ...] = (
    FieldDef(
        "sample_name", "sampleName", _NONEMPTY, "Human-readable sample name. Default: the key."
    ),
    FieldDef("owner_group", "ownerGroup", _NONEMPTY, "Group that owns the sample.", required=BOTH),
    FieldDef("access_groups", "accessGroups", _STRINGS, "Further groups that may read the sample."),
    FieldDef(
        "instrument_group", "instrumentGroup", _STRING, "Group of the instrument (access control)."
    ),
    FieldDef("owner", "owner", _STRING, "Owner of the sample."),
    FieldDef("description", "description", _STRING, "Free text describing the sample."),
    FieldDef("type", "type", _STRING, "Kind of sample."),
    FieldDef("proposal_id", "proposalId", _STRING, "Proposal the sample belongs to."),
    FieldDef(
        "parent_sample_id", "parentSampleId", _STRING, "Id of the sample this one was taken from."
    ),
    FieldDef(
        "sample_characteristics",
        "sampleCharacteristics",
        {"type": "object"},
        "Free-form properties; keys [A-Za-z0-9_-], values or {value, unit}.",
    ),
    FieldDef(
        "is_published", "isPublished", {"type": "boolean"}, "Publicly visible. Default false."
    ),
)

SAMPLE_FIELDS_BY_NAME: dict[str, FieldDef] = {f.name: f for f in SAMPLE_FIELDS}

#: A metadata condition: ``<key> <relation> <value> [unit]``; ``range`` takes two numbers.
#: The key rule is the backend's: it stores keys percent-encoded, so only characters
#: encodeURIComponent leaves alone and no dots (scisync.scicat.query checks the same).
_NUMBER = r"[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?"
METADATA_CONDITION = re.compile(
    rf"^\s*(?P<key>[A-Za-z0-9_-]{{1,200}})\s+"
    rf"(?:(?P<op><=|>=|==|<|>)\s+(?P<value>{_NUMBER}|\S+)"
    rf"|range\s+(?P<low>{_NUMBER})\s+(?P<high>{_NUMBER}))"
    r"(?:\s+(?P<unit>\S.{0,99}?))?\s*$"
)
_CONDITIONS: dict[str, Any] = {
    "type": "array",
    "minItems": 1,
    "items": {"type": "string", "pattern": METADATA_CONDITION.pattern},
}
_ZONED_TIME: dict[str, Any] = {
    "type": "string",
    "pattern": r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$",
}
_QUERY_STRINGS: dict[str, Any] = {**_STRINGS, "minItems": 1, "maxItems": 1000}

#: The criteria of a download's ``query:`` (all given ones must hold; at least one).
#: ``scicat`` names the backend field each one filters on.
QUERY_FIELDS: tuple[FieldDef, ...] = (
    FieldDef("proposal_ids", "proposalIds", _QUERY_STRINGS, "Datasets of any of these proposals."),
    FieldDef("keywords", "keywords", _QUERY_STRINGS, "Datasets carrying all of these keywords."),
    FieldDef("type", "type", {"enum": ["raw", "derived"]}, "Only raw or only derived datasets."),
    FieldDef(
        "owner_groups", "ownerGroup", _QUERY_STRINGS, "Datasets owned by any of these groups."
    ),
    FieldDef(
        "created_from",
        "creationTime",
        _ZONED_TIME,
        "Created at or after this time (ISO-8601 with a timezone).",
    ),
    FieldDef(
        "created_until",
        "creationTime",
        _ZONED_TIME,
        "Created before this time (ISO-8601 with a timezone).",
    ),
    FieldDef(
        "name",
        "datasetName",
        _NONEMPTY,
        "Glob over the whole dataset name ('*', '?'; case-sensitive).",
    ),
    FieldDef(
        "metadata",
        "scientificMetadata",
        _CONDITIONS,
        "Scientific metadata conditions, each '<key> <op> <value> [unit]' with op one of "
        "< <= > >= == (e.g. 'temperature > 4 K'), or '<key> range <low> <high> [unit]' "
        "(both ends excluded). With a unit SciCat compares SI values, so other units match too.",
    ),
)

QUERY_FIELDS_BY_NAME: dict[str, FieldDef] = {f.name: f for f in QUERY_FIELDS}

#: creators items: manifest snake_case -> DataCite camelCase (SciCat stores them as given)
CREATOR_KEYS: dict[str, str] = {
    "name": "name",
    "given_name": "givenName",
    "family_name": "familyName",
    "name_type": "nameType",
    "affiliation": "affiliation",
}
_CREATORS: dict[str, Any] = {
    "type": "array",
    "minItems": 1,
    "items": {
        "type": "object",
        "additionalProperties": False,
        "required": ["name"],
        "properties": {
            "name": {**_NONEMPTY, "description": "Full name, e.g. 'Curie, Marie'."},
            "given_name": {**_STRING, "description": "Given name."},
            "family_name": {**_STRING, "description": "Family name."},
            "name_type": {
                "enum": ["Personal", "Organizational"],
                "description": "DataCite nameType.",
            },
            "affiliation": {**_STRING, "description": "Institution of the creator."},
        },
    },
}
#: publisher keys: manifest snake_case -> DataCite camelCase
PUBLISHER_KEYS: dict[str, str] = {
    "name": "name",
    "publisher_identifier": "publisherIdentifier",
    "publisher_identifier_scheme": "publisherIdentifierScheme",
    "scheme_uri": "schemeUri",
    "lang": "lang",
}
_PUBLISHER: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name", "publisher_identifier_scheme"],
    "properties": {
        "name": {**_NONEMPTY, "description": "Publisher name, e.g. the facility."},
        "publisher_identifier": {**_STRING, "description": "Identifier, e.g. a ROR URL."},
        "publisher_identifier_scheme": {
            **_NONEMPTY,
            "description": "Scheme of that identifier, e.g. ROR (SciCat requires it).",
        },
        "scheme_uri": {**_STRING, "description": "URI of the scheme, e.g. https://ror.org/."},
        "lang": {**_STRING, "description": "Language of the name, e.g. en."},
    },
}
ALL = frozenset({"all"})

#: The named fields of a ``published_data`` entry.  ``title`` and ``abstract`` are fields
#: of the record; the others go into its ``metadata`` object (``scicat`` is their name
#: there), which a default SciCat validates on register (publishedDataConfig).
PUBLICATION_FIELDS: tuple[FieldDef, ...] = (
    FieldDef("title", "title", _NONEMPTY, "Title of the publication.", required=ALL),
    FieldDef("abstract", "abstract", _NONEMPTY, "Abstract: what the data is.", required=ALL),
    FieldDef(
        "creators",
        "metadata.creators",
        _CREATORS,
        "Creators, as {name, given_name, family_name, name_type, affiliation}.",
        required=ALL,
        camel_keys=CREATOR_KEYS,
    ),
    FieldDef(
        "publisher",
        "metadata.publisher",
        _PUBLISHER,
        "Publisher, as {name, publisher_identifier_scheme, publisher_identifier, scheme_uri, lang}.",
        required=ALL,
        camel_keys=PUBLISHER_KEYS,
    ),
    FieldDef(
        "publication_year",
        "metadata.publicationYear",
        {"type": "integer", "minimum": 1000, "maximum": 9999},
        "Year of publication (an integer; no default, so the record never changes by itself).",
        required=ALL,
    ),
    FieldDef(
        "resource_type",
        "metadata.resourceType",
        _NONEMPTY,
        "Kind of resource, e.g. Dataset (DataCite resourceTypeGeneral).",
        required=ALL,
    ),
)

PUBLICATION_FIELDS_BY_NAME: dict[str, FieldDef] = {f.name: f for f in PUBLICATION_FIELDS}

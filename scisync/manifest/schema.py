"""The manifest's JSON Schema, generated from :mod:`scisync.manifest.fields`.

The committed file ``scisync/schemas/manifest.schema.json`` (symlinked as
``schemas/manifest.schema.json``) is the output of :func:`build_schema`; a test keeps
it up to date.  Regenerate with ``python -m scisync.manifest``.

Checks that need more than JSON Schema can say well (either-or fields, fields valid
only for one dataset type, reference targets, secrets) live in
:mod:`scisync.manifest.construct`; the schema still describes every field so editors
(yaml-language-server) show help and complete names.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from scisync.manifest.fields import (
    DATASET_FIELDS,
    PUBLICATION_FIELDS,
    QUERY_FIELDS,
    SAMPLE_FIELDS,
    FieldDef,
)

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "schemas" / "manifest.schema.json"

KEY_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
# A key may be a template before rendering (for_each); the rendered key is checked strictly.
TEMPLATE_ALTERNATIVE = r"|\{[{%]"
_KEY_OR_TEMPLATE = KEY_PATTERN + TEMPLATE_ALTERNATIVE
PROJECT_PATTERN = r"^[a-z0-9._-]+$"
ENV_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
CHECKSUM_ALGORITHMS = ("sha256", "blake2b", "sha1", "md5")


def _limit(description: str, *, integer: bool = False, positive: bool = True) -> dict[str, Any]:
    bound = "exclusiveMinimum" if positive else "minimum"
    return {"description": description, "type": "integer" if integer else "number", bound: 0}


# The keys are scisync._util.limits.HttpLimits' fields (a test checks they agree).
HTTP_LIMITS_SCHEMA: dict[str, Any] = {
    "description": "Bounds on every request to SciCat (docs/security.md lists them).",
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "connect_timeout": _limit("Seconds to open a connection (default 10)."),
        "read_timeout": _limit("Seconds of silence allowed while waiting (default 30)."),
        "deadline": _limit(
            "Seconds one request may take from sending to the last byte (default 300)."
        ),
        "max_response_bytes": _limit(
            "Largest answer read into memory, in bytes (default 67108864).", integer=True
        ),
        "retries": _limit("Retries of one request (default 4).", integer=True, positive=False),
        "retry_budget": _limit(
            "Retries for a whole command (default 20).", integer=True, positive=False
        ),
        "retry_after_max": _limit(
            "Longest Retry-After pause honoured, in seconds (default 60).", positive=False
        ),
        "backoff_factor": _limit("First backoff pause in seconds (default 0.5).", positive=False),
        "backoff_max": _limit("Longest backoff pause in seconds (default 30).", positive=False),
        "max_redirects": _limit(
            "Same-origin redirects followed (default 3).", integer=True, positive=False
        ),
    },
}


def _desc(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, **schema}


def _key(what: str) -> dict[str, Any]:
    return {
        "type": "string",
        "pattern": _KEY_OR_TEMPLATE,
        "description": f"Stable, unique key of this {what} ([A-Za-z0-9][A-Za-z0-9._-]*). "
        "scisync.lock maps it to the SciCat id; never reuse or rename it.",
    }


def _globs(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "type": ["string", "array"],
        "minLength": 1,
        "minItems": 1,
        "items": {"type": "string", "minLength": 1},
    }


def _field_schema(field: FieldDef) -> dict[str, Any]:
    description = field.description
    if field.required >= {"raw", "derived"}:
        description += " Required (here or under defaults)."
    elif field.required:
        (kind,) = field.required
        description += f" Required for {kind} datasets (here or under defaults)."
    schema = dict(field.schema)
    if "pattern" in schema:
        schema["pattern"] = templatable(schema["pattern"])
    return _desc(schema, description)


def _dataset_properties(*, with_structure: bool) -> dict[str, Any]:
    props: dict[str, Any] = {}
    if with_structure:
        props["key"] = _key("dataset")
        props["for_each"] = {
            "description": "Stamp out one dataset per item: a list, or a Jinja expression "
            "giving a list (e.g. \"{{ glob('runs/*') }}\"). Each copy sees the item as "
            "'each'; template the key so keys stay unique.",
            "type": ["array", "string"],
        }
        props["type"] = {
            "description": "SciCat dataset type.",
            "enum": ["raw", "derived"],
        }
    props.update({field.name: _field_schema(field) for field in DATASET_FIELDS})
    props["source_folder"] = {
        "description": "Folder on the storage holding the files (absolute POSIX path). "
        "Default: <storage root>/<key>.",
        "type": "string",
        "minLength": 1,
    }
    props["scientific_metadata"] = {
        "description": "Free-form metadata. Keys [A-Za-z0-9_-] (SciCat encodes others); "
        "values or {value, unit}. The key 'scisync_marker' is reserved.",
        "type": "object",
    }
    props["checksum_algorithm"] = {
        "description": "Checksum of the files recorded in SciCat (chkAlg). Default sha256.",
        "enum": list(CHECKSUM_ALGORITHMS),
    }
    props["on_files_changed"] = {
        "description": "When files of a published dataset changed: 'refuse' (default) "
        "stops with an error, 'replace' creates a new dataset superseding it.",
        "enum": ["refuse", "replace"],
    }
    props["append_files"] = {
        "description": "Allow adding files to an existing dataset (default false).",
        "type": "boolean",
    }
    if with_structure:
        props["files"] = {
            "description": "Local files to upload: globs, or {base, include, exclude}.",
            "type": "array",
            "items": {"$ref": "#/$defs/file_selection"},
        }
        props["attachments"] = {
            "description": "Images (plots) attached to the dataset, with captions.",
            "type": "array",
            "items": {"$ref": "#/$defs/attachment"},
        }
        props["sample"] = {
            "description": "The sample measured (raw datasets): the key of a sample in "
            "this manifest, or {id: ...} for a sample not managed here.",
            "$ref": "#/$defs/sample_ref",
        }
        props["input_datasets"] = {
            "description": "Inputs of a derived dataset: keys of datasets in this "
            "manifest, or {pid: ...} for datasets not managed here.",
            "type": "array",
            "items": {"$ref": "#/$defs/dataset_ref"},
        }
    return props


def _sample_properties(*, with_structure: bool) -> dict[str, Any]:
    props: dict[str, Any] = {}
    if with_structure:
        props["key"] = _key("sample")
        props["sample_id"] = {
            "description": "SciCat sampleId. Default: derived from project and key.",
            "type": "string",
            "minLength": 1,
        }
    props.update({field.name: _field_schema(field) for field in SAMPLE_FIELDS})
    return props


RESERVED_PUBLICATION_METADATA = ("scisync_marker", "creators", "publisher", "publicationYear",
                                 "resourceType")  # fmt: skip
"""``metadata`` keys a published_data entry sets through its named fields (or scisync's)."""


def _publication_schema() -> dict[str, Any]:
    props: dict[str, Any] = {"key": _key("publication")}
    props.update({field.name: _desc(field.schema, field.description + " Required.")
                  for field in PUBLICATION_FIELDS})  # fmt: skip
    props["datasets"] = {
        "description": "The datasets published under this DOI (SciCat datasetPids): keys "
        "of datasets in this manifest, or {pid: ...} for datasets not managed here. "
        "The caller needs update rights on each: SciCat marks them published.",
        "type": "array",
        "minItems": 1,
        "items": {"$ref": "#/$defs/dataset_ref"},
    }
    props["metadata"] = {
        "description": "Further DataCite metadata stored in the record's metadata object "
        "as written (camelCase, e.g. subjects, contributors, language, rights). Keys "
        + ", ".join(RESERVED_PUBLICATION_METADATA)
        + " are set by the fields above or reserved.",
        "type": "object",
    }
    props["register"] = {
        "description": "Register the DOI (default false). Irreversible: a registered "
        "record's content can no longer change through SciCat.",
        "type": "boolean",
    }
    return {
        "description": "A SciCat PublishedData record (a DOI for datasets) scisync manages.",
        "type": "object",
        "additionalProperties": False,
        "required": ["key", *(field.name for field in PUBLICATION_FIELDS), "datasets"],
        "properties": props,
    }


def required_fields(fields: tuple[FieldDef, ...], dataset_type: str) -> list[str]:
    """Fields SciCat requires for *dataset_type* (samples: use "raw")."""
    return [field.name for field in fields if dataset_type in field.required]


def templatable(pattern: str) -> str:
    """*pattern*, or any string holding a template (checked again once rendered)."""
    return pattern + TEMPLATE_ALTERNATIVE


def build_schema() -> dict[str, Any]:
    """The manifest JSON Schema (draft 2020-12) as a dict."""
    dataset = {
        "description": "A dataset scisync manages in SciCat.",
        "type": "object",
        "additionalProperties": False,
        # Fields SciCat requires are checked after defaults are applied (validate.py),
        # so an editor does not flag a dataset that gets them from `defaults`.
        "required": ["key", "type"],
        "properties": _dataset_properties(with_structure=True),
    }
    sample = {
        "description": "A sample scisync manages in SciCat.",
        "type": "object",
        "additionalProperties": False,
        "required": ["key"],
        "properties": _sample_properties(with_structure=True),
    }
    download = {
        "description": "Files of a dataset to download into a local folder. With no "
        "include/regex/files, every file is downloaded.",
        "type": "object",
        "additionalProperties": False,
        "required": ["key", "target"],
        # One dataset, or every dataset a query selects: exactly one of the two.
        "oneOf": [{"required": ["dataset"]}, {"required": ["query"]}],
        "properties": {
            "key": _key("download"),
            "dataset": {
                "description": "The dataset: the key of a dataset in this manifest, or "
                "{pid: ...} for any SciCat dataset. Or use `query`.",
                "$ref": "#/$defs/dataset_ref",
            },
            "query": {
                "description": "Every dataset matching these criteria (all must hold), each "
                "downloaded into its own folder '<name>-<pid hash>' under target; "
                "scisync.lock pins the set. See downloads[].query below.",
                "$ref": "#/$defs/dataset_query",
            },
            "max_datasets": {
                "description": "More matches than this make the query an error "
                "(default 100); raise it to download more.",
                "type": "integer",
                "minimum": 1,
                "maximum": 100000,
            },
            "target": {
                "description": "Local folder to download into (relative to the manifest).",
                "type": "string",
                "minLength": 1,
            },
            "include": _globs("Globs of dataset file paths to download ('**' allowed)."),
            "regex": {
                "description": "Python regular expression; files whose path matches (search) "
                "are downloaded.",
                "type": "string",
                "minLength": 1,
            },
            "files": {
                "description": "Exact file paths (as listed in the dataset) to download.",
                "type": "array",
                "items": {"type": "string", "minLength": 1},
            },
        },
    }
    dataset_query = {
        "description": "Which datasets a query download selects; at least one criterion.",
        "type": "object",
        "additionalProperties": False,
        "minProperties": 1,
        "properties": {f.name: {**f.schema, "description": f.description} for f in QUERY_FIELDS},
    }
    defs = {
        "dataset": dataset,
        "publication": _publication_schema(),
        "sample": sample,
        "download": download,
        "dataset_query": dataset_query,
        "dataset_ref": {
            "description": "A dataset: a managed key (string) or {pid: ...}.",
            "type": ["string", "object"],
            "minLength": 1,
            "additionalProperties": False,
            "required": ["pid"],
            "properties": {
                "pid": {
                    "description": "SciCat pid of a dataset not managed here.",
                    "type": "string",
                    "minLength": 1,
                }
            },
        },
        "sample_ref": {
            "description": "A sample: a managed key (string) or {id: ...}.",
            "type": ["string", "object"],
            "minLength": 1,
            "additionalProperties": False,
            "required": ["id"],
            "properties": {
                "id": {
                    "description": "SciCat sampleId of a sample not managed here.",
                    "type": "string",
                    "minLength": 1,
                }
            },
        },
        "file_selection": {
            "description": "A glob relative to the manifest folder, or {base, include, exclude}.",
            "type": ["string", "object"],
            "minLength": 1,
            "additionalProperties": False,
            "required": ["include"],
            "properties": {
                "base": {
                    "description": "Local folder the globs (and the uploaded paths) are "
                    "relative to. Default: the manifest's folder.",
                    "type": "string",
                    "minLength": 1,
                },
                "include": _globs("Globs of files to upload, relative to base ('**' allowed)."),
                "exclude": _globs("Globs of files to leave out."),
                "follow_symlinks": {
                    "description": "Let '**' descend into symlinks to folders (a link back "
                    "to a folder above is an error). Default false: such links are skipped.",
                    "type": "boolean",
                },
            },
        },
        "attachment": {
            "description": "An image attached to the dataset.",
            "type": "object",
            "additionalProperties": False,
            "required": ["image", "caption"],
            "properties": {
                "image": {
                    "description": "Local image file (png, jpg, gif, svg, webp).",
                    "type": "string",
                    "minLength": 1,
                },
                "caption": {
                    "description": "Caption shown with the image.",
                    "type": "string",
                    "minLength": 1,
                },
            },
        },
    }
    env_name = {"type": "string", "pattern": ENV_NAME_PATTERN}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "scisync manifest",
        "description": "Datasets, samples and downloads scisync keeps in sync with SciCat.",
        "type": "object",
        "additionalProperties": False,
        "required": ["version", "project"],
        "properties": {
            "version": {"description": "Manifest language version; must be 1.", "const": 1},
            "project": {
                "description": "Project name ([a-z0-9._-]): namespace of the markers "
                "scisync stores on what it creates. Never change it.",
                "type": "string",
                "pattern": PROJECT_PATTERN,
            },
            "scicat": {
                "description": "How to reach SciCat: 'url' or 'sandbox' (exactly one), and "
                "the NAMES of environment variables holding credentials. Secrets never "
                "live in manifests.",
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "url": {
                        "description": "SciCat API URL, e.g. https://scicat.example.org/api/v3.",
                        "type": "string",
                        "pattern": templatable(r"^https?://\S+$"),
                    },
                    "sandbox": {
                        "description": "Local folder of scisync's embedded sandbox SciCat "
                        "(relative to the manifest).",
                        "type": "string",
                        "minLength": 1,
                    },
                    "token_env": _desc(
                        env_name,
                        "Name of the environment variable holding a token (default SCICAT_TOKEN).",
                    ),
                    "username_env": _desc(
                        env_name,
                        "Name of the environment variable holding a username (for password login).",
                    ),
                    "password_env": _desc(
                        env_name,
                        "Name of the environment variable holding the password.",
                    ),
                    "login": {
                        "description": "Where username_env/password_env log in: local "
                        "(SciCat's auth/login: local and functional accounts, the default) "
                        "or ldap (auth/ldap: facility accounts).",
                        "enum": ["local", "ldap"],
                    },
                    "timeout": {
                        "description": "HTTP read timeout in seconds: the longest silence "
                        "while waiting for SciCat (default 30; same as limits.read_timeout).",
                        "type": "number",
                        "exclusiveMinimum": 0,
                    },
                    "limits": HTTP_LIMITS_SCHEMA,
                },
            },
            "storage": {
                "description": "Where dataset files live: {local: {...}} or {sftp: {...}}.",
                "type": "object",
                "additionalProperties": False,
                "minProperties": 1,
                "maxProperties": 1,
                "properties": {
                    "local": {
                        "description": "A locally mounted folder.",
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["root"],
                        "properties": {
                            "root": {
                                "description": "Folder new datasets go to (relative to the "
                                "manifest).",
                                "type": "string",
                                "minLength": 1,
                            },
                            "hardlink": {
                                "description": "Hard-link files instead of copying (same "
                                "filesystem only). Default false.",
                                "type": "boolean",
                            },
                            "read_only_roots": {
                                "description": "Folders besides `root` that downloads may "
                                "read (a facility's data area; relative to the manifest). A "
                                "dataset whose sourceFolder lies outside `root` and these is "
                                "refused.",
                                "type": "array",
                                "items": {"type": "string", "minLength": 1},
                                "maxItems": 64,
                            },
                        },
                    },
                    "sftp": {
                        "description": "An SFTP server; everything else (keys, jump hosts, "
                        "host keys) comes from ~/.ssh/config.",
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["host", "root"],
                        "properties": {
                            "host": {
                                "description": "Host name or ~/.ssh/config alias.",
                                "type": "string",
                                "minLength": 1,
                            },
                            "port": {
                                "description": "SSH port (default from ~/.ssh/config or 22).",
                                "type": "integer",
                                "minimum": 1,
                                "maximum": 65535,
                            },
                            "user": {
                                "description": "User name (default from ~/.ssh/config).",
                                "type": "string",
                                "minLength": 1,
                            },
                            "root": {
                                "description": "Absolute remote folder new datasets go to.",
                                "type": "string",
                                "pattern": templatable("^/"),
                            },
                            "connections": {
                                "description": "Parallel SFTP connections (default 4).",
                                "type": "integer",
                                "minimum": 1,
                                "maximum": 64,
                            },
                            "ssh_config": {
                                "description": "OpenSSH client config to read instead of "
                                "~/.ssh/config (relative to the manifest).",
                                "type": "string",
                                "minLength": 1,
                            },
                            "known_hosts": {
                                "description": "known_hosts file to check the host key against "
                                "(default: ~/.ssh/known_hosts and UserKnownHostsFile).",
                                "type": "string",
                                "minLength": 1,
                            },
                            "read_only_roots": {
                                "description": "Absolute remote folders besides `root` that "
                                "downloads may read (a facility's data area). A dataset whose "
                                "sourceFolder lies outside `root` and these is refused.",
                                "type": "array",
                                "items": {"type": "string", "pattern": templatable("^/")},
                                "maxItems": 64,
                            },
                        },
                    },
                },
            },
            "vars": {
                "description": "Values for templates ({{ vars.name }}); --var k=v and "
                "--var-file override them.",
                "type": "object",
            },
            "defaults": {
                "description": "Field values every dataset/sample gets unless it sets them.",
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "datasets": {
                        "description": "Defaults for every dataset.",
                        "type": "object",
                        "additionalProperties": False,
                        "properties": _dataset_properties(with_structure=False),
                    },
                    "samples": {
                        "description": "Defaults for every sample.",
                        "type": "object",
                        "additionalProperties": False,
                        "properties": _sample_properties(with_structure=False),
                    },
                },
            },
            "samples": {
                "description": "Samples scisync manages.",
                "type": "array",
                "items": {"$ref": "#/$defs/sample"},
            },
            "datasets": {
                "description": "Datasets scisync manages (raw and derived).",
                "type": "array",
                "items": {"$ref": "#/$defs/dataset"},
            },
            "downloads": {
                "description": "Dataset files to download.",
                "type": "array",
                "items": {"$ref": "#/$defs/download"},
            },
            "published_data": {
                "description": "PublishedData records (DOIs) scisync manages; see "
                "docs/publishing.md.",
                "type": "array",
                "items": {"$ref": "#/$defs/publication"},
            },
        },
        "$defs": defs,
    }


def schema_text() -> str:
    """The schema as the committed file holds it."""
    return json.dumps(build_schema(), indent=2, ensure_ascii=False) + "\n"


@cache
def manifest_schema() -> dict[str, Any]:
    """The schema used for validation (built once per process)."""
    return build_schema()

"""Turn a rendered, schema-valid document into the typed :class:`Manifest`.

Also the checks JSON Schema cannot express well: exactly one of scicat url/sandbox,
fields valid for only one dataset type, either-or fields, scientific metadata keys,
globs and regexes, unique keys across the manifest, and no secrets anywhere.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path, PurePosixPath

from scisync._util.jsontypes import Json
from scisync._util.limits import HttpLimits
from scisync._util.secrets import register_secret
from scisync.manifest.fields import (
    DATASET_FIELDS_BY_NAME,
    SAMPLE_FIELDS_BY_NAME,
    FieldDef,
)
from scisync.manifest.globs import glob_problem
from scisync.manifest.model import (
    DEFAULT_MAX_DATASETS,
    AttachmentSpec,
    DatasetSpec,
    DownloadSpec,
    FileSelection,
    FilesPolicy,
    KeyRef,
    LocalStorageConfig,
    PidRef,
    Reference,
    SampleSpec,
    ScicatConfig,
    SftpStorageConfig,
    SourceLocation,
    StorageConfig,
)
from scisync.manifest.nodes import Node, NodePath, Position, format_path
from scisync.manifest.problems import Problems
from scisync.manifest.queries import download_query
from scisync.manifest.schema import KEY_PATTERN

RESERVED_METADATA_KEYS = frozenset({"scisync_marker"})
_METADATA_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
_KEY = re.compile(KEY_PATTERN)
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*")
_IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp"})
_STRUCTURE = frozenset(
    {
        "key", "type", "files", "attachments", "sample", "input_datasets",
        "scientific_metadata", "source_folder", "checksum_algorithm",
        "on_files_changed", "append_files",
    }
)  # fmt: skip


def check_no_secrets(root: Node, problems: Problems) -> None:
    """Every string that looks like a JWT is an error (and is masked in all output)."""
    for node, path in _walk(root, ()):
        if isinstance(node.value, str) and _JWT.search(node.value):
            register_secret(node.value)
            match = _JWT.search(node.value)
            if match:
                register_secret(match.group(0))
            problems.add(
                node.position,
                path,
                "this value looks like a token (JWT); secrets never live in manifests",
                "export the token in an environment variable and set scicat.token_env to "
                "its name (default SCICAT_TOKEN)",
            )


def _walk(node: Node, path: NodePath) -> Iterator[tuple[Node, NodePath]]:
    yield node, path
    if isinstance(node.value, dict):
        for key, child in node.value.items():
            yield from _walk(child, (*path, key))
    elif isinstance(node.value, list):
        for index, child in enumerate(node.value):
            yield from _walk(child, (*path, index))


class Builder:
    """Builds the typed manifest from a schema-valid root, collecting problems."""

    def __init__(self, root: Node, folders: dict[str, Path], problems: Problems) -> None:
        self.root = root
        self.folders = folders
        self.problems = problems
        self.keys: dict[str, tuple[str, Position]] = {}  # key -> (kind, where first written)
        self.stamped_from: str | None = None  # origin of the for_each copy being built

    # -- small helpers ----------------------------------------------------------------------

    def location(self, node: Node, path: NodePath) -> SourceLocation:
        pos = node.position
        # A for_each copy has no index of its own in the file: name the template and item.
        text = node.origin or format_path(path)
        if not node.origin and self.stamped_from:
            text = f"{text} ({self.stamped_from})"
        return SourceLocation(pos.file, pos.line, pos.column, text)

    def local_path(self, node: Node) -> Path:
        folder = self.folders.get(node.position.file) or Path.cwd()
        # os.path, one Path at the end: a for_each of 10,000 items builds one per dataset.
        joined = os.path.join(folder, os.path.expanduser(str(node.value)))
        return Path(os.path.normpath(joined))

    def add(self, node: Node, path: NodePath, what: str, hint: str | None = None) -> None:
        self.problems.add(node.position, path, what, hint)

    def section(self, name: str) -> list[Node]:
        node = self.root.get(name)
        return node.sequence() if node is not None else []

    def register_key(self, kind: str, node: Node, path: NodePath, origin: str | None = None) -> str:
        key = str(node.value)
        if not _KEY.match(key):
            self.add(
                node,
                path,
                f"{key!r} is not a valid key",
                "keys use letters, digits, '.', '_' and '-', and start with a letter or digit",
            )
        elif key in self.keys:
            first_kind, first = self.keys[key]
            self.add(
                node,
                path,
                f"duplicate key {key!r}: the {first_kind} at {first} has it too",
                f'{origin}: template the key with each, e.g. key: "run-{{{{ each | basename }}}}"'
                if origin
                else "every dataset, sample and download needs its own key",
            )
        else:
            self.keys[key] = (kind, node.position)
        return key

    # -- sections ---------------------------------------------------------------------------

    def scicat(self) -> ScicatConfig:
        node = self.root.get("scicat")
        if node is None:
            self.add(self.root, (), "missing section 'scicat'", "add scicat: {url: ...} or "
                     "scicat: {sandbox: .scisync-sandbox}")  # fmt: skip
            return ScicatConfig(url=None, sandbox=None)
        values = node.mapping()
        url = values.get("url")
        sandbox = values.get("sandbox")
        if (url is None) == (sandbox is None):
            self.add(
                node,
                ("scicat",),
                "scicat needs exactly one of 'url' and 'sandbox'",
                "url: a SciCat API; sandbox: a local folder for scisync's embedded sandbox",
            )
        user, password = values.get("username_env"), values.get("password_env")
        if (user is None) != (password is None):
            self.add(
                node,
                ("scicat",),
                "username_env and password_env go together",
                "name both variables, or use token_env alone",
            )
        token_env = values.get("token_env")
        limits = self.http_limits(values.get("limits"))
        timeout = values.get("timeout")
        login = values.get("login")
        if timeout is not None:
            limits = replace(limits, read_timeout=float(timeout.value))
        return ScicatConfig(
            url=str(url.value) if url is not None else None,
            sandbox=self.local_path(sandbox) if sandbox is not None else None,
            token_env=str(token_env.value) if token_env is not None else "SCICAT_TOKEN",
            username_env=str(user.value) if user is not None else None,
            password_env=str(password.value) if password is not None else None,
            login="ldap" if login is not None and login.value == "ldap" else "local",
            timeout=limits.read_timeout,
            limits=limits,
        )

    def http_limits(self, node: Node | None) -> HttpLimits:
        """``scicat.limits`` (the schema checked names and types) over the defaults."""
        if node is None:
            return HttpLimits()
        given = {key: entry.value for key, entry in node.mapping().items()}
        try:
            return HttpLimits(**given)
        except (TypeError, ValueError) as error:
            self.add(node, ("scicat", "limits"), f"invalid limits: {error}", "see docs/security.md")
            return HttpLimits()

    def storage(self) -> StorageConfig | None:
        node = self.root.get("storage")
        if node is None:
            if self.section("datasets"):
                self.add(
                    self.root,
                    (),
                    "datasets need a 'storage' section (where their files are uploaded)",
                    "add storage: {local: {root: ./store}} or storage: {sftp: {host: ..., "
                    "root: /data}}",
                )
            return None
        values = node.mapping()
        if "local" in values:
            local = values["local"].mapping()
            hardlink = local.get("hardlink")
            read_only = local.get("read_only_roots")
            return LocalStorageConfig(
                root=self.local_path(local["root"]),
                hardlink=bool(hardlink.value) if hardlink is not None else False,
                read_only_roots=tuple(self.local_path(item) for item in read_only.sequence())
                if read_only is not None
                else (),
            )
        sftp = values["sftp"].mapping()
        port, user, connections = sftp.get("port"), sftp.get("user"), sftp.get("connections")
        return SftpStorageConfig(
            host=str(sftp["host"].value),
            root=PurePosixPath(str(sftp["root"].value)),
            port=int(port.value) if port is not None else None,
            user=str(user.value) if user is not None else None,
            connections=int(connections.value) if connections is not None else 4,
            ssh_config=self.local_path(sftp["ssh_config"]) if "ssh_config" in sftp else None,
            known_hosts=self.local_path(sftp["known_hosts"]) if "known_hosts" in sftp else None,
            read_only_roots=tuple(
                PurePosixPath(str(item.value)) for item in sftp["read_only_roots"].sequence()
            )
            if "read_only_roots" in sftp
            else (),
        )

    def fields(
        self,
        entry: Node,
        path: NodePath,
        table: dict[str, FieldDef],
        kind: str | None,
    ) -> dict[str, Json]:
        """The table fields of *entry*, translated to SciCat camelCase."""
        out: dict[str, Json] = {}
        written_as: dict[str, str] = {}
        for name, node in entry.mapping().items():
            spec = table.get(name)
            if spec is None:
                continue
            if kind is not None and kind not in spec.types:
                (only,) = sorted(spec.types)
                self.add_key(entry, name, path, f"{name!r} is only for {only} datasets",
                             "SciCat rejects it on other dataset types")  # fmt: skip
                continue
            if spec.scicat in written_as:
                self.add_key(
                    entry,
                    name,
                    path,
                    f"{name!r} and {written_as[spec.scicat]!r} both set {spec.scicat}",
                    "keep one of them",
                )
                continue
            written_as[spec.scicat] = name
            value = node.to_plain()
            if spec.singular:
                value = [value]
            if spec.camel_keys and isinstance(value, list):
                value = [_camel_item(item, spec.camel_keys) for item in value]
            elif spec.camel_keys and isinstance(value, dict):
                value = _camel_item(value, spec.camel_keys)
            out[spec.scicat] = value
        return out

    def add_key(
        self, entry: Node, key: str, path: NodePath, what: str, hint: str | None = None
    ) -> None:
        position = entry.key_positions.get(key, entry.position)
        self.problems.add(position, (*path, key), what, hint)

    def check_metadata_keys(self, node: Node, path: NodePath, *, top: bool = True) -> None:
        if not isinstance(node.value, dict):
            if isinstance(node.value, list):
                for index, item in enumerate(node.value):
                    self.check_metadata_keys(item, (*path, index), top=False)
            return
        for key, child in node.value.items():
            if not _METADATA_KEY.match(key):
                self.add_key(
                    node,
                    key,
                    path,
                    f"metadata key {key!r} may only use letters, digits, '_' and '-'",
                    "SciCat re-encodes other characters (e.g. '.' becomes '%2E'), so the "
                    "key would not round-trip; rename it",
                )
            elif top and key in RESERVED_METADATA_KEYS:
                self.add_key(node, key, path, f"metadata key {key!r} is reserved for scisync",
                             "choose another name")  # fmt: skip
            self.check_metadata_keys(child, (*path, key), top=False)

    def samples(self) -> tuple[SampleSpec, ...]:
        specs = []
        for index, entry in enumerate(self.section("samples")):
            path: NodePath = ("samples", index)
            values = entry.mapping()
            key = self.register_key("sample", values["key"], (*path, "key"))
            fields = self.fields(entry, path, SAMPLE_FIELDS_BY_NAME, None)
            fields.setdefault("sampleName", key)
            characteristics = values.get("sample_characteristics")
            if characteristics is not None:
                self.check_metadata_keys(characteristics, (*path, "sample_characteristics"))
            sample_id = values.get("sample_id")
            specs.append(
                SampleSpec(
                    key=key,
                    sample_id=str(sample_id.value) if sample_id is not None else None,
                    fields=fields,
                    location=self.location(entry, path),
                )
            )
        return tuple(specs)

    def datasets(self) -> tuple[DatasetSpec, ...]:
        specs = []
        for index, entry in enumerate(self.section("datasets")):
            self.stamped_from = entry.origin
            specs.append(self.dataset(entry, ("datasets", index)))
        self.stamped_from = None
        return tuple(specs)

    def dataset(self, entry: Node, path: NodePath) -> DatasetSpec:
        values = entry.mapping()
        key = self.register_key("dataset", values["key"], (*path, "key"), entry.origin)
        kind = str(values["type"].value)
        fields = self.fields(entry, path, DATASET_FIELDS_BY_NAME, kind)
        fields.setdefault("datasetName", key)
        metadata = values.get("scientific_metadata")
        if metadata is not None:
            self.check_metadata_keys(metadata, (*path, "scientific_metadata"))
        sample: Reference | None = None
        if "sample" in values:
            if kind != "raw":
                self.add_key(
                    entry,
                    "sample",
                    path,
                    "'sample' is only for raw datasets",
                    "a derived dataset gets its sample through its input datasets",
                )
            sample = _reference(values["sample"], "id")
        inputs: tuple[Reference, ...] = ()
        if "input_datasets" in values:
            if kind != "derived":
                self.add_key(entry, "input_datasets", path,
                             "'input_datasets' is only for derived datasets")  # fmt: skip
            inputs = tuple(_reference(item, "pid") for item in values["input_datasets"].sequence())
        source_folder = values.get("source_folder")
        policy = values.get("on_files_changed")
        append = values.get("append_files")
        algorithm = values.get("checksum_algorithm")
        return DatasetSpec(
            key=key,
            type=kind,
            fields=fields,
            scientific_metadata=metadata.to_plain() if metadata is not None else {},  # type: ignore[arg-type]
            source_folder=PurePosixPath(str(source_folder.value))
            if source_folder is not None
            else None,
            files=self.file_selections(values.get("files"), (*path, "files")),
            attachments=self.attachments(values.get("attachments"), (*path, "attachments")),
            sample=sample,
            input_datasets=inputs,
            checksum_algorithm=str(algorithm.value) if algorithm is not None else "sha256",
            on_files_changed=FilesPolicy(str(policy.value)) if policy else FilesPolicy.REFUSE,
            append_files=bool(append.value) if append is not None else False,
            location=self.location(entry, path),
        )

    def globs(self, node: Node | None, path: NodePath) -> tuple[str, ...]:
        if node is None:
            return ()
        items = node.sequence() if node.is_sequence else [node]
        patterns = []
        for index, item in enumerate(items):
            pattern = str(item.value)
            problem = glob_problem(pattern)
            if problem:
                self.add(item, (*path, index) if node.is_sequence else path, problem)
            patterns.append(pattern)
        return tuple(patterns)

    def file_selections(self, node: Node | None, path: NodePath) -> tuple[FileSelection, ...]:
        if node is None:
            return ()
        selections = []
        for index, item in enumerate(node.sequence()):
            here = (*path, index)
            if isinstance(item.value, str):
                base = self.local_path(item.with_value("."))
                selections.append(
                    FileSelection(
                        base=base,
                        include=self.globs(item, here),
                        location=self.location(item, here),
                    )
                )
                continue
            values = item.mapping()
            base_node = values.get("base")
            follow = values.get("follow_symlinks")
            selections.append(
                FileSelection(
                    base=self.local_path(base_node or item.with_value(".")),
                    include=self.globs(values["include"], (*here, "include")),
                    exclude=self.globs(values.get("exclude"), (*here, "exclude")),
                    follow_symlinks=bool(follow.value) if follow is not None else False,
                    location=self.location(item, here),
                )
            )
        return tuple(selections)

    def attachments(self, node: Node | None, path: NodePath) -> tuple[AttachmentSpec, ...]:
        if node is None:
            return ()
        specs = []
        for index, item in enumerate(node.sequence()):
            values = item.mapping()
            image = values["image"]
            suffix = Path(str(image.value)).suffix.lower()
            if suffix not in _IMAGE_SUFFIXES:
                self.add(
                    image,
                    (*path, index, "image"),
                    f"attachment {str(image.value)!r} is not an image file",
                    "use " + ", ".join(sorted(_IMAGE_SUFFIXES)),
                )
            specs.append(
                AttachmentSpec(
                    caption=str(values["caption"].value),
                    image=self.local_path(image),
                    location=self.location(item, (*path, index)),
                )
            )
        return tuple(specs)

    def downloads(self) -> tuple[DownloadSpec, ...]:
        specs = []
        for index, entry in enumerate(self.section("downloads")):
            path: NodePath = ("downloads", index)
            values = entry.mapping()
            key = self.register_key("download", values["key"], (*path, "key"))
            regex = values.get("regex")
            if regex is not None:
                try:
                    re.compile(str(regex.value))
                except re.error as error:
                    self.add(regex, (*path, "regex"), f"invalid regular expression: {error}")
            files = values.get("files")
            query = values.get("query")
            limit = values.get("max_datasets")
            specs.append(
                DownloadSpec(
                    key=key,
                    dataset=_reference(values["dataset"], "pid") if "dataset" in values else None,
                    query=download_query(query, (*path, "query"), self.problems) if query else None,
                    max_datasets=int(str(limit.value)) if limit else DEFAULT_MAX_DATASETS,
                    target=self.local_path(values["target"]),
                    include=self.globs(values.get("include"), (*path, "include")),
                    regex=str(regex.value) if regex is not None else None,
                    files=tuple(str(f.value) for f in files.sequence()) if files else (),
                    location=self.location(entry, path),
                )
            )
        return tuple(specs)


def _reference(node: Node, id_field: str) -> Reference:
    if isinstance(node.value, dict):
        return PidRef(str(node.mapping()[id_field].value))
    return KeyRef(str(node.value))


def _camel_item(item: Json, keys: dict[str, str]) -> Json:
    if isinstance(item, dict):
        return {keys.get(k, k): v for k, v in item.items()}
    return item

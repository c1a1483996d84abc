"""Render Jinja2 templates in string values, inside a sandbox.

Only string *values* are templates (never keys).  The environment is Jinja's
immutable sandbox with strict undefined: a template can read ``vars``, call
``env(name, default=...)`` and ``glob(pattern)``, and see ``each`` inside a
``for_each`` dataset; reaching for Python internals is refused.  A failing template
is reported at the position of the scalar that holds it, and rendering goes on so
that every problem is reported at once.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from jinja2 import (
    StrictUndefined,
    Template,
    TemplateError,
    TemplateSyntaxError,
    Undefined,
    UndefinedError,
)
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from scisync._util.jsontypes import Json
from scisync._util.limits import MAX_FOR_EACH_ITEMS
from scisync.manifest.globs import UnreadableFolder, expand_glob, glob_problem
from scisync.manifest.nodes import Node, NodePath, format_path
from scisync.manifest.problems import Problems, did_you_mean
from scisync.manifest.template_bounds import BoundedSandbox, TemplateLimitError, render_bounded

_MARKERS = ("{{", "{%", "{#")
_MISSING = object()


class TemplateFunctionError(Exception):
    """A helper (env, glob) refused its arguments; the message is for the user."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


def is_template(text: str) -> bool:
    return any(marker in text for marker in _MARKERS)


# Names of variables that hold credentials by convention (GITHUB_TOKEN, AWS_SECRET_ACCESS_KEY,
# DB_PASSWORD, ...): a template reading one would publish it in SciCat.
_SECRET_LOOKING = re.compile(r"TOKEN|PASSW|SECRET|PRIVATE|CREDENTIAL|API_?KEY|AUTH", re.IGNORECASE)


@dataclass
class Renderer:
    """Renders nodes with one set of variables.

    ``folders`` maps a manifest file's display name to its folder (``glob()`` is relative
    to the file the template is written in).  ``secret_env`` holds the names of the
    environment variables with credentials: ``env()`` refuses to read them.
    """

    variables: Mapping[str, Json]
    folders: Mapping[str, Path]
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    secret_env: frozenset[str] = frozenset()
    jinja: ImmutableSandboxedEnvironment = field(init=False)
    _templates: dict[str, Template] = field(init=False, default_factory=dict)
    _contexts: dict[str, dict[str, Any]] = field(init=False, default_factory=dict)
    # id(node) -> (node, whether a template string is below it): for_each renders one body
    # per item, and its template-free parts are shared, not copied.  The node is kept so
    # that its id cannot be reused by another node while the renderer lives.
    _templated: dict[int, tuple[Node, bool]] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.jinja = BoundedSandbox(
            undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True
        )
        # Run folders come from glob(); their last component is the usual key part.
        self.jinja.filters["basename"] = _basename

    # -- helpers visible to templates ---------------------------------------------------

    def _env(self, name: object, default: object = _MISSING) -> object:
        if not isinstance(name, str):
            raise TemplateFunctionError(f"env() needs a variable name, got {name!r}")
        if name in self.secret_env or _SECRET_LOOKING.search(name):
            raise TemplateFunctionError(
                f"env({name!r}) would copy a credential into the manifest",
                "secrets never live in manifests; scisync reads that variable itself "
                "(scicat.token_env / password_env)",
            )
        value = self.environ.get(name)
        if value is not None:
            return value
        if default is _MISSING:
            raise TemplateFunctionError(
                f"environment variable {name!r} is not set",
                f"set {name}, or give a default: env({name!r}, default='...')",
            )
        return default

    def _glob_in(self, folder: Path) -> Callable[[object], list[str]]:
        def glob(pattern: object) -> list[str]:
            if not isinstance(pattern, str):
                raise TemplateFunctionError(f"glob() needs a pattern string, got {pattern!r}")
            problem = glob_problem(pattern, allow_absolute=True)
            if problem:
                raise TemplateFunctionError(problem)
            base, relative = ("/", pattern) if pattern.startswith("/") else (str(folder), pattern)
            try:
                found = expand_glob(base, relative, include_hidden=False)
            except UnreadableFolder as error:
                raise TemplateFunctionError(
                    f"glob() cannot read folder {error.folder}: {error.error.strerror}"
                ) from None
            prefix = "/" if pattern.startswith("/") else ""
            return [prefix + path for path in found]

        return glob

    def context(self, node: Node, each: object = _MISSING) -> dict[str, Any]:
        """The names a template sees; built once per manifest file (rendering is hot)."""
        names = self._contexts.get(node.position.file)
        if names is None:
            folder = self.folders.get(node.position.file) or Path.cwd()
            names = {
                "vars": dict(self.variables),
                "env": self._env,
                "glob": self._glob_in(folder),
            }
            self._contexts[node.position.file] = names
        if each is not _MISSING:
            return {**names, "each": each}
        return names

    # -- rendering ------------------------------------------------------------------------

    def render_text(
        self, node: Node, path: NodePath, problems: Problems, each: object = _MISSING
    ) -> str | None:
        """Render one template string; None (and a problem) when it fails."""
        assert isinstance(node.value, str)
        try:
            template = self._templates.get(node.value)
            if template is None:
                # for_each renders the same strings once per item: compile them once
                template = self._templates[node.value] = self.jinja.from_string(node.value)
            return render_bounded(template, self.context(node, each))
        except Exception as error:
            _report(error, node, path, problems, self.context(node, each))
            return None

    def evaluate(
        self, node: Node, path: NodePath, problems: Problems, each: object = _MISSING
    ) -> object:
        """Evaluate a Jinja *expression* (``for_each: "glob('runs/*')"``); _MISSING on error."""
        assert isinstance(node.value, str)
        expression = node.value.strip()
        if expression.startswith("{{") and expression.endswith("}}"):
            expression = expression[2:-2].strip()
        try:
            compiled = self.jinja.compile_expression(expression, undefined_to_none=False)
            value = compiled(**self.context(node, each))
            if isinstance(value, Undefined):
                str(value)  # raises the UndefinedError with Jinja's message
            return value
        except Exception as error:
            _report(error, node, path, problems, self.context(node, each))
            return _MISSING

    def render(
        self, node: Node, path: NodePath, problems: Problems, each: object = _MISSING
    ) -> Node:
        """A copy of *node* with every template string rendered (keys untouched); a part
        without templates is returned as it is (nodes are never changed in place)."""
        if not self._has_template(node):
            return node
        if isinstance(node.value, dict):
            return node.with_value(
                {
                    key: self.render(child, (*path, key), problems, each)
                    for key, child in node.value.items()
                }
            )
        if isinstance(node.value, list):
            return node.with_value(
                [
                    self.render(child, (*path, index), problems, each)
                    for index, child in enumerate(node.value)
                ]
            )
        if isinstance(node.value, str) and is_template(node.value):
            rendered = self.render_text(node, path, problems, each)
            return node if rendered is None else node.with_value(rendered)
        return node

    def _has_template(self, node: Node) -> bool:
        known = self._templated.get(id(node))
        if known is not None and known[0] is node:
            return known[1]
        value = node.value
        if isinstance(value, dict):
            found = any([self._has_template(child) for child in value.values()])
        elif isinstance(value, list):
            found = any([self._has_template(child) for child in value])
        else:
            found = isinstance(value, str) and is_template(value)
        self._templated[id(node)] = (node, found)
        return found

    def expand_for_each(self, node: Node, path: NodePath, problems: Problems) -> list[Node]:
        """One rendered dataset per ``for_each`` item (or the dataset itself, rendered)."""
        loop = node.get("for_each")
        if loop is None:
            return [self.render(node, path, problems)]
        items = self._loop_items(loop, (*path, "for_each"), problems)
        if items is None:
            return []
        if len(items) > MAX_FOR_EACH_ITEMS:
            problems.add(
                loop.position,
                (*path, "for_each"),
                f"for_each gave {len(items):,} items, more than the limit of "
                f"{MAX_FOR_EACH_ITEMS:,}",
                "split the entry into several, each looping over a part (e.g. one glob per folder)",
            )
            return []
        if not items:
            # An empty loop would silently drop every dataset it used to stamp out.
            problems.add(
                loop.position,
                (*path, "for_each"),
                "for_each gave no items, so this entry makes no dataset",
                "check the glob pattern (it is relative to the manifest's folder) or list "
                "the items; remove the entry if it is meant to be empty",
            )
            return []
        body = node.with_value({k: v for k, v in node.mapping().items() if k != "for_each"})
        stamped = []
        for number, item in enumerate(items):
            copy = self.render(body, path, problems, each=item)
            origin = f"for_each item {number} ({_short(item)}) of {format_path(path)}"
            stamped.append(_with_origin(copy, origin))
        return stamped

    def _loop_items(self, loop: Node, path: NodePath, problems: Problems) -> list[Json] | None:
        if isinstance(loop.value, list):
            return [self.render(item, path, problems).to_plain() for item in loop.value]
        if isinstance(loop.value, str):
            value = self.evaluate(loop, path, problems)
            if value is _MISSING:
                return None
            if isinstance(value, list | tuple):
                return [_plain(item) for item in value]
            problems.add(
                loop.position,
                path,
                f"for_each must give a list, but the expression gave {type(value).__name__}",
                "e.g. for_each: \"{{ glob('runs/*') }}\" or a YAML list",
            )
            return None
        problems.add(
            loop.position,
            path,
            "for_each must be a list or a Jinja expression giving a list",
        )
        return None


def render_vars(
    raw: Mapping[str, Node],
    overrides: Mapping[str, Json],
    renderer_for: Callable[[Mapping[str, Json]], Renderer],
    problems: Problems,
) -> dict[str, Json]:
    """Render the manifest's ``vars`` in order: each may use the ones before it.

    Overrides (--var-file, --var) are literal values and win over the manifest's.
    """
    done: dict[str, Json] = {}
    for name, node in raw.items():
        if name in overrides:
            done[name] = overrides[name]
            continue
        renderer = renderer_for({**done, **overrides})
        done[name] = renderer.render(node, ("vars", name), problems).to_plain()
    for name, value in overrides.items():
        done.setdefault(name, value)
    return done


def _basename(path: object) -> str:
    return PurePosixPath(str(path)).name


def _plain(value: object) -> Json:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return str(value)


def _short(value: Json) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _with_origin(node: Node, origin: str) -> Node:
    return Node(node.value, node.position, node.key_positions, origin)


def _report(
    error: Exception,
    node: Node,
    path: NodePath,
    problems: Problems,
    names: Mapping[str, Any],
) -> None:
    hint: str | None = None
    if isinstance(error, TemplateFunctionError | TemplateLimitError):
        what, hint = f"template error: {error}", error.hint
    elif isinstance(error, SecurityError):
        what = f"template refused by the sandbox: {error}"
        hint = "templates may use vars, env(), glob(), each and Jinja filters, not Python internals"
    elif isinstance(error, TemplateSyntaxError):
        where = f" (template line {error.lineno})" if "\n" in str(node.value) else ""
        what = f"template syntax error: {error.message}{where}"
    elif isinstance(error, UndefinedError):
        what = f"template error: {error.message}"
        hint = _undefined_hint(str(error.message), names)
    elif isinstance(error, TemplateError):
        what = f"template error: {error.message}"
    else:
        what = f"template error: {type(error).__name__}: {error}"
    problems.add(node.position, path, what, hint)
    problems.failed_values.add(node.position)


_MISSING_ATTRIBUTE = re.compile(r"has no attribute '([^']*)'")
_UNDEFINED_NAME = re.compile(r"'([^']*)' is undefined")


def _undefined_hint(message: str, names: Mapping[str, Any]) -> str | None:
    """What to do about an undefined name: a did-you-mean among the names that exist."""
    if "'each'" in message:
        return "'each' exists only inside a dataset with for_each"
    define = "define it under vars:, or pass --var NAME=VALUE / --var-file FILE"
    attribute = _MISSING_ATTRIBUTE.search(message)
    if attribute is not None:
        variables = names.get("vars")
        choices = variables if isinstance(variables, Mapping) else {}
        close = difflib.get_close_matches(attribute.group(1), [str(n) for n in choices], n=1)
        return f"did you mean vars.{close[0]}? or {define}" if close else define
    name = _UNDEFINED_NAME.search(message)
    if name is not None:
        variables = names.get("vars")
        in_vars = isinstance(variables, Mapping) and name.group(1) in variables
        if in_vars:
            return f"write vars.{name.group(1)}: variables live under vars"
        guess = did_you_mean(name.group(1), names)
        return guess or f"templates know {', '.join(sorted(names))}; {define}"
    return None

"""The sandbox's web page: a catalogue browser served beside the API, at ``/``.

Server-rendered with jinja2 (autoescaping on for every template), no scripts, no assets
from elsewhere (it works offline), and the API's read rules: anonymous visitors see only
published records, a signed-in visitor what the API would show their account.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from typing import Any
from urllib.parse import unquote, urlencode

import jinja2

from scisync.sandbox.access import Access
from scisync.sandbox.auth import Authenticator, Caller
from scisync.sandbox.http import Response
from scisync.sandbox.settings import SandboxSettings
from scisync.sandbox.store import Store
from scisync.sandbox.web import session
from scisync.sandbox.web.catalogue import (
    DATASETS,
    DESCENDING_FIRST,
    SORTS,
    BadQuery,
    TableQuery,
    parse_table_query,
    table,
)
from scisync.sandbox.web.publications import (
    Publications,
    parse_published_query,
    publication_href,
)
from scisync.sandbox.web.views import SAMPLES, Views, dataset_href, sample_href

HTML = "text/html; charset=utf-8"
# No scripts at all, images and styles from this server only, forms post here only.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; img-src 'self'; style-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
MAX_FORM_BYTES = 16 * 1024  # the login form is the only one


@dataclass(frozen=True)
class WebRequest:
    method: str
    path: str  # raw, percent-encoded
    query: dict[str, list[str]]
    form: dict[str, list[str]]
    caller: Caller
    expired: bool = False  # the visitor's session cookie has expired

    def one(self, values: dict[str, list[str]], name: str) -> str:
        found = values.get(name)
        return found[-1] if found else ""


@dataclass(frozen=True)
class _Route:
    method: str
    pattern: re.Pattern[str]
    name: str  # also the stats key
    handler: Callable[[WebRequest, dict[str, str]], Response] = field(compare=False)


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("scisync.sandbox.web", "templates"),
        autoescape=True,  # every value, in every template, HTML-escaped
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{size} B"


class WebPages:
    """Routes and handlers of the web page; the server calls :meth:`handle`."""

    def __init__(self, store: Store, auth: Authenticator, settings: SandboxSettings) -> None:
        self.auth = auth
        self.settings = settings
        self.access = Access(settings)
        self.store = store
        self.views = Views(store, self.access)
        self.publications = Publications(store, self.access, self.views)
        self.env = _environment()
        self.env.filters["size"] = human_size
        self.env.globals.update(
            dataset_href=dataset_href,
            sample_href=sample_href,
            publication_href=publication_href,
            descending_first=DESCENDING_FIRST,
        )
        self.routes = [
            _Route("GET", re.compile(r"^/$"), "datasets", self._datasets),
            _Route("GET", re.compile(r"^/published/?$"), "published", self._published),
            _Route("GET", re.compile(r"^/datasets/(?P<key>[^/]+)/?$"), "dataset", self._dataset),
            _Route(
                "GET", re.compile(r"^/publisheddata/?$"), "published data", self._published_data
            ),
            # a DOI holds a "/": taken percent-encoded (as linked) or as typed
            _Route(
                "GET",
                re.compile(r"^/publisheddata/(?P<key>.+?)/?$"),
                "publication",
                self._publication,
            ),
            _Route("GET", re.compile(r"^/samples/?$"), "samples", self._samples),
            _Route("GET", re.compile(r"^/samples/(?P<key>[^/]+)/?$"), "sample", self._sample),
            _Route("GET", re.compile(r"^/attachments/(?P<key>[^/]+)$"), "image", self._image),
            _Route("GET", re.compile(r"^/login/?$"), "login form", self._login_form),
            _Route("POST", re.compile(r"^/login/?$"), "login", self._login),
            _Route("POST", re.compile(r"^/logout/?$"), "logout", self._logout),
            _Route("GET", re.compile(r"^/static/style\.css$"), "style", self._style),
        ]

    def route_name(self, method: str, path: str) -> str:
        for route in self.routes:
            if route.method == method and route.pattern.match(path):
                return route.name
        return "unmatched"

    def handle(self, request: WebRequest) -> Response:
        for route in self.routes:
            found = route.pattern.match(request.path)
            if found and route.method == request.method:
                params = {k: unquote(v) for k, v in found.groupdict().items()}
                return route.handler(request, params)
        if any(route.pattern.match(request.path) for route in self.routes):
            return self._page(request, "message.html", 405, title="Method not allowed")
        return self._page(request, "message.html", 404, title="Page not found")

    # --- rendering -------------------------------------------------------------------
    def _page(
        self,
        request: WebRequest,
        template: str,
        status: int = 200,
        headers: dict[str, str] | None = None,
        **context: Any,
    ) -> Response:
        html = self.env.get_template(template).render(
            visitor=request.caller,
            expired=request.expired,
            here=request.path,
            message=context.pop("message", ""),
            **context,
        )
        extra = dict(headers or {})
        if request.expired and "Set-Cookie" not in extra:
            extra["Set-Cookie"] = session.clear_cookie()
        return Response(
            status,
            payload=html.encode("utf-8"),
            content_type=HTML,
            headers={**SECURITY_HEADERS, **extra},
        )

    def _table_page(
        self, request: WebRequest, collection: str, template: str, title: str, published: bool
    ) -> Response:
        try:
            query = parse_table_query(request.query, published_only=published)
        except BadQuery as exc:
            return self._page(request, "message.html", 400, title="Bad request", message=str(exc))
        result = table(self.store, self.access, request.caller, query, collection)

        def link(**changes: Any) -> str:
            return "?" + urlencode(_link_params(_table_values(query), changes))

        return self._page(
            request, template, title=title, query=query, table=result, link=link, sorts=SORTS
        )

    # --- handlers --------------------------------------------------------------------
    def _datasets(self, request: WebRequest, params: dict[str, str]) -> Response:
        return self._table_page(request, DATASETS, "datasets.html", "Datasets", False)

    def _published(self, request: WebRequest, params: dict[str, str]) -> Response:
        return self._table_page(request, DATASETS, "datasets.html", "Published datasets", True)

    def _samples(self, request: WebRequest, params: dict[str, str]) -> Response:
        return self._table_page(request, SAMPLES, "samples.html", "Samples", False)

    def _not_visible(self, request: WebRequest, what: str, hidden: str = "published") -> Response:
        hint = "" if request.caller.account else f" Sign in to see records that are not {hidden}."
        return self._page(
            request,
            "message.html",
            404,
            title=f"{what} not found",
            message=f"There is no {what.lower()} with this id that you may see.{hint}",
        )

    def _dataset(self, request: WebRequest, params: dict[str, str]) -> Response:
        view = self.views.dataset(request.caller, params["key"])
        if view is None:
            return self._not_visible(request, "Dataset")
        citing = self.publications.citing(request.caller, params["key"])
        return self._page(request, "dataset.html", title=view.name, view=view, publications=citing)

    def _published_data(self, request: WebRequest, params: dict[str, str]) -> Response:
        try:
            query = parse_published_query(request.query)
        except BadQuery as exc:
            return self._page(request, "message.html", 400, title="Bad request", message=str(exc))
        result = self.publications.table(request.caller, query)

        def link(**changes: Any) -> str:
            return "?" + urlencode(_link_params(query.params(), changes))

        return self._page(
            request,
            "published_data.html",
            title="Published data",
            query=query,
            table=result,
            link=link,
        )

    def _publication(self, request: WebRequest, params: dict[str, str]) -> Response:
        view = self.publications.record(request.caller, params["key"])
        if view is None:
            return self._not_visible(request, "Published data record", hidden="registered")
        return self._page(request, "publication.html", title=view.title or view.doi, view=view)

    def _sample(self, request: WebRequest, params: dict[str, str]) -> Response:
        view = self.views.sample(request.caller, params["key"])
        if view is None:
            return self._not_visible(request, "Sample")
        return self._page(request, "sample.html", title=view.name, view=view)

    def _image(self, request: WebRequest, params: dict[str, str]) -> Response:
        found = self.views.attachment_image(request.caller, params["key"])
        if found is None:
            return self._page(request, "message.html", 404, title="Image not found")
        media_type, data = found
        headers = {**SECURITY_HEADERS, "Cache-Control": "private, max-age=300"}
        return Response(200, payload=data, content_type=media_type, headers=headers)

    def _style(self, request: WebRequest, params: dict[str, str]) -> Response:
        css = resources.files("scisync.sandbox.web").joinpath("static/style.css").read_bytes()
        headers = {**SECURITY_HEADERS, "Cache-Control": "public, max-age=3600"}
        return Response(200, payload=css, content_type="text/css; charset=utf-8", headers=headers)

    def _login_form(self, request: WebRequest, params: dict[str, str]) -> Response:
        target = session.safe_next(request.one(request.query, "next"))
        return self._page(request, "login.html", title="Sign in", next=target, username="")

    def _login(self, request: WebRequest, params: dict[str, str]) -> Response:
        username = request.one(request.form, "username")
        target = session.safe_next(request.one(request.form, "next"))
        account = self.auth.check_password(username, request.one(request.form, "password"))
        if account is None:
            return self._page(
                request,
                "login.html",
                401,
                title="Sign in",
                next=target,
                username=username,
                message="Wrong username or password.",
            )
        cookie = session.set_cookie(self.auth.issue(account), self.settings.jwt_expires_in)
        headers = {**SECURITY_HEADERS, "Location": target, "Set-Cookie": cookie}
        return Response(303, payload=b"", content_type=HTML, headers=headers)

    def _logout(self, request: WebRequest, params: dict[str, str]) -> Response:
        headers = {**SECURITY_HEADERS, "Location": "/", "Set-Cookie": session.clear_cookie()}
        return Response(303, payload=b"", content_type=HTML, headers=headers)


def _table_values(query: TableQuery) -> dict[str, Any]:
    return {
        "q": query.text,
        "type": query.type,
        "group": query.group,
        "sort": query.sort,
        "order": "desc" if query.descending else "asc",
        "page": query.page,
    }


def _link_params(values: dict[str, Any], changes: dict[str, Any]) -> list[tuple[str, str]]:
    """A table's URL parameters with *changes*; empty ones and page 1 left out."""
    merged = {**values, **changes}
    return [(k, str(v)) for k, v in merged.items() if v not in ("", None, 1) or k == "sort"]

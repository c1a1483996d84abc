"""Turn a failed SciCat exchange into one clear :class:`~scisync.errors.ApiError`.

SciCat answers errors in several shapes (see docs/scicat-api.md §6): the standard NestJS
``{"message": [...], "error", "statusCode"}``, the v3 dataset ``{"status": 400, "message":
"<JSON string of class-validator errors>"}``, a bare string (``"Internal server error"``)
and HTML from proxies.  Every shape is reduced to the server's own words, prefixed with
what scisync was doing, and followed by a hint that says what to do.  Nothing here ever
includes request headers, so the bearer token cannot leak; the text is redacted anyway.
"""

from __future__ import annotations

import json
import re
from urllib.parse import urlsplit

import requests
from urllib3.exceptions import (
    MaxRetryError,
    NameResolutionError,
    NewConnectionError,
    ReadTimeoutError,
)

from scisync._util.jsontypes import Json
from scisync._util.limits import HttpLimits
from scisync._util.secrets import redact
from scisync.errors import ApiError, AuthError, ScisyncError
from scisync.scicat.tls import CA_BUNDLE_HINT, ca_bundle_setting

_MAX_SERVER_TEXT = 600  # an HTML error page must not flood the terminal

_HINTS: dict[int, str] = {
    400: "SciCat rejected the request body or filter; fix the fields named above",
    404: "the object does not exist on this SciCat (or the URL is not a SciCat API)",
    409: "an object with this id already exists in SciCat; run `scisync plan` to re-read it",
    412: "someone changed the object in SciCat since scisync read it; run `scisync plan` again",
    413: "the request body is larger than SciCat's MAX_FILE_UPLOAD_SIZE; split the file list "
    "or use a smaller thumbnail",
    429: "SciCat is rate limiting; wait and try again",
    500: "SciCat failed internally; a duplicate sampleId or attachment id also looks like "
    "this; check the SciCat server logs",
    502: "a proxy in front of SciCat could not reach it; try again later",
    503: "SciCat is unavailable; try again later",
    504: "a proxy in front of SciCat timed out; try again later",
}


def _anonymous_403_hint(token_hint: str) -> str:
    # token_hint names the manifest's own token variable (scicat.token_env).
    return f"no token was sent, and SciCat treats anonymous writes as forbidden; {token_hint}"


def _sent_pid(request: requests.PreparedRequest) -> bool:
    body = request.body
    if isinstance(body, str):
        body = body.encode("utf-8")
    if not isinstance(body, bytes):
        return False
    try:
        document = json.loads(body)
    except ValueError:
        return False
    return isinstance(document, dict) and bool(document.get("pid"))


def forbidden_hint(method: str, path: str, sent_pid: bool = False) -> str:
    """Which SciCat permission a refused request most likely lacks (docs §7)."""
    lowered = path.lower()
    ask = "; ask the SciCat administrators"
    if "/samples" in lowered:
        return (
            "the account must be in SAMPLE_GROUPS and the sample's ownerGroup must be one of "
            "its groups (or it needs SAMPLE_PRIVILEGED_GROUPS)" + ask
        )
    if "/attachments" in lowered and method != "GET":
        return (
            "the account must be in ATTACHMENT_GROUPS (admins only before SciCat 5.2) and the "
            "attachment's ownerGroup must be one of its groups" + ask
        )
    if method == "GET":
        return (
            "the account cannot read this object: it must be in its ownerGroup or accessGroups "
            "(GET /api/v3/auth/whoami lists the account's groups)" + ask
        )
    if lowered.rstrip("/").endswith("/datasets") and method == "POST" and sent_pid:
        return (
            "creating a dataset with a given pid needs CREATE_DATASET_WITH_PID_GROUPS (or "
            "CREATE_DATASET_PRIVILEGED_GROUPS / ADMIN_GROUPS), and the ownerGroup must be one "
            "of the account's groups" + ask
        )
    if lowered.rstrip("/").endswith("/datasets") and method == "POST":
        return (
            "creating a dataset needs CREATE_DATASET_GROUPS, and the ownerGroup must be one "
            "of the account's groups" + ask
        )
    return (
        "changing a dataset, its origdatablocks or attachments needs membership of the "
        "dataset's ownerGroup (and CREATE_DATASET_GROUPS)" + ask
    )


def describe_request(method: str, url: str) -> str:
    """``"GET /api/v4/datasets"``: the method and path, never the query or credentials."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return f"{method} {parts.scheme}://{host}{parts.path}"


def server_message(response: requests.Response) -> str:
    """The server's own words from an error response, whatever its shape."""
    try:
        body: Json = response.json()
        # RecursionError: a body or message nested thousands deep (hostile); shown as text.
        return _shorten(_message_from_json(body))
    except (ValueError, RecursionError):
        text = response.text.strip()
        if not text:
            return response.reason or f"HTTP {response.status_code}"
        return _shorten(text)


def _message_from_json(body: Json) -> str:
    if isinstance(body, str):
        return body
    if isinstance(body, list):
        return _json_schema_errors(body) or json.dumps(body)
    if not isinstance(body, dict):
        return json.dumps(body)
    message = body.get("message")
    if isinstance(message, list):
        return "; ".join(str(item) for item in message)
    if isinstance(message, str):
        decoded = _class_validator_errors(message)
        return decoded if decoded is not None else message
    if message is not None:
        return json.dumps(message)
    error = body.get("error")
    if isinstance(error, str):
        return error
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        return str(error["message"])
    return json.dumps(body)


def _json_schema_errors(errors: list[Json]) -> str | None:
    """ajv's error list, which published data's publish/register answer as the whole body
    (``ValidatorService``): ``metadata/creators: must NOT have fewer than 1 items``."""
    lines = []
    for error in errors:
        if not isinstance(error, dict) or not isinstance(error.get("message"), str):
            return None
        path = str(error.get("instancePath") or "")
        lines.append(f"metadata{path}: {error['message']}")
    return "; ".join(lines) if lines else None


def _class_validator_errors(message: str) -> str | None:
    """Decode the v3 ``"message": "[{\\"property\\": ..., \\"constraints\\": {...}}]"`` string."""
    if not message.lstrip().startswith("["):
        return None
    try:
        errors = json.loads(message)
    except ValueError:
        return None
    if not isinstance(errors, list):
        return None
    lines: list[str] = []
    for error in errors:
        lines.extend(_flatten_validation_error(error, prefix=""))
    return "; ".join(lines) if lines else None


def _flatten_validation_error(error: Json, prefix: str) -> list[str]:
    if not isinstance(error, dict):
        return [str(error)]
    name = f"{prefix}{error.get('property', '?')}"
    found: list[str] = []
    constraints = error.get("constraints")
    if isinstance(constraints, dict) and constraints:
        texts = ", ".join(str(text) for text in constraints.values())
        found.append(f"{name}: {texts}")
    children = error.get("children")
    if isinstance(children, list):
        for child in children:
            found.extend(_flatten_validation_error(child, prefix=f"{name}."))
    if not found:
        found.append(f"{name}: invalid")
    return found


def _shorten(text: str) -> str:
    text = " ".join(text.split())
    if len(text) > _MAX_SERVER_TEXT:
        text = text[: _MAX_SERVER_TEXT - 3] + "..."
    return text


def error_from_response(
    response: requests.Response,
    *,
    context: str | None,
    authenticated: bool,
    token_hint: str,
) -> ApiError:
    """One ApiError (AuthError for 401) for a non-2xx answer."""
    status = response.status_code
    words = redact(server_message(response))
    request = response.request
    doing = describe_request(request.method or "?", request.url or response.url)
    what = f"SciCat answered {status} to {doing}: {words}"
    where = context or "SciCat"
    if status == 401:
        if "SESSION_EXPIRED" in words.upper():
            return AuthError(
                f"your SciCat token expired ({doing} answered 401 SESSION_EXPIRED)",
                where=where,
                hint=token_hint,
                status=status,
                server_message=words,
            )
        state = "was rejected" if authenticated else "is missing"
        return AuthError(
            f"the SciCat token {state} (missing, invalid or expired): {what}",
            where=where,
            hint=token_hint,
            status=status,
            server_message=words,
        )
    if status == 403:
        hint = (
            _anonymous_403_hint(token_hint)
            if not authenticated
            else forbidden_hint(
                request.method or "", urlsplit(request.url or "").path, _sent_pid(request)
            )
        )
        if authenticated and words.strip().lower() == "forbidden resource":
            # SciCat runs requests with an unrecognised token as anonymous, and the
            # endpoint guard then refuses them with this very message.
            hint = (
                "either SciCat did not recognise the token (it then acts as anonymous; "
                f"{token_hint}), or {hint}"
            )
    else:
        hint = _HINTS.get(status, _HINTS[500] if status >= 500 else "see the server's message")
    return ApiError(what, where=where, hint=hint, status=status, server_message=words)


def _timed_out_after_retries(error: requests.RequestException) -> bool:
    """requests reports read timeouts that exhausted urllib3's retries as ConnectionError."""
    cause = error.args[0] if error.args else None
    return isinstance(cause, MaxRetryError) and isinstance(cause.reason, ReadTimeoutError)


_ERRNO = re.compile(r"\[Errno -?\d+\] [^\"')]+")


def _root_cause(error: Exception) -> str:
    """``": [Errno 111] Connection refused"`` from urllib3's nested message, if present."""
    found = _ERRNO.findall(str(error))
    return f": {found[-1].strip()}" if found else ""


def _root_is(error: BaseException, kind: type[BaseException]) -> bool:
    """Whether *kind* is among the causes of *error* (requests wraps urllib3 wraps OSError)."""
    seen: BaseException | None = error
    for _ in range(8):  # bounded: exception chains can loop
        if seen is None:
            return False
        if isinstance(seen, kind):
            return True
        if isinstance(seen, MaxRetryError) and seen.reason is not None:
            seen = seen.reason
        elif seen.args and isinstance(seen.args[0], BaseException):
            seen = seen.args[0]
        else:
            seen = seen.__cause__ or seen.__context__
    return False


def retry_cannot_help(error: BaseException) -> bool:
    """A host name that does not resolve, a port where nothing listens, or a certificate
    no trusted authority signed: the same request would fail the same way, so it is not
    retried."""
    return (
        _root_is(error, NameResolutionError)
        or _root_is(error, ConnectionRefusedError)
        or _certificate_untrusted(error)
    )


def _certificate_untrusted(error: BaseException) -> bool:
    return isinstance(error, requests.exceptions.SSLError) and (
        "CERTIFICATE_VERIFY_FAILED" in str(error)
    )


def never_connected(error: requests.RequestException) -> bool:
    """True when a request cannot have reached the server (so any method may retry)."""
    if isinstance(error, requests.exceptions.ConnectTimeout):
        return True
    cause: object = error.args[0] if error.args else None
    reason = getattr(cause, "reason", cause)
    return isinstance(reason, NewConnectionError)


def error_from_exception(
    error: requests.RequestException,
    *,
    method: str,
    url: str,
    context: str | None,
    limits: HttpLimits | None = None,
) -> ApiError:
    """An ApiError for a request that got no HTTP answer (refused, timed out, TLS...)."""
    doing = describe_request(method, url)
    bounds = limits or HttpLimits()
    if isinstance(error, requests.exceptions.ProxyError):
        what = f"could not reach SciCat through the proxy for {doing}{_root_cause(error)}"
        hint = "check the proxy variables (HTTPS_PROXY, HTTP_PROXY, ALL_PROXY; NO_PROXY for "
        hint += "hosts reached directly), or unset them to connect directly"
    elif isinstance(error, requests.exceptions.ConnectTimeout):
        what = (
            f"could not connect to SciCat for {doing} within the connect timeout of "
            f"{bounds.connect_timeout:g} s"
        )
        hint = "check the SciCat URL (scicat.url), the network, or raise "
        hint += "scicat.limits.connect_timeout in the manifest"
    elif isinstance(error, requests.Timeout) or _timed_out_after_retries(error):
        what = (
            f"SciCat did not answer {doing} in time: nothing arrived for "
            f"{bounds.read_timeout:g} s (the read timeout)"
        )
        hint = "check that SciCat is up, or raise the timeout (scicat.timeout in the manifest)"
    elif isinstance(error, requests.exceptions.SSLError):
        what, hint = _tls_failure(error, doing)
    elif isinstance(error, requests.ConnectionError) and _root_is(error, NameResolutionError):
        what = f"could not connect to SciCat for {doing}: the host name is not known"
        hint = "check the host name in the SciCat URL (scicat.url)"
    elif isinstance(error, requests.ConnectionError) and _root_is(error, ConnectionRefusedError):
        what = f"could not connect to SciCat for {doing}: nothing answers there (refused)"
        hint = "check the port in the SciCat URL (scicat.url) and that SciCat is running"
    elif isinstance(error, requests.ConnectionError) and never_connected(error):
        what = f"could not connect to SciCat for {doing}{_root_cause(error)}"
        hint = "check the SciCat URL (scicat.url) and that the server is running"
    elif isinstance(error, requests.ConnectionError):
        what = f"the connection to SciCat broke during {doing}{_root_cause(error)}"
        hint = "SciCat or a proxy closed it; try again later, and check the server's logs"
    else:
        what = f"the request {doing} failed: {type(error).__name__}"
        hint = "check the SciCat URL and the network"
    return ApiError(redact(what), where=context or "SciCat", hint=hint)


def _tls_failure(error: requests.exceptions.SSLError, doing: str) -> tuple[str, str]:
    """What failed and what to do, for a TLS error: an untrusted certificate gets the CA
    bundle hint, naming the bundle already in use when there is one."""
    if not _certificate_untrusted(error):
        return f"TLS failed for {doing}", "check the SciCat URL and its certificate"
    what = f"TLS failed for {doing}: SciCat's certificate is not signed by a trusted authority"
    try:
        bundle = ca_bundle_setting()
    except ScisyncError:
        bundle = None
    if bundle is None:
        return what, f"check the SciCat URL (https vs http); {CA_BUNDLE_HINT}"
    variable, path = bundle
    return what, (
        f"{variable} is set to {path!r}, and that file does not hold the authority that "
        f"signed SciCat's certificate: add it to the file, or point {variable} at the right one"
    )

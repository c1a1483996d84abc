"""Proxies and ~/.netrc for SciCat requests: proxy variables are honoured, .netrc never is.

A user behind a facility proxy needs ``HTTPS_PROXY`` (and ``NO_PROXY``) as curl reads them;
a ``~/.netrc`` entry for the SciCat host must not turn into a Basic ``Authorization``
header nobody asked for.  A recording forward proxy on 127.0.0.1 sits between the real
client and the sandbox; each case sets the environment and looks at what passed through.
SciCat is addressed as ``scicat.test``, a name only the proxy resolves (to the sandbox):
a request that goes direct fails to resolve it, and loopback addresses are never proxied.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from scisync._util.secrets import forget_secrets
from scisync.errors import ScisyncError
from scisync.sandbox import SandboxServer
from scisync.scicat.client import ScicatClient
from tests.scicat.forwarding import relay

NAME = "scicat.test"  # resolved by the proxy only

PROXY_VARIABLES = (
    "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY",
    "http_proxy", "https_proxy", "all_proxy", "no_proxy",
)  # fmt: skip


class RecordingProxy:
    """A forward proxy for http:// targets that records each request's line and headers."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, dict[str, str]]] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self._forward()

            def do_POST(self) -> None:
                self._forward()

            def _forward(self) -> None:
                proxy.seen.append((f"{self.command} {self.path}", dict(self.headers)))
                target = urlsplit(self.path)
                host = "127.0.0.1" if target.hostname == NAME else target.hostname
                query = f"?{target.query}" if target.query else ""
                relay(self, host or "", target.port or 80, target.path + query)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def proxy(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[RecordingProxy]:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    # A .netrc with credentials for the sandbox's host: requests would send them as Basic
    # auth on any request without its own Authorization, if scisync let it read the file.
    netrc = tmp_path / "netrc"
    netrc.write_text(f"machine {NAME} login alice password netrc-password-never-sent\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / ".netrc").write_text(netrc.read_text())
    (tmp_path / ".netrc").chmod(0o600)
    recording = RecordingProxy()
    yield recording
    recording.close()
    forget_secrets()


CASES = {
    "HTTP_PROXY": ({"HTTP_PROXY": "{proxy}"}, True),
    "http_proxy (lower case)": ({"http_proxy": "{proxy}"}, True),
    "ALL_PROXY": ({"ALL_PROXY": "{proxy}"}, True),
    "HTTPS_PROXY does not apply to http://": ({"HTTPS_PROXY": "{proxy}"}, False),
    "NO_PROXY names the host": ({"HTTP_PROXY": "{proxy}", "NO_PROXY": NAME}, False),
    "no_proxy (lower case) *": ({"http_proxy": "{proxy}", "no_proxy": "*"}, False),
    "no proxy variable": ({}, False),
}


def _via_name(sandbox: SandboxServer) -> str:
    return sandbox.url.replace("127.0.0.1", NAME)


@pytest.mark.parametrize(("env", "through"), CASES.values(), ids=CASES.keys())
def test_proxy_variables_are_honoured_and_netrc_is_not(
    proxy: RecordingProxy,
    scicat_sandbox: SandboxServer,
    monkeypatch: pytest.MonkeyPatch,
    env: dict[str, str],
    through: bool,
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value.format(proxy=proxy.url))
    url = _via_name(scicat_sandbox)
    if not through:  # direct: this machine cannot resolve the name
        with ScicatClient(url, None, retries=0) as direct, pytest.raises(ScisyncError) as caught:
            direct.whoami()
        assert "the host name is not known" in str(caught.value)
        assert proxy.seen == []
        return
    with ScicatClient(url, None) as anonymous:
        anonymous.whoami()  # anonymous: the case where .netrc would add Basic auth
    token = scicat_sandbox.login("ingestor")
    with ScicatClient(url, token) as client:
        me = client.verify_token()
    assert me["username"] == "ingestor"
    assert all(line.split()[1].startswith(url) for line, _ in proxy.seen), proxy.seen
    sent = [headers.get("Authorization") for _, headers in proxy.seen]
    assert sent[0] is None  # the anonymous request: no Basic credentials from .netrc
    assert set(sent[1:]) == {f"Bearer {token}"}


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_loopback_is_never_proxied(
    proxy: RecordingProxy,
    scicat_sandbox: SandboxServer,
    monkeypatch: pytest.MonkeyPatch,
    host: str,
) -> None:
    """The embedded sandbox listens on 127.0.0.1: a proxy elsewhere could never reach it."""
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    monkeypatch.setenv("ALL_PROXY", proxy.url)
    with ScicatClient(scicat_sandbox.url.replace("127.0.0.1", host), None) as client:
        client.whoami()  # answered: the request reached the sandbox directly
    assert proxy.seen == []


def test_netrc_credentials_are_never_sent(
    proxy: RecordingProxy, scicat_sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    with ScicatClient(_via_name(scicat_sandbox), None) as anonymous:
        anonymous.whoami()
    assert proxy.seen
    for _line, headers in proxy.seen:
        assert "Authorization" not in headers and "Proxy-Authorization" not in headers


def test_a_proxy_password_never_shows_in_an_error(
    proxy: RecordingProxy, scicat_sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://bob:proxy-password-secret@127.0.0.1:1")
    with (
        ScicatClient(_via_name(scicat_sandbox), None, retries=0) as client,
        pytest.raises(ScisyncError) as caught,
    ):
        client.whoami()
    text = str(caught.value)
    assert "could not reach SciCat through the proxy" in text and "HTTP_PROXY" in text
    assert "proxy-password-secret" not in text
    assert "internal error" not in text


def test_the_request_deadline_holds_through_a_proxy(
    proxy: RecordingProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A proxy that drips its answer a byte at a time is cut off at the deadline."""
    import socket
    import time

    from scisync._util.limits import HttpLimits

    stop = threading.Event()
    listener = socket.create_server(("127.0.0.1", 0))

    def drip() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\n")
            while not stop.is_set():
                try:
                    conn.sendall(b"X-Drip: 1\r\n")
                except OSError:
                    return
                stop.wait(0.2)

    threading.Thread(target=drip, daemon=True).start()
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{listener.getsockname()[1]}")
    limits = HttpLimits(deadline=2.0, read_timeout=1.0, retries=0)
    started = time.monotonic()
    try:
        with (
            ScicatClient("http://scicat.invalid/api/v3", None, limits=limits) as client,
            pytest.raises(ScisyncError, match="deadline"),
        ):
            client.whoami()
    finally:
        stop.set()
        listener.close()
    assert time.monotonic() - started < 10

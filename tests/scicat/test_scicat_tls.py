"""Certificate authorities for https:// SciCat: REQUESTS_CA_BUNDLE and CURL_CA_BUNDLE.

A facility's SciCat may carry a certificate from the site's own authority, or sit behind a
proxy that re-signs TLS.  Sessions run with ``trust_env`` off (``~/.netrc`` must never be
read), so the CA bundle variables are read explicitly (``scisync.scicat.tls``).  A real
TLS front on 127.0.0.1, with a certificate signed by a throwaway authority made here,
forwards to the sandbox; each case sets the environment and looks at the outcome.  The
hint given for an untrusted certificate is followed literally in the last test.
"""

from __future__ import annotations

import datetime
import ipaddress
import ssl
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from scisync._util.secrets import forget_secrets
from scisync.errors import ApiError, ConfigError
from scisync.sandbox import SandboxServer
from scisync.scicat.client import ScicatClient
from tests.apply.project import write_project
from tests.cli_process import child_environment, scisync_process
from tests.scicat.forwarding import relay

CA_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")
AUTHORITY = "scisync test authority"


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _certificate(
    subject: str, key: ec.EllipticCurvePrivateKey, issuer: tuple[str, ec.EllipticCurvePrivateKey]
) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer[0]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
    )
    if subject == issuer[0]:  # the authority
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=0), True)
        builder = builder.add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), True
        )
    else:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            False,
        )
    return builder.sign(issuer[1], hashes.SHA256())


def _pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


class TlsFront:
    """HTTPS on 127.0.0.1 with a certificate from a throwaway authority; forwards to SciCat."""

    def __init__(self, folder: Path, upstream_port: int) -> None:
        authority_key = ec.generate_private_key(ec.SECP256R1())
        server_key = ec.generate_private_key(ec.SECP256R1())
        authority = _certificate(AUTHORITY, authority_key, (AUTHORITY, authority_key))
        server = _certificate("127.0.0.1", server_key, (AUTHORITY, authority_key))
        self.ca_file = folder / "site-ca.pem"
        self.ca_file.write_bytes(_pem(authority))
        chain = folder / "server.pem"
        chain.write_bytes(
            _pem(server)
            + server_key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self._forward()

            def do_POST(self) -> None:
                self._forward()

            def do_PATCH(self) -> None:
                self._forward()

            def _forward(self) -> None:
                relay(self, "127.0.0.1", upstream_port, self.path)

            def log_message(self, *args: object) -> None:
                pass

        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(chain)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self.server.server_address[1]}/api/v3"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def front(
    tmp_path: Path, scicat_sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TlsFront]:
    for variable in CA_VARIABLES:  # this machine's own environment may set them
        monkeypatch.delenv(variable, raising=False)
    started = TlsFront(tmp_path, scicat_sandbox.port)
    yield started
    started.close()
    forget_secrets()


def test_an_untrusted_certificate_fails_at_once_with_the_ca_bundle_hint(front: TlsFront) -> None:
    retries: list[object] = []
    with (
        ScicatClient(front.url, None, on_retry=retries.append) as client,
        pytest.raises(ApiError) as raised,
    ):
        client.whoami()
    assert retries == []  # the same certificate would fail the same way
    text = str(raised.value)
    assert "TLS failed" in text and "not signed by a trusted authority" in text
    assert "REQUESTS_CA_BUNDLE" in text
    assert "internal error" not in text


@pytest.mark.parametrize("variable", CA_VARIABLES)
def test_a_ca_bundle_variable_makes_the_site_authority_trusted(
    front: TlsFront, scicat_sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    monkeypatch.setenv(variable, str(front.ca_file))
    token = scicat_sandbox.login("ingestor")
    with ScicatClient(front.url, token) as client:
        assert client.verify_token()["username"] == "ingestor"


def test_requests_ca_bundle_wins_over_curl_ca_bundle(
    front: TlsFront, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """requests' own order: with both set, REQUESTS_CA_BUNDLE is the one used."""
    other = tmp_path / "other-ca.pem"
    key = ec.generate_private_key(ec.SECP256R1())
    other.write_bytes(_pem(_certificate("another authority", key, ("another authority", key))))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(other))
    monkeypatch.setenv("CURL_CA_BUNDLE", str(front.ca_file))
    with ScicatClient(front.url, None, retries=0) as client, pytest.raises(ApiError) as raised:
        client.whoami()
    text = str(raised.value)
    # The bundle in use is named, so the user knows which file lacks the authority.
    assert f"REQUESTS_CA_BUNDLE is set to {str(other)!r}" in text


@pytest.mark.parametrize("variable", CA_VARIABLES)
def test_a_ca_bundle_variable_naming_nothing_is_refused_before_any_request(
    front: TlsFront, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    missing = tmp_path / "no-such-ca.pem"
    monkeypatch.setenv(variable, str(missing))
    with pytest.raises(ConfigError) as raised:
        ScicatClient(front.url, None)
    text = str(raised.value)
    assert f"{variable} names {str(missing)!r}, which does not exist" in text
    assert "unset it" in text


def test_following_the_hint_through_the_cli_makes_plan_work(
    front: TlsFront, scicat_sandbox: SandboxServer, tmp_path: Path
) -> None:
    root = tmp_path / "project"
    root.mkdir()
    write_project(root, front.url, tmp_path / "store")
    environment = child_environment(
        scicat_sandbox.login("ingestor"),
        leave_out=CA_VARIABLES,
        XDG_CONFIG_HOME=str(root / "no-config"),
    )

    def plan(extra: dict[str, str]) -> subprocess.CompletedProcess[str]:
        return scisync_process(["-C", str(root), "plan"], {**environment, **extra})

    refused = plan({})
    assert refused.returncode == 1, refused.stderr
    assert "set REQUESTS_CA_BUNDLE to that authority's certificate file (PEM)" in refused.stderr
    assert "internal error" not in refused.stderr
    assert "Retrying" not in refused.stderr  # no retry can fix an untrusted certificate
    followed = plan({"REQUESTS_CA_BUNDLE": str(front.ca_file)})
    assert followed.returncode == 0, followed.stderr
    assert "raw-1" in followed.stdout and "reduced-1" in followed.stdout

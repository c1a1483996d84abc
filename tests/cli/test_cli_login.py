"""`scisync login` end to end: the real CLI against the sandbox.

The browser step runs with ``webbrowser.open`` replaced by a recorder, and the token
arrives on stdin, as a user pasting it would give it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from scisync.cli.main import main
from scisync.manifest.model import ScicatConfig
from scisync.sandbox import SandboxServer
from scisync.scicat.auth import resolve_token
from scisync.scicat.client import ScicatClient
from scisync.scicat.credentials import CredentialStore


def _run(tmp_path: Path, args: list[str], *, stdin: str | None = None, **env: str) -> Result:
    environ = {"XDG_CONFIG_HOME": str(tmp_path / "config"), "SCICAT_URL": None, **env}
    return CliRunner().invoke(main, ["login", *args], input=stdin, env=environ)  # type: ignore[arg-type]


def _stored(tmp_path: Path, server: SandboxServer) -> str:
    store = CredentialStore(tmp_path / "config" / "scisync" / "credentials.json")
    saved = store.get(server.url)
    assert saved is not None
    return saved.token


def _whoami(server: SandboxServer, token: str) -> dict[str, object]:
    with ScicatClient(server.url, token) as client:
        me = client.verify_token()
    return dict(me)


@pytest.fixture
def browser(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    opened: list[str] = []

    def record(url: str, *args: object, **kwargs: object) -> bool:
        opened.append(url)
        return True

    monkeypatch.setattr("webbrowser.open", record)
    monkeypatch.setattr("scisync.cli.login.can_open_browser", lambda: True)
    return opened


def test_ldap_login_stores_a_token_for_the_facility_account(
    scicat_sandbox: SandboxServer, tmp_path: Path
) -> None:
    args = ["--url", scicat_sandbox.url, "--ldap", "--username", "ldap1", "--password-env", "PW"]
    result = _run(tmp_path, args, PW="sandbox-ldap1")
    assert result.exit_code == 0, result.output
    assert "as ldap1, valid until" in result.output
    me = _whoami(scicat_sandbox, _stored(tmp_path, scicat_sandbox))
    assert me["username"] == "ldap1" and me["authStrategy"] == "ldap"
    assert "group1" in me["currentGroups"]  # type: ignore[operator]


@pytest.mark.parametrize(
    ("method", "user", "password", "hint"),
    [
        ("local", "ldap1", "sandbox-ldap1", "--method ldap"),  # LDAP account, local login
        ("ldap", "ingestor", "sandbox-ingestor", "--method local"),  # functional, LDAP login
        ("ldap", "ldap1", "wrong", "--method local"),
    ],
)
def test_a_login_of_the_wrong_kind_is_refused_with_the_way_out(
    scicat_sandbox: SandboxServer, tmp_path: Path, method: str, user: str, password: str, hint: str
) -> None:
    args = ["--url", scicat_sandbox.url, "--method", method, "--username", user]
    result = _run(tmp_path, [*args, "--password-env", "PW"], PW=password)
    assert result.exit_code == 1
    assert "SciCat refused the username or password" in result.output
    assert hint in result.output and password not in result.output


def test_browser_login_opens_the_page_and_stores_the_pasted_token(
    scicat_sandbox: SandboxServer, tmp_path: Path, browser: list[str]
) -> None:
    token = scicat_sandbox.login("user1")
    result = _run(tmp_path, ["--url", scicat_sandbox.url, "--browser"], stdin=token + "\n")
    assert result.exit_code == 0, result.output
    assert browser == [scicat_sandbox.root_url.removesuffix("/api") + "/login"]
    assert "as user1" in result.output and token not in result.output
    assert _stored(tmp_path, scicat_sandbox) == token
    assert "expires soon" not in result.output


def test_no_browser_prints_the_url_and_login_url_overrides_it(
    scicat_sandbox: SandboxServer, tmp_path: Path, browser: list[str]
) -> None:
    token = scicat_sandbox.login("user1")
    args = ["--url", scicat_sandbox.url, "--browser", "--no-browser"]
    result = _run(tmp_path, [*args, "--login-url", "https://frontend.invalid/login"], stdin=token)
    assert result.exit_code == 0, result.output
    assert browser == []
    assert "Open https://frontend.invalid/login" in result.output


def test_a_token_expiring_soon_is_announced_with_its_time(
    scicat_sandbox: SandboxServer, tmp_path: Path, browser: list[str]
) -> None:
    token = scicat_sandbox.login("user1", expires_in=300)
    result = _run(tmp_path, ["--url", scicat_sandbox.url, "--browser"], stdin=token)
    assert result.exit_code == 0, result.output
    assert "this token expires soon, in 4 min at 20" in result.output


@pytest.mark.parametrize(
    ("token", "message"),
    [
        ("not-a-token", "does not recognise the token"),
        ("", "no token was given"),
    ],
)
def test_a_pasted_token_scicat_does_not_know_is_refused(
    scicat_sandbox: SandboxServer, tmp_path: Path, browser: list[str], token: str, message: str
) -> None:
    result = _run(tmp_path, ["--url", scicat_sandbox.url, "--browser"], stdin=token + "\n")
    assert result.exit_code == 1
    assert message in result.output
    assert not (tmp_path / "config" / "scisync" / "credentials.json").exists()


def test_an_expired_pasted_token_is_refused(
    scicat_sandbox: SandboxServer, tmp_path: Path, browser: list[str]
) -> None:
    token = scicat_sandbox.login("user1", expires_in=-60)
    result = _run(tmp_path, ["--url", scicat_sandbox.url, "--browser"], stdin=token)
    assert result.exit_code == 1
    assert "expired at" in result.output and token not in result.output


@pytest.mark.parametrize(
    ("args", "names"),
    [
        (["--username", "ingestor"], "--password-env NAME"),
        ([], "--username NAME"),
    ],
)
def test_without_a_terminal_login_says_how_instead_of_prompting(
    scicat_sandbox: SandboxServer, tmp_path: Path, args: list[str], names: str
) -> None:
    result = _run(tmp_path, ["--url", scicat_sandbox.url, *args], stdin="")
    assert result.exit_code == 1
    assert "needs a terminal" in result.output and names in result.output
    assert "$SCICAT_TOKEN" in result.output
    assert "GetPassWarning" not in result.output and "Aborted" not in result.output


def test_manifest_login_ldap_uses_auth_ldap(scicat_sandbox: SandboxServer, tmp_path: Path) -> None:
    config = ScicatConfig(
        url=scicat_sandbox.url,
        sandbox=None,
        username_env="U",
        password_env="P",
        login="ldap",
    )
    store = CredentialStore(tmp_path / "credentials.json")
    token = resolve_token(config, {"U": "ldap1", "P": "sandbox-ldap1"}, store)
    assert token is not None and _whoami(scicat_sandbox, token)["username"] == "ldap1"
    assert scicat_sandbox.stats().get("POST /v3/auth/ldap") == 1
    assert json.dumps(scicat_sandbox.stats()).count("auth/login") == 0

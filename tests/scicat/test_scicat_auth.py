"""Token resolution order, login, the credential store and `scisync login`."""

from __future__ import annotations

import base64
import json
import os
import stat
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from scisync.cli.login import login_command
from scisync.errors import AuthError, ConfigError
from scisync.manifest.model import ScicatConfig
from scisync.scicat.auth import login, resolve_token, token_expiry
from scisync.scicat.credentials import CredentialStore, StoredCredential, default_credentials_path
from tests.scicat.fault_server import Answer, FaultServer


def fake_jwt(exp: float, name: str = "ingestor") -> str:
    def part(data: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    return f"{part({'alg': 'HS256'})}.{part({'username': name, 'exp': exp})}.c2lnbmF0dXJl"


FRESH = fake_jwt(time.time() + 3600)
STALE = fake_jwt(time.time() - 60)


def config(url: str | None = "http://127.0.0.1:9/api/v3", **options: str) -> ScicatConfig:
    return ScicatConfig(url=url, sandbox=None, **options)  # type: ignore[arg-type]


@pytest.fixture
def store(tmp_path: Path) -> CredentialStore:
    return CredentialStore(tmp_path / "config" / "scisync" / "credentials.json")


# -- credential store ------------------------------------------------------------------


def test_store_is_written_private_and_keyed_by_api_root(store: CredentialStore) -> None:
    store.put("http://h:3000/api/v3", StoredCredential(FRESH, username="ingestor"))
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    again = store.get("http://h:3000/api/v4/")
    assert again is not None and again.token == FRESH and again.username == "ingestor"
    assert store.get("http://other:3000/api/v3") is None
    assert [p.name for p in store.path.parent.iterdir()] == ["credentials.json"]
    assert FRESH not in repr(again)


def test_store_refuses_a_world_readable_file(store: CredentialStore) -> None:
    store.put("http://h/api/v3", StoredCredential(FRESH))
    os.chmod(store.path, 0o644)
    with pytest.raises(ConfigError) as raised:
        store.get("http://h/api/v3")
    assert "refusing to read" in str(raised.value)
    assert f"chmod 600 {store.path}" in str(raised.value)


def test_store_path_follows_xdg(tmp_path: Path) -> None:
    assert default_credentials_path({"XDG_CONFIG_HOME": str(tmp_path)}) == (
        tmp_path / "scisync" / "credentials.json"
    )
    assert default_credentials_path({"HOME": str(tmp_path)}) == (
        tmp_path / ".config" / "scisync" / "credentials.json"
    )


def test_corrupt_store_says_what_to_do(store: CredentialStore) -> None:
    store.path.parent.mkdir(parents=True)
    store.path.write_text("{not json")
    os.chmod(store.path, 0o600)
    with pytest.raises(ConfigError, match="scisync login"):
        store.get("http://h/api/v3")


# -- resolve_token ---------------------------------------------------------------------


def test_env_token_wins(store: CredentialStore) -> None:
    store.put("http://127.0.0.1:9/api/v3", StoredCredential(fake_jwt(time.time() + 99)))
    assert resolve_token(config(), {"SCICAT_TOKEN": FRESH}, store) == FRESH
    assert resolve_token(config(token_env="MY_TOKEN"), {"MY_TOKEN": FRESH}, store) == FRESH


def test_expired_env_token_says_so(store: CredentialStore) -> None:
    with pytest.raises(AuthError) as raised:
        resolve_token(config(token_env="MY_TOKEN"), {"MY_TOKEN": STALE}, store)
    assert "your SciCat token expired" in str(raised.value)
    assert "$MY_TOKEN" in str(raised.value) and "scisync login" in str(raised.value)


def test_username_and_password_log_in(fault_server: FaultServer, store: CredentialStore) -> None:
    fault_server.queue(Answer(201, {"access_token": FRESH, "expires_in": 3600}))
    chosen = config(fault_server.url, username_env="U", password_env="P")
    token = resolve_token(chosen, {"U": "ingestor", "P": "pass-word-1"}, store)
    assert token == FRESH
    sent = fault_server.requests[0]
    assert (sent.method, sent.path) == ("POST", "/api/v3/auth/login")
    assert sent.json == {"username": "ingestor", "password": "pass-word-1"}


def test_half_configured_login_is_a_config_error(store: CredentialStore) -> None:
    chosen = config(username_env="U", password_env="P")
    with pytest.raises(ConfigError, match=r"\$P is not set"):
        resolve_token(chosen, {"U": "ingestor"}, store)


def test_store_is_the_last_resort(store: CredentialStore) -> None:
    assert resolve_token(config(), {}, store) is None
    store.put("http://127.0.0.1:9/api/v3", StoredCredential(FRESH))
    assert resolve_token(config(), {}, store) == FRESH


def test_expired_stored_token_says_so(store: CredentialStore) -> None:
    past = datetime.now(tz=UTC) - timedelta(minutes=5)
    store.put("http://127.0.0.1:9/api/v3", StoredCredential("opaque-token", expires_at=past))
    with pytest.raises(AuthError) as raised:
        resolve_token(config(), {}, store)
    assert "expired" in str(raised.value) and "scisync login" in str(raised.value)
    assert "opaque-token" not in str(raised.value)


# -- login -----------------------------------------------------------------------------


def test_login_returns_token_and_expiry(fault_server: FaultServer) -> None:
    exp = time.time() + 1800
    token = fake_jwt(exp)
    fault_server.queue(Answer(201, {"access_token": token, "id": token, "expires_in": 3600}))
    result = login(fault_server.url, "ingestor", "pw-secret")
    assert result.token == token
    assert result.expires_at == token_expiry(token)
    assert result.expires_at is not None
    assert abs(result.expires_at.timestamp() - exp) < 1
    assert token not in repr(result)


def test_login_rejected_is_clear_and_hides_the_password(fault_server: FaultServer) -> None:
    fault_server.queue(Answer(401, {"message": "Unauthorized", "statusCode": 401}))
    with pytest.raises(AuthError) as raised:
        login(fault_server.url, "ingestor", "pw-secret-123")
    assert "refused the username or password" in str(raised.value)
    assert "pw-secret-123" not in str(raised.value)
    assert raised.value.status == 401


def test_login_command_stores_the_token(
    fault_server: FaultServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("scisync.cli.login.stdin_is_terminal", lambda: True)
    fault_server.queue(Answer(201, {"access_token": FRESH, "expires_in": 3600}))
    runner = CliRunner()
    result = runner.invoke(
        login_command,
        ["--url", fault_server.url, "--username", "ingestor"],
        input="pw-secret-123\n",
        env={"XDG_CONFIG_HOME": str(tmp_path)},
    )
    assert result.exit_code == 0, result.output
    assert "Logged in to" in result.output and "as ingestor" in result.output
    assert "pw-secret-123" not in result.output and FRESH not in result.output
    store = CredentialStore(tmp_path / "scisync" / "credentials.json")
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    saved = store.get(fault_server.url)
    assert saved is not None and saved.token == FRESH


def test_login_command_password_from_env(fault_server: FaultServer, tmp_path: Path) -> None:
    fault_server.queue(Answer(201, {"access_token": FRESH}))
    result = CliRunner().invoke(
        login_command,
        ["--url", fault_server.url, "--username", "ingestor", "--password-env", "PW"],
        env={"XDG_CONFIG_HOME": str(tmp_path), "PW": "pw-from-env"},
    )
    assert result.exit_code == 0, result.output
    assert fault_server.requests[0].json == {"username": "ingestor", "password": "pw-from-env"}


def test_login_command_needs_a_url(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        login_command,
        ["--username", "x"],
        env={"XDG_CONFIG_HOME": str(tmp_path), "SCICAT_URL": None},
    )
    assert result.exit_code == 2
    assert "--url" in result.output

"""Persistence across restarts, concurrency, fault injection, accounts and secrets."""

from __future__ import annotations

import dataclasses
import json
import socket
import stat
import struct
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from scisync.sandbox import DEFAULT_ACCOUNTS, FaultInjection, SandboxServer, SandboxSettings
from tests.sandbox.helpers import block, quoted, session, v4_dataset


def test_data_survives_a_restart_and_tokens_stay_valid(tmp_path: Path) -> None:
    with SandboxServer(tmp_path) as first:
        token = first.login("ingestor")
        headers = {"Authorization": f"Bearer {token}"}
        pid = requests.post(
            f"{first.root_url}/v4/datasets", json=v4_dataset(), headers=headers
        ).json()["pid"]
        assert requests.post(
            f"{first.root_url}/v4/origdatablocks", json=block(pid), headers=headers
        ).ok
    with SandboxServer(tmp_path) as second:
        # The signing secret is persisted, so the old token still works.
        reply = requests.get(
            f"{second.root_url}/v4/datasets/{quoted(pid)}",
            params={"include": "origdatablocks"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert reply.status_code == 200, reply.text
        assert len(reply.json()["origdatablocks"]) == 1
        assert reply.json()["numberOfFiles"] == 2


def test_secret_and_accounts_files_are_private_and_documented(tmp_path: Path) -> None:
    with SandboxServer(tmp_path) as server:
        info = server.info()
    secret = tmp_path / "jwt_secret"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert len(secret.read_text().strip()) == 64
    accounts = json.loads(info.accounts_file.read_text())
    assert accounts == list(DEFAULT_ACCOUNTS)
    assert {a[0] for a in info.accounts} == {"admin", "ingestor", "user1", "ldap1"}


def test_custom_accounts_file_in_backend_format(tmp_path: Path) -> None:
    (tmp_path / "functionalAccounts.json").write_text(
        json.dumps(
            [
                {
                    "username": "bot",
                    "email": "b@x.org",
                    "password": "pw",
                    "role": ["a", "b"],
                    "global": True,
                }
            ]
        )
    )
    with SandboxServer(tmp_path) as server:
        login = requests.post(
            f"{server.url}/auth/login", json={"username": "bot", "password": "pw"}
        )
        assert login.status_code == 201
        who = requests.get(
            f"{server.url}/auth/whoami",
            headers={"Authorization": f"Bearer {login.json()['id']}"},
        ).json()
        assert who["currentGroups"] == ["a", "b", "globalaccess"]


def test_concurrent_block_uploads_keep_counters_consistent(scicat_sandbox: SandboxServer) -> None:
    s = session(scicat_sandbox, "ingestor")
    root = scicat_sandbox.root_url
    pid = s.post(f"{root}/v4/datasets", json=v4_dataset()).json()["pid"]
    token = scicat_sandbox.login("ingestor")
    failures: list[str] = []

    def upload(worker: int) -> None:
        with requests.Session() as own:
            own.headers["Authorization"] = f"Bearer {token}"
            for _ in range(10):
                reply = own.post(f"{root}/v4/origdatablocks", json=block(pid, 3, 7))
                if reply.status_code != 201:
                    failures.append(f"{worker}: {reply.status_code} {reply.text}")
                own.post(f"{root}/v4/datasets", json=v4_dataset(datasetName=f"w{worker}"))

    threads = [threading.Thread(target=upload, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    doc = s.get(f"{root}/v4/datasets/{quoted(pid)}").json()
    assert doc["numberOfFiles"] == 8 * 10 * 3
    assert doc["size"] == 8 * 10 * 21
    count = s.get(f"{root}/v4/datasets/count").json()
    assert count == {"count": 1 + 8 * 10}


def test_faults_are_injected_reproducibly(tmp_path: Path) -> None:
    def statuses(folder: Path) -> list[object]:
        settings = SandboxSettings(faults=FaultInjection(rate=0.5, seed=7))
        seen: list[object] = []
        with SandboxServer(folder, settings=settings) as server:
            headers = {"Authorization": f"Bearer {server.login('ingestor')}"}
            for _ in range(30):
                try:
                    seen.append(requests.get(f"{server.url}/datasets", headers=headers).status_code)
                except requests.ConnectionError:
                    seen.append("dropped")
        return seen

    first = statuses(tmp_path / "a")
    assert first == statuses(tmp_path / "b")
    assert {200, 502, 503, "dropped"} <= set(first)


def test_login_is_not_faulted_by_default(tmp_path: Path) -> None:
    settings = SandboxSettings(faults=FaultInjection(rate=1.0, kinds=("503",)))
    with SandboxServer(tmp_path, settings=settings) as server:
        login = requests.post(
            f"{server.url}/auth/login", json={"username": "user1", "password": "sandbox-user1"}
        )
        assert login.status_code == 201
        assert requests.get(f"{server.url}/datasets").status_code == 503


def test_binds_to_loopback_by_default(tmp_path: Path) -> None:
    with SandboxServer(tmp_path) as server:
        assert server.url.startswith("http://127.0.0.1:")
        assert server.url == server.root_url + "/v3"


def test_stopped_server_refuses_information(tmp_path: Path) -> None:
    server = SandboxServer(tmp_path)
    with pytest.raises(RuntimeError, match="not running"):
        _ = server.url


def test_patch_racing_block_uploads_loses_no_counts(scicat_sandbox: SandboxServer) -> None:
    s = session(scicat_sandbox, "ingestor")
    root = scicat_sandbox.root_url
    pid = s.post(f"{root}/v4/datasets", json=v4_dataset()).json()["pid"]
    token = scicat_sandbox.login("ingestor")

    def uploads() -> None:
        with requests.Session() as own:
            own.headers["Authorization"] = f"Bearer {token}"
            for _ in range(20):
                own.post(f"{root}/v4/origdatablocks", json=block(pid, 1, 1))

    def patches() -> None:
        with requests.Session() as own:
            own.headers["Authorization"] = f"Bearer {token}"
            for i in range(20):
                own.patch(f"{root}/v4/datasets/{quoted(pid)}", json={"description": f"v{i}"})

    threads = [threading.Thread(target=fn) for fn in (uploads, patches, uploads)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    doc = s.get(f"{root}/v4/datasets/{quoted(pid)}").json()
    assert doc["numberOfFiles"] == 40
    assert doc["description"] == "v19"


def test_settings_from_backend_environment_names() -> None:
    settings = SandboxSettings.from_environ(
        {
            "ADMIN_GROUPS": "ops, admin",
            "CREATE_DATASET_WITH_PID_GROUPS": "bots",
            "PID_PREFIX": "10.5072",
            "JWT_EXPIRES_IN": "60",
            "MAX_FILE_UPLOAD_SIZE": "2mb",
        }
    )
    assert settings.admin_groups == ("ops", "admin")
    assert settings.create_dataset_with_pid_groups == ("bots",)
    assert settings.pid_prefix == "10.5072"
    assert settings.jwt_expires_in == 60
    assert settings.max_body_bytes == 2 * 1024 * 1024
    assert settings.create_dataset_groups == ("#all",)


def test_start_banner_lists_url_and_accounts(scicat_sandbox: SandboxServer) -> None:
    from scisync.render.sandbox import describe

    lines = describe(scicat_sandbox.info())
    assert lines[0] == f"SciCat sandbox listening on {scicat_sandbox.url}"
    assert any(line.strip().startswith("ingestor / sandbox-ingestor") for line in lines)
    ldap = [line for line in lines if line.strip().startswith("ldap1 / sandbox-ldap1")]
    assert len(ldap) == 1 and ldap[0].endswith("(LDAP: scisync login --ldap)")
    assert not any("LDAP" in line for line in lines if "ingestor /" in line)


def test_handler_bug_is_a_500_recorded_not_a_crash(scicat_sandbox: SandboxServer) -> None:
    app = scicat_sandbox._app
    assert app is not None

    def broken(request: object) -> object:
        raise ZeroDivisionError("boom")

    # Fault injection below HTTP: swap one route's handler for a failing one.
    app.routes = [
        dataclasses.replace(r, handler=broken) if r.template == "/v3/auth/whoami" else r
        for r in app.routes
    ]
    reply = requests.get(f"{scicat_sandbox.url}/auth/whoami")
    assert reply.status_code == 500
    assert reply.json() == {"statusCode": 500, "message": "Internal server error"}
    assert "ZeroDivisionError: boom" in scicat_sandbox.errors()[-1]
    assert requests.get(f"{scicat_sandbox.url}/datasets").status_code == 200


def test_client_reset_mid_request_is_silent(
    scicat_sandbox: SandboxServer, capfd: pytest.CaptureFixture[str]
) -> None:
    host, port = "127.0.0.1", scicat_sandbox.port
    for _ in range(3):
        with socket.create_connection((host, port)) as raw:
            raw.sendall(b"GET /api/v3/datasets HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
            # Linger 0: close() sends a TCP reset instead of a FIN.
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    assert requests.get(f"{scicat_sandbox.url}/datasets").status_code == 200
    assert capfd.readouterr().err == ""


def test_database_connections_do_not_pile_up(scicat_sandbox: SandboxServer) -> None:
    headers = {"Authorization": f"Bearer {scicat_sandbox.login('ingestor')}"}
    for _ in range(50):  # a new TCP connection, hence a new server thread, each time
        assert requests.get(f"{scicat_sandbox.url}/datasets", headers=headers).ok
    app = scicat_sandbox._app
    assert app is not None
    deadline = time.monotonic() + 5
    while app.store.open_connections() > 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert app.store.open_connections() <= 2


def test_drop_after_executes_but_never_answers(tmp_path: Path) -> None:
    settings = SandboxSettings(faults=FaultInjection(rate=1.0, kinds=("drop-after",)))
    with SandboxServer(tmp_path, settings=settings) as server:
        headers = {"Authorization": f"Bearer {server.login('ingestor')}"}
        with pytest.raises(requests.ConnectionError):
            requests.post(f"{server.root_url}/v4/datasets", json=v4_dataset(), headers=headers)
        assert server.stats()["fault drop-after"] == 1
    with SandboxServer(tmp_path) as server:  # the dataset was created all the same
        admin = {"Authorization": f"Bearer {server.login('admin')}"}
        assert requests.get(f"{server.url}/datasets/count", headers=admin).json() == {"count": 1}


def test_fault_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="unknown fault kinds"):
        FaultInjection(rate=0.1, kinds=("504",))
    with pytest.raises(ValueError, match="between 0 and 1"):
        FaultInjection(rate=2.0)


def test_factory_fixture_starts_configured_servers(scicat_sandbox_factory: Any) -> None:
    faulty = scicat_sandbox_factory(SandboxSettings(faults=FaultInjection(1.0, ("503",))))
    plain = scicat_sandbox_factory()
    assert faulty.url != plain.url
    assert requests.get(f"{faulty.url}/datasets").status_code == 503
    assert requests.get(f"{plain.url}/datasets").status_code == 200


def test_a_data_folder_of_another_table_layout_is_refused_not_misread(tmp_path: Path) -> None:
    import sqlite3

    from scisync.errors import ConfigError
    from scisync.sandbox import SandboxServer

    with SandboxServer(tmp_path / "data").start() as server:
        token = server.login("ingestor")
        assert token
    with sqlite3.connect(tmp_path / "data" / "sandbox.sqlite3") as conn:
        conn.execute("INSERT INTO docs (collection, id, body) VALUES ('Dataset', 'p/1', '{}')")
        conn.execute("PRAGMA user_version=0")  # as an older development layout left it
    with pytest.raises(ConfigError) as caught:
        SandboxServer(tmp_path / "data").start()
    assert "incompatible" in str(caught.value) and "delete it" in str(caught.value)
    # a fresh folder, and one this layout wrote, both open
    with SandboxServer(tmp_path / "fresh").start():
        pass
    with SandboxServer(tmp_path / "fresh").start():
        pass

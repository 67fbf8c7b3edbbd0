"""``scim-console scim …`` in-process (in-memory keyring) and as a subprocess (null keyring)."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

import pytest

from console.cli import main
from console.sandbox.server import SandboxServer
from console.services.api_client import AdminApiClient
from console.services.pending_deliveries import secret_key
from console.services.secrets import SERVICE_NAME
from tests.sandbox.scim_helpers import create_org
from tests.services.test_cli_commands import run_cli, sandbox_env


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxServer]:
    with SandboxServer(tmp_path_factory.mktemp("scim-cli") / "platform.db", seed="small") as s:
        yield s


@pytest.fixture
def env(server, monkeypatch: pytest.MonkeyPatch) -> SandboxServer:
    for key, value in sandbox_env(server).items():
        monkeypatch.setenv(key, value)
    return server


def cli(capsys, *args: str) -> tuple[int, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out + out.err


def test_enable_status_test_rotate_revoke(env, capsys, memory_keyring) -> None:
    org = create_org(env)
    code, out = cli(capsys, "scim", "enable", "--org", org, "--json")
    assert code == 0, out
    data = json.loads(out)
    token_id = data["token_info"]["id"]
    stored = memory_keyring.store[(SERVICE_NAME, secret_key(org, token_id, env.instance_id))]
    assert "token" not in data
    assert stored not in out
    assert data["stored_in_keyring"] is True

    code, out = cli(capsys, "scim", "status", "--org", org)
    assert code == 0
    assert "…" + stored[-4:] in out
    assert "pending" in out
    assert stored not in out

    code, out = cli(capsys, "scim", "test", "--org", org)
    assert code == 0, out
    assert "authorized" in out
    assert stored not in out

    code, out = cli(capsys, "scim", "rotate", "--org", org, "--show-token")
    assert code == 0, out
    second = out.split("token value (shown once): ")[1].split()[0]
    assert second.startswith("scim_")
    assert second != stored

    code, out = cli(capsys, "scim", "revoke", "--org", org, "--token", token_id)  # stdin is not a tty
    assert code == 1
    assert "--yes" in out
    code, out = cli(capsys, "scim", "revoke", "--org", org, "--token", token_id, "--yes")
    assert code == 0, out
    with AdminApiClient(env.base_url, env.operator_token) as c:
        assert [t.active for t in c.get_scim(org).tokens] == [False, True]
    assert (SERVICE_NAME, secret_key(org, token_id, env.instance_id)) not in memory_keyring.store


def test_wrong_token_from_stdin_fails_like_entra(env, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    org = create_org(env)
    assert cli(capsys, "scim", "enable", "--org", org)[0] == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("scim_" + "n" * 40 + "\n"))
    code, out = cli(capsys, "scim", "test", "--org", org, "--token-stdin")
    assert code == 1
    assert "You appear to have entered invalid credentials" in out


def test_enable_with_null_keyring_refuses_and_mints_nothing(server) -> None:
    org = create_org(server)
    proc = run_cli("scim", "enable", "--org", org, env=sandbox_env(server))  # null keyring backend
    assert proc.returncode == 1
    assert "cannot be stored safely" in proc.stderr or "keyring" in proc.stderr.lower()
    with AdminApiClient(server.base_url, server.operator_token) as c:
        assert c.get_scim(org).enabled is False


def test_deep_test_reports_every_check_as_json_and_cleans_up(env, capsys) -> None:
    from console.services.conformance import PREFIX

    org = create_org(env)
    assert cli(capsys, "scim", "enable", "--org", org)[0] == 0
    code, out = cli(capsys, "scim", "test", "--org", org, "--deep", "--no-rfc", "--json")
    assert code == 0, out
    data = json.loads(out)
    assert data["ok"] is True
    conf = data["conformance"]
    assert conf["ok"] is True
    assert conf["scim2_tester"] is False
    assert conf["counts"]["fail"] == 0
    assert {c["name"] for c in conf["checks"]} >= {"Groups", "PATCH, default job dialect", "Duplicate create"}
    assert conf["created"] == conf["cleaned"] >= 3
    with AdminApiClient(env.base_url, env.operator_token) as c:
        assert [u.user_name for u in c.iter_users(org) if PREFIX in u.user_name] == []
    code, out = cli(capsys, "scim", "test", "--org", org, "--deep", "--no-rfc")
    assert code == 0, out
    assert "passed, 0 failed" in out

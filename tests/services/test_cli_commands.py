"""CLI commands: real subprocesses (``python -m console …``) against a sandbox with env vars, and
in-process runs of ``console.cli.main`` where the in-memory keyring is needed."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import keyring
import pytest
from keyring.backends import null

from console.cli import main
from console.services.store import Store

ROOT = Path(__file__).resolve().parents[2]


def run_cli(*args: str, env: dict[str, str] | None = None,
            stdin: str | None = None) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring", **(env or {})}
    return subprocess.run([sys.executable, "-m", "console", *args], capture_output=True, text=True,
                          input=stdin, env=full_env, cwd=ROOT, timeout=120, check=False)


def sandbox_env(server, token: str | None = None) -> dict[str, str]:
    return {"SCIM_CONSOLE_URL": server.base_url, "SCIM_CONSOLE_TOKEN": token or server.operator_token}


def test_orgs_list_json_with_env_vars(fresh_sandbox) -> None:
    proc = run_cli("orgs", "list", "--json", env=sandbox_env(fresh_sandbox))
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["ok"] is True
    assert [o["id"] for o in data["items"]] == ["acme"]
    assert data["items"][0]["template"]["status"] == "missing"
    assert fresh_sandbox.operator_token not in proc.stdout + proc.stderr


def test_orgs_list_table(fresh_sandbox, monkeypatch: pytest.MonkeyPatch,
                         capsys: pytest.CaptureFixture[str]) -> None:
    for key, value in sandbox_env(fresh_sandbox).items():
        monkeypatch.setenv(key, value)
    assert main(["orgs", "list", "--q", "acme"]) == 0
    header, row = capsys.readouterr().out.splitlines()[:2]
    assert header.split() == ["ID", "NAME", "SCIM", "TEMPLATE", "USERS"]
    assert row.split()[0] == "acme"


def test_bad_token_fails_with_one_line_and_no_token(fresh_sandbox) -> None:
    wrong = "scop_" + "q" * 40
    proc = run_cli("orgs", "list", env=sandbox_env(fresh_sandbox, wrong))
    assert proc.returncode == 1
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("scim-console: error:")
    assert wrong not in proc.stderr



def test_bad_token_json_in_process(fresh_sandbox, monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    wrong = "scop_" + "q" * 40
    for key, value in sandbox_env(fresh_sandbox, wrong).items():
        monkeypatch.setenv(key, value)
    assert main(["orgs", "list", "--json"]) == 1
    out = capsys.readouterr().out
    assert json.loads(out)["ok"] is False
    assert "operator token" in json.loads(out)["error"]  # the AuthError hint says what to do
    assert wrong not in out


def test_unreachable_platform_fails_cleanly(monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("SCIM_CONSOLE_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("SCIM_CONSOLE_TOKEN", "scop_x")
    assert main(["orgs", "list"]) == 1
    err = capsys.readouterr().err
    assert "Could not reach the platform" in err
    assert len(err.strip().splitlines()) == 1


def test_no_connection_configured_is_explained(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["orgs", "list"]) == 1
    assert "profiles add" in capsys.readouterr().err


def test_profiles_add_refuses_insecure_keyring_and_keeps_nothing() -> None:
    token = "scop_" + "n" * 40
    proc = run_cli("profiles", "add", "--name", "Prod", "--url", "https://admin.example.com",
                   stdin=token + "\n")
    assert proc.returncode == 1
    assert "stores nothing" in proc.stderr
    assert token not in proc.stderr + proc.stdout
    with Store.open() as store:  # same SCIM_CONSOLE_HOME as the subprocess
        assert store.profiles.list() == []


def test_token_is_not_an_argument(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["profiles", "add", "--name", "P", "--url", "https://x.example", "--token", "scop_abc"])
    assert info.value.code == 2
    assert "unrecognized arguments" in capsys.readouterr().err


def test_selfcheck_json_subprocess() -> None:
    proc = run_cli("selfcheck", "--json", "--only", "local-store", "--only", "tls-truststore")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data = json.loads(proc.stdout)
    assert data["ok"] is True
    assert [c["name"] for c in data["checks"]] == ["local-store", "tls-truststore"]
    assert all(c["seconds"] >= 0 for c in data["checks"])


def test_profiles_lifecycle_in_process(fresh_sandbox, monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str], memory_keyring) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(fresh_sandbox.operator_token + "\n"))
    assert main(["profiles", "add", "--name", "Local", "--url", fresh_sandbox.admin_url, "--json"]) == 0
    added = json.loads(capsys.readouterr().out)["profile"]
    assert fresh_sandbox.operator_token in memory_keyring.store.values()

    assert main(["orgs", "list", "--json"]) == 0  # uses the active profile + keyring token
    assert [o["id"] for o in json.loads(capsys.readouterr().out)["items"]] == ["acme"]

    monkeypatch.setenv("SCIM_CONSOLE_TOKEN", "scop_" + "second" * 6)
    assert main(["profiles", "add", "--name", "Second", "--url", "https://second.example",
                 "--no-activate"]) == 0
    monkeypatch.delenv("SCIM_CONSOLE_TOKEN")
    capsys.readouterr()
    assert main(["profiles", "list", "--json"]) == 0
    items = json.loads(capsys.readouterr().out)["items"]
    assert [(p["name"], p["active"]) for p in items] == [("Local", True), ("Second", False)]
    assert main(["profiles", "use", "Second"]) == 0
    assert "active profile: Second" in capsys.readouterr().out
    assert main(["profiles", "remove", added["id"], "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"ok": True, "removed": added["id"]}
    assert fresh_sandbox.operator_token not in memory_keyring.store.values()
    assert main(["profiles", "use", "nope"]) == 1
    assert "No profile named" in capsys.readouterr().err


def test_audit_list(capsys: pytest.CaptureFixture[str]) -> None:
    with Store.open() as store:
        store.audit.record("scim.enable", org_id="contoso", outcome="ok", params={"token_id": "tok_1"})
        store.audit.record("scim.enable", org_id="fabrikam", outcome="error", detail="template missing")
    assert main(["audit", "list", "--org", "fabrikam", "--json"]) == 0
    items = json.loads(capsys.readouterr().out)["items"]
    assert [(i["org_id"], i["outcome"], i["detail"]) for i in items] == [
        ("fabrikam", "error", "template missing")]
    assert main(["audit", "list"]) == 0
    table = capsys.readouterr().out
    assert table.splitlines()[0].split()[:3] == ["TIME", "(UTC)", "ACTOR"]
    assert "contoso" in table
    assert "template missing" in table


def test_insecure_keyring_in_process_message(capsys: pytest.CaptureFixture[str],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    keyring.set_keyring(null.Keyring())
    monkeypatch.setattr(sys, "stdin", io.StringIO("scop_" + "z" * 30 + "\n"))
    assert main(["profiles", "add", "--name", "X", "--url", "https://x.example", "--json"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert out["ok"] is False
    assert "Hint:" in out["error"]

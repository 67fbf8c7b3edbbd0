"""``python -m console sandbox serve``: one JSON line, serves, stops cleanly on SIGINT/SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest


def _spawn(args: list[str], home: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "SCIM_CONSOLE_HOME": str(home), "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "console", "sandbox", "serve", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=Path(__file__).resolve().parents[2],
    )


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_serve_prints_one_json_line_and_exits_cleanly(console_home: Path, tmp_path: Path, sig: int) -> None:
    db = tmp_path / "cli.db"
    proc = _spawn(["--json", "--port", "0", "--seed", "empty", "--db", str(db)], console_home)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        info = json.loads(line)
        assert info["ok"] is True
        assert info["db_path"] == str(db.resolve())
        assert info["operator_token"].startswith("scop_")
        assert info["scim_base_url"].endswith("/scim/v2")
        assert info["admin_url"].endswith("/admin/v1")
        assert httpx.get(info["admin_url"] + "/health", trust_env=False).json()["status"] == "ok"
        orgs = httpx.get(
            info["admin_url"] + "/orgs",
            trust_env=False,
            headers={"Authorization": f"Bearer {info['operator_token']}"},
        ).json()
        assert [o["id"] for o in orgs["items"]] == ["acme"]
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert out.strip() == ""  # exactly one line was printed
    assert info["operator_token"] not in err
    assert db.exists()


def test_serve_without_db_uses_the_console_cache_dir(console_home: Path) -> None:
    proc = _spawn(["--json", "--port", "0", "--seed", "empty"], console_home)
    try:
        assert proc.stdout is not None
        info = json.loads(proc.stdout.readline())
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert info["default_db"] is True
    assert Path(info["db_path"]).is_relative_to(console_home.resolve())
    assert proc.returncode == 0


def test_serve_on_a_busy_port_fails_with_one_line(console_home: Path, tmp_path: Path) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = _spawn(
            ["--json", "--port", str(port), "--seed", "empty", "--db", str(tmp_path / "x.db")], console_home
        )
        out, _err = proc.communicate(timeout=30)
    assert proc.returncode != 0
    assert json.loads(out.strip())["ok"] is False


def test_cli_seed_choices_match_the_seeder() -> None:
    """The CLI keeps its own copy of the seed kinds so ``--help`` doesn't import SQLAlchemy."""
    from console.sandbox import cli, seed

    assert cli.SEED_KINDS == seed.SEED_KINDS

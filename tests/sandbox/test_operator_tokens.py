"""Sandbox operator tokens (issue 16 item 6): a restart revokes the previous start's token, every
token expires, ``--rotate-operator-token`` revokes all; binding a network interface warns."""

from __future__ import annotations

import json
import signal
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from console.sandbox.db import OperatorToken, make_engine, make_sessionmaker, utcnow
from console.sandbox.server import SandboxServer
from console.sandbox.tokens import mint_operator_token
from tests.sandbox.test_cli_serve import _spawn


def orgs_status(server: SandboxServer, token: str) -> int:
    return httpx.get(f"{server.admin_url}/orgs", headers={"Authorization": f"Bearer {token}"},
                     trust_env=False, timeout=30).status_code


def test_a_restart_revokes_the_previous_starts_token_and_keeps_others(tmp_path: Path) -> None:
    db = tmp_path / "p.db"
    with SandboxServer(db, seed="empty") as first:
        old = first.operator_token
        assert orgs_status(first, old) == 200
        with make_sessionmaker(make_engine(db))() as session:  # a token someone made by hand
            manual = mint_operator_token(session, "ci-robot")
            session.commit()
    with SandboxServer(db, seed="empty") as second:
        assert second.operator_token != old
        assert orgs_status(second, old) == 401  # before: still valid forever
        assert orgs_status(second, second.operator_token) == 200
        assert orgs_status(second, manual) == 200
    with SandboxServer(db, seed="empty", rotate_operator_token=True) as third:
        assert orgs_status(third, manual) == 401
        assert orgs_status(third, third.operator_token) == 200


def test_operator_tokens_expire(tmp_path: Path) -> None:
    with SandboxServer(tmp_path / "p.db", seed="empty") as server:
        assert server.session_factory is not None
        with server.session_factory() as session:
            rows = session.query(OperatorToken).filter(OperatorToken.revoked_at.is_(None)).all()
            assert [r.expires_at is not None for r in rows] == [True]
            assert rows[0].expires_at - utcnow() <= timedelta(days=30)
            rows[0].expires_at = utcnow() - timedelta(seconds=1)
            session.commit()
        assert orgs_status(server, server.operator_token) == 401


@pytest.mark.parametrize(("host", "warned"), [("127.0.0.1", False), ("0.0.0.0", True)])
def test_serve_warns_when_bound_to_a_network_interface(console_home: Path, tmp_path: Path, host: str,
                                                       warned: bool) -> None:
    args = ["--json", "--port", "0", "--host", host, "--seed", "empty", "--db", str(tmp_path / "w.db")]
    proc = _spawn(args, console_home)
    try:
        assert proc.stdout is not None
        info = json.loads(proc.stdout.readline())
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert bool(info["warnings"]) is warned
    assert ("other machines can reach it" in err) is warned

"""``scim-console logs open|query`` as real subprocesses (SCIM_CONSOLE_HOME from the test env)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests import logs_data

ROOT = Path(__file__).resolve().parents[2]


def run_cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring"}
    return subprocess.run([sys.executable, "-m", "console", *args], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=120, check=False)


def test_open_then_query(tmp_path: Path) -> None:
    f = logs_data.write(tmp_path / "export.json", 400, variant="beta")
    exp = logs_data.expected(400, variant="beta")
    proc = run_cli("logs", "open", str(f), "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    dataset = data["dataset"]["id"]
    assert data["dataset"]["records"] == 400
    assert data["dataset"]["counts"] == exp["status"]

    proc = run_cli("logs", "query", dataset, "--status", "failure", "--limit", "5", "--json")
    assert proc.returncode == 0, proc.stderr
    q = json.loads(proc.stdout)
    assert q["total"] == exp["status"]["failure"]
    assert len(q["items"]) == 5
    assert {i["status"] for i in q["items"]} == {"failure"}

    code = next(iter(exp["codes"]))
    proc = run_cli("logs", "query", "latest", "--error-code", code, "--json")
    assert json.loads(proc.stdout)["total"] == exp["codes"][code]

    proc = run_cli("logs", "query", dataset, "--text", "contoso.com", "--limit", "2")
    assert proc.returncode == 0
    assert "matching" in proc.stdout
    assert "STATUS" in proc.stdout


def test_bad_inputs_fail_with_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "notalog.txt"
    bad.write_text("hello world")
    proc = run_cli("logs", "open", str(bad))
    assert proc.returncode == 1
    assert "notalog.txt" in proc.stderr
    assert "Traceback" not in proc.stderr
    proc = run_cli("logs", "query", "no-such-dataset", "--json")
    assert proc.returncode == 1
    assert json.loads(proc.stdout or proc.stderr)["ok"] is False

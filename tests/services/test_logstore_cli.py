"""``scim-console logs open|query`` as real subprocesses (SCIM_CONSOLE_HOME from the test env)."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

from tests import logs_data

ROOT = Path(__file__).resolve().parents[2]


def run_cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring"}
    return subprocess.run(
        [sys.executable, "-m", "console", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
        check=False,
    )


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


def test_csv_download_list_filters_and_export(tmp_path: Path) -> None:
    paths = logs_data.write_csv(tmp_path / "dl", 300)
    exp = logs_data.expected(300)
    proc = run_cli("logs", "open", *map(str, paths), "--json")
    assert proc.returncode == 0, proc.stderr
    opened = json.loads(proc.stdout)
    dataset = opened["dataset"]["id"]
    assert opened["dataset"]["counts"] == exp["status"]
    assert opened["import"]["files"] == [p.name for p in paths]

    listed = json.loads(run_cli("logs", "list", "--json").stdout)
    assert [i["id"] for i in listed["items"]] == [dataset]
    assert listed["items"][0]["complete"] is True

    proc = run_cli(
        "logs",
        "query",
        dataset,
        "--status",
        "failure",
        "--since",
        "2026-10-05",
        "--until",
        "2026-10-12T00:00:00+00:00",
        "--sort",
        "duration_ms",
        "--asc",
        "--json",
    )
    q = json.loads(proc.stdout)
    want = sorted(
        r["durationInMilliseconds"]
        for r in logs_data.records(300)
        if r["provisioningStatusInfo"]["status"] == "failure"
        and "2026-10-05" <= r["activityDateTime"][:10] < "2026-10-12"
    )
    assert q["total"] == len(want) > 0
    assert [i["duration_ms"] for i in q["items"]] == want

    out = tmp_path / "failures.xlsx"
    proc = run_cli("logs", "export", dataset, str(out), "--status", "failure", "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {
        "ok": True,
        "dataset": dataset,
        "path": str(out),
        "rows": exp["status"]["failure"],
        "warnings": [],
    }
    assert out.stat().st_size > 0
    proc = run_cli("logs", "export", "latest", str(tmp_path / "all.csv"))
    assert proc.returncode == 0
    assert "exported 300 rows" in proc.stdout
    with (tmp_path / "all.csv").open(encoding="utf-8-sig", newline="") as f:
        assert len(list(csv.reader(f))) == 301  # error reasons span lines inside quoted cells


def test_cli_bad_arguments_are_one_line_failures(tmp_path: Path) -> None:
    f = logs_data.write(tmp_path / "e.json", 20)
    assert run_cli("logs", "open", str(f)).returncode == 0
    for args in (("--sort", "nope"), ("--since", "yesterday")):
        proc = run_cli("logs", "query", "latest", *args, "--json")
        assert proc.returncode == 1
        assert json.loads(proc.stdout or proc.stderr)["ok"] is False
        assert "Traceback" not in proc.stderr
    proc = run_cli("logs", "export", "latest", str(tmp_path / "no" / "dir.csv"))
    assert proc.returncode == 1
    assert "Could not write" in proc.stderr

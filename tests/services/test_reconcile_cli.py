"""``scim-console reconcile analyze|plan|apply`` in-process against a sandbox, and once as a subprocess."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from console.cli import main
from console.sandbox.server import SandboxServer
from console.sandbox.simulate import entra_export_csv
from console.services.api_client import AdminApiClient
from console.services.paths import AppPaths
from console.services.reconcile import RunStore, analyze_org, apply_run
from console.services.reconcile import runs as R  # noqa: N812
from console.services.store import Store
from tests.sandbox.scim_helpers import scim_org, with_scim_twins
from tests.services.test_cli_commands import run_cli, sandbox_env
from tests.services.test_reconcile_sandbox import DropAnswer

N = 3


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxServer]:
    with SandboxServer(tmp_path_factory.mktemp("reconcile-cli") / "platform.db", seed="small") as s:
        yield s


@pytest.fixture
def env(server: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> SandboxServer:
    for key, value in sandbox_env(server).items():
        monkeypatch.setenv(key, value)
    return server


@pytest.fixture
def twins(server: SandboxServer) -> Iterator[str]:
    """An org with N manual accounts and their SCIM twins (the email-mismatch scenario)."""
    org = with_scim_twins(scim_org(server), server, N, seed=31)
    yield org.org_id
    org.close()


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out + out.err


def versions(server: SandboxServer, org: str) -> dict[str, int]:
    with AdminApiClient(server.base_url, server.operator_token) as client:
        return {u.id: u.version for u in client.iter_users(org)}


def test_analyze_lists_the_findings(env, twins, capsys, tmp_path: Path) -> None:
    code, out = cli(capsys, "reconcile", "analyze", "--org", twins, "--json")
    assert code == 0, out
    data = json.loads(out)
    assert data["ok"] is True
    assert data["summary"]["counts"]["manual_twin"] == N
    assert {f["class"] for f in data["findings"]} == {"manual_twin"}
    assert all(len(f["accounts"]) == 2 and f["recommendation"] for f in data["findings"])
    assert env.operator_token not in out

    export = tmp_path / "users.csv"
    export.write_bytes(entra_export_csv(N, seed=31, scenario="email-mismatch").encode("utf-8"))
    code, out = cli(capsys, "reconcile", "analyze", "--org", twins, "--entra-users", str(export),
                    "--export", str(tmp_path / "findings.xlsx"))
    assert code == 0, out
    assert f"{N} Entra users" in out
    assert "(i)   Manual account + SCIM twin" in out
    assert f"exported {N} findings" in out
    assert (tmp_path / "findings.xlsx").stat().st_size > 0


def test_plan_is_a_dry_run(env, twins, capsys, tmp_path: Path) -> None:
    before = versions(env, twins)
    code, out = cli(capsys, "reconcile", "plan", "--org", twins, "--export", str(tmp_path / "plan.csv"))
    assert code == 0, out
    assert f"{N} platform change(s)" in out
    assert "dry run: nothing was changed" in out
    assert out.count("[merge]") == N
    assert versions(env, twins) == before
    code, out = cli(capsys, "reconcile", "plan", "--org", twins, "--json")
    steps = json.loads(out)["plan"]["steps"]
    assert [s["action"] for s in steps] == ["merge"] * N + ["advice"]


def test_apply_needs_confirmation_then_applies_and_audits(env, twins, capsys) -> None:
    before = versions(env, twins)
    code, out = cli(capsys, "reconcile", "apply", "--org", twins)  # stdin is not a terminal here
    assert code == 1
    assert "Refusing to apply without confirmation" in out
    assert versions(env, twins) == before
    code, out = cli(capsys, "reconcile", "apply", "--org", twins, "--yes")
    assert code == 0, out
    assert f"{N} done, 0 already done, 1 advice" in out
    with Store.open(None, AppPaths.default()) as store:
        assert len([r for r in store.audit.query() if r.action == "reconcile.merge"]) == N
    code, out = cli(capsys, "reconcile", "apply", "--org", twins, "--yes")
    assert code == 0
    assert "nothing to apply" in out


def test_apply_resumes_the_interrupted_run(env, twins, capsys) -> None:
    with Store.open(None, AppPaths.default()) as store, \
            AdminApiClient(env.base_url, env.operator_token, transport=DropAnswer("/merge", nth=1)) as flaky:
        with analyze_org(flaky, twins) as engine:
            plan = engine.plan()
        runs = RunStore(store.engine)
        run = runs.create(plan, actor="alice")
        assert apply_run(flaky, runs, store.audit, run.id, operator="alice").status == R.RUN_INTERRUPTED
    code, out = cli(capsys, "reconcile", "apply", "--org", twins, "--yes", "--json")
    assert code == 0, out
    data = json.loads(out)["run"]
    assert data["id"] == run.id
    assert data["status"] == "finished"
    assert [s["state"] for s in data["steps"]] == ["already_done"] + ["done"] * (N - 1) + ["advice"]


def test_fresh_abandons_the_interrupted_run(env, twins, capsys) -> None:
    with Store.open(None, AppPaths.default()) as store:
        with AdminApiClient(env.base_url, env.operator_token) as client, analyze_org(client, twins) as engine:
            plan = engine.plan()
        run = RunStore(store.engine).create(plan, actor="alice")  # created, never started
    code, out = cli(capsys, "reconcile", "apply", "--org", twins, "--yes", "--fresh")
    assert code == 0, out
    assert "resuming" not in out
    with Store.open(None, AppPaths.default()) as store:
        assert RunStore(store.engine).get(run.id).status == R.RUN_ABANDONED


def test_bad_inputs_fail_with_one_line(env, twins, capsys, tmp_path: Path) -> None:
    code, out = cli(capsys, "reconcile", "analyze", "--org", twins, "--logs", "latest")
    assert code == 1
    assert "No imported datasets yet" in out
    (tmp_path / "bad.csv").write_text("name,mail\n", encoding="utf-8")
    bad = str(tmp_path / "bad.csv")
    code, out = cli(capsys, "reconcile", "analyze", "--org", twins, "--entra-users", bad)
    assert code == 1
    assert "No userPrincipalName column" in out
    code, out = cli(capsys, "reconcile", "analyze", "--org", "nope", "--json")
    assert code == 1
    assert json.loads(out)["ok"] is False


def test_subprocess_entry_point(server, twins) -> None:
    proc = run_cli("reconcile", "analyze", "--org", twins, "--json", env=sandbox_env(server))
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["summary"]["findings"] == N
    assert server.operator_token not in proc.stdout + proc.stderr


def test_analyze_finds_northwinds_twins_without_an_export_and_filters_by_confidence(
        env, capsys, tmp_path: Path) -> None:
    code, out = cli(capsys, "reconcile", "analyze", "--org", "northwind", "--class", "manual_twin", "--json")
    assert code == 0, out
    found = json.loads(out)["findings"]
    assert {f["value"]: f["confidence"] for f in found} == {
        "Jane Doe": "certain", "Ravi Patel": "certain", "Lucía Gómez": "certain"}
    jane = next(f for f in found if f["value"] == "Jane Doe")
    assert {(e["kind"], e["key"], e["value"]) for e in jane["evidence"]} >= {
        ("twin", "localPart", "jane.doe ↔ jdoe (initial + last name)"),
        ("twin", "name", "the only manual and the only SCIM account with this name")}
    code, out = cli(capsys, "reconcile", "analyze", "--org", "northwind", "--confidence", "possible")
    assert code == 0, out
    assert "CONFIDENCE" not in out  # nothing listed: no possible findings in northwind
    export = tmp_path / "twins.csv"
    code, out = cli(capsys, "reconcile", "analyze", "--org", "northwind", "--class", "manual_twin",
                    "--confidence", "certain", "--export", str(export))
    assert code == 0, out
    assert "exported 3 findings" in out
    assert "certain" in out
    header = export.read_text(encoding="utf-8-sig").splitlines()[0]
    assert header.endswith(",log events,confidence")

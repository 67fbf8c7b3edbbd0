"""Load benchmark of the sandbox SCIM endpoint: Entra-shaped traffic from concurrent clients.

Run: ``.venv/bin/python tests/bench/bench_scim_load.py [--requests 10000] [--clients 8] [--json]``

The sandbox runs in its own process (``scim-console sandbox serve``, one uvicorn worker, SQLite in
WAL mode) so the client threads do not share its GIL; ``--in-process`` runs it in this process
instead. Each client is one keep-alive connection playing an Entra provisioning worker
(entra-facts §1.2–§1.8) over its own users and groups, in a seeded order:

    Test Connection probes (Users by random GUID, Groups excludedAttributes=members)   5 %
    userName eq (match and miss) 20 %, externalId eq (unquoted, tutorial) 8 %,
    emails[type eq "work"].value eq 7 %, POST /Users 15 %, GET /Users/{id} 10 %,
    PATCH default dialect ("Replace", "False"/"True", one op per attribute) 12 %,
    PATCH aadOptscim062020 (lowercase, booleans, pathless replace with path keys) 8 %,
    POST /Groups 2 %, group member add 6 % / remove 4 % (both dialects), GET /Groups/{id} 3 %

Every response must have the status Entra expects (201/200/204; a userName miss is a 200 with
totalResults 0): anything else, or a transport error, counts as an error and the run fails; so does
a SCIM request without its provisioning-log event (counted through the admin NDJSON export). The
baseline is measured in the same run with the same clients: ``GET /admin/v1/health`` (HTTP stack
only) and ``GET …/ServiceProviderConfig`` (SCIM auth + one provisioning-log write). Report the
ratios, not the absolute numbers (the machine is shared).

``--contention`` makes every client work on the *same* 20 users and 2 groups (created before the
clock starts), as Entra's parallel workers do when one change touches many objects: creates become
lookups of an existing userName, PATCHes and member changes collide on the same rows. Entra's
documented floor is 25 requests/s; the target here is >= 50 req/s with p99 < 500 ms, 0 errors and
0 lost log events. ``--repeat N`` alternates baseline and mix N times and reports medians.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
if __package__ in (None, ""):
    sys.path.insert(0, str(ROOT))

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
MIX = [  # (operation, weight %)
    ("probe_users", 3), ("probe_groups", 2), ("user_name_eq", 20), ("external_id_eq", 8),
    ("work_email_eq", 7), ("create_user", 15), ("get_user", 10), ("patch_default", 12),
    ("patch_flagged", 8), ("create_group", 2), ("add_member", 6), ("remove_member", 4), ("get_group", 3),
]


@dataclass
class Result:
    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: Counter[str] = field(default_factory=Counter)
    samples: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def count(self) -> int:
        return sum(len(v) for v in self.latencies.values())

    def all(self) -> list[float]:
        return [x for v in self.latencies.values() for x in v]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))] * 1000


def summary(result: Result) -> dict[str, Any]:
    lat = result.all()
    return {"requests": result.count, "errors": sum(result.errors.values()),
            "seconds": round(result.seconds, 2), "rps": round(result.count / result.seconds, 1),
            "p50_ms": round(percentile(lat, 0.50), 1), "p95_ms": round(percentile(lat, 0.95), 1),
            "p99_ms": round(percentile(lat, 0.99), 1)}


# ---------------------------------------------------------------- one Entra-like worker


def user_body(user_name: str, external_id: str) -> dict[str, Any]:
    """The tutorial's create body (entra-facts §1.4)."""
    return {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
        "externalId": external_id, "userName": user_name, "active": True,
        "emails": [{"primary": True, "type": "work", "value": user_name}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": "Given Family", "familyName": "Family", "givenName": "Given"},
        "roles": [],
    }


@dataclass
class SharedPool:
    """Users and groups every client of a ``--contention`` run works on."""

    users: list[tuple[str, str, str]] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)
    members: dict[str, set[str]] = field(default_factory=dict)

    @classmethod
    def create(cls, client: httpx.Client, users: int = 20, groups: int = 2) -> SharedPool:
        pool = cls()
        for i in range(users):
            name, ext = f"shared-{i}-{uuid.uuid4().hex[:6]}@load.example", f"ext-shared-{i}"
            r = client.post("/Users", json=user_body(name, ext))
            r.raise_for_status()
            pool.users.append((r.json()["id"], name, ext))
        for i in range(groups):
            r = client.post("/Groups", json={"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                                             "externalId": uuid.uuid4().hex, "displayName": f"shared-g{i}"})
            r.raise_for_status()
            pool.groups.append(r.json()["id"])
            pool.members[r.json()["id"]] = set()
        return pool


# Under contention a create is Entra's match step for an existing user, a member removal may find
# the member already removed by another worker (still 204).
_CONTENDED = {"create_user": "user_name_eq", "create_group": "get_group"}


class Worker:
    def __init__(self, n: int, client: httpx.Client, rng: random.Random,
                 shared: SharedPool | None = None) -> None:
        self.n, self.c, self.rng = n, client, rng
        self.shared = shared
        self.users: list[tuple[str, str, str]] = shared.users if shared else []  # (scim id, userName, extId)
        self.groups: list[str] = shared.groups if shared else []
        self.members: dict[str, set[str]] = shared.members if shared else {}
        self.seq = 0

    def _new_name(self) -> tuple[str, str]:
        self.seq += 1
        return f"w{self.n}-{self.seq}-{uuid.uuid4().hex[:6]}@load.example", f"ext-{self.n}-{self.seq}"

    def _user(self) -> tuple[str, str, str]:
        return self.users[self.rng.randrange(len(self.users))]

    def run(self, op: str) -> tuple[str, httpx.Response, int]:
        """One request; returns (operation actually run, response, expected status)."""
        if self.shared is not None:
            op = _CONTENDED.get(op, op)
        needs_user = op in ("external_id_eq", "work_email_eq", "get_user", "patch_default", "patch_flagged",
                            "add_member", "remove_member")
        if needs_user and not self.users:
            op = "create_user"
        if op in ("add_member", "remove_member", "get_group") and not self.groups:
            op = "create_group"
        if op == "remove_member" and not any(self.members.values()):
            op = "add_member"
        c = self.c
        if op == "probe_users":
            return op, c.get("/Users", params={"filter": f'userName eq "{uuid.uuid4()}"'}), 200
        if op == "probe_groups":
            return op, c.get("/Groups", params={"excludedAttributes": "members",
                                                "filter": f'displayName eq "{uuid.uuid4()}"'}), 200
        if op == "user_name_eq":
            name = self._user()[1] if self.users and self.rng.random() < 0.6 else self._new_name()[0]
            return op, c.get("/Users", params={"filter": f'userName eq "{name}"'}), 200
        if op == "external_id_eq":
            return op, c.get("/Users", params={"filter": f"externalId eq {self._user()[2]}"}), 200
        if op == "work_email_eq":
            flt = f'emails[type eq "work"].value eq "{self._user()[1]}"'
            return op, c.get("/Users", params={"filter": flt}), 200
        if op == "create_user":
            name, ext = self._new_name()
            r = c.post("/Users", json=user_body(name, ext))
            if r.status_code == 201:
                self.users.append((r.json()["id"], name, ext))
            return op, r, 201
        if op == "get_user":
            return op, c.get(f"/Users/{self._user()[0]}"), 200
        if op == "patch_default":
            uid = self._user()[0]
            ops = [{"op": "Replace", "path": "displayName", "value": f"User {self.seq}"},
                   {"op": "Replace", "path": "name.familyName", "value": "Family"},
                   {"op": "Replace", "path": f"{ENTERPRISE}:employeeNumber", "value": str(self.seq)},
                   {"op": "Replace", "path": "active", "value": self.rng.choice(["True", "False"])}]
            return op, c.patch(f"/Users/{uid}", json={"schemas": [PATCH_SCHEMA], "Operations": ops}), 200
        if op == "patch_flagged":
            uid, name, _ext = self._user()
            ops = [{"op": "replace", "path": 'emails[type eq "work"].value', "value": name},
                   {"op": "replace", "value": {"displayName": f"User {self.seq}", "name.givenName": "Given",
                                               f"{ENTERPRISE}:department": "Sales"}},
                   {"op": "replace", "path": "active", "value": True}]
            return op, c.patch(f"/Users/{uid}", json={"schemas": [PATCH_SCHEMA], "Operations": ops}), 200
        if op == "create_group":
            r = c.post("/Groups", json={
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group",
                            "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
                "externalId": uuid.uuid4().hex, "displayName": f"g{self.n}-{self.seq}-{uuid.uuid4().hex[:6]}",
                "meta": {"resourceType": "Group"}})
            if r.status_code == 201:
                self.groups.append(r.json()["id"])
                self.members[r.json()["id"]] = set()
            return op, r, 201
        if op == "add_member":
            gid = self.groups[self.rng.randrange(len(self.groups))]
            uid = self._user()[0]
            r = c.patch(f"/Groups/{gid}", json={"schemas": [PATCH_SCHEMA], "Operations": [
                {"op": "Add", "path": "members", "value": [{"$ref": None, "value": uid}]}]})
            if r.status_code == 204:
                self.members[gid].add(uid)
            return op, r, 204
        if op == "remove_member":
            gid = self.rng.choice([g for g, m in list(self.members.items()) if m])
            uid = self.rng.choice(sorted(self.members[gid]) or [self._user()[0]])
            if self.rng.random() < 0.5:  # default job
                body = [{"op": "Remove", "path": "members", "value": [{"value": uid}]}]
            else:  # aadOptscim062020
                body = [{"op": "remove", "path": f'members[value eq "{uid}"]'}]
            r = c.patch(f"/Groups/{gid}", json={"schemas": [PATCH_SCHEMA], "Operations": body})
            if r.status_code == 204:
                self.members[gid].discard(uid)
            return op, r, 204
        gid = self.groups[self.rng.randrange(len(self.groups))]
        return "get_group", c.get(f"/Groups/{gid}", params={"excludedAttributes": "members"}), 200


def _schedule(total: int, clients: int, seed: int) -> list[list[str]]:
    rng = random.Random(seed)
    ops = [op for op, w in MIX for _ in range(w)]
    per = total // clients
    return [[rng.choice(ops) for _ in range(per)] for _ in range(clients)]


def _drive(clients: int, make_client: Callable[[], httpx.Client],
           plan: Callable[[int], list[str]] | None, simple: Callable[[httpx.Client], httpx.Response] | None,
           per_client: int, seed: int, shared: SharedPool | None = None) -> Result:
    result = Result()
    lock = threading.Lock()
    barrier = threading.Barrier(clients + 1)

    def one(n: int) -> None:
        rng = random.Random(seed * 1000 + n)
        with make_client() as c:
            worker = Worker(n, c, rng, shared)
            ops = plan(n) if plan else ["simple"] * per_client
            barrier.wait()
            for op in ops:
                t0 = time.perf_counter()
                try:
                    if simple is not None:
                        kind, r, expected = "baseline", simple(c), 200
                    else:
                        kind, r, expected = worker.run(op)
                    bad = None if r.status_code == expected else f"{kind}: HTTP {r.status_code}"
                    body = r.text[:200] if bad else ""
                except httpx.HTTPError as exc:
                    kind, bad, body = op, f"{op}: {type(exc).__name__}", str(exc)[:200]
                dt = time.perf_counter() - t0
                with lock:
                    result.latencies.setdefault(kind, []).append(dt)
                    if bad:
                        result.errors[bad] += 1
                        if len(result.samples) < 5:
                            result.samples.append(f"{bad} {body}")

    threads = [threading.Thread(target=one, args=(n,), name=f"load-{n}") for n in range(clients)]
    for t in threads:
        t.start()
    barrier.wait()
    started = time.perf_counter()
    for t in threads:
        t.join()
    result.seconds = time.perf_counter() - started
    return result


# ---------------------------------------------------------------- the sandbox under test


class Sandbox:
    """``scim-console sandbox serve`` in a child process (default) or a SandboxServer in this one."""

    def __init__(self, tmp: Path, in_process: bool, python: str) -> None:
        self.proc: subprocess.Popen[str] | None = None
        self.server: Any = None
        db = tmp / "load.db"
        if in_process:
            from console.sandbox.server import SandboxServer

            self.server = SandboxServer(db, seed="empty").start()
            self.admin_url, self.scim_base, self.operator = (
                self.server.admin_url, self.server.scim_base_url, self.server.operator_token)
            self.pid = os.getpid()
            return
        env = {**os.environ, "SCIM_CONSOLE_HOME": str(tmp / "home"), "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(
            [python, "-m", "console", "sandbox", "serve", "--json", "--port", "0", "--seed", "empty",
             "--db", str(db)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
        assert self.proc.stdout is not None
        info = json.loads(self.proc.stdout.readline())
        self.admin_url, self.scim_base = info["admin_url"], info["scim_base_url"]
        self.operator = info["operator_token"]
        self.pid = self.proc.pid

    def enable(self, org: str = "acme") -> tuple[str, str]:
        headers = {"Authorization": f"Bearer {self.operator}", "Idempotency-Key": uuid.uuid4().hex}
        url = f"{self.admin_url}/orgs/{org}/scim/enable"
        r = httpx.post(url, timeout=60, trust_env=False, headers=headers)
        r.raise_for_status()
        return r.json()["scim_base_url"], r.json()["token"]

    def logged(self, org: str = "acme") -> int:
        """Provisioning-log events of ``org`` (NDJSON export, streamed)."""
        headers = {"Authorization": f"Bearer {self.operator}"}
        url = f"{self.admin_url}/orgs/{org}/provisioning-log/export"
        with httpx.stream("GET", url, headers=headers, timeout=120, trust_env=False) as r:
            return sum(1 for line in r.iter_lines() if line.strip())

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
        if self.proc is not None:
            self.proc.terminate()
            self.proc.communicate(timeout=30)


def _median_run(runs: list[Result]) -> Result:
    """The run with the median throughput (its latencies stay those of one real run)."""
    return sorted(runs, key=lambda r: r.count / r.seconds)[len(runs) // 2]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--requests", type=int, default=10_000, help="Entra-shaped requests (default 10000)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients (default 8)")
    parser.add_argument("--baseline-requests", type=int, default=2000, help="per baseline (default 2000)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--contention", action="store_true",
                        help="every client works on the same 20 users and 2 groups")
    parser.add_argument("--repeat", type=int, default=1,
                        help="alternate baselines and mix this many times; report the median (use >= 3)")
    parser.add_argument("--in-process", action="store_true", help="run the sandbox in this process")
    parser.add_argument("--python", default=sys.executable, help="interpreter for the sandbox process")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="bench-scim-load-") as tmp:
        sandbox = Sandbox(Path(tmp), args.in_process, args.python)
        try:
            base, token = sandbox.enable()

            def scim() -> httpx.Client:
                return httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60,
                                    trust_env=False)

            shared = None
            setup_requests = 0
            if args.contention:
                with scim() as c:
                    shared = SharedPool.create(c)
                setup_requests = len(shared.users) + len(shared.groups)
            per = max(1, args.baseline_requests // args.clients)
            healths, spcs, loads = [], [], []
            for rep in range(max(1, args.repeat)):  # alternating: a drift of the machine hits all three
                health_url = f"{sandbox.admin_url}/health"
                healths.append(_drive(args.clients, scim, None, lambda c, u=health_url: c.get(u), per,
                                      args.seed))
                spcs.append(_drive(args.clients, scim, None, lambda c: c.get("/ServiceProviderConfig"), per,
                                   args.seed))
                schedule = _schedule(args.requests, args.clients, args.seed + rep)
                loads.append(_drive(args.clients, scim, lambda n, s=schedule: s[n], None, 0, args.seed + rep,
                                    shared))
            logged = sandbox.logged()
        finally:
            sandbox.stop()
    health, spc, load = _median_run(healths), _median_run(spcs), _median_run(loads)
    scim_requests = setup_requests + sum(r.count for r in spcs) + sum(r.count for r in loads)
    report = {"clients": args.clients, "server": "in-process" if args.in_process else "subprocess",
              "contention": args.contention, "repeat": max(1, args.repeat),
              "loadavg_before": [round(x, 2) for x in load_before],
              "loadavg_after": [round(x, 2) for x in os.getloadavg()],
              "baseline_health": summary(health), "baseline_service_provider_config": summary(spc),
              "entra_mix": summary(load),
              "entra_mix_runs_rps": [summary(r)["rps"] for r in loads],
              "per_operation": {k: {"n": len(v), "p50_ms": round(percentile(v, 0.5), 1),
                                    "p95_ms": round(percentile(v, 0.95), 1)}
                                for k, v in sorted(load.latencies.items())},
              "errors": dict(sum((r.errors for r in loads), Counter())),
              "error_samples": [s for r in loads for s in r.samples][:5],
              "log_events_missing": scim_requests - logged}
    mix, h, s = report["entra_mix"], report["baseline_health"], report["baseline_service_provider_config"]
    report["ratios"] = {"rps_mix_vs_health": round(mix["rps"] / h["rps"], 3),
                        "rps_mix_vs_spc": round(mix["rps"] / s["rps"], 3),
                        "p95_mix_vs_health": round(mix["p95_ms"] / h["p95_ms"], 2),
                        "p95_mix_vs_spc": round(mix["p95_ms"] / s["p95_ms"], 2)}
    errors = sum(report["errors"].values())
    if args.json:
        print(json.dumps(report))
    else:
        print(f"load average before {report['loadavg_before']}, after {report['loadavg_after']}; "
              f"{'contention (20 shared users)' if args.contention else 'own users per client'}, "
              f"median of {report['repeat']}")
        for label, row in (("baseline GET /admin/v1/health", h), ("baseline GET /ServiceProviderConfig", s),
                           ("Entra mix (13 operations)", mix)):
            print(f"{label:<36} {row['requests']:>6} req {row['rps']:7.1f} req/s  p50 {row['p50_ms']:6.1f}  "
                  f"p95 {row['p95_ms']:6.1f}  p99 {row['p99_ms']:6.1f} ms  errors {row['errors']}")
        for name, row in report["per_operation"].items():
            print(f"    {name:<16} n={row['n']:>5}  p50 {row['p50_ms']:6.1f}  p95 {row['p95_ms']:6.1f} ms")
        r = report["ratios"]
        print(f"ratios: throughput mix/health {r['rps_mix_vs_health']}, mix/SPC {r['rps_mix_vs_spc']}; "
              f"p95 mix/health {r['p95_mix_vs_health']}, mix/SPC {r['p95_mix_vs_spc']}")
        print(f"provisioning-log events missing: {report['log_events_missing']} "
              f"(one expected per SCIM request: {scim_requests})")
        for line in report["error_samples"]:
            print("  error:", line)
    return 0 if errors == 0 and report["log_events_missing"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())

"""SCIM endpoint throughput under Entra-shaped load (Entra's floor: 25 requests/s per tenant).

Run: ``.venv/bin/python tests/bench/bench_scim_throughput.py [--requests 2000] [--clients 6]``.
Mix per worker: userName filter query (40 %), emails[type eq "work"] filter (10 %), POST (20 %),
PATCH in the default dialect (30 %). Baseline: the same number of GET /ServiceProviderConfig in
the same run. Also times a userName/externalId/email filter on the demo seed's 50 000-user org.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.sandbox.scim_helpers import create_org, patch_body, scim_org, start_server, user_body


def _run(base: str, token: str, total: int, clients: int, mix: bool) -> tuple[float, list[float], int]:
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    per = total // clients

    def worker(n: int) -> None:
        nonlocal errors
        ids: list[str] = []
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60) as c:
            for i in range(per):
                kind = i % 10
                t0 = time.perf_counter()
                if not mix:
                    r = c.get("/ServiceProviderConfig")
                elif kind in (0, 1) or (kind in (7, 8, 9) and not ids):
                    name = f"w{n}-{i}-{uuid.uuid4().hex[:6]}@bench.example"
                    r = c.post("/Users", json=user_body(name, external_id=uuid.uuid4().hex, email=name))
                    if r.status_code == 201:
                        ids.append(r.json()["id"])
                elif kind in (2, 3, 4, 5):
                    r = c.get("/Users", params={"filter": f'userName eq "{uuid.uuid4()}@bench.example"'})
                elif kind == 6:
                    r = c.get("/Users", params={"filter": f'emails[type eq "work"].value eq "w{n}-0@x"'})
                else:
                    r = c.patch(
                        f"/Users/{ids[i % len(ids)]}",
                        json=patch_body(
                            {"op": "Replace", "path": "displayName", "value": f"User {i}"},
                            {"op": "Replace", "path": "active", "value": "True"},
                        ),
                    )
                dt = time.perf_counter() - t0
                with lock:
                    latencies.append(dt)
                    if r.status_code >= 400:
                        errors += 1

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - started, latencies, errors


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[18] * 1000


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=6)
    parser.add_argument("--big", action="store_true", help="also time filters on the 50k-user demo org")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        server = start_server(Path(tmp))
        try:
            org = scim_org(server, create_org(server))
            base_s, base_lat, base_err = _run(org.base_url, org.token, args.requests, args.clients, mix=False)
            mix_s, mix_lat, mix_err = _run(org.base_url, org.token, args.requests, args.clients, mix=True)
            org.close()
        finally:
            server.stop()
    base_rps, mix_rps = len(base_lat) / base_s, len(mix_lat) / mix_s
    for label, rps, lat, err in (("baseline /ServiceProviderConfig", base_rps, base_lat, base_err),
                                 ("Entra mix (query/POST/PATCH)", mix_rps, mix_lat, mix_err)):
        print(f"{label:<33} {rps:7.1f} req/s  p95 {_p95(lat):6.1f} ms  errors {err}")
    verdict = "OK" if mix_rps >= 25 else "BELOW"
    print(f"ratio mix/baseline: {mix_rps / base_rps:.2f}   Entra floor 25 req/s: {verdict}")
    if args.big:
        _big()
    return 0 if mix_rps >= 25 and mix_err == 0 else 1


def _big() -> None:
    from console.sandbox.server import SandboxServer

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        server = SandboxServer(db_path=Path(tmp) / "demo.db", seed="demo").start()
        print(f"demo seed ready in {time.perf_counter() - t0:.1f}s")
        try:
            r = httpx.post(
                f"{server.admin_url}/orgs/tailspin/scim/tokens",
                timeout=60,
                headers={
                    "Authorization": f"Bearer {server.operator_token}",
                    "Idempotency-Key": uuid.uuid4().hex,
                },
            )
            assert r.status_code == 201, r.text
            base, token = f"{server.scim_base_url}/tailspin", r.json()["token"]
            with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60) as c:
                some = c.get("/Users", params={"count": 1, "startIndex": 25000}).json()["Resources"][0]
                email = some.get("emails", [{}])[0].get("value", "none@x")
                for flt in (
                    f'userName eq "{some["userName"].upper()}"',
                    f'externalId eq "{some.get("externalId")}"',
                    f'emails[type eq "work"].value eq "{email}"',
                    f'userName eq "{uuid.uuid4()}"',
                ):
                    times = []
                    for _ in range(20):
                        t = time.perf_counter()
                        r = c.get("/Users", params={"filter": flt})
                        times.append(time.perf_counter() - t)
                        assert r.status_code == 200
                    print(
                        f"50k org  {flt[:60]:<60} median {statistics.median(times) * 1000:6.1f} ms  "
                        f"hits {r.json()['totalResults']}"
                    )
        finally:
            server.stop()


if __name__ == "__main__":
    raise SystemExit(main())

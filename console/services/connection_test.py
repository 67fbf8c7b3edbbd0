"""Entra's "Test Connection", reproduced (entra-facts §1.2).

Two probes with the customer's endpoint and token, exactly as Entra sends them as far as is
published: ``GET /Users?filter=userName eq "<random GUID>"`` and
``GET /Groups?excludedAttributes=members&filter=displayName eq "<random GUID>"``, bearer token,
**no User-Agent** (an edge rule that demands one breaks Entra, so we must not hide that). Each is
expected to answer 200 with an empty SCIM ListResponse. Results are worded like Entra's portal:
401/403 → invalid credentials; 404/5xx/not a ListResponse/wrong content type → service
incompatible; no answer → network. The token appears in no result, message or log.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from urllib.parse import unquote_plus

import httpx

from console.core.redact import redact, register_secret
from console.services.tls import ssl_context

LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
CREDENTIALS = ("You appear to have entered invalid credentials. Please confirm you are using the correct "
               "information for an administrative account.")
INCOMPATIBLE = "SystemForCrossDomainIdentityManagementServiceIncompatible"


@dataclass(frozen=True, slots=True)
class ProbeResult:
    name: str
    path: str          # path and query, never the token
    status: int        # 0 when there was no HTTP answer
    ok: bool
    kind: str          # "ok" | "credentials" | "incompatible" | "network"
    message: str


@dataclass(frozen=True, slots=True)
class ConnectionTestResult:
    ok: bool
    kind: str
    message: str
    probes: tuple[ProbeResult, ...]

    def as_dict(self) -> dict[str, object]:
        return {"ok": self.ok, "kind": self.kind, "message": self.message,
                "probes": [{"name": p.name, "path": p.path, "status": p.status, "ok": p.ok, "kind": p.kind,
                            "message": p.message} for p in self.probes]}


def _classify(name: str, response: httpx.Response, path: str) -> ProbeResult:
    status = response.status_code
    if status in (401, 403):
        return ProbeResult(name, path, status, False, "credentials",
                           f"{CREDENTIALS} (HTTP {status} from /{name})")
    if status != 200:
        return ProbeResult(name, path, status, False, "incompatible",
                           f"Error code: {INCOMPATIBLE}. An HTTP/{status} {response.reason_phrase} response "
                           "was returned rather than the expected HTTP/200 OK response (RFC 7644 §3.4.2).")
    ctype = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype not in ("application/scim+json", "application/json"):
        return ProbeResult(name, path, status, False, "incompatible",
                           f"Error code: {INCOMPATIBLE}. The response content type was "
                           f"“{redact(ctype) or 'missing'}”, not application/scim+json.")
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict) or LIST_RESPONSE not in (body.get("schemas") or []) \
            or "totalResults" not in body:
        return ProbeResult(name, path, status, False, "incompatible",
                           f"Error code: {INCOMPATIBLE}. The response is not a SCIM ListResponse.")
    if body.get("totalResults") != 0:
        return ProbeResult(name, path, status, False, "incompatible",
                           f"Error code: {INCOMPATIBLE}. A filter for a random GUID matched "
                           f"{body.get('totalResults')} resource(s); filtering is not applied.")
    return ProbeResult(name, path, status, True, "ok", "200 OK with an empty ListResponse.")


def run_connection_test(scim_url: str, token: str, *, timeout: float = 15.0,
                    transport: httpx.BaseTransport | None = None) -> ConnectionTestResult:
    """Run Entra's two probes; never raises for HTTP/network trouble (it is the result)."""
    register_secret(token)
    base = scim_url.strip().rstrip("/")
    guid = str(uuid.uuid4())
    probes = (
        ("Users", "/Users", {"filter": f'userName eq "{guid}"'}),
        ("Groups", "/Groups", {"excludedAttributes": "members", "filter": f'displayName eq "{guid}"'}),
    )
    results: list[ProbeResult] = []
    with httpx.Client(timeout=httpx.Timeout(timeout, connect=min(5.0, timeout)), verify=ssl_context(None),
                      follow_redirects=False, trust_env=True, transport=transport) as client:
        del client.headers["User-Agent"]  # Entra sends none (entra-facts §1.2)
        for name, path, params in probes:
            request = client.build_request("GET", base + path, params=params, headers={
                "Authorization": f"Bearer {token}", "Accept": "application/scim+json"})
            shown = unquote_plus(request.url.raw_path.decode("ascii", "replace"))
            try:
                response = client.send(request)
            except httpx.TimeoutException:
                results.append(ProbeResult(name, shown, 0, False, "network",
                                           f"The endpoint did not answer in time ({timeout:.0f} s)."))
                break
            except httpx.TransportError as exc:
                detail = redact(str(exc)) or type(exc).__name__
                results.append(ProbeResult(name, shown, 0, False, "network",
                                           f"Could not connect to the endpoint: {detail}."))
                break
            results.append(_classify(name, response, shown))
            if results[-1].kind == "credentials":
                break  # Entra stops at the first failure; a second 401 adds nothing
    failed = next((r for r in results if not r.ok), None)
    if failed is None:
        return ConnectionTestResult(True, "ok", "The supplied credentials are authorized to enable "
                                    "provisioning.", tuple(results))
    return ConnectionTestResult(False, failed.kind, failed.message, tuple(results))


# The name the brief uses; tests import ``run_connection_test`` so pytest does not collect it.
test_connection = run_connection_test
test_connection.__test__ = False  # type: ignore[attr-defined]

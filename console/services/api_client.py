"""Synchronous client of the platform's admin API (``/admin/v1``), usable from the UI's worker
threads and from the CLI (desktop-stack §4: sync httpx, no Qt).

Retries (desktop-stack §6.7) are a small explicit loop rather than ``stamina``: the decision
"may this call be repeated?" depends on the request (method, Idempotency-Key), the delay comes
from the response (``Retry-After``), and the UI must hear about every wait before it starts
(``on_retry``) — all three are plain ``if``s here, and nothing global (stamina's instrumentation
and test mode are process-wide) has to be configured.

Idempotent calls (GET/PUT/DELETE, and POSTs that carry an ``Idempotency-Key`` to an endpoint
that replays it) are retried on 429/502/503/504 and on connect/read timeouts and connection
failures, honouring ``Retry-After`` (seconds or HTTP date, capped at 120 s), at most 5 attempts and
within a total budget. Other POSTs and PATCHes are never retried: a retry could create a second
token or repeat a change. The platform replays keys only on the token-minting endpoints (its
OpenAPI document declares the header nowhere else), so a key sent elsewhere does not make a POST
safe to repeat. When the connection breaks after the request went out, the message says the
change may have been carried out.
"""

from __future__ import annotations

import email.utils
import json
import logging
import os
import random
import re
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import httpx

from console import __version__
from console.core.errors import UserFacingError
from console.core.models import (
    LogEvent,
    NewToken,
    OrgSummary,
    Page,
    PlatformAuditEntry,
    PlatformUser,
    ScimSettings,
    SecureLink,
    Template,
    TokenInfo,
    WorkArea,
)
from console.core.platform_identity import PlatformRef, check_transport
from console.core.redact import redact, register_secret
from console.services import api_errors as E  # noqa: N812 - short alias keeps raise sites readable
from console.services.tls import ssl_context

log = logging.getLogger(__name__)

T = TypeVar("T")

URL_ENV = "SCIM_CONSOLE_URL"
TOKEN_ENV = "SCIM_CONSOLE_TOKEN"
ADMIN_PREFIX = "/admin/v1"

RETRY_STATUSES = frozenset({429, 502, 503, 504})
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
# POSTs whose Idempotency-Key the platform replays (tests check this against the OpenAPI document).
KEYED_POST_PATHS = re.compile(r"orgs/[^/]+/scim/(enable|tokens)")
# Failures that happen before the request can have reached the platform.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.ProxyError,
             httpx.UnsupportedProtocol)
_MAYBE_DONE = " It may have been carried out: check the current state before repeating it."
MAX_RETRY_AFTER = 120.0


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int = 5           # total attempts including the first
    budget: float = 300.0       # seconds from the first attempt; no wait may end after it
    base_delay: float = 0.5     # exponential back-off when there is no Retry-After
    max_delay: float = 30.0
    max_retry_after: float = MAX_RETRY_AFTER

    @classmethod
    def none(cls) -> RetryPolicy:
        return cls(attempts=1)


@dataclass(frozen=True, slots=True)
class RetryNotice:
    """Told to ``on_retry`` before each wait, e.g. to show "Throttled, retrying in 3 s"."""

    method: str
    path: str
    attempt: int        # the attempt that just failed (1-based)
    delay: float        # seconds until the next attempt
    reason: str         # "429 rate_limited", "503", "timeout", "connection failed"

    @property
    def message(self) -> str:
        verb = "Throttled" if self.reason.startswith("429") else "Temporary failure"
        return f"{verb}, retrying in {self.delay:.0f} s"


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """``Retry-After`` as seconds (delta-seconds or HTTP-date), or ``None`` if absent/garbled."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def normalize_admin_url(url: str) -> str:
    """Accept either the platform's base URL or its ``…/admin/v1`` URL; return the latter."""
    url = url.strip().rstrip("/")
    check_transport(url, redact(url))
    return url if url.endswith(ADMIN_PREFIX) else url + ADMIN_PREFIX


def _clean(params: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in params.items():
        if value is None:
            continue
        out[key] = ("true" if value else "false") if isinstance(value, bool) else value
    return out


class AdminApiClient:
    """One ``httpx.Client`` per platform connection; thread-safe (httpx.Client is)."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout: httpx.Timeout | float | None = None,
        retries: RetryPolicy | int | None = None,
        on_retry: Callable[[RetryNotice], None] | None = None,
        extra_ca_bundle: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not token or any(ch.isspace() for ch in token):
            raise UserFacingError("The operator token is empty or contains spaces or line breaks.",
                                  hint="Paste the token again without surrounding whitespace.")
        if not token.isascii() or not token.isprintable():
            # An HTTP header carries ASCII only; httpx would fail with a bare UnicodeEncodeError.
            raise UserFacingError("The operator token contains characters that are not plain ASCII (a "
                                  "typographic quote, dash or an invisible character?).",
                                  hint="Copy the token again from its source, as plain text.")
        register_secret(token)
        self.admin_url = normalize_admin_url(base_url)
        self._platform: PlatformRef | None = None
        if isinstance(retries, int):
            retries = RetryPolicy(attempts=max(1, retries + 1))
        self.retry_policy = retries or RetryPolicy()
        self.on_retry = on_retry
        self._sleep = sleep
        if timeout is None:
            timeout = httpx.Timeout(30.0, connect=5.0)
        elif not isinstance(timeout, httpx.Timeout):
            timeout = httpx.Timeout(timeout, connect=min(5.0, float(timeout)))
        self._client = httpx.Client(
            base_url=self.admin_url,
            timeout=timeout,
            verify=ssl_context(extra_ca_bundle),
            headers={
                "Authorization": f"Bearer {token}",
                "User-Agent": f"scim-support-console/{__version__}",
                "Accept": "application/json",
            },
            follow_redirects=False,  # a redirect could carry the bearer token to another host
            transport=transport,
        )

    @classmethod
    def from_env(cls, **kwargs: Any) -> AdminApiClient:
        """Build from ``SCIM_CONSOLE_URL`` and ``SCIM_CONSOLE_TOKEN`` (CLI, CI, scripts)."""
        url = os.environ.get(URL_ENV, "").strip()
        token = os.environ.get(TOKEN_ENV, "").strip()
        if not url or not token:
            missing = " and ".join(n for n, v in ((URL_ENV, url), (TOKEN_ENV, token)) if not v)
            raise UserFacingError(f"{missing} not set.",
                                  hint="Set both, or add a profile with 'profiles add'.")
        return cls(url, token, **kwargs)

    # ---- lifecycle
    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> AdminApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"AdminApiClient({self.admin_url!r})"

    # ---- transport core
    def _may_retry(self, method: str, path: str, headers: Mapping[str, str] | None) -> bool:
        if method in IDEMPOTENT_METHODS:
            return True
        keyed = bool(headers and headers.get("Idempotency-Key"))
        return method == "POST" and keyed and KEYED_POST_PATHS.fullmatch(path.strip("/")) is not None

    def _send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        headers: Mapping[str, str] | None = None,
        stream: bool = False,
    ) -> httpx.Response:
        """Send with retries; returns a 2xx response (streamed responses are left open)."""
        method = method.upper()
        repeatable = self._may_retry(method, path, headers)
        policy = self.retry_policy if repeatable else RetryPolicy.none()
        where = f"{method} {path}"
        started = time.monotonic()
        attempt = 0
        while True:
            attempt += 1
            retry_after: float | None = None
            try:
                request = self._client.build_request(method, path, params=_clean(params or {}),
                                                     json=json_body, headers=headers)
                response = self._client.send(request, stream=stream)
            except httpx.TimeoutException as exc:
                maybe = "" if repeatable or isinstance(exc, _NOT_SENT) else _MAYBE_DONE
                failure: E.ApiError = E.TimeoutError_(
                    f"The platform did not answer in time ({type(exc).__name__}).{maybe}", where=where)
                reason = "timeout"
            except httpx.TransportError as exc:
                detail = redact(str(exc)) or type(exc).__name__
                if isinstance(exc, _NOT_SENT):
                    message = f"Could not reach the platform: {detail}"
                else:  # the request went out; the answer was lost (reset, closed mid-body …)
                    maybe = "" if repeatable else _MAYBE_DONE
                    message = f"The connection to the platform broke before its answer arrived: {detail}."
                    message += maybe
                failure = E.NetworkError(message, where=where)
                reason = "connection failed"
            else:
                if response.is_success:
                    return response
                if stream:
                    response.read()
                failure = self._error_from(response, where)
                if response.status_code not in RETRY_STATUSES:
                    raise failure
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
                reason = f"{response.status_code} {failure.code}".strip()
                response.close()

            if attempt >= policy.attempts:
                raise failure
            if retry_after is not None:
                delay = min(retry_after, policy.max_retry_after)
            else:
                backoff = min(policy.max_delay, policy.base_delay * (2 ** (attempt - 1)))
                delay = backoff * (0.5 + random.random() / 2)  # jitter, so clients don't retry in lockstep
            if time.monotonic() - started + delay > policy.budget:
                raise failure
            notice = RetryNotice(method, path, attempt, delay, reason)
            log.info("%s failed (%s); retry %d/%d in %.1f s",
                     where, reason, attempt, policy.attempts - 1, delay)
            if self.on_retry is not None:
                self.on_retry(notice)
            self._sleep(delay)

    @staticmethod
    def _error_from(response: httpx.Response, where: str) -> E.ApiError:
        status = response.status_code
        code, message, details = f"http_{status}", "", {}
        try:
            body = response.json()
        except (ValueError, UnicodeDecodeError):
            body = None
        if isinstance(body, dict) and isinstance(body.get("error"), dict):
            err = body["error"]
            code = str(err.get("code") or code)
            message = str(err.get("message") or "")
            details = err.get("details") if isinstance(err.get("details"), dict) else {}
        elif isinstance(body, dict) and "detail" in body:  # framework default error shape
            message = str(body["detail"])
        if not message:
            message = f"The platform answered HTTP {status} {response.reason_phrase}."
        cls = E.error_for_status(status)
        kwargs: dict[str, Any] = {"status": status, "code": code, "details": details, "where": where}
        if cls is E.RateLimitedError:
            kwargs["retry_after"] = parse_retry_after(response.headers.get("Retry-After"))
        return cls(message, **kwargs)

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._send(method, path, **kwargs)
        try:
            return response.json()
        except ValueError:
            raise E.ProtocolError("The platform answered with something that is not JSON.",
                                  status=response.status_code, where=f"{method} {path}") from None

    def _page(self, path: str, item: Callable[[Mapping[str, Any]], T], params: Mapping[str, Any]) -> Page[T]:
        return Page.from_api(self._json("GET", path, params=params), item)

    def _iter_all(self, fetch: Callable[[str | None], Page[T]]) -> Iterator[T]:
        cursor: str | None = None
        while True:
            page = fetch(cursor)
            yield from page.items
            cursor = page.next_cursor
            if not cursor:
                return

    @staticmethod
    def _key_headers(idempotency_key: str | None) -> dict[str, str] | None:
        return {"Idempotency-Key": idempotency_key} if idempotency_key else None

    # ---- health and orgs
    def health(self) -> dict[str, Any]:
        return dict(self._json("GET", "health"))

    def platform(self) -> PlatformRef:
        """This platform's identity (its instance id from ``/health``; its URL when it has none).

        A platform without that endpoint (404, not JSON, 401 …) is known by its URL; only a platform
        that cannot be reached raises (network errors, timeouts, 5xx), since then nothing is known."""
        if self._platform is None:
            try:
                health = self.health()
            except (E.NetworkError, E.TimeoutError_, E.ServerError):
                raise
            except UserFacingError as exc:
                log.info("platform identity from its URL (no /health: %s)", type(exc).__name__)
                health = {}
            self._platform = PlatformRef.from_health(health, self.admin_url)
        return self._platform

    def list_orgs(self, q: str | None = None, limit: int = 50, cursor: str | None = None) -> Page[OrgSummary]:
        return self._page("orgs", OrgSummary.from_api, {"q": q, "limit": limit, "cursor": cursor})

    def iter_orgs(self, q: str | None = None, page_size: int = 200) -> Iterator[OrgSummary]:
        return self._iter_all(lambda c: self.list_orgs(q=q, limit=page_size, cursor=c))

    def get_org(self, org_id: str) -> OrgSummary:
        return OrgSummary.from_api(self._json("GET", f"orgs/{org_id}"))

    # ---- work areas and templates
    def list_work_areas(self, org_id: str, limit: int = 50, cursor: str | None = None) -> Page[WorkArea]:
        return self._page(f"orgs/{org_id}/work-areas", WorkArea.from_api, {"limit": limit, "cursor": cursor})

    def iter_work_areas(self, org_id: str, page_size: int = 500) -> Iterator[WorkArea]:
        return self._iter_all(lambda c: self.list_work_areas(org_id, limit=page_size, cursor=c))

    def create_work_area(self, org_id: str, name: str, *, idempotency_key: str | None = None) -> WorkArea:
        return WorkArea.from_api(self._json("POST", f"orgs/{org_id}/work-areas", json_body={"name": name},
                                            headers=self._key_headers(idempotency_key)))

    def list_templates(self, org_id: str, limit: int = 50, cursor: str | None = None) -> Page[Template]:
        return self._page(f"orgs/{org_id}/templates", Template.from_api, {"limit": limit, "cursor": cursor})

    def iter_templates(self, org_id: str, page_size: int = 500) -> Iterator[Template]:
        return self._iter_all(lambda c: self.list_templates(org_id, limit=page_size, cursor=c))

    def create_template(
        self,
        org_id: str,
        name: str,
        *,
        applies_to_all: bool,
        work_area_ids: list[str],
        role: str | None = None,
        idempotency_key: str | None = None,
    ) -> Template:
        body: dict[str, Any] = {"name": name, "applies_to_all": applies_to_all,
                                "work_area_ids": work_area_ids}
        if role is not None:
            body["role"] = role
        return Template.from_api(self._json("POST", f"orgs/{org_id}/templates", json_body=body,
                                            headers=self._key_headers(idempotency_key)))

    def update_template(self, org_id: str, template_id: str, **changes: Any) -> Template:
        """PATCH: not retried (partial updates are not guaranteed idempotent by the contract)."""
        path = f"orgs/{org_id}/templates/{template_id}"
        return Template.from_api(self._json("PATCH", path, json_body=changes))

    # ---- SCIM settings and tokens
    def enable_scim(self, org_id: str, idempotency_key: str | None = None,
                    token_lifetime_days: int | None = None) -> NewToken:
        """Enable SCIM and mint the first token. With a key, a retry replays the same answer
        (same token, nothing new minted); without one the call is never retried."""
        body = {"token_lifetime_days": token_lifetime_days} if token_lifetime_days else None
        data = self._json("POST", f"orgs/{org_id}/scim/enable", json_body=body,
                          headers=self._key_headers(idempotency_key))
        token = NewToken.from_api(data)
        register_secret(token.token)
        return token

    def get_scim(self, org_id: str) -> ScimSettings:
        return ScimSettings.from_api(self._json("GET", f"orgs/{org_id}/scim"))

    def mint_scim_token(self, org_id: str, idempotency_key: str | None = None) -> NewToken:
        data = self._json("POST", f"orgs/{org_id}/scim/tokens", headers=self._key_headers(idempotency_key))
        token = NewToken.from_api(data)
        register_secret(token.token)
        return token

    def revoke_scim_token(self, org_id: str, token_id: str) -> TokenInfo:
        return TokenInfo.from_api(self._json("DELETE", f"orgs/{org_id}/scim/tokens/{token_id}"))

    # ---- one-time secure links
    def create_secure_link(
        self,
        secret: str,
        *,
        org_id: str | None = None,
        label: str | None = None,
        expires_in_hours: int = 72,
        idempotency_key: str | None = None,
    ) -> SecureLink:
        register_secret(secret)
        body = {"secret": secret, "org_id": org_id, "label": label, "expires_in_hours": expires_in_hours}
        link = SecureLink.from_api(self._json("POST", "secure-links", json_body=body,
                                              headers=self._key_headers(idempotency_key)))
        return link

    def get_secure_link(self, link_id: str) -> SecureLink:
        return SecureLink.from_api(self._json("GET", f"secure-links/{link_id}"))

    def revoke_secure_link(self, link_id: str) -> SecureLink | None:
        response = self._send("DELETE", f"secure-links/{link_id}")
        if not response.content:
            return None
        return SecureLink.from_api(response.json())

    # ---- users
    def list_users(
        self,
        org_id: str,
        *,
        q: str | None = None,
        email: str | None = None,
        user_name: str | None = None,
        external_id: str | None = None,
        created_via: str | None = None,
        active: bool | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page[PlatformUser]:
        params = {"q": q, "email": email, "user_name": user_name, "external_id": external_id,
                  "created_via": created_via, "active": active, "limit": limit, "cursor": cursor}
        return self._page(f"orgs/{org_id}/users", PlatformUser.from_api, params)

    def iter_users(self, org_id: str, page_size: int = 500, **filters: Any) -> Iterator[PlatformUser]:
        return self._iter_all(lambda c: self.list_users(org_id, limit=page_size, cursor=c, **filters))

    def get_user(self, org_id: str, user_id: str) -> PlatformUser:
        return PlatformUser.from_api(self._json("GET", f"orgs/{org_id}/users/{user_id}"))

    def create_user(self, org_id: str, user: Mapping[str, Any], *,
                    idempotency_key: str | None = None) -> PlatformUser:
        return PlatformUser.from_api(self._json("POST", f"orgs/{org_id}/users", json_body=dict(user),
                                                headers=self._key_headers(idempotency_key)))

    def _user_action(self, org_id: str, user_id: str, action: str, body: dict[str, Any]) -> PlatformUser:
        return PlatformUser.from_api(self._json("POST", f"orgs/{org_id}/users/{user_id}/{action}",
                                                json_body=_clean(body)))

    def clear_idp_link(self, org_id: str, user_id: str, *,
                       expected_version: int | None = None) -> PlatformUser:
        return self._user_action(org_id, user_id, "clear-idp-link", {"expected_version": expected_version})

    def set_primary_email(self, org_id: str, user_id: str, email: str, *,
                          expected_version: int | None = None) -> PlatformUser:
        return self._user_action(org_id, user_id, "primary-email",
                                 {"email": email, "expected_version": expected_version})

    def set_user_name(self, org_id: str, user_id: str, user_name: str, *, make_primary_email: bool = True,
                      expected_version: int | None = None) -> PlatformUser:
        return self._user_action(org_id, user_id, "user-name", {
            "user_name": user_name, "make_primary_email": make_primary_email,
            "expected_version": expected_version})

    def release_email(self, org_id: str, user_id: str, email: str | None = None, *,
                      expected_version: int | None = None) -> PlatformUser:
        return self._user_action(org_id, user_id, "release-email",
                                 {"email": email, "expected_version": expected_version})

    def merge_users(self, org_id: str, user_id: str, into_user_id: str, *,
                    expected_version: int | None = None,
                    expected_target_version: int | None = None) -> PlatformUser:
        return self._user_action(org_id, user_id, "merge", {
            "into_user_id": into_user_id, "expected_version": expected_version,
            "expected_target_version": expected_target_version})

    # ---- provisioning log
    def list_log_events(self, org_id: str, *, limit: int = 100, cursor: str | None = None,
                        **filters: Any) -> Page[LogEvent]:
        """Newest first. Filters: since, until, status, outcome, method, op, user, q."""
        params = {**filters, "limit": limit, "cursor": cursor}
        return self._page(f"orgs/{org_id}/provisioning-log", LogEvent.from_api, params)

    def tail_log(self, org_id: str, after_id: int, *, limit: int = 500, **filters: Any) -> list[LogEvent]:
        """Events with id > ``after_id``, oldest first (follow mode)."""
        params = {**filters, "after_id": after_id, "limit": limit}
        return list(self._page(f"orgs/{org_id}/provisioning-log", LogEvent.from_api, params).items)

    @contextmanager
    def export_log(self, org_id: str, **filters: Any) -> Iterator[Iterator[dict[str, Any]]]:
        """Stream the whole (filtered) log as decoded NDJSON objects without loading it in memory.

        ``with client.export_log("contoso", outcome="failure") as events: for e in events: …``
        Only opening the stream is retried; a stream that breaks midway raises NetworkError.
        """
        path = f"orgs/{org_id}/provisioning-log/export"
        response = self._send("GET", path, params=filters, stream=True)

        def lines() -> Iterator[dict[str, Any]]:
            try:
                for line in response.iter_lines():
                    if line.strip():
                        yield json.loads(line)
            except httpx.TransportError as exc:
                raise E.NetworkError(f"The export stream broke: {type(exc).__name__}",
                                     where=f"GET {path}") from None

        try:
            yield lines()
        finally:
            response.close()

    # ---- platform audit log
    def list_platform_audit(self, org_id: str, *, limit: int = 50,
                            cursor: str | None = None) -> Page[PlatformAuditEntry]:
        params = {"limit": limit, "cursor": cursor}
        return self._page(f"orgs/{org_id}/audit", PlatformAuditEntry.from_api, params)


def new_idempotency_key() -> str:
    """A fresh key for one user intention (keep it while retrying that intention)."""
    return str(uuid.uuid4())

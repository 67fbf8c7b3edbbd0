"""Fault injection for the sandbox platform: make chosen routes slow, throttled, failing or cut off.

Why: the console's promises (no second token after a lost response, retries that honour
``Retry-After``, a clear message on a broken connection, a UI that stays responsive) are only proven
when a real server misbehaves in exactly the way production does, on demand and reproducibly. The
faults are applied by an ASGI middleware that sits *outside* every other layer of the app, so a
"reset" really closes the TCP connection instead of turning into a polite 500.

Switch them on with ``SandboxServer(..., faults=SPEC)``, ``scim-console sandbox serve --faults SPEC``
or at runtime with ``server.faults.set(SPEC)`` / ``server.faults.clear()`` (thread-safe; counters
restart on every ``set``). ``/admin/v1/health`` is never faulted: it is the server's readiness probe.

Spec grammar (whitespace around tokens is ignored)::

    spec   = item *( ";" item )              ; empty items are ignored
    item   = "seed=" INT                     ; seed of the ``@p`` draws (default 0)
           | rule
    rule   = [METHOD " "] route ":" fault *( "," param ) [ "@" when ]
    route  = glob over the request path      ; "*" = any characters (also "/"), "?" = one character
    fault  = "latency=" DURATION             ; hold the received request before handling it: 200ms, 1.5s
           | STATUS ["-after-commit"]        ; 429 or 500..599 with an error body (admin or SCIM shape)
           | "reset" | "reset-after-commit"  ; part of the response is sent, then the connection closes
           | "slow-read=" RATE               ; response body trickled at 200Bps, 5kBps, 1MBps
    param  = "retry-after=" (SECONDS | "none")   ; STATUS only; default 1 for 429 and 503
           | "bytes=" INT                        ; reset only; body bytes sent before the cut
    when   = N            ; only the Nth matching request (1-based)
           | N "-" M      ; the Nth to the Mth matching request
           | "every" N    ; every Nth matching request (N, 2N, 3N …)
           | "p" FLOAT    ; each matching request with probability FLOAT (seeded, so reproducible)
                          ; no "@": every matching request

Routes are matched against a short form of the path: ``/admin/v1/orgs/acme`` is ``admin/orgs/acme``,
``/scim/v2/acme/Users`` is ``scim/acme/Users``, anything else loses its leading ``/`` (``s/…``). A
route that starts with ``/`` is matched against the full path instead. The query string is never
part of the match. Examples::

    POST admin/orgs/*/scim/enable:reset-after-commit@1    the first enable commits, its answer is lost
    scim/*/Users:429,retry-after=2@every3                 every 3rd query/create of Users is throttled
    *:latency=200ms@p0.1                                  10 % of all requests are 200 ms slower
    admin/*:503@2                                         the 2nd admin request fails with 503
    admin/orgs/*/provisioning-log/export:slow-read=5kBps  the export trickles at 5 kB/s

Semantics:

* Every rule counts the requests that match its route and method, whether or not it fires.
* Several rules may fire on one request: their latencies add up, the first status/reset fault wins,
  the first ``slow-read`` applies to the body (also to an injected error body or a partial one).
* ``latency`` reads the request (body included) first and then waits, so a client that times out
  meanwhile does not stop the handler: the change still happens, as on a slow real server.
* ``STATUS`` answers without running the handler (nothing happened on the platform);
  ``STATUS-after-commit`` runs the handler to the end (its transaction is committed) and then
  replaces its answer — a proxy that gave up after the backend acted.
* ``reset`` forwards the response as the handler produces it and cuts it after ``bytes`` body bytes
  (default: half of the first body chunk); ``reset-after-commit`` first lets the handler finish
  (committed), then sends the status line, the headers (with the full ``Content-Length``) and
  ``bytes`` of the body (default half) before closing the connection (an orderly close after those
  bytes, not a TCP RST: ASGI gives no handle on the socket). A client sees a response that ends
  early (httpx: ``RemoteProtocolError``). The cut never lets the response complete; a response
  without a body (204) cannot be cut, so the client gets it whole and the connection then closes.
* Every response a fault touched carries ``X-Sandbox-Fault: <rule>`` so a test (or a person reading
  a capture) can tell injected failures from real ones.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import re
import threading
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

from console.sandbox.errors import error_body
from console.sandbox.scim_resources import ERROR_SCHEMA, SCIM_MEDIA_TYPE

log = logging.getLogger(__name__)

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[MutableMapping[str, Any], Receive, Send], Awaitable[None]]

EXEMPT_PATHS = frozenset({"/admin/v1/health"})
FAULT_HEADER = b"x-sandbox-fault"
TRICKLE_TICK_S = 0.05  # slow-read sends one chunk per tick (or one byte per 1/rate s when slower)
DEFAULT_RETRY_AFTER = {429: "1", 503: "1"}
_STATUS_CODES = {429: "rate_limited", 500: "internal_error", 502: "bad_gateway",
                 503: "service_unavailable", 504: "gateway_timeout"}
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s)$", re.IGNORECASE)
_RATE = re.compile(r"^(\d+(?:\.\d+)?)([kM]?)B(?:ps|/s)$")
_RATE_UNITS = {"": 1.0, "k": 1e3, "M": 1e6}


class FaultSpecError(ValueError):
    """A fault spec that cannot be parsed; the message names the item and what was expected."""


class InjectedReset(Exception):
    """Raised to the server once a response was cut: uvicorn then closes the connection."""


@dataclass(frozen=True, slots=True)
class Fault:
    kind: str                       # "latency" | "status" | "reset" | "slow-read"
    status: int = 0
    after_commit: bool = False
    seconds: float = 0.0            # latency
    rate: float = 0.0               # slow-read, bytes per second
    retry_after: str | None = None  # status
    cut_bytes: int | None = None    # reset


@dataclass(frozen=True, slots=True)
class When:
    kind: str                       # "always" | "range" | "every" | "p"
    first: int = 0
    last: int = 0
    probability: float = 0.0

    def fires(self, n: int, rng: random.Random) -> bool:
        if self.kind == "always":
            return True
        if self.kind == "range":
            return self.first <= n <= self.last
        if self.kind == "every":
            return n % self.first == 0
        return rng.random() < self.probability


@dataclass
class Rule:
    text: str
    method: str | None
    pattern: re.Pattern[str]
    full_path: bool
    fault: Fault
    when: When
    rng: random.Random
    matched: int = 0
    fired: int = 0

    def matches(self, method: str, path: str) -> bool:
        if self.method is not None and method != self.method:
            return False
        return self.pattern.fullmatch(path if self.full_path else short_route(path)) is not None


@dataclass(frozen=True, slots=True)
class RuleStats:
    """How often a rule's route was requested and how often the fault fired."""

    rule: str
    matched: int
    fired: int


@dataclass(frozen=True)
class Decision:
    """What to do to one request (built under the injector's lock, used without it)."""

    rules: tuple[str, ...]
    latency: float = 0.0
    terminal: Fault | None = None
    rate: float | None = None
    header: bytes = field(init=False)

    def __post_init__(self) -> None:
        value = " | ".join(self.rules).encode("latin-1", "replace")
        object.__setattr__(self, "header", value)


def short_route(path: str) -> str:
    """``/admin/v1/x`` → ``admin/x``, ``/scim/v2/x`` → ``scim/x``, else the path without its ``/``."""
    for prefix, short in (("/admin/v1/", "admin/"), ("/scim/v2/", "scim/")):
        if path.startswith(prefix):
            return short + path[len(prefix):]
    return path.lstrip("/")


def _glob(route: str) -> re.Pattern[str]:
    parts = [".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in route]
    return re.compile("".join(parts))


# ---------------------------------------------------------------- parsing


def _duration(text: str, what: str) -> float:
    match = _DURATION.match(text)
    if match is None:
        raise FaultSpecError(f"{what} must be a duration like 200ms or 1.5s, got {text!r}")
    value = float(match.group(1))
    return value / 1000 if match.group(2).lower() == "ms" else value


def _rate(text: str) -> float:
    match = _RATE.match(text)
    rate = float(match.group(1)) * _RATE_UNITS[match.group(2)] if match else 0.0
    if rate <= 0:
        raise FaultSpecError(f"slow-read must be a positive rate like 200Bps, 5kBps or 1MBps, got {text!r}")
    return rate


def _positive_int(text: str, what: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise FaultSpecError(f"{what} must be a whole number ≥ 1, got {text!r}")
    return int(text)


def _when(text: str | None) -> When:
    if text is None:
        return When("always")
    text = text.strip()
    if text.lower().startswith("every"):
        return When("every", first=_positive_int(text[5:].strip(), "@everyN"))
    if text.lower().startswith("p"):
        try:
            p = float(text[1:])
        except ValueError:
            p = -1.0
        if not 0.0 <= p <= 1.0:
            raise FaultSpecError(f"@pX needs a probability between 0 and 1, got {text!r}")
        return When("p", probability=p)
    first, dash, last = text.partition("-")
    lo = _positive_int(first.strip(), "@N")
    hi = _positive_int(last.strip(), "@N-M") if dash else lo
    if hi < lo:
        raise FaultSpecError(f"@N-M needs N ≤ M, got {text!r}")
    return When("range", first=lo, last=hi)


def _fault(kind_text: str, params: list[str]) -> Fault:
    name, eq, value = kind_text.partition("=")
    name = name.strip().lower()
    value = value.strip()
    options: dict[str, str] = {}
    for param in params:
        key, has, val = param.partition("=")
        if not has or not key.strip():
            raise FaultSpecError(f"parameter {param.strip()!r} must look like name=value")
        options[key.strip().lower()] = val.strip()

    def refuse_params(allowed: set[str]) -> None:
        unknown = sorted(set(options) - allowed)
        if unknown:
            extra = f" (allowed: {', '.join(sorted(allowed))})" if allowed else ""
            raise FaultSpecError(f"{name} takes no parameter {', '.join(unknown)}{extra}")

    if name == "latency":
        refuse_params(set())
        if not eq:
            raise FaultSpecError("latency needs a value, e.g. latency=200ms")
        return Fault("latency", seconds=_duration(value, "latency"))
    if name == "slow-read":
        refuse_params(set())
        if not eq:
            raise FaultSpecError("slow-read needs a rate, e.g. slow-read=5kBps")
        return Fault("slow-read", rate=_rate(value))
    if eq:
        raise FaultSpecError(f"{name} takes no '=' value (parameters go after a comma)")
    if name in ("reset", "reset-after-commit"):
        refuse_params({"bytes"})
        cut = options.get("bytes")
        if cut is not None and not cut.isdigit():
            raise FaultSpecError(f"bytes must be a whole number ≥ 0, got {cut!r}")
        return Fault("reset", after_commit=name.endswith("-after-commit"),
                     cut_bytes=int(cut) if cut is not None else None)
    code, _, suffix = name.partition("-")
    if code.isdigit() and (int(code) == 429 or 500 <= int(code) <= 599) and suffix in ("", "after-commit"):
        refuse_params({"retry-after"})
        status = int(code)
        retry_after = options.get("retry-after", DEFAULT_RETRY_AFTER.get(status))
        if retry_after is not None and retry_after.lower() == "none":
            retry_after = None
        if retry_after is not None:
            try:
                ok = float(retry_after) >= 0
            except ValueError:
                ok = False
            if not ok:
                raise FaultSpecError(f"retry-after must be seconds ≥ 0 or 'none', got {retry_after!r}")
        return Fault("status", status=status, after_commit=bool(suffix), retry_after=retry_after)
    raise FaultSpecError(
        f"unknown fault {name!r}; expected latency=…, 429, 500…599 (optionally -after-commit), "
        "reset, reset-after-commit or slow-read=…")


def _rule(text: str, seed: int, ordinal: int) -> Rule:
    """One rule; its random stream depends only on the seed, its place among the rules and its text."""
    route_part, colon, fault_part = text.rpartition(":")
    if not colon or not route_part.strip():
        raise FaultSpecError("expected ROUTE:FAULT, e.g. scim/*/Users:429")
    fault_part, at, when_text = fault_part.partition("@")
    if at and not when_text.strip():
        raise FaultSpecError("'@' must be followed by N, N-M, everyN or pX")
    pieces = fault_part.split(",")
    if not pieces[0].strip():
        raise FaultSpecError("the fault is missing after ':'")
    fault = _fault(pieces[0], pieces[1:])
    when = _when(when_text if at else None)
    words = route_part.split()
    method = None
    if len(words) == 2 and words[0].upper() in _METHODS:
        method, route = words[0].upper(), words[1]
    elif len(words) == 1:
        route = words[0]
    else:
        raise FaultSpecError(f"route {route_part.strip()!r} must be [METHOD ]PATH-GLOB without spaces")
    return Rule(text, method, _glob(route), route.startswith("/"), fault, when,
                random.Random(f"{seed}:{ordinal}:{text}"))


def parse_spec(spec: str, *, seed: int | None = None) -> list[Rule]:
    """Parse ``spec`` into rules; raise :class:`FaultSpecError` saying which item is wrong and why."""
    items = [(n, item.strip()) for n, item in enumerate(spec.split(";"), start=1) if item.strip()]
    rng_seed = 0 if seed is None else seed
    for n, item in items:
        key, eq, value = item.partition("=")
        if eq and key.strip().lower() == "seed":
            try:
                in_spec = int(value.strip())
            except ValueError:
                raise FaultSpecError(f"fault spec item {n} {item!r}: seed must be an integer") from None
            rng_seed = in_spec if seed is None else seed  # an explicit seed= argument wins
    rules = []
    for n, item in items:
        key, eq, _value = item.partition("=")
        if eq and key.strip().lower() == "seed":
            continue
        try:
            rules.append(_rule(item, rng_seed, len(rules) + 1))
        except FaultSpecError as exc:
            raise FaultSpecError(f"fault spec item {n} {item!r}: {exc}") from None
    return rules


# ---------------------------------------------------------------- the switchable rule set


class FaultInjector:
    """The active rules; ``set``/``clear`` from any thread, ``decide`` from the server's loop."""

    def __init__(self, spec: str | None = None, *, seed: int | None = None) -> None:
        self._lock = threading.Lock()
        self._rules: list[Rule] = []
        self._spec: str | None = None
        if spec:
            self.set(spec, seed=seed)

    @property
    def spec(self) -> str | None:
        with self._lock:
            return self._spec

    @property
    def active(self) -> bool:
        with self._lock:
            return bool(self._rules)

    def set(self, spec: str | None, *, seed: int | None = None) -> None:
        """Replace the rules (counters start again at zero); ``None`` or ``""`` clears them."""
        rules = parse_spec(spec, seed=seed) if spec else []  # parse outside the lock; may raise
        with self._lock:
            self._rules = rules
            self._spec = spec or None
        if rules:
            log.info("sandbox faults on: %s", spec)

    def clear(self) -> None:
        self.set(None)

    def stats(self) -> list[RuleStats]:
        with self._lock:
            return [RuleStats(r.text, r.matched, r.fired) for r in self._rules]

    @property
    def fired(self) -> int:
        """Faults fired since the last ``set`` (all rules)."""
        with self._lock:
            return sum(r.fired for r in self._rules)

    def decide(self, method: str, path: str) -> Decision | None:
        if path in EXEMPT_PATHS:
            return None
        with self._lock:
            fired: list[Rule] = []
            for rule in self._rules:
                if rule.matches(method, path):
                    rule.matched += 1
                    if rule.when.fires(rule.matched, rule.rng):
                        rule.fired += 1
                        fired.append(rule)
        if not fired:
            return None
        latency = sum(r.fault.seconds for r in fired if r.fault.kind == "latency")
        terminal = next((r.fault for r in fired if r.fault.kind in ("status", "reset")), None)
        rate = next((r.fault.rate for r in fired if r.fault.kind == "slow-read"), None)
        return Decision(tuple(r.text for r in fired), latency, terminal, rate)


# ---------------------------------------------------------------- the ASGI middleware


class _HideInjectedResets(logging.Filter):
    """uvicorn logs every exception out of the app with a traceback; an injected reset is not news."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, InjectedReset)


def _install_log_filter() -> None:
    server_log = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _HideInjectedResets) for f in server_log.filters):
        server_log.addFilter(_HideInjectedResets())


def _with_header(message: Message, header: bytes) -> Message:
    return {**message, "headers": [*message.get("headers", []), (FAULT_HEADER, header)]}


class _Trickle:
    """A ``send`` that trickles body bytes at ``rate`` and stops once the client has gone.

    uvicorn's ``send`` returns silently after a disconnect, so without the watcher a 2 B/s trickle
    to a client that timed out would keep the server busy (and its shutdown waiting) for hours.
    """

    def __init__(self, send: Send, receive: Receive, rate: float) -> None:
        self.send = send
        self.receive = receive
        self.rate = rate
        self.chunk = max(1, int(rate * TRICKLE_TICK_S))
        self.watcher: asyncio.Task[None] | None = None
        self.gone = False

    async def _watch(self) -> None:
        # Started at the first body byte: by then the handler has read the request body.
        while (await self.receive())["type"] != "http.disconnect":
            pass
        self.gone = True

    async def __call__(self, message: Message) -> None:
        body = message.get("body", b"")
        if message["type"] != "http.response.body" or not body:
            await self.send(message)
            return
        if self.watcher is None:
            self.watcher = asyncio.ensure_future(self._watch())
        more = message.get("more_body", False)
        for offset in range(0, len(body), self.chunk):
            if self.gone:
                return
            part = body[offset:offset + self.chunk]
            last = offset + self.chunk >= len(body)
            await self.send({"type": "http.response.body", "body": part, "more_body": more or not last})
            await asyncio.sleep(len(part) / self.rate)

    def close(self) -> None:
        if self.watcher is not None and not self.watcher.done():
            self.watcher.cancel()


def _status_response(path: str, fault: Fault, rule: bytes) -> tuple[Message, bytes]:
    status = fault.status
    what = f"Injected fault: HTTP {status} from the sandbox's fault mode."
    if path.startswith("/scim/v2/"):
        payload: dict[str, Any] = {"schemas": [ERROR_SCHEMA], "status": str(status), "detail": what}
        media = SCIM_MEDIA_TYPE
    else:
        code = _STATUS_CODES.get(status, "server_error")
        payload = error_body(code, what, {"fault": rule.decode("latin-1")})
        media = "application/json"
    body = json.dumps(payload).encode()
    headers = [(b"content-type", media.encode()), (b"content-length", str(len(body)).encode()),
               (FAULT_HEADER, rule)]
    if fault.retry_after is not None:
        headers.append((b"retry-after", fault.retry_after.encode()))
    return {"type": "http.response.start", "status": status, "headers": headers}, body


async def _received_in_full(receive: Receive) -> Receive:
    """Read the whole request body now and replay it to the handler later.

    Latency models a server that got the request and is slow to act on it: a client that gives up
    meanwhile must not cancel the work (uvicorn would hand a late reader ``http.disconnect``).
    """
    pending: list[Message] = []
    while True:
        message = await receive()
        pending.append(message)
        if message["type"] != "http.request" or not message.get("more_body", False):
            break

    async def replay() -> Message:
        return pending.pop(0) if pending else await receive()

    return replay


class FaultMiddleware:
    """Outermost ASGI layer of the sandbox app: applies the injector's decision to each request."""

    def __init__(self, app: ASGIApp, injector: FaultInjector) -> None:
        self.app = app
        self.injector = injector
        _install_log_filter()

    async def __call__(self, scope: MutableMapping[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        decision = self.injector.decide(scope["method"], scope["path"])
        if decision is None:
            await self.app(scope, receive, send)
            return
        if decision.latency:
            receive = await _received_in_full(receive)
            await asyncio.sleep(decision.latency)
        if decision.rate is None:
            await self._apply(scope, receive, send, decision)
            return
        trickle = _Trickle(send, receive, decision.rate)
        try:
            await self._apply(scope, receive, trickle, decision)
        finally:
            trickle.close()

    async def _apply(self, scope: MutableMapping[str, Any], receive: Receive, out: Send,
                     decision: Decision) -> None:
        fault = decision.terminal
        if fault is None:
            await self.app(scope, receive, self._tagging(out, decision.header))
        elif fault.kind == "status":
            if fault.after_commit:
                await self._run_to_end(scope, receive)
            start, body = _status_response(scope["path"], fault, decision.header)
            await out(start)
            await out({"type": "http.response.body", "body": body, "more_body": False})
        elif fault.after_commit:
            start, body = await self._run_to_end(scope, receive)
            await out(_with_header(start, decision.header))
            keep = len(body) // 2 if fault.cut_bytes is None else fault.cut_bytes
            keep = max(0, min(keep, len(body) - 1))
            if keep:
                await out({"type": "http.response.body", "body": body[:keep], "more_body": True})
            raise InjectedReset(decision.rules[0])
        else:
            await self._cut_while_streaming(scope, receive, out, fault, decision)

    @staticmethod
    def _tagging(send: Send, header: bytes) -> Send:
        async def tagging(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = _with_header(message, header)
            await send(message)

        return tagging

    async def _run_to_end(self, scope: MutableMapping[str, Any], receive: Receive) -> tuple[Message, bytes]:
        """Run the handler to completion (its transaction committed), keeping its answer."""
        start: Message = {"type": "http.response.start", "status": 500, "headers": []}
        chunks: list[bytes] = []

        async def keep(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, keep)
        return start, b"".join(chunks)

    async def _cut_while_streaming(self, scope: MutableMapping[str, Any], receive: Receive, send: Send,
                                   fault: Fault, decision: Decision) -> None:
        sent = 0
        limit = fault.cut_bytes
        cut = False

        async def cutting(message: Message) -> None:
            nonlocal sent, limit, cut
            if cut:
                return  # the client is gone as far as the handler is concerned
            if message["type"] == "http.response.start":
                await send(_with_header(message, decision.header))
                return
            if message["type"] != "http.response.body":
                await send(message)
                return
            body = message.get("body", b"")
            more = message.get("more_body", False)
            if limit is None:
                limit = len(body) // 2
            room = limit - sent
            if more and len(body) <= room:
                await send(message)
                sent += len(body)
                return
            keep = max(0, min(room, len(body) - (0 if more else 1)))
            if keep:
                await send({"type": "http.response.body", "body": body[:keep], "more_body": True})
            cut = True

        async def receiving() -> Message:
            if cut:
                return {"type": "http.disconnect"}
            return await receive()

        await self.app(scope, receiving, cutting)
        if cut:
            raise InjectedReset(decision.rules[0])

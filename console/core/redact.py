"""Secret redaction for logs, error messages and diagnostics (desktop-stack §6.2).

Redaction runs on *formatted* text, so whatever path a secret takes into a log line (a format
argument, an exception message, a traceback, a URL that httpx logs at INFO) it is masked before
it reaches a handler. Patterns catch the shapes secrets take; ``register_secret`` adds exact
values this process has seen (e.g. an operator token read from the keyring), for secrets with no
recognisable shape.
"""

from __future__ import annotations

import logging
import re
import threading

MASK = "[REDACTED]"

# Order matters: specific shapes first, then generic key=value pairs.
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Authorization: Bearer xxx / Basic xxx (header dumps, dict reprs)
    (re.compile(r"(?i)(authorization['\"]?\s*[:=]\s*['\"]?)(bearer|basic)\s+[^\s'\",]+"), rf"\1\2 {MASK}"),
    # bare "Bearer xxx"
    (re.compile(r"(?i)\bbearer\s+(?!\[REDACTED\])[A-Za-z0-9._~+/=-]{8,}"), f"Bearer {MASK}"),
    # platform token prefixes: SCIM tokens and sandbox operator tokens, anywhere
    (re.compile(r"\bscim_[A-Za-z0-9_-]{16,}"), f"scim_{MASK}"),
    (re.compile(r"\bscop_[A-Za-z0-9_-]{16,}"), f"scop_{MASK}"),
    # one-time secure-link keys: /s/<id>/<key> (the key decrypts the secret)
    (re.compile(r"(/s/[A-Za-z0-9_-]+/)(?!\[REDACTED\])[A-Za-z0-9_=%-]+"), rf"\1{MASK}"),
    # secrets in URL query strings
    (
        re.compile(r"(?i)([?&](?:access_token|token|api_key|apikey|code|client_secret|key|secret)=)[^&\s'\"]+"),
        rf"\1{MASK}",
    ),
    # "token": "xxx", password=xxx, secret: xxx ...
    (
        re.compile(
            r"(?i)(['\"]?\b(?:[a-z_]*token|secret|password|passwd|api_key|apikey|client_secret)['\"]?\s*[:=]\s*['\"]?)"
            r"(?!\[REDACTED\])[^'\"\s,}&]+"
        ),
        rf"\1{MASK}",
    ),
)

_MIN_REGISTERED_LEN = 6  # shorter values would mask ordinary words
_registered: set[str] = set()
_lock = threading.Lock()


def register_secret(value: str | None) -> None:
    """Mask this exact value everywhere from now on (in memory only, for this process)."""
    if value and len(value) >= _MIN_REGISTERED_LEN:
        with _lock:
            _registered.add(value)


def forget_secrets() -> None:
    """Drop all registered values (tests)."""
    with _lock:
        _registered.clear()


def redact(text: str) -> str:
    """Return ``text`` with every known secret shape and registered value masked."""
    if not text:
        return text
    with _lock:
        exact = sorted(_registered, key=len, reverse=True)
    for value in exact:
        if value in text:
            text = text.replace(value, MASK)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFormatter(logging.Formatter):
    """A ``logging.Formatter`` whose whole output (message, exception, stack) is redacted.

    ``logging.Formatter.format`` caches the exception text on the record (``record.exc_text``); we
    redact the cache too, so another handler that reuses it never sees the raw text.
    """

    def format(self, record: logging.LogRecord) -> str:
        formatted = super().format(record)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return redact(formatted)

    def formatException(self, ei) -> str:  # noqa: N802 - logging's API name
        return redact(super().formatException(ei))

    def formatStack(self, stack_info: str) -> str:  # noqa: N802 - logging's API name
        return redact(super().formatStack(stack_info))

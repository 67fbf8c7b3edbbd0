"""Redaction of every secret shape the console meets (desktop-stack §6.2)."""

from __future__ import annotations

import logging
import sys

import pytest

from console.core.redact import MASK, RedactingFormatter, forget_secrets, redact, register_secret

SCIM = "scim_Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z"
SCOP = "scop_Zy9xWv8uTs7rQp6oNm5lKj4iHg3fEd2c"


@pytest.fixture(autouse=True)
def _no_registered_secrets():
    forget_secrets()
    yield
    forget_secrets()


@pytest.mark.parametrize(("text", "secret"), [
    ("Authorization: Bearer abc.def-ghi_123456", "abc.def-ghi_123456"),
    ("{'authorization': 'Bearer sometoken12345'}", "sometoken12345"),
    ("authorization=Basic dXNlcjpwYXNzd29yZA==", "dXNlcjpwYXNzd29yZA=="),
    ("sending bearer eyJhbGciOiJIUzI1NiJ9.payload.sig", "eyJhbGciOiJIUzI1NiJ9"),
    (f"token in text {SCIM} and more", SCIM[5:]),
    (f"operator {SCOP}", SCOP[5:]),
    ("GET http://127.0.0.1:1/ok?access_token=SECRET-QUERY-TOKEN&page=2", "SECRET-QUERY-TOKEN"),
    ("https://x/cb?code=oauthcode123&state=1", "oauthcode123"),
    ('payload {"token": "plain-secret-value"}', "plain-secret-value"),
    ("password=hunter22 user=bob", "hunter22"),
    ('{"client_secret": "cs-123456"}', "cs-123456"),
    ("operator_token: abcdef123", "abcdef123"),
    ("open https://platform.example/s/lnk_8f3a/6kq2-Wm_x9Zt then burn", "6kq2-Wm_x9Zt"),
])
def test_patterns_mask_the_secret(text: str, secret: str) -> None:
    out = redact(text)
    assert secret not in out
    assert MASK in out


@pytest.mark.parametrize("text", [
    "token_id=tok_123 fingerprint=0a1b2c3d4e5f6789 last_four=abcd",
    "GET /admin/v1/orgs?q=contoso&limit=50&cursor=eyJpZCI6MX0",
    "user alice@contoso.com created via scim",
    "scim_base_url=http://127.0.0.1:8000/scim/v2/contoso",
    "",
])
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert redact(text) == text


def test_registered_values_are_masked_anywhere() -> None:
    register_secret("no-recognisable-shape-42")
    register_secret("abc")  # too short to register: would mask ordinary words
    assert redact("x=no-recognisable-shape-42;") == f"x={MASK};"
    assert redact("abc") == "abc"


def test_redaction_is_idempotent() -> None:
    once = redact(f"Authorization: Bearer {SCOP} token={SCIM} /s/l1/k3y")
    assert redact(once) == once


def test_formatter_redacts_message_args_exception_and_stack() -> None:
    formatter = RedactingFormatter("%(levelname)s %(message)s")
    try:
        raise RuntimeError(f'payload {{"token": "{SCIM}"}}')
    except RuntimeError:
        exc_info = sys.exc_info()
    record = logging.LogRecord("t", logging.ERROR, __file__, 1, "sent %s", (f"Bearer {SCOP}",), exc_info)
    record.stack_info = f"Stack (most recent call last):\n  secret {SCOP}"
    out = formatter.format(record)
    assert SCIM[5:] not in out
    assert SCOP[5:] not in out
    assert "RuntimeError" in out
    assert SCIM[5:] not in (record.exc_text or "")  # the cached traceback other handlers reuse

"""The ticket-ready message never carries the token."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from console.core.delivery import METHODS, build_ticket_message
from console.core.errors import UserFacingError


@pytest.mark.parametrize("method", METHODS)
def test_message_has_url_and_instructions_but_not_the_token(method: str) -> None:
    token = "scim_" + "Ab9" * 14
    text = build_ticket_message(org_name="Contoso", scim_url="https://p.example/scim/v2/contoso",
                                method=method, token_last_four=token[-4:],
                                link_expires_at=datetime(2026, 12, 1, 9, tzinfo=UTC), token=token)
    assert "https://p.example/scim/v2/contoso" in text
    assert token not in text
    assert token[:-4] not in text
    assert "…" + token[-4:] in text
    if method == "link":
        assert "2026-12-01 09:00 UTC" in text
        assert "one-time link" in text


@given(st.text(min_size=8, max_size=60))
def test_no_input_can_smuggle_the_token_into_the_message(token: str) -> None:
    try:
        text = build_ticket_message(org_name=token, scim_url="https://x/scim", method="link",
                                    token_last_four="abcd", token=token)
    except UserFacingError:
        return  # refused: the token would have been in the text
    assert token not in text


def test_unknown_method_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown"):
        build_ticket_message(org_name="X", scim_url="u", method="email", token_last_four="abcd")


def test_customer_guide_has_endpoint_steps_and_mappings_escaped_and_no_token() -> None:
    from console.core.customer_guide import ENTRA_STEPS, build_guide_html

    token = "scim_" + "Zz9" * 14
    html = build_guide_html(org_name="<Contoso & Co>", scim_url="https://p.example/scim/v2/contoso",
                            generated_at=datetime(2026, 11, 28, tzinfo=UTC), token=token)
    assert "https://p.example/scim/v2/contoso" in html
    assert "&lt;Contoso &amp; Co&gt;" in html
    assert "<Contoso" not in html
    assert html.count("<li>") >= len(ENTRA_STEPS)
    assert "objectId" in html
    assert "externalId" in html
    assert token not in html
    with pytest.raises(UserFacingError):
        build_guide_html(org_name=token, scim_url="u", generated_at=datetime(2026, 1, 1, tzinfo=UTC),
                         token=token)

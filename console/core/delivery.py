"""Ticket-ready messages for handing SCIM credentials to a customer (desktop-stack §5.3).

The endpoint URL is not secret and goes in the ticket as plain text; the token never does. The
one-time link is *not* part of the message either: the builder takes the link's expiry only and
tells the customer the link comes through a second channel (the operator pastes it there), so a
ticket system that leaks cannot leak a usable credential. :func:`build_ticket_message` refuses
any text that would contain the token.
"""

from __future__ import annotations

from datetime import datetime

from console.core.errors import UserFacingError

METHODS = ("link", "copy", "age-file", "age-passphrase")


def build_ticket_message(*, org_name: str, scim_url: str, method: str, token_last_four: str,
                         link_expires_at: datetime | None = None, token: str | None = None) -> str:
    """Plain-text message for the support ticket. ``token`` (optional) is only used to verify
    the message does not contain it."""
    if method not in METHODS:
        raise ValueError(f"unknown delivery method {method!r}")
    expiry = link_expires_at.strftime("%Y-%m-%d %H:%M UTC") if link_expires_at else "72 hours"
    how = {
        "link": ("You will receive a one-time link in a separate message. Open it in a browser and press "
                 f"“Reveal” to see the token; the link works once and expires on {expiry}. Do not forward "
                 "it; if it has expired or was already opened, ask us for a new token."),
        "copy": "We will give you the token directly during our call/session; it will not be written here.",
        "age-file": ("The token is attached as an age-encrypted file (scim-token.age) for the age public key "
                     "you sent us. Decrypt it with: age -d -i <your key file> scim-token.age"),
        "age-passphrase": ("The token is attached as an age-encrypted file (scim-token.age). We will tell "
                           "you its passphrase by phone or text message; it is never written in this ticket. "
                           "Decrypt it with: age -d scim-token.age (age asks for the passphrase; "
                           "https://age-encryption.org)."),
    }[method]
    lines = [
        f"Hello {org_name} team,",
        "",
        "SCIM provisioning is now enabled for your organisation. In the Microsoft Entra admin centre,",
        "open Enterprise applications → your app → Provisioning, set Provisioning Mode to Automatic",
        "and enter:",
        "",
        f"  Tenant URL:    {scim_url}",
        f"  Secret Token:  the token ending in …{token_last_four} (see below)",
        "",
        how,
        "",
        "Then select Test Connection, Save, and set Provisioning Status to On.",
        "We recommend matching users on objectId → externalId once existing accounts carry it;",
        "contact us before you change matching attributes.",
    ]
    text = "\n".join(lines)
    if token and token in text:  # defence in depth: the builder never receives a place for it
        raise UserFacingError("Refusing to build a ticket message that contains the token.")
    return text

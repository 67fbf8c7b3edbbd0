"""Deliver a SCIM token as an age-encrypted file (issue 4 §4b, desktop-stack §5.1/§5.3).

Two ways, both with pyrage (the Rust ``age`` implementation):

* **to the customer's public key** — they send us an ``age1…`` recipient (or an ``ssh-ed25519``/
  ``ssh-rsa`` public key); only their private key opens the file. Nothing else to transmit.
* **to a generated passphrase** — for customers without age keys. The passphrase is shown once to
  the operator, who gives it through a *different* channel than the file (phone, SMS); it is
  never stored, logged or put in the ticket. age's scrypt makes each guess cost ~1 s here.

The file is written atomically (``.part`` then rename) with owner-only permissions; it holds only
ciphertext, so it is safe in a ticket attachment. The audit trail records the method, the file
name and the recipient (a public key, not a secret) — never the token or the passphrase.
"""

from __future__ import annotations

import os
import secrets as pysecrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyrage

from console.core.errors import UserFacingError
from console.core.redact import register_secret
from console.services.pending_deliveries import PendingDeliveries
from console.services.scim_setup import pending_token

DEFAULT_FILE_NAME = "scim-token.age"
# 26 lower-case letters and digits without look-alikes (0/o, 1/l): ~5 bits a character.
_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"
PASSPHRASE_GROUPS, GROUP_LEN = 5, 5  # ~124 bits, read aloud as five groups


@dataclass(frozen=True, slots=True)
class AgeDelivery:
    path: Path
    method: str                                        # "age-file" | "age-passphrase"
    recipient: str | None = None                       # public key, when method == "age-file"
    passphrase: str | None = field(default=None, repr=False)


def generate_passphrase() -> str:
    return "-".join("".join(pysecrets.choice(_ALPHABET) for _ in range(GROUP_LEN))
                    for _ in range(PASSPHRASE_GROUPS))


def parse_recipient(text: str) -> Any:
    """An age X25519 recipient or an SSH public key; a clear error for anything else."""
    value = " ".join(text.split())
    try:
        if value.startswith("age1"):
            return pyrage.x25519.Recipient.from_str(value)
        if value.startswith(("ssh-ed25519 ", "ssh-rsa ")):
            return pyrage.ssh.Recipient.from_str(value)
    except pyrage.RecipientError as exc:
        raise UserFacingError(f"That public key is not valid ({exc}).",
                              hint="Ask the customer for the line `age-keygen` printed as “Public key: "
                                   "age1…”.") from None
    raise UserFacingError("Paste the customer's age public key (age1…) or an SSH public key (ssh-ed25519 …).")


def encrypt_token(token: str, *, recipient: str | None = None,
                  passphrase: str | None = None) -> bytes:
    """Ciphertext of ``token`` for ``recipient`` or ``passphrase`` (exactly one)."""
    if (recipient is None) == (passphrase is None):
        raise ValueError("give exactly one of recipient or passphrase")
    data = token.encode("utf-8")
    if recipient is not None:
        return bytes(pyrage.encrypt(data, [parse_recipient(recipient)]))
    assert passphrase is not None
    return bytes(pyrage.passphrase.encrypt(data, passphrase))


def _write_private(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.part")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_age_file(org_id: str, token_id: str, path: str | Path, secrets: Any, audit: Any, *,
                   operator: str, deliveries: PendingDeliveries, client: Any, recipient: str | None = None,
                   profile_id: str | None = None) -> AgeDelivery:
    """Encrypt the org's undelivered token to ``recipient`` (or a new passphrase) into ``path``.

    The token stays in the keyring until the operator confirms the customer opened the file
    (``scim_setup.confirm_delivered``) or the delivery window ends."""
    if deliveries.get(token_id) is None:
        raise UserFacingError("This token is not waiting for delivery.")
    token = pending_token(secrets, org_id, token_id, client=client, deliveries=deliveries)
    target = Path(path)
    if recipient is not None:
        parse_recipient(recipient)  # a bad key fails before any work
        passphrase, method = None, "age-file"
    else:
        passphrase, method = generate_passphrase(), "age-passphrase"
        register_secret(passphrase)
    ciphertext = encrypt_token(token, recipient=recipient, passphrase=passphrase)
    try:
        _write_private(target, ciphertext)
    except OSError as exc:
        raise UserFacingError(f"Could not write {target}: {exc.strerror or exc}.") from None
    audit.record("scim.deliver", org_id=org_id, profile_id=profile_id, actor=operator, params={
        "token_id": token_id, "method": method, "file": target.name, "bytes": len(ciphertext),
        "recipient": " ".join(recipient.split()) if recipient else None})
    return AgeDelivery(target, method, recipient, passphrase)

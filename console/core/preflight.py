"""Pre-flight duplicate prediction from the customer's Entra users export (issue 4 §1).

Input: the CSV of the Entra admin centre's "Download users" (``userPrincipalName``,
``displayName``, ``mail``, ``objectId``, ``accountEnabled``, … — headers matched tolerantly;
encoding and delimiter by the same policy as the log importer, ``core.text_input``: UTF-8 with or
without BOM, UTF-16, Excel's code pages; comma, semicolon or tab). Output: for each Entra user, what Entra's
*default* matching (``userName ← userPrincipalName``, case-insensitive, deactivated accounts
included — entra-facts §1.11, §3.4 rules 7–8) will do against the org's current accounts:

* ``match`` — an account's userName equals the UPN: Entra links and updates it;
* ``duplicate`` — no userName matches, but an account already carries the person's mail or UPN as
  an email: Entra creates a second account (the twin the reconciler would later find);
* ``new`` — nobody matches: a new account, as intended.

Pure: no file access (the caller reads the bytes), no platform calls (the caller lists users).
"""

from __future__ import annotations

import csv
import io
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from console.core import text_input
from console.core.models import PlatformUser
from console.core.readiness import fold

MATCH, NEW, DUPLICATE = "match", "new", "duplicate"
MAX_BYTES = 50 * 1024 * 1024

_HEADERS = {
    "upn": ("userprincipalname", "upn", "username", "signinname"),
    "display_name": ("displayname", "name"),
    "mail": ("mail", "email", "emailaddress", "primarysmtpaddress"),
    "object_id": ("objectid", "id", "userid"),
    "enabled": ("accountenabled", "enabled", "blockcredential"),
}


class ExportFormatError(ValueError):
    """The file is not an Entra users export we can read."""


@dataclass(frozen=True, slots=True)
class EntraUser:
    upn: str
    display_name: str = ""
    mail: str = ""
    object_id: str = ""
    enabled: bool = True


@dataclass(frozen=True, slots=True)
class Prediction:
    user: EntraUser
    outcome: str
    platform_user_id: str | None = None
    platform_user_name: str | None = None
    fix: str = ""
    platform_user_version: int | None = None  # as read for the prediction: a fix expects exactly it

    @property
    def fixable(self) -> bool:
        """A duplicate the console can prevent: rename the existing account's userName to the UPN."""
        return self.outcome == DUPLICATE and self.platform_user_id is not None


def _norm(header: str) -> str:
    return "".join(ch for ch in header.strip().lower() if ch.isalnum())


def parse_entra_users_csv(data: bytes | str) -> tuple[list[EntraUser], list[str]]:
    """Rows and warnings (a guessed encoding, skipped rows). Raises ExportFormatError when the bytes
    are not text or there is no UPN column."""
    warnings: list[str] = []
    if isinstance(data, bytes):
        if len(data) > MAX_BYTES:
            raise ExportFormatError("The file is larger than 50 MB; export only the users in scope.")
        try:
            text, enc = text_input.decode(data)
        except text_input.UndecodableText as exc:
            raise ExportFormatError(
                f"{exc.message} ({exc.position}). Save the export again as “CSV UTF-8”."
            ) from None
        note = text_input.warning("the users export", enc)
        if note:
            warnings.append(note)
    else:
        text = data.lstrip("\ufeff")
    _header, delimiter, skip = text_input.split_header(text)
    if skip:  # Excel's "sep=" line
        text = text.split("\n", skip)[-1]
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        raise ExportFormatError("The file is empty.") from None
    index: dict[str, int] = {}
    normalised = [_norm(h) for h in header]
    for field, names in _HEADERS.items():
        for name in names:
            if name in normalised:
                index[field] = normalised.index(name)
                break
    if "upn" not in index:
        raise ExportFormatError("No userPrincipalName column: is this the Entra “Download users” CSV?")
    blocked_column = "enabled" in index and normalised[index["enabled"]] == "blockcredential"
    users: list[EntraUser] = []
    for line_no, row in enumerate(reader, start=2):
        if not any(cell.strip() for cell in row):
            continue

        def cell(field: str, row: list[str] = row) -> str:
            i = index.get(field)
            return row[i].strip() if i is not None and i < len(row) else ""

        upn = cell("upn")
        if not upn:
            warnings.append(f"line {line_no}: no userPrincipalName, skipped")
            continue
        enabled_text = cell("enabled").lower()
        if blocked_column:  # "blockCredential: true" means disabled
            enabled = enabled_text not in ("true", "yes", "1")
        else:
            enabled = enabled_text not in ("false", "no", "0")
        users.append(EntraUser(upn, cell("display_name"), cell("mail"), cell("object_id"), enabled))
    return users, warnings


def predict(entra_users: Iterable[EntraUser], platform_users: Sequence[PlatformUser]) -> list[Prediction]:
    """What Entra's default matching will do for each user (see the module docstring)."""
    by_user_name: dict[str, PlatformUser] = {}
    by_email: dict[str, list[PlatformUser]] = defaultdict(list)
    for u in platform_users:
        if u.merged_into_id:
            continue
        by_user_name.setdefault(fold(u.user_name), u)
        emails = {fold(e.value) for e in u.emails if e.value} | ({fold(u.primary_email)} if u.primary_email
                                                                 else set())
        for email in emails - {""}:
            by_email[email].append(u)
    out: list[Prediction] = []
    for e in entra_users:
        hit = by_user_name.get(fold(e.upn))
        if hit is not None:
            out.append(Prediction(e, MATCH, hit.id, hit.user_name, platform_user_version=hit.version))
            continue
        owners = by_email.get(fold(e.mail), []) if e.mail else []
        owners = owners or by_email.get(fold(e.upn), [])
        if owners:
            owner = owners[0]
            fix = (f"Change the platform account's userName “{owner.user_name}” to “{e.upn}” before "
                   "provisioning (Align), or (after backfilling externalId) match on objectId → "
                   "externalId (entra-facts §3.4 rule 6).")
            out.append(Prediction(e, DUPLICATE, owner.id, owner.user_name, fix=fix,
                                  platform_user_version=owner.version))
            continue
        out.append(Prediction(e, NEW))
    return out


def counts(predictions: Iterable[Prediction]) -> dict[str, int]:
    c = Counter(p.outcome for p in predictions)
    return {k: c.get(k, 0) for k in (MATCH, NEW, DUPLICATE)}

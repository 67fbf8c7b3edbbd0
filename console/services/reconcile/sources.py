"""Where the reconciler's inputs come from, and the one file format the platform side travels in.

* **Platform users** arrive from the admin API (``iter_users``, 500 a page, with progress and cancel)
  and are written, page by page, to a *snapshot* CSV in the engine's private work directory; the
  engine reads every snapshot — fetched or handed to it (the benchmark) — with one DuckDB
  ``read_csv``. One format means one loader, tested at every scale: DuckDB parses a CSV at hundreds
  of MB/s, while inserting rows one by one from Python costs ~2 ms each (measured: 5 000 rows in 8.6 s).
  The snapshot holds personal data, so it lives only in that 0700 directory and goes with the engine.
* **The Entra users export** ("Download users"): the header is sniffed here with the tolerant rules of
  the enable wizard's prediction (``console.core.preflight``: userPrincipalName / mail / objectId /
  accountEnabled or blockCredential; encoding and delimiter by the log importer's policy,
  ``core.text_input``: a non-UTF-8 file is read from a streamed UTF-8 copy); the rows are read
  by DuckDB, never by Python, so a million-row export costs about a second, not a minute. The wizard's
  50 MB cap is for its quick in-memory prediction only.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from console.core import text_input
from console.core.errors import Cancelled, UserFacingError
from console.core.preflight import _HEADERS, _norm  # the wizard's header rules, reused not copied
from console.core.reconcile.findings import Account
from console.core.text_input import UTF8, TextEncoding
from console.services import text_files

LIST_SEPARATOR = "\x1f"  # joins a user's emails inside one CSV cell (cannot occur in an address)
SNAPSHOT_COLUMNS = (
    "id", "user_name", "display_name", "emails", "active", "created_via", "version", "scim_id",
    "external_id", "idp_link", "merged_into_id", "work_areas", "last_login_at", "created_at",
)
SNIFF_BYTES = 64 * 1024


class ProgressToken(Protocol):
    """What long operations need from their caller: the UI's ``CancelToken`` has this shape."""

    def progress(self, done: int, total: int = 0, text: str = "") -> None: ...

    def cancelled(self) -> bool: ...


class NoProgress:
    """A token for callers that neither watch nor cancel (tests, scripts)."""

    def progress(self, done: int, total: int = 0, text: str = "") -> None:
        return None

    def cancelled(self) -> bool:
        return False


class InputError(UserFacingError):
    """An input file the reconciler cannot read; the message says what and where."""


# ---- platform snapshot
# One record must never break the run (issue 14): DuckDB's CSV reader refuses a line over 2 MB ("a
# quoted field is not closed"), a lone CR, and Python cannot write a lone surrogate as UTF-8. So every
# cell is bounded — a display name to DISPLAY_LIMIT characters (it is shown, and a name that long
# matches nobody; it keeps its length), any other value to VALUE_LIMIT, keeping its length and a
# SHA-256 of the whole, so two different long identities never compare equal and the evidence says
# what the platform holds. 14 cells × VALUE_LIMIT × 4 bytes, emails included (≤ 100 of them at the SCIM
# door), stay far below DuckDB's line limit.
DISPLAY_LIMIT = 1_000
VALUE_LIMIT = 2_048
MAX_EMAILS = 100


def bounded(value: str, limit: int, *, digest: bool = True) -> str:
    """``value`` when it fits, else its first ``limit`` characters + ``…[N characters, sha256 …]``
    (without the digest for a value only shown, never compared: hashing 50 MB costs 0.1 s)."""
    if len(value) <= limit:
        return value
    if not digest:
        return f"{value[:limit]}…[{len(value):,} characters]"
    sha = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return f"{value[:limit]}…[{len(value):,} characters, sha256 {sha}]"


def _cell(value: str | None, limit: int = VALUE_LIMIT, *, digest: bool = True) -> str:
    # A lone CR (refused by DuckDB even inside quotes) is written as LF; a lone surrogate (JSON can
    # carry one, UTF-8 cannot) as U+FFFD; the list separator inside a value as U+FFFD — the only
    # changes the snapshot makes to a value that fits.
    text = bounded(value or "", limit, digest=digest).replace("\r\n", "\n").replace("\r", "\n")
    if LIST_SEPARATOR in text:
        text = text.replace(LIST_SEPARATOR, "\ufffd")
    if not text.isascii() and _SURROGATE.search(text):
        text = _SURROGATE.sub("\ufffd", text)
    return text


_SURROGATE = re.compile("[\ud800-\udfff]")


def snapshot_row(a: Account) -> list[Any]:
    emails = a.emails[:MAX_EMAILS]
    return [_cell(a.id), _cell(a.user_name), _cell(a.display_name, DISPLAY_LIMIT, digest=False),
            LIST_SEPARATOR.join(map(_cell, emails)),
            "true" if a.active else "false", a.created_via, a.version, _cell(a.scim_id),
            _cell(a.external_id), _cell(a.idp_link), _cell(a.merged_into_id), a.work_areas,
            a.last_login_at or "", a.created_at or ""]


def write_snapshot(path: Path, accounts: Iterable[Account]) -> int:
    """Write accounts as a snapshot CSV; returns how many."""
    n = 0
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(SNAPSHOT_COLUMNS)
        for a in accounts:
            w.writerow(snapshot_row(a))
            n += 1
    return n


def fetch_snapshot(client: Any, org_id: str, path: Path, token: ProgressToken, *,
                   page_size: int = 500) -> int:
    """Page through the org's users into a snapshot; progress per page, cancel between pages."""
    total = 0
    try:
        total = int(client.get_org(org_id).user_counts.total)
    except (AttributeError, TypeError, ValueError):
        total = 0
    token.progress(0, total, f"Reading the users of {org_id}…")

    def accounts() -> Iterator[Account]:
        for n, user in enumerate(client.iter_users(org_id, page_size=page_size), start=1):
            yield Account.from_platform_user(user)
            if n % page_size == 0:
                if token.cancelled():
                    raise Cancelled()
                token.progress(n, max(total, n), f"Read {n:,} of {max(total, n):,} users")

    n = write_snapshot(path, accounts())
    token.progress(n, n, f"Read {n:,} users")
    return n


def check_snapshot_header(path: Path) -> None:
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            first = fh.readline().strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"Cannot read the platform users snapshot: {exc}.", where=str(path)) from None
    if tuple(first.split(",")) != SNAPSHOT_COLUMNS:
        raise InputError("Not a platform users snapshot: the first line must be "
                         f"{','.join(SNAPSHOT_COLUMNS)}.", where=str(path))


# ---- Entra users export
@dataclass(frozen=True)
class EntraLayout:
    """Where the fields are in one export: column positions (0-based), delimiter, column count."""

    delimiter: str
    columns: int
    index: dict[str, int]
    blocked_column: bool  # "blockCredential": true means disabled
    encoding: TextEncoding = UTF8  # not UTF-8: ``utf8_source`` gives DuckDB a UTF-8 copy
    skip: int = 0  # lines before the header (Excel's "sep=" line)


def sniff_entra_export(path: Path) -> EntraLayout:
    """Read the header line only; raises InputError with the reason when it is not an Entra export."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(SNIFF_BYTES)
    except OSError as exc:
        raise InputError(f"Cannot read the Entra users export: {exc.strerror or exc}.",
                         where=str(path)) from None
    if not head.strip():
        raise InputError("The Entra users export is empty.", where=str(path))
    try:  # the log importer's policy (core.text_input): BOM, UTF-16, strict UTF-8, Excel's code pages
        enc = text_files.detect_file(path, validate=True)
    except text_input.UndecodableText as exc:
        raise InputError(f"The Entra users export is not readable text: {exc.message} Save it again as "
                         "“CSV UTF-8”.", where=f"{path}, {exc.position}") from None
    text = codecs.getincrementaldecoder(enc.codec)(errors="replace").decode(head).lstrip("\ufeff")
    first, delimiter, skip = text_input.split_header(text)
    header = next(csv.reader(io.StringIO(first), delimiter=delimiter), [])
    normalised = [_norm(h) for h in header]
    index: dict[str, int] = {}
    for name, aliases in _HEADERS.items():
        for alias in aliases:
            if alias in normalised:
                index[name] = normalised.index(alias)
                break
    if "upn" not in index:
        raise InputError("No userPrincipalName column: is this the Entra “Download users” CSV?",
                         where=f"{path}, line 1")
    blocked = "enabled" in index and normalised[index["enabled"]] == "blockcredential"
    return EntraLayout(delimiter=delimiter, columns=len(header), index=index, blocked_column=blocked,
                       encoding=enc, skip=skip)


def utf8_source(path: Path, layout: EntraLayout, workdir: Path) -> Path:
    """``path`` itself when DuckDB can read it, else a UTF-8 copy in ``workdir`` (streamed)."""
    if layout.encoding.utf8:
        return path
    try:
        return text_files.utf8_copy(path, layout.encoding, workdir / "entra-users.utf8.csv")
    except text_input.UndecodableText as exc:
        raise InputError(f"The Entra users export is not valid {layout.encoding.label}: {exc.message}",
                         where=f"{path}, {exc.position}") from None

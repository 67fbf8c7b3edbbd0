"""Plain, frozen domain records shared by services and UI.

Each record that arrives from the platform's admin API has a ``from_api`` classmethod that takes
the decoded JSON object. Parsing is tolerant of extra keys (the API may grow) and strict about
the keys the console relies on (a missing ``id`` is a bug on the other side, so it raises).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

T = TypeVar("T")


def parse_ts(value: Any) -> datetime | None:
    """ISO-8601 text (``Z`` or offset) to an aware UTC datetime; ``None`` passes through."""
    if value is None or value == "":
        return None
    dt = value if isinstance(value, datetime) else datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def _strs(value: Any) -> tuple[str, ...]:
    return tuple(str(v) for v in (value or ()))


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a cursor-paginated list; ``next_cursor`` is ``None`` on the last page."""

    items: tuple[T, ...]
    next_cursor: str | None = None

    @classmethod
    def from_api(cls, data: Mapping[str, Any], item: Callable[[Mapping[str, Any]], T]) -> Page[T]:
        return cls(items=tuple(item(x) for x in data.get("items", ())), next_cursor=data.get("next_cursor"))

    def __len__(self) -> int:
        return len(self.items)


@dataclass(frozen=True, slots=True)
class Profile:
    """A connection to one platform admin API. The operator token is *not* here: it lives in
    the SecretStore under ``profile:<id>:operator-token``."""

    id: str
    name: str
    admin_url: str
    operator: str = ""
    is_sandbox: bool = False
    created_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ScimStatus:
    enabled: bool
    active_tokens: int
    scim_base_url: str | None

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> ScimStatus:
        return cls(
            enabled=bool(data.get("enabled", False)),
            active_tokens=int(data.get("active_tokens", 0) or 0),
            scim_base_url=data.get("scim_base_url"),
        )


@dataclass(frozen=True, slots=True)
class TemplateStatus:
    """Whether the org has a New User Template that applies to all users: ``ok`` / ``missing`` /
    ``no_work_areas``."""

    status: str
    template_id: str | None = None
    template_name: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> TemplateStatus:
        return cls(
            status=str(data.get("status", "missing")),
            template_id=data.get("template_id"),
            template_name=data.get("template_name"),
        )


@dataclass(frozen=True, slots=True)
class UserCounts:
    total: int = 0
    active: int = 0
    inactive: int = 0
    scim: int = 0
    manual: int = 0
    invite: int = 0

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> UserCounts:
        return cls(**{k: int(data.get(k, 0) or 0) for k in ("total", "active", "inactive", "scim", "manual",
                                                              "invite")})


@dataclass(frozen=True, slots=True)
class OrgSummary:
    id: str
    name: str
    domains: tuple[str, ...]
    created_at: datetime | None
    scim: ScimStatus
    template: TemplateStatus
    user_counts: UserCounts
    work_area_count: int | None = None  # only on GET /orgs/{id}
    group_count: int | None = None

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> OrgSummary:
        return cls(
            id=str(data["id"]),
            name=str(data.get("name", "")),
            domains=_strs(data.get("domains")),
            created_at=parse_ts(data.get("created_at")),
            scim=ScimStatus.from_api(data.get("scim") or {}),
            template=TemplateStatus.from_api(data.get("template") or {}),
            user_counts=UserCounts.from_api(data.get("user_counts") or {}),
            work_area_count=data.get("work_area_count"),
            group_count=data.get("group_count"),
        )


@dataclass(frozen=True, slots=True)
class WorkArea:
    id: str
    name: str
    created_at: datetime | None = None

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> WorkArea:
        return cls(
            id=str(data["id"]), name=str(data.get("name", "")), created_at=parse_ts(data.get("created_at"))
        )


@dataclass(frozen=True, slots=True)
class Template:
    id: str
    name: str
    applies_to_all: bool
    role: str | None
    work_area_ids: tuple[str, ...]
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Template:
        return cls(
            id=str(data["id"]),
            name=str(data.get("name", "")),
            applies_to_all=bool(data.get("applies_to_all", False)),
            role=data.get("role"),
            work_area_ids=_strs(data.get("work_area_ids")),
            created_at=parse_ts(data.get("created_at")),
            updated_at=parse_ts(data.get("updated_at")),
        )


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """Public facts about a SCIM token. The token itself is never part of it."""

    id: str
    last_four: str
    fingerprint: str
    created_at: datetime | None
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None
    active: bool

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> TokenInfo:
        return cls(
            id=str(data["id"]),
            last_four=str(data.get("last_four", "")),
            fingerprint=str(data.get("fingerprint", "")),
            created_at=parse_ts(data.get("created_at")),
            expires_at=parse_ts(data.get("expires_at")),
            last_used_at=parse_ts(data.get("last_used_at")),
            revoked_at=parse_ts(data.get("revoked_at")),
            active=bool(data.get("active", False)),
        )


@dataclass(frozen=True, slots=True)
class NewToken:
    """A freshly minted SCIM token: shown once, never stored. ``repr`` hides the value."""

    token: str = field(repr=False)
    token_info: TokenInfo
    scim_base_url: str | None = None

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> NewToken:
        return cls(
            token=str(data["token"]),
            token_info=TokenInfo.from_api(data["token_info"]),
            scim_base_url=data.get("scim_base_url"),
        )


@dataclass(frozen=True, slots=True)
class ScimSettings:
    enabled: bool
    enabled_at: datetime | None
    scim_base_url: str | None
    tokens: tuple[TokenInfo, ...]

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> ScimSettings:
        return cls(
            enabled=bool(data.get("enabled", False)),
            enabled_at=parse_ts(data.get("enabled_at")),
            scim_base_url=data.get("scim_base_url"),
            tokens=tuple(TokenInfo.from_api(t) for t in data.get("tokens", ())),
        )


@dataclass(frozen=True, slots=True)
class SecureLink:
    """A one-time link. ``url`` is only known right after creation (it carries the key)."""

    id: str
    url: str | None = field(default=None, repr=False)
    org_id: str | None = None
    label: str | None = None
    created_at: datetime | None = None
    expires_at: datetime | None = None
    viewed_at: datetime | None = None
    state: str = "pending"

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> SecureLink:
        return cls(
            id=str(data["id"]),
            url=data.get("url"),
            org_id=data.get("org_id"),
            label=data.get("label"),
            created_at=parse_ts(data.get("created_at")),
            expires_at=parse_ts(data.get("expires_at")),
            viewed_at=parse_ts(data.get("viewed_at")),
            state=str(data.get("state", "pending")),
        )


@dataclass(frozen=True, slots=True)
class Email:
    value: str
    type: str | None = None
    primary: bool = False

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Email:
        return cls(
            value=str(data.get("value", "")), type=data.get("type"), primary=bool(data.get("primary", False))
        )


@dataclass(frozen=True, slots=True)
class PlatformUser:
    id: str
    user_name: str
    display_name: str | None
    primary_email: str | None
    emails: tuple[Email, ...]
    active: bool
    created_via: str
    version: int
    scim_id: str | None = None
    given_name: str | None = None
    family_name: str | None = None
    external_id: str | None = None
    idp_link: str | None = None
    role: str | None = None
    work_area_ids: tuple[str, ...] = ()
    last_login_at: datetime | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    merged_into_id: str | None = None

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> PlatformUser:
        return cls(
            id=str(data["id"]),
            user_name=str(data.get("user_name", "")),
            display_name=data.get("display_name"),
            primary_email=data.get("primary_email"),
            emails=tuple(Email.from_api(e) for e in data.get("emails") or ()),
            active=bool(data.get("active", False)),
            created_via=str(data.get("created_via", "")),
            version=int(data.get("version", 0) or 0),
            scim_id=data.get("scim_id"),
            given_name=data.get("given_name"),
            family_name=data.get("family_name"),
            external_id=data.get("external_id"),
            idp_link=data.get("idp_link"),
            role=data.get("role"),
            work_area_ids=_strs(data.get("work_area_ids")),
            last_login_at=parse_ts(data.get("last_login_at")),
            created_at=parse_ts(data.get("created_at")),
            updated_at=parse_ts(data.get("updated_at")),
            merged_into_id=data.get("merged_into_id"),
        )


@dataclass(frozen=True, slots=True)
class LogEvent:
    """One provisioning-log event (a SCIM request Entra made)."""

    id: int
    ts: datetime | None
    method: str
    path: str
    status: int
    outcome: str
    op: str | None = None
    op_summary: str | None = None
    latency_ms: float | None = None
    user_id: str | None = None
    scim_id: str | None = None
    user_name: str | None = None
    external_id: str | None = None
    error_code: str | None = None
    error_detail: str | None = None

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> LogEvent:
        return cls(
            id=int(data["id"]),
            ts=parse_ts(data.get("ts")),
            method=str(data.get("method", "")),
            path=str(data.get("path", "")),
            status=int(data.get("status", 0) or 0),
            outcome=str(data.get("outcome", "")),
            op=data.get("op"),
            op_summary=data.get("op_summary"),
            latency_ms=data.get("latency_ms"),
            user_id=data.get("user_id"),
            scim_id=data.get("scim_id"),
            user_name=data.get("user_name"),
            external_id=data.get("external_id"),
            error_code=data.get("error_code"),
            error_detail=data.get("error_detail"),
        )


@dataclass(frozen=True, slots=True)
class PlatformAuditEntry:
    """An entry of the *platform's* audit log (``GET /orgs/{id}/audit``)."""

    id: str
    ts: datetime | None
    actor: str | None
    action: str
    org_id: str | None = None
    target: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    outcome: str | None = None

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> PlatformAuditEntry:
        return cls(
            id=str(data["id"]),
            ts=parse_ts(data.get("ts") or data.get("created_at")),
            actor=data.get("actor"),
            action=str(data.get("action", "")),
            org_id=data.get("org_id"),
            target=data.get("target"),
            params=dict(data.get("params") or {}),
            outcome=data.get("outcome"),
        )


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One row of the console's *local* append-only audit trail."""

    id: int
    ts: datetime
    actor: str
    action: str
    outcome: str
    profile_id: str | None = None
    org_id: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """Filters of ``AuditTrail.query``; every field is optional and they combine with AND."""

    since: datetime | None = None
    until: datetime | None = None
    org_id: str | None = None
    profile_id: str | None = None
    action: str | None = None
    outcome: str | None = None
    text: str | None = None
    limit: int = 200
    offset: int = 0

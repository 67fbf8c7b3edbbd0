"""Request and response models of the admin API (they are what the OpenAPI document shows)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from console.sandbox.db import MAX_INT64


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Health(BaseModel):
    status: str
    version: str
    instance_id: str = Field(description="This platform's stable identity (one per database); the console "
                             "binds every SCIM token it holds to it.")


class ScimStatus(BaseModel):
    enabled: bool
    active_tokens: int
    scim_base_url: str


class TemplateStatus(BaseModel):
    status: Literal["ok", "missing", "no_work_areas"]
    template_id: str | None
    template_name: str | None


class UserCounts(BaseModel):
    total: int
    active: int
    inactive: int
    scim: int
    manual: int
    invite: int


class OrgSummary(BaseModel):
    id: str
    name: str
    domains: list[str]
    created_at: datetime
    scim: ScimStatus
    template: TemplateStatus
    user_counts: UserCounts


class OrgDetail(OrgSummary):
    work_area_count: int
    group_count: int


class OrgPage(BaseModel):
    items: list[OrgSummary]
    next_cursor: str | None


class WorkAreaIn(_Model):
    name: str = Field(min_length=1, max_length=200)


class WorkAreaOut(BaseModel):
    id: str
    name: str
    created_at: datetime


class WorkAreaPage(BaseModel):
    items: list[WorkAreaOut]
    next_cursor: str | None


class TemplateIn(_Model):
    name: str = Field(min_length=1, max_length=200)
    applies_to_all: bool = False
    role: str = Field(default="member", min_length=1, max_length=64)
    work_area_ids: list[str] = Field(default_factory=list, max_length=500)


class TemplatePatch(_Model):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    applies_to_all: bool | None = None
    role: str | None = Field(default=None, min_length=1, max_length=64)
    work_area_ids: list[str] | None = Field(default=None, max_length=500)


class TemplateOut(BaseModel):
    id: str
    name: str
    applies_to_all: bool
    role: str
    work_area_ids: list[str]
    created_at: datetime
    updated_at: datetime


class TemplatePage(BaseModel):
    items: list[TemplateOut]
    next_cursor: str | None


class TokenInfo(BaseModel):
    id: str
    last_four: str
    fingerprint: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None
    active: bool


class ScimEnableIn(_Model):
    token_lifetime_days: int | None = Field(default=None, ge=1, le=3650)


class ScimEnabled(BaseModel):
    scim_base_url: str
    token: str
    token_info: TokenInfo


class NewToken(BaseModel):
    token: str
    token_info: TokenInfo


class ScimState(BaseModel):
    enabled: bool
    enabled_at: datetime | None
    scim_base_url: str
    tokens: list[TokenInfo]


class SecureLinkIn(_Model):
    secret: str = Field(min_length=1, max_length=10_000)
    org_id: str | None = Field(default=None, max_length=64)
    label: str | None = Field(default=None, max_length=200)
    expires_in_hours: int = Field(default=72, ge=1, le=720)


class SecureLinkCreated(BaseModel):
    id: str
    url: str
    expires_at: datetime


class SecureLinkInfo(BaseModel):
    id: str
    org_id: str | None
    label: str | None
    created_at: datetime
    expires_at: datetime
    viewed_at: datetime | None
    state: Literal["pending", "viewed", "expired", "revoked"]


class Email(BaseModel):
    value: str
    type: str | None
    primary: bool


class EmailIn(_Model):
    value: str = Field(min_length=1, max_length=320)
    type: str | None = Field(default="work", max_length=32)
    primary: bool = False


class UserOut(BaseModel):
    id: str
    scim_id: str
    user_name: str
    display_name: str | None
    given_name: str | None
    family_name: str | None
    emails: list[Email]
    primary_email: str | None
    active: bool
    external_id: str | None
    idp_link: str | None
    created_via: str
    role: str | None
    work_area_ids: list[str]
    last_login_at: datetime | None
    created_at: datetime
    updated_at: datetime
    merged_into_id: str | None
    version: int


class UserPage(BaseModel):
    items: list[UserOut]
    next_cursor: str | None


class UserIn(_Model):
    user_name: str = Field(min_length=1, max_length=320)
    emails: list[EmailIn | str] = Field(default_factory=list, max_length=20)
    display_name: str | None = Field(default=None, max_length=320)
    given_name: str | None = Field(default=None, max_length=200)
    family_name: str | None = Field(default=None, max_length=200)
    role: str | None = Field(default=None, max_length=64)
    created_via: Literal["manual", "invite"] = "manual"


class VersionedIn(_Model):
    expected_version: int | None = Field(default=None, ge=0, le=MAX_INT64)


class PrimaryEmailIn(VersionedIn):
    email: str = Field(min_length=1, max_length=320)


class UserNameIn(VersionedIn):
    user_name: str = Field(min_length=1, max_length=320)
    make_primary_email: bool = True


class ReleaseEmailIn(VersionedIn):
    email: str | None = Field(default=None, max_length=320)


class MergeIn(VersionedIn):
    into_user_id: str = Field(min_length=1, max_length=64)
    expected_target_version: int | None = Field(default=None, ge=0, le=MAX_INT64)


class LogEvent(BaseModel):
    id: int
    ts: datetime
    method: str
    path: str
    op: str
    op_summary: str | None
    status: int
    outcome: str
    latency_ms: float
    user_id: str | None
    scim_id: str | None
    user_name: str | None
    external_id: str | None
    error_code: str | None
    error_detail: str | None


class LogPage(BaseModel):
    items: list[LogEvent]
    next_cursor: str | None


class AuditOut(BaseModel):
    id: int
    ts: datetime
    actor: str
    org_id: str | None
    action: str
    target: str | None
    params: dict[str, object]
    outcome: str


class AuditPage(BaseModel):
    items: list[AuditOut]
    next_cursor: str | None

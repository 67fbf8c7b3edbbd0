"""Platform reads and writes behind the readiness checks and the Templates view (issue 4 §1).

Worker-side helpers (no Qt): the org page, the wizard's readiness page and the Templates dialog
call these from TaskRunner workers, so every page computes readiness from the same complete data
(all pages of templates, work areas and users — not just the first page).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from console.core.errors import UserFacingError
from console.core.models import Template, WorkArea
from console.core.readiness import Check, readiness
from console.services import api_errors as E  # noqa: N812

DEFAULT_TEMPLATE_NAME = "All users"


@dataclass(frozen=True, slots=True)
class TemplatesState:
    """What the Templates view shows: every template and every work area of one org."""

    org_id: str
    templates: tuple[Template, ...]
    work_areas: tuple[WorkArea, ...]

    def area_names(self, ids: Sequence[str]) -> list[str]:
        names = {w.id: w.name for w in self.work_areas}
        return [names.get(i, f"(missing {i})") for i in ids]


def load_readiness(client: Any, org_id: str, *,
                   progress: Callable[[int, int, str], None] | None = None) -> list[Check]:
    """All readiness checks of ``org_id`` (templates, work areas, then every user)."""
    templates = list(client.iter_templates(org_id))
    work_areas = list(client.iter_work_areas(org_id))
    users = []
    for n, user in enumerate(client.iter_users(org_id), start=1):
        users.append(user)
        if progress is not None and n % 500 == 0:
            progress(n, 0, f"Scanned {n:,} users")
    return readiness(templates, work_areas, users)


def load_templates(client: Any, org_id: str) -> TemplatesState:
    return TemplatesState(org_id, tuple(client.iter_templates(org_id)), tuple(client.iter_work_areas(org_id)))


def save_template(client: Any, org_id: str, *, template_id: str | None, name: str, applies_to_all: bool,
                  role: str, work_area_ids: Sequence[str]) -> Template:
    """Create (``template_id`` None) or change a template; the platform audits the change."""
    name, role = name.strip(), role.strip() or "member"
    if not name:
        raise UserFacingError("A template needs a name.")
    if template_id is None:
        return client.create_template(org_id, name, applies_to_all=applies_to_all,
                                      work_area_ids=list(work_area_ids), role=role)
    return client.update_template(org_id, template_id, name=name, applies_to_all=applies_to_all, role=role,
                                  work_area_ids=list(work_area_ids))


def create_default_template(client: Any, org_id: str) -> Template:
    """The one-click fix: an "All users" template granting the org's first work area."""
    areas = list(client.iter_work_areas(org_id))
    if not areas:
        raise UserFacingError("This organisation has no work area to grant.",
                              hint="Create a work area on the platform first.")
    return client.create_template(org_id, DEFAULT_TEMPLATE_NAME, applies_to_all=True,
                                  work_area_ids=[areas[0].id])


@dataclass(frozen=True, slots=True)
class AlignResult:
    """One account renamed (or not) so Entra's default ``userName eq <UPN>`` query finds it."""

    upn: str
    user_id: str
    previous: str
    outcome: str        # "done" | "conflict" (changed since the prediction) | "refused"
    detail: str = ""


def align_user_names(client: Any, org_id: str, predictions: Sequence[Any], audit: Any, *, operator: str,
                     profile_id: str | None = None,
                     progress: Callable[[int, int, str], None] | None = None) -> list[AlignResult]:
    """For each fixable duplicate, set the existing account's userName to the Entra UPN (its emails
    stay as they are), expecting the version the prediction read; audited per account."""
    todo = [p for p in predictions if p.fixable]
    out: list[AlignResult] = []
    for n, p in enumerate(todo, start=1):
        try:
            client.set_user_name(org_id, p.platform_user_id, p.user.upn, make_primary_email=False,
                                 expected_version=p.platform_user_version)
            result = AlignResult(p.user.upn, p.platform_user_id, p.platform_user_name or "", "done")
        except E.ConflictError as exc:
            kind = "conflict" if exc.code == "version_conflict" else "refused"
            why = ("the account changed since the prediction; predict again" if kind == "conflict"
                   else str(exc))
            result = AlignResult(p.user.upn, p.platform_user_id, p.platform_user_name or "", kind, why)
        except (E.BadRequestError, E.NotFoundError) as exc:
            result = AlignResult(p.user.upn, p.platform_user_id, p.platform_user_name or "", "refused",
                                 str(exc))
        audit.record("preflight.align_user_name", org_id=org_id, profile_id=profile_id, actor=operator,
                     outcome="ok" if result.outcome == "done" else "error", detail=result.detail or None,
                     params={"user_id": result.user_id, "from": result.previous, "to": result.upn})
        out.append(result)
        if progress is not None:
            progress(n, len(todo), f"{result.previous} → {result.upn}")
    return out

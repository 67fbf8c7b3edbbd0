"""UI test helpers: a real TaskRunner (no progress delay), recorded error dialogs, simple fakes."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from console.core.models import OrgSummary, Page
from console.ui import errors
from console.ui.tasks import TaskRunner


@pytest.fixture
def runner(qapp: Any) -> Iterator[TaskRunner]:
    """The real background-op helper; shut down (workers joined) after each test."""
    r = TaskRunner(show_delay_ms=0)
    yield r
    assert r.shutdown(timeout=10), "a worker thread was still running at teardown"
    r.deleteLater()


@pytest.fixture
def shown_errors(monkeypatch: pytest.MonkeyPatch) -> list[BaseException]:
    """Records what ``errors.show_error`` would have shown, instead of opening dialogs."""
    shown: list[BaseException] = []
    monkeypatch.setattr(errors, "show_error", lambda parent, exc, **kw: shown.append(exc))
    return shown


def org(org_id: str, name: str | None = None, *, scim: bool = False, template: str = "ok",
        users: int = 3, domains: tuple[str, ...] = ()) -> OrgSummary:
    return OrgSummary.from_api({
        "id": org_id, "name": name or org_id.capitalize(), "domains": list(domains or (f"{org_id}.com",)),
        "created_at": "2026-01-01T00:00:00Z",
        "scim": {"enabled": scim, "active_tokens": 1 if scim else 0, "scim_base_url": f"http://x/{org_id}"},
        "template": {"status": template, "template_id": None, "template_name": None},
        "user_counts": {"total": users, "active": users, "inactive": 0, "scim": 0, "manual": users,
                        "invite": 0},
    })


@dataclass
class FakeAdminApi:
    """Stands in for AdminApiClient in unit tests of widgets (rendering, edge cases)."""

    orgs: list[OrgSummary] = field(default_factory=list)
    fail_with: BaseException | None = None
    gate: threading.Event | None = None  # when set, list_orgs waits for it (to test latest-wins)
    calls: list[str | None] = field(default_factory=list)

    def list_orgs(self, q: str | None = None, limit: int = 50, cursor: str | None = None) -> Page[OrgSummary]:
        self.calls.append(q)
        if self.gate is not None and q == "slow":
            self.gate.wait(10)
        if self.fail_with is not None:
            raise self.fail_with
        hits = [o for o in self.orgs if not q or q.lower() in (o.name + o.id + " ".join(o.domains)).lower()]
        start = int(cursor or 0)
        chunk = hits[start:start + limit]
        nxt = str(start + limit) if start + limit < len(hits) else None
        return Page(tuple(chunk), nxt)

    def get_org(self, org_id: str) -> OrgSummary:
        if self.fail_with is not None:
            raise self.fail_with
        return next(o for o in self.orgs if o.id == org_id)

    def get_scim(self, org_id: str) -> Any:
        from console.core.models import ScimSettings

        return ScimSettings(enabled=False, enabled_at=None, scim_base_url=None, tokens=())

    def health(self) -> dict[str, str]:
        return {"status": "ok"}

    def close(self) -> None:
        pass

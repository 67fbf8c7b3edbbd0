"""Readiness checks from plain data (seed steps 2–4)."""

from __future__ import annotations

from console.core.models import Email, PlatformUser, Template, WorkArea
from console.core.readiness import AMBER, GREEN, RED, blocking, fold, overall, readiness, template_check

WAS = [WorkArea("wa1", "Floor"), WorkArea("wa2", "Office")]


def tpl(tid: str, *, all_users: bool, was: tuple[str, ...]) -> Template:
    return Template(tid, tid.title(), all_users, "member", was)


def user(uid: str, name: str, email: str | None = None, *, active: bool = True, ext: str | None = None,
         idp: str | None = None, extra: tuple[str, ...] = ()) -> PlatformUser:
    emails = tuple(Email(e, "work", i == 0) for i, e in enumerate(((email,) if email else ()) + extra))
    return PlatformUser(uid, name, None, email, emails, active, "manual", 1, external_id=ext, idp_link=idp)


def test_template_green_when_all_users_template_grants_existing_work_area() -> None:
    templates = [tpl("eng", all_users=False, was=("wa1",)), tpl("all", all_users=True, was=("wa2",))]
    c = template_check(templates, WAS)
    assert c.level == GREEN
    assert c.fix_action is None
    assert "“All”" in c.summary
    assert "1 work area" in c.summary


def test_template_red_when_missing_or_without_work_areas() -> None:
    missing = template_check([tpl("eng", all_users=False, was=("wa1",))], WAS)
    assert (missing.level, missing.fix_action) == (RED, "create_template")
    empty = template_check([tpl("all", all_users=True, was=())], WAS)
    assert (empty.level, empty.fix_action) == (RED, "edit_template")
    dangling = template_check([tpl("all", all_users=True, was=("wa_deleted",))], WAS)
    assert dangling.level == RED


def test_clean_users_are_all_green() -> None:
    users = [user("u1", "a@x.com", "a@x.com"), user("u2", "b@x.com", "b@x.com")]
    checks = readiness([tpl("all", all_users=True, was=("wa1",))], WAS, users)
    assert [c.level for c in checks] == [GREEN] * 5
    assert overall(checks) == GREEN
    assert blocking(checks) == []


def test_email_scan_finds_each_discrepancy_kind() -> None:
    users = [
        user("u1", "Ann@X.com", "Ann@X.com"),
        user("u2", "ann@x.com", "ann@x.com"),                   # case-only duplicate of u1
        user("u3", "bob", "bob@x.com"),                          # userName ≠ primary email
        user("u4", "cy@x.com", "cy@x.com", ext="obj-1", idp="entra"),  # already linked
        user("u5", "nomail"),                                    # no email at all
        user("u6", "old@x.com", "ANN@x.com", active=False),      # inactive: not a live duplicate
    ]
    by_key = {c.key: c for c in readiness([], WAS, users)}
    assert by_key["template"].level == RED
    assert by_key["duplicate_emails"].level == AMBER
    assert "1 email" in by_key["duplicate_emails"].summary
    assert by_key["duplicate_emails"].examples == ("Ann@X.com, ann@x.com",)
    assert by_key["username_mismatch"].examples == ("bob / bob@x.com",)
    assert by_key["idp_links"].examples == ("cy@x.com",)
    assert by_key["no_email"].examples == ("nomail",)
    assert all(c.fix_action == "open_reconciliation" for k, c in by_key.items() if k != "template")
    assert overall(by_key.values()) == RED


def test_duplicates_count_secondary_emails_and_unicode_normalisation() -> None:
    composed, decomposed = "j\u00f6rg@x.com", "jo\u0308rg@x.com"
    users = [user("u1", composed, composed), user("u2", "j2@x.com", "j2@x.com", extra=(decomposed.upper(),))]
    assert fold(composed) == fold(decomposed.upper())
    checks = {c.key: c for c in readiness([], WAS, users)}
    assert checks["duplicate_emails"].level == AMBER


def test_examples_are_capped() -> None:
    users = [user(f"u{i}", f"n{i}", f"e{i}@x.com") for i in range(20)]
    checks = {c.key: c for c in readiness([], WAS, users)}
    assert "20 account(s)" in checks["username_mismatch"].summary
    assert len(checks["username_mismatch"].examples) == 5


def test_first_authenticated_request_ignores_refused_credentials() -> None:
    from console.core.models import LogEvent
    from console.core.onboarding import first_authenticated

    events = [LogEvent(i, None, "GET", "/Users", status, "x") for i, status in ((5, 200), (2, 401), (3, 409),
                                                                               (1, 403))]
    assert first_authenticated(events).id == 3  # a 409 was authenticated: the customer is connected
    assert first_authenticated(events[1:2]) is None
    assert first_authenticated([]) is None

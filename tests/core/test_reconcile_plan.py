"""The pure reconciliation model: keys, survivor choice, the steps per class, plan invariants (hypothesis),
and "did this step already happen?" (the engine's SQL is checked against the same rules in
tests/services/test_reconcile_engine.py)."""

from __future__ import annotations

import dataclasses

from hypothesis import given, settings
from hypothesis import strategies as st

from console.core.reconcile import findings as F  # noqa: N812
from console.core.reconcile import texts
from console.core.reconcile.findings import Account, EntraRecord, Finding, FindingClass
from console.core.reconcile.plan import (
    ACTIONS,
    ADVICE,
    CLEAR_IDP_LINK,
    ENTRA_ITEM,
    MERGE,
    RELEASE_EMAIL,
    SET_PRIMARY_EMAIL,
    PlannedStep,
    build_plan,
    effect_present,
    steps_for,
)
from console.core.reconcile.rules import identity_key, is_placeholder, pick_survivor, strongest_key


def acc(uid: str, user_name: str, *emails: str, **kw) -> Account:
    return Account(uid, user_name, tuple(emails), **kw)


MANUAL = acc("u1", "jane.doe@corp.com", "jane.doe@corp.com", work_areas=2,
             last_login_at="2026-01-02T00:00:00")
TWIN = acc("u2", "jdoe@corp.onmicrosoft.com", "jane.doe@corp.com", created_via="scim", external_id="o1",
           idp_link="o1", version=4)


def finding(cls: FindingClass, *accounts: Account, value: str = "jane.doe@corp.com", detail: str = "",
            entra: EntraRecord | None = None, absent: frozenset[str] = frozenset()) -> Finding:
    return Finding(id=f"f-{cls}-{'-'.join(a.id for a in accounts)}", cls=cls, key="email", value=value,
                   accounts=accounts, detail=detail, entra=entra, absent_objects=absent)


def test_keys_are_nfc_casefold_and_placeholders_are_no_identity() -> None:
    assert identity_key(" Straße@Corp.COM ") == identity_key("STRASSE@corp.com") == "strasse@corp.com"
    assert identity_key("e\u0301@x.com") == identity_key("\u00e9@x.com")
    assert is_placeholder("released+ab12@corp.com.INVALID")
    assert not is_placeholder("jane@corp.com")
    assert acc("u", "merged+1@corp.com.invalid", "released+2@x.invalid", "Real@X.com").keys == {"real@x.com"}
    assert strongest_key(["email", "userName", "externalId"]) == "externalId"
    assert strongest_key(["email", "idp_link"]) == "idp_link"


def test_survivor_is_the_active_account_with_history() -> None:
    old_manual = acc("u9", "a@x.com", "a@x.com", created_at="2020-01-01", work_areas=1)
    busy = acc("u8", "b@x.com", "b@x.com", work_areas=3)
    scim = acc("u1", "c@x.com", "c@x.com", created_via="scim", work_areas=9)
    inactive = acc("u0", "d@x.com", "d@x.com", active=False, work_areas=9)
    assert pick_survivor([scim, old_manual, busy, inactive]) == busy  # manual beats SCIM, more access wins
    assert pick_survivor([scim, inactive]) == scim
    assert pick_survivor([inactive]) is None  # the platform merges only into an active account
    recent = dataclasses.replace(old_manual, id="u7", last_login_at="2026-05-01T00:00:00")
    assert pick_survivor([old_manual, recent]) == recent


def test_manual_twin_merges_the_twin_into_the_account_with_history() -> None:
    steps = steps_for(finding(FindingClass.MANUAL_TWIN, MANUAL, TWIN))
    assert [(s.action, s.user_id, s.into_user_id, s.expected_version, s.expected_target_version)
            for s in steps] == [(MERGE, "u2", "u1", 4, 1)]
    assert "SCIM id Entra cached moves to the kept account" in steps[0].text


def test_case_only_between_unlinked_accounts_merges_the_one_without_history() -> None:
    a = acc("u1", "mlee", "Mark.Lee@Corp.com", work_areas=1)
    b = acc("u2", "mark.lee@corp.com", "mark.lee@corp.com")
    steps = steps_for(finding(FindingClass.CASE_ONLY, a, b, value="Mark.Lee@Corp.com"))
    assert [(s.action, s.user_id, s.into_user_id) for s in steps] == [(MERGE, "u2", "u1")]


def test_twin_without_an_active_survivor_is_advice_only() -> None:
    steps = steps_for(finding(FindingClass.MANUAL_TWIN, dataclasses.replace(MANUAL, active=False), TWIN))
    assert [s.action for s in steps] == [ADVICE]
    assert steps[0].advice == texts.REACTIVATE


def test_scim_twins_keep_the_active_one() -> None:
    old = acc("u1", "tom@x.com", "tom@x.com", created_via="scim", external_id="o", active=False, work_areas=5)
    new = acc("u2", "thomas@x.com", "thomas@x.com", created_via="scim", external_id="o")
    steps = steps_for(finding(FindingClass.SCIM_TWINS, old, new, value="o"))
    assert [(s.action, s.user_id, s.into_user_id) for s in steps] == [(MERGE, "u1", "u2")]
    assert "retired" in steps[0].text


def test_collision_releases_the_address_from_the_account_entra_does_not_give_it_to() -> None:
    a = acc("u1", "ann@x.com", "shared@x.com", created_via="scim", external_id="oa", active=False)
    b = acc("u2", "bob@x.com", "shared@x.com", created_via="scim", external_id="ob")
    entra = EntraRecord("ob", "bob@x.com", "shared@x.com")
    steps = steps_for(finding(FindingClass.EMAIL_COLLISION, a, b, value="shared@x.com", detail=F.ENTRA_WANTS,
                              entra=entra))
    assert [(s.action, s.user_id, s.email) for s in steps] == [(RELEASE_EMAIL, "u1", "shared@x.com")]
    # the loser's Entra user is gone from the export: its link is stale and is cleared too
    gone = steps_for(finding(FindingClass.EMAIL_COLLISION, a, b, value="shared@x.com", detail=F.ENTRA_WANTS,
                             entra=entra, absent=frozenset({"oa"})))
    assert [(s.action, s.user_id) for s in gone] == [(RELEASE_EMAIL, "u1"), (CLEAR_IDP_LINK, "u1")]
    # without the export only a deactivated holder can be told to give the address up…
    plain = steps_for(finding(FindingClass.EMAIL_COLLISION, a, b, value="Shared@X.com",
                              detail=F.TWO_IDP_OBJECTS))
    assert [(s.action, s.user_id, s.email) for s in plain] == [(RELEASE_EMAIL, "u1", "shared@x.com")]
    # …and when both are active only a person can decide
    both = steps_for(finding(FindingClass.EMAIL_COLLISION, dataclasses.replace(a, active=True), b,
                             value="shared@x.com", detail=F.TWO_IDP_OBJECTS))
    assert [s.advice for s in both] == [texts.DECIDE_OWNER]


def test_log_conflict_releases_the_squatted_address() -> None:
    squatter = acc("u5", "sam@x.com", "sam@x.com", created_via="invite")
    steps = steps_for(finding(FindingClass.EMAIL_COLLISION, squatter, value="sam@x.com",
                              detail=F.LOG_CONFLICT))
    assert [(s.action, s.user_id, s.email) for s in steps] == [(RELEASE_EMAIL, "u5", "sam@x.com")]


def test_stale_and_no_email_steps() -> None:
    a = acc("u1", "aprice@x.onmicrosoft.com", "ada.price@x.com", created_via="scim", external_id="o1")
    removed = steps_for(finding(FindingClass.STALE_EMAIL, a, detail=F.MAIL_REMOVED,
                                entra=EntraRecord("o1", "aprice@x.onmicrosoft.com", "")))
    assert [(s.action, s.email) for s in removed] == [(RELEASE_EMAIL, "ada.price@x.com")]
    changed = steps_for(finding(FindingClass.STALE_EMAIL, a, detail=F.MAIL_CHANGED,
                                entra=EntraRecord("o1", "aprice@x.onmicrosoft.com", "ada@y.com")))
    assert [(s.action, s.email) for s in changed] == [(SET_PRIMARY_EMAIL, "ada@y.com")]
    bare = acc("u2", "kiosk@x.com", created_via="scim", external_id="o2")
    assert steps_for(finding(FindingClass.NO_EMAIL, bare)) == []
    with_mail = steps_for(finding(FindingClass.NO_EMAIL, bare,
                                  entra=EntraRecord("o2", "kiosk@x.com", "k@x.com")))
    assert [(s.action, s.email) for s in with_mail] == [(SET_PRIMARY_EMAIL, "k@x.com")]
    assert steps_for(finding(FindingClass.USERNAME_NOT_EMAIL, a)) == []


def test_plan_orders_items_adds_entra_advice_and_skips_retired_accounts() -> None:
    other = acc("u3", "x@corp.com", "jane.doe@corp.com")
    twin_again = finding(FindingClass.CASE_ONLY, other, TWIN)  # TWIN is merged away by the (i) item
    hygiene = finding(FindingClass.USERNAME_NOT_EMAIL, TWIN)
    plan = build_plan("corp", [hygiene, twin_again, finding(FindingClass.MANUAL_TWIN, MANUAL, TWIN)])
    assert [s.item for s in plan.steps if s.calls_platform] == [twin_again.id]  # (iv) ranks before (i)
    skipped = dict(plan.skipped)
    assert "merged away" in skipped[f"f-{FindingClass.MANUAL_TWIN}-u1-u2"]
    assert skipped[hygiene.id].startswith("no platform change")
    assert [s.advice for s in plan.steps if s.item == ENTRA_ITEM] == [texts.MATCHING_PRECEDENCE]
    again = build_plan("corp", [twin_again, hygiene, finding(FindingClass.MANUAL_TWIN, MANUAL, TWIN)])
    assert plan.id == again.id  # the order findings arrive in does not matter
    assert plan.id != build_plan("other-org", [twin_again]).id
    old_twin = dataclasses.replace(TWIN, id="u7", active=False)
    scim = build_plan("corp", [finding(FindingClass.SCIM_TWINS, old_twin, TWIN, value="o1")])
    assert texts.RESTART_FULL in [s.advice for s in scim.steps]  # the survivor was linked: twin id retired


def test_effect_present_reads_the_current_state() -> None:
    merge = PlannedStep("f", MERGE, "m", user_id="u2", into_user_id="u1")
    assert not effect_present(merge, {"u2": TWIN})
    assert effect_present(merge, {"u2": dataclasses.replace(TWIN, merged_into_id="u1")})
    assert not effect_present(merge, {"u2": dataclasses.replace(TWIN, merged_into_id="u9")})
    release = PlannedStep("f", RELEASE_EMAIL, "r", user_id="u2", email="Jane.Doe@corp.com")
    assert not effect_present(release, {"u2": TWIN})
    assert effect_present(release, {"u2": dataclasses.replace(TWIN, emails=("released+1@corp.com.invalid",))})
    primary = PlannedStep("f", SET_PRIMARY_EMAIL, "p", user_id="u2", email="JDOE@corp.onmicrosoft.com")
    assert not effect_present(primary, {"u2": TWIN})
    assert effect_present(primary, {"u2": dataclasses.replace(TWIN, emails=("jdoe@corp.onmicrosoft.com",))})
    clear = PlannedStep("f", CLEAR_IDP_LINK, "c", user_id="u2")
    assert not effect_present(clear, {"u2": TWIN})
    assert effect_present(clear, {"u2": dataclasses.replace(TWIN, external_id=None, idp_link=None)})
    assert not effect_present(clear, {})
    assert not effect_present(PlannedStep("f", ADVICE, "a"), {"u2": TWIN})


# ---- invariants over random findings
emails = st.sampled_from(["a@x.com", "A@X.com", "b@x.com", "c@y.org", "released+1@x.com.invalid"])
accounts = st.builds(
    Account, id=st.sampled_from([f"u{i}" for i in range(8)]), user_name=emails,
    emails=st.lists(emails, max_size=2).map(tuple), active=st.booleans(),
    created_via=st.sampled_from(["manual", "invite", "scim"]), version=st.integers(1, 9),
    external_id=st.sampled_from([None, "o1", "o2"]), work_areas=st.integers(0, 3))
findings = st.builds(
    lambda cls, accs, value, detail, entra: Finding(
        id=f"{cls}-{'-'.join(sorted({a.id for a in accs}))}", cls=cls, key="email", value=value,
        accounts=tuple({a.id: a for a in accs}.values()), detail=detail, entra=entra),
    st.sampled_from(list(FindingClass)), st.lists(accounts, min_size=1, max_size=3), emails,
    st.sampled_from(["", F.ENTRA_WANTS, F.LOG_CONFLICT, F.TWO_IDP_OBJECTS, F.MAIL_REMOVED, F.MAIL_CHANGED]),
    st.one_of(st.none(), st.builds(EntraRecord, object_id=st.sampled_from(["o1", "o2"]), upn=emails,
                                   mail=st.sampled_from(["", "a@x.com", "new@x.com"]))))


@settings(max_examples=300, deadline=None)
@given(st.lists(findings, max_size=6))
def test_plans_only_touch_their_findings_accounts_never_delete_and_merge_each_account_once(fs) -> None:
    plan = build_plan("org", fs)
    by_item = {f.id: f for f in fs}
    retired: set[str] = set()
    for s in plan.steps:
        assert s.action in ACTIONS
        assert "delete" not in s.action
        if s.item == ENTRA_ITEM:
            assert s.action == ADVICE
            continue
        owners = {a.id for a in by_item[s.item].accounts}
        assert set(s.user_ids()) <= owners  # never a user outside the finding (so outside the org)
        if s.calls_platform:
            assert s.user_id
            assert s.expected_version is not None
            assert not set(s.user_ids()) & retired  # nothing touches an account merged away earlier
        if s.action == MERGE:
            assert s.user_id != s.into_user_id
            retired.add(s.user_id)

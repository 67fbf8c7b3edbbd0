"""Likely twins without an Entra export (issue 14): the confidence of a name-matched manual + SCIM pair
follows its evidence, namesakes are never certain, an export refutes, and the table/exports/filter
carry the confidence."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from console.core.reconcile.findings import Account, FindingClass
from console.services.reconcile import ReconcileEngine, export_findings
from console.services.reconcile.sources import write_snapshot

OLD, NEW, LATER = "2024-03-01T12:00:00+00:00", "2026-01-05T12:00:00+00:00", "2026-02-01T09:00:00+00:00"


def manual(uid: str, address: str, name: str, **kw: object) -> Account:
    return Account(uid, address, (address,), display_name=name, created_at=kw.pop("created_at", OLD), **kw)


def scim(uid: str, user_name: str, name: str, **kw: object) -> Account:
    return Account(uid, user_name, (user_name,), created_via="scim", external_id=f"o-{uid}",
                   idp_link=f"o-{uid}", display_name=name, created_at=kw.pop("created_at", NEW), **kw)


def analyse(tmp_path: Path, accounts: list[Account], export: list[tuple[str, ...]] | None = None
            ) -> ReconcileEngine:
    path = tmp_path / "platform.csv"
    write_snapshot(path, accounts)
    engine = ReconcileEngine("t", workdir=tmp_path)
    engine.load_platform_snapshot(path)
    if export is not None:
        with open(tmp_path / "entra.csv", "w", encoding="utf-8-sig", newline="") as fh:
            csv.writer(fh, lineterminator="\r\n").writerows(
                [("userPrincipalName", "displayName", "mail", "objectId", "accountEnabled"), *export])
        engine.load_entra_export(tmp_path / "entra.csv")
    engine.analyze()
    return engine


def twins(engine: ReconcileEngine) -> dict[frozenset[str], str]:
    return {frozenset(a.id for a in f.accounts): f.confidence
            for f in engine.findings(cls="manual_twin") if f.detail == "name_match"}


def test_confidence_follows_the_evidence(tmp_path: Path) -> None:
    accounts = [
        manual("m1", "jane.doe@corp.com", "Jane Doe"), scim("s1", "jdoe@corp.onmicrosoft.com", "JANE  DOE"),
        manual("m2", "lucia.gomez@corp.com", "Lucia Gomez"), scim("s2", "lgomez@corp.com", "Lucía Gómez"),
        # local parts do not match: one-to-one and older → likely
        manual("m3", "rp@corp.com", "Ravi Patel"), scim("s3", "ravi.p.x@corp.com", "Ravi Patel"),
        # the manual account is younger than the SCIM one, local part matches, one-to-one → likely
        manual("m4", "ken.wu@corp.com", "Ken Wu", created_at=LATER), scim("s4", "kwu@corp.com", "Ken Wu"),
        # both accounts used since the SCIM one appeared: two people → possible
        manual("m5", "ann.lee@corp.com", "Ann Lee", last_login_at=LATER),
        scim("s5", "alee@corp.com", "Ann Lee", last_login_at=LATER),
        # a manual account only (no SCIM account of that name) and a linked manual one: nothing
        manual("m6", "solo@corp.com", "Solo Person"),
        Account("m7", "linked@corp.com", ("linked@corp.com",), display_name="Jane Doe", external_id="o-x"),
    ]
    with analyse(tmp_path, accounts) as engine:
        assert twins(engine) == {
            frozenset({"m1", "s1"}): "certain", frozenset({"m2", "s2"}): "certain",
            frozenset({"m3", "s3"}): "likely", frozenset({"m4", "s4"}): "likely",
            frozenset({"m5", "s5"}): "possible",
        }
        lucia = next(f for f in engine.findings(cls="manual_twin") if f.value == "Lucia Gomez")
        assert lucia.summary == ("lucia.gomez@corp.com (manual) and lgomez@corp.com (SCIM) look like one "
                                 "person: both named Lucia Gomez, no shared address")
        detail = engine.finding(lucia.id)
        assert detail is not None
        assert {(e.kind, e.key, e.user_id) for e in detail.evidence} >= {
            ("twin", "name", "m2"), ("twin", "localPart", "s2"), ("twin", "created", "m2"),
            ("twin", "lastLogin", "s2")}
        seen = {(e.kind, e.key, e.value) for e in detail.evidence}
        assert ("twin", "created", f"the manual account ({OLD}) predates the SCIM account ({NEW})") in seen
        assert ("twin", "name", "Lucia Gomez ≈ Lucía Gómez (equal after accent and case folding)") in seen
        assert [f.value for f in engine.findings(confidence="possible")] == ["Ann Lee"]
        assert {f.value for f in engine.findings(confidence=["likely", "possible"])} == {
            "Ravi Patel", "Ken Wu", "Ann Lee"}
        with pytest.raises(ValueError, match="unknown confidence 'sure'"):
            engine.findings(confidence="sure")


def test_namesakes_of_a_common_name_are_not_paired(tmp_path: Path) -> None:
    accounts = [manual(f"m{i}", f"john.smith{i}@partner.com", "John Smith") for i in range(5)]
    accounts += [scim(f"s{i}", f"jsmith{i}@corp.com", "John Smith") for i in range(5)]
    with analyse(tmp_path, accounts) as engine:
        assert twins(engine) == {}  # 25 pairs of one name: no evidence at all


def test_two_namesakes_are_at_most_likely(tmp_path: Path) -> None:
    accounts = [manual("m1", "maria.silva@partner.com", "Maria Silva"),
                manual("m2", "maria.silva@other.com", "Maria Silva"),
                scim("s1", "msilva@corp.com", "Maria Silva")]
    with analyse(tmp_path, accounts) as engine:
        assert twins(engine) == {frozenset({"m1", "s1"}): "likely", frozenset({"m2", "s1"}): "likely"}


def test_a_shared_address_finding_stays_certain_and_is_not_repeated(tmp_path: Path) -> None:
    accounts = [manual("m1", "jane.doe@corp.com", "Jane Doe"),
                Account("s1", "jdoe@corp.onmicrosoft.com", ("jane.doe@corp.com",), created_via="scim",
                        external_id="o-1", idp_link="o-1", display_name="Jane Doe", created_at=NEW)]
    with analyse(tmp_path, accounts) as engine:
        [f] = engine.findings()
        assert (f.cls, f.detail, f.confidence) == (FindingClass.MANUAL_TWIN, "shared_address", "certain")


def test_an_entra_export_refutes_a_pair_whose_manual_address_is_someone_else(tmp_path: Path) -> None:
    accounts = [manual("m1", "jane.doe@corp.com", "Jane Doe"), scim("s1", "jdoe@corp.com", "Jane Doe"),
                manual("m2", "ravi.patel@corp.com", "Ravi Patel"),
                scim("s2", "rpatel@corp.com", "Ravi Patel")]
    export = [("jdoe@corp.com", "Jane Doe", "jdoe@corp.com", "o-s1", "True"),
              ("jane.doe@corp.com", "Jane Doe", "jane.doe@corp.com", "o-other", "True"),  # another Jane
              ("rpatel@corp.com", "Ravi Patel", "rpatel@corp.com", "o-s2", "True")]
    with analyse(tmp_path, accounts, export) as engine:
        assert twins(engine) == {frozenset({"m2", "s2"}): "certain"}


def test_the_table_and_the_export_carry_the_confidence(tmp_path: Path) -> None:
    accounts = [manual("m1", "jane.doe@corp.com", "Jane Doe"), scim("s1", "jdoe@corp.com", "Jane Doe"),
                manual("m3", "rp@corp.com", "Ravi Patel"), scim("s3", "ravi.p.x@corp.com", "Ravi Patel")]
    with analyse(tmp_path, accounts) as engine:
        assert engine.table is not None
        assert engine.table.filter(confidence="likely") == 1
        [row] = engine.table.page(0, 10)
        assert (row.value, row.confidence) == ("Ravi Patel", "likely")
        assert engine.table.current_confidence == ("likely",)
        engine.table.filter()
        engine.table.sort("confidence", descending=True)
        assert [r.confidence for r in engine.table.page(0, 10)] == ["likely", "certain"]
        out = tmp_path / "findings.csv"
        assert export_findings(engine, out) == 2
        with open(out, encoding="utf-8-sig", newline="") as fh:
            rows = list(csv.DictReader(fh))
        assert {(r["value"], r["confidence"]) for r in rows} == {("Jane Doe", "certain"),
                                                                 ("Ravi Patel", "likely")}
        assert export_findings(engine, tmp_path / "likely.csv", confidence="likely") == 1


def test_a_manual_address_outside_the_orgs_domains_is_never_certain(tmp_path: Path) -> None:
    accounts = [manual("m1", "maria.silva@contractor.example", "Maria Silva"),
                scim("s1", "msilva@corp.com", "Maria Silva"),
                manual("m2", "rp@contractor.example", "Ravi Patel"),
                scim("s2", "ravi.p.x@corp.com", "Ravi Patel"),
                manual("m3", "jane.doe@legacy.corp.com", "Jane Doe"), scim("s3", "jdoe@corp.com", "Jane Doe")]
    path = tmp_path / "platform.csv"
    write_snapshot(path, accounts)
    with ReconcileEngine("t", workdir=tmp_path) as engine:
        engine.load_platform_snapshot(path)
        engine.set_org_domains(["Corp.com", "legacy.corp.com", " "])
        engine.analyze()
        assert twins(engine) == {frozenset({"m1", "s1"}): "likely", frozenset({"m2", "s2"}): "possible",
                                 frozenset({"m3", "s3"}): "certain"}
        maria = engine.finding(next(f.id for f in engine.findings() if f.value == "Maria Silva"))
        assert maria is not None
        assert ("domain", "the manual address is at contractor.example, none of the organisation's domains "
                          "(a contractor or guest?)") in {(e.key, e.value) for e in maria.evidence}


def test_lookalike_identities_are_a_finding_with_the_characters_shown(tmp_path: Path) -> None:
    accounts = [
        Account("a1", "alina@corp.com", ("alina@corp.com",)),
        Account("a2", "\u0430lina@corp.com", ("\u0430lina@corp.com",)),       # Cyrillic а
        Account("k1", "ikra@corp.com", ("ikra@corp.com",)),
        Account("k2", "\u0131kra@corp.com", ("\u0131kra@corp.com",)),         # dotless ı
        Account("z1", "zw@corp.com", ("zw@corp.com",)),
        Account("z2", "z\u200bw@corp.com", ("z\u200bw@corp.com",)),           # zero-width space
        Account("l1", "lucia@corp.com", ("lucia@corp.com",)),
        Account("l2", "lucía@corp.com", ("lucía@corp.com",)),                # a real accent: not alike
        Account("p1", "m.ray@corp.com", ("m.ray@corp.com",)),
        Account("p2", "rn.r\u0430y@corp.com", ("rn.r\u0430y@corp.com",)),      # rn + Cyrillic а ≈ m.ray
    ]
    with analyse(tmp_path, accounts) as engine:
        found = {frozenset(a.id for a in f.accounts): f for f in engine.findings(cls="lookalike")}
        assert set(found) == {frozenset({"a1", "a2"}), frozenset({"k1", "k2"}), frozenset({"z1", "z2"}),
                              frozenset({"p1", "p2"})}
        alina = engine.finding(found[frozenset({"a1", "a2"})].id)
        assert alina is not None
        assert alina.severity == "high"
        assert alina.summary.endswith("look alike but are different identities: \u0430lina@corp.com holds "
                                      "confusable characters")
        shown = [e.value for e in alina.evidence if e.kind == "lookalike"]
        assert shown == ["\u0430lina@corp.com: 0: U+0430 CYRILLIC SMALL LETTER A"]
        zw = engine.finding(found[frozenset({"z1", "z2"})].id)
        assert zw is not None
        assert "z\u200bw@corp.com: 1: U+200B ZERO WIDTH SPACE" in [e.value for e in zw.evidence]
        assert engine.plan(cls="lookalike").api_steps == ()  # the customer decides; nothing automatic


def test_the_live_judgement_agrees_with_the_engine(tmp_path: Path) -> None:
    """``core.reconcile.twin_match`` (the live flag) grades the engine's pairs as the engine does."""
    from console.core.reconcile.twin_match import judge

    accounts = [
        manual("m1", "jane.doe@corp.com", "Jane Doe"), scim("s1", "jdoe@corp.onmicrosoft.com", "JANE  DOE"),
        manual("m2", "lucia.gomez@corp.com", "Lucia Gomez"), scim("s2", "lgomez@corp.com", "Lucía Gómez"),
        manual("m3", "rp@corp.com", "Ravi Patel"), scim("s3", "ravi.p.x@corp.com", "Ravi Patel"),
        manual("m4", "ken.wu@corp.com", "Ken Wu", created_at=LATER), scim("s4", "kwu@corp.com", "Ken Wu"),
        manual("m6", "maria.silva@contractor.example", "Maria Silva"),
        scim("s6", "msilva@corp.com", "Maria Silva"),
    ]
    path = tmp_path / "platform.csv"
    write_snapshot(path, accounts)
    with ReconcileEngine("t", workdir=tmp_path) as engine:
        engine.load_platform_snapshot(path)
        engine.set_org_domains(["corp.com"])
        engine.analyze()
        expected = twins(engine)
    manuals = [a for a in accounts if a.created_via == "manual"]
    live = {}
    for new in (a for a in accounts if a.created_via == "scim"):
        for j in judge(new, manuals, ["corp.com"]):
            live[frozenset({new.id, j.original.id})] = j.confidence
    assert live == expected
    assert expected[frozenset({"m6", "s6"})] == "likely"


def test_on_a_generated_org_no_planted_namesake_is_certain(tmp_path: Path) -> None:
    """The precision guard of tests/bench/bench_twins.py at a size the default run affords (seeded)."""
    from tests.bench.bench_twins import generate, measure

    accounts, truth, namesakes = generate(6_000, 80, 80, seed=11)
    r = measure(accounts, truth, namesakes, tmp_path)
    assert r["certain"]["namesakes"] == 0
    assert r["certain"]["precision"] == 1.0
    assert r["certain"]["true"] >= 20
    assert r["certain+likely"]["recall"] >= 0.7
    assert r["all"]["recall"] >= 0.8


def test_a_twin_that_is_not_certain_is_planned_only_when_chosen(tmp_path: Path) -> None:
    accounts = [manual("m1", "jane.doe@corp.com", "Jane Doe", work_areas=2),
                scim("s1", "jdoe@corp.com", "Jane Doe"),
                manual("m3", "rp@corp.com", "Ravi Patel", work_areas=2),
                scim("s3", "ravi.p.x@corp.com", "Ravi Patel")]
    with analyse(tmp_path, accounts) as engine:
        likely = next(f for f in engine.findings() if f.confidence == "likely")
        everything = engine.plan()
        assert [s.user_id for s in everything.api_steps if s.action == "merge"] == ["s1"]
        assert (likely.id, "a likely twin found from names alone: select it (or filter by its confidence) "
                           "to plan it, after checking with the customer") in everything.skipped
        chosen = engine.plan(ids=[likely.id])
        assert [(s.action, s.user_id, s.into_user_id) for s in chosen.api_steps] == [("merge", "s3", "m3")]
        assert [s.user_id for s in engine.plan(confidence="likely").api_steps] == ["s3"]

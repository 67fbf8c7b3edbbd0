"""The pre-flight prediction is exactly what a simulated Entra cycle then does on a sandbox org."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from console.core.preflight import DUPLICATE, MATCH, NEW, counts, parse_entra_users_csv, predict
from tests.core.test_preflight import export


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    from console.sandbox.server import SandboxServer

    with SandboxServer(tmp_path_factory.mktemp("preflight") / "platform.db", seed="small") as s:
        yield s


def test_prediction_is_exactly_what_the_simulated_entra_cycle_does(server) -> None:
    from console.sandbox.simulate import people, simulate_entra
    from console.services.api_client import AdminApiClient
    from tests.sandbox.scim_helpers import create_org, enable_scim

    org = create_org(server)
    url, token = enable_scim(server, org)
    population = people(12, seed=11, scenario="email-mismatch")
    with AdminApiClient(server.base_url, server.operator_token) as api:
        for i, p in enumerate(population[:7]):
            # 0-3: the account is under the mail (Entra matches on the UPN): duplicates expected
            # 4-6: the account's userName is the UPN in other letter case: matches expected
            user_name = p.mail if i < 4 else p.upn.upper()
            api.create_user(org, {"user_name": user_name, "display_name": p.display_name,
                                  "emails": [{"value": p.mail, "type": "work", "primary": True}],
                                  "created_via": "manual"})
        before = list(api.iter_users(org))
        csv_bytes = export([(p.upn, p.display_name, p.mail, p.object_id, True) for p in population])
        entra, warnings = parse_entra_users_csv(csv_bytes)
        assert warnings == []
        predicted = {p.user.upn: p for p in predict(entra, before)}
        assert counts(predicted.values()) == {MATCH: 3, NEW: 5, DUPLICATE: 4}

        report = simulate_entra(url, token, users=12, scenario="email-mismatch", seed=11)
        assert report.ok, report.failures
        after = list(api.iter_users(org))

    assert report.matched == 3
    assert report.created == 9
    for person in population:
        same_mail = [u for u in after if (u.primary_email or "").casefold() == person.mail.casefold()]
        outcome = predicted[person.upn].outcome
        if outcome == MATCH:
            assert len(same_mail) == 1
            assert same_mail[0].created_via == "manual"
            assert same_mail[0].external_id == person.object_id  # Entra linked the existing account
        elif outcome == DUPLICATE:
            assert sorted(u.created_via for u in same_mail) == ["manual", "scim"]  # the twin
        else:
            assert [u.created_via for u in same_mail] == ["scim"]

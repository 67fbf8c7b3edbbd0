"""ProfileService: profiles in the store, operator tokens only in the SecretStore, clients that
really talk to the sandbox."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from keyring.backends import null

from console.core.errors import UserFacingError
from console.services import api_errors as E  # noqa: N812
from console.services.profiles import SANDBOX_PROFILE_NAME, NoProfileError, ProfileService, token_key
from console.services.secrets import SERVICE_NAME, SecretStore, SecretStoreError
from console.services.store import Store

TOKEN = "scop_profileTokenNeverInSqlite_0123456789"


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "console.db"


@pytest.fixture
def service(db: Path) -> Iterator[ProfileService]:
    store = Store.open(f"sqlite:///{db}")
    yield ProfileService(store, SecretStore.open())
    store.close()


def _bytes_on_disk(db: Path) -> bytes:
    return b"".join(p.read_bytes() for p in db.parent.glob(db.name + "*"))


def test_add_keeps_the_token_out_of_sqlite(service: ProfileService, db: Path, memory_keyring) -> None:
    profile = service.add("Prod EU", "https://admin.example.eu", TOKEN, operator="alice")
    assert memory_keyring.store[(SERVICE_NAME, token_key(profile.id))] == TOKEN
    assert service.active() == profile
    assert service.has_token(profile)
    assert TOKEN.encode() not in _bytes_on_disk(db)
    assert b"Prod EU" in _bytes_on_disk(db)  # the check above can see what is written


def test_add_rolls_back_when_the_keyring_refuses(service: ProfileService) -> None:
    class Refusing(SecretStore):
        def set(self, key: str, value: str) -> None:
            raise SecretStoreError("keyring locked")

    broken = ProfileService(service.store, Refusing(None))
    with pytest.raises(SecretStoreError):
        broken.add("Prod", "https://admin.example.com", TOKEN)
    assert service.list() == []


def test_edit_switch_remove(service: ProfileService, memory_keyring) -> None:
    a = service.add("A", "https://a.example", TOKEN)
    b = service.add("B", "https://b.example", TOKEN + "b", make_active=False)
    assert service.active() == a
    assert service.switch(b.id) == b
    edited = service.edit(a.id, name="A2", operator_token="scop_rotated_value_0123456789")
    assert edited.name == "A2"
    assert service.secrets.get(token_key(a.id)) == "scop_rotated_value_0123456789"
    assert service.find("A2") == edited
    assert service.find(b.id) == b
    assert service.remove(b.id)
    assert (SERVICE_NAME, token_key(b.id)) not in memory_keyring.store
    assert service.active() is None
    with pytest.raises(UserFacingError):
        service.edit("gone", name="x")
    with pytest.raises(UserFacingError):
        service.add("C", "https://c.example", "   ")


def test_client_for_profile_talks_to_the_sandbox(service: ProfileService, fresh_sandbox) -> None:
    profile = service.add("Local", fresh_sandbox.admin_url, fresh_sandbox.operator_token)
    with service.client_for(profile) as client:
        assert [o.id for o in client.list_orgs().items] == ["acme"]
    service.edit(profile.id, operator_token="scop_" + "w" * 40)
    with service.client_for(profile) as client, pytest.raises(E.AuthError):
        client.list_orgs()


def test_missing_token_is_explained(service: ProfileService) -> None:
    profile = service.add("P", "https://p.example", TOKEN)
    service.secrets.delete(token_key(profile.id))
    with pytest.raises(UserFacingError, match="No operator token"):
        service.client_for(profile)


def test_ensure_sandbox_profile_creates_then_updates(service: ProfileService, fresh_sandbox) -> None:
    first = service.ensure_sandbox_profile("http://127.0.0.1:1/admin/v1", "scop_old_sandbox_token_0123456789")
    assert first.is_sandbox
    assert first.name == SANDBOX_PROFILE_NAME
    again = service.ensure_sandbox_profile(fresh_sandbox.admin_url, fresh_sandbox.operator_token)
    assert again.id == first.id
    assert again.admin_url == fresh_sandbox.admin_url
    assert service.secrets.get(token_key(first.id)) == fresh_sandbox.operator_token
    assert len(service.list()) == 1
    with service.client_for(again) as client:
        assert client.health()["status"] == "ok"


def test_cli_resolution_env_over_active_profile(service: ProfileService, fresh_sandbox,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(NoProfileError):
        service.client_for_cli()
    service.add("Other", "https://other.example", TOKEN)
    monkeypatch.setenv("SCIM_CONSOLE_URL", fresh_sandbox.base_url)
    monkeypatch.setenv("SCIM_CONSOLE_TOKEN", fresh_sandbox.operator_token)
    with service.client_for_cli() as client:
        assert client.admin_url == fresh_sandbox.admin_url
        assert client.list_orgs().items[0].id == "acme"


def test_memory_fallback_profile_token_lives_for_this_run_only(db: Path) -> None:
    keyring.set_keyring(null.Keyring())
    with Store.open(f"sqlite:///{db}") as store:
        service = ProfileService(store, SecretStore.open(allow_memory_fallback=True))
        profile = service.add("Temp", "https://t.example", TOKEN)
        assert service.has_token(profile)
        restarted = ProfileService(store, SecretStore.open(allow_memory_fallback=True))
        assert not restarted.has_token(profile)

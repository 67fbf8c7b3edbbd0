"""SecretStore against a REAL Secret Service (gnome-keyring over D-Bus).

Skipped unless ``SCIM_CONSOLE_TEST_SECRET_SERVICE=1``; CI runs it under ``dbus-run-session`` with
``gnome-keyring-daemon --unlock`` (see .ci/run). The conftest gives these tests the real keyring
(no in-memory fixture) because of the ``secret_service`` marker.
"""

from __future__ import annotations

import os
import uuid

import pytest

pytestmark = [
    pytest.mark.secret_service,
    pytest.mark.skipif(os.environ.get("SCIM_CONSOLE_TEST_SECRET_SERVICE") != "1",
                       reason="needs a real Secret Service: set SCIM_CONSOLE_TEST_SECRET_SERVICE=1"),
]


@pytest.fixture(autouse=True)
def _restore_keyring():
    import keyring

    previous = keyring.get_keyring()
    yield
    keyring.set_keyring(previous)


def test_real_secret_service_roundtrip() -> None:
    import keyring
    from keyring.backends import SecretService

    from console.services.secrets import SecretStore

    keyring.set_keyring(SecretService.Keyring())  # what keyring picks on a Linux desktop
    store = SecretStore.open()
    assert store.is_persistent
    assert store.backend_name == "keyring.backends.SecretService.Keyring"
    key = f"profile:test-{uuid.uuid4().hex[:8]}:operator-token"
    value = "scop_" + uuid.uuid4().hex + "ü"  # non-ASCII survives
    store.set(key, value)
    try:
        assert SecretStore.open().get(key) == value  # a second store (a new app start) reads it back
    finally:
        assert store.delete(key) is True
    assert store.get(key) is None
    assert store.delete(key) is False


def test_profile_service_keeps_the_token_only_in_the_secret_service(tmp_path) -> None:
    import keyring
    from keyring.backends import SecretService

    from console.services.profiles import ProfileService, token_key
    from console.services.secrets import SecretStore
    from console.services.store import Store

    keyring.set_keyring(SecretService.Keyring())
    token = "scop_" + uuid.uuid4().hex
    db = tmp_path / "console.db"
    with Store.open(f"sqlite:///{db}") as store:
        service = ProfileService(store, SecretStore.open())
        profile = service.add("Real keyring", "https://admin.example.com", token)
        try:
            assert SecretStore.open().get(token_key(profile.id)) == token
        finally:
            service.remove(profile.id)
        assert SecretStore.open().get(token_key(profile.id)) is None
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert token.encode() not in path.read_bytes()

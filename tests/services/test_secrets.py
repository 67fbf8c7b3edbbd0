"""SecretStore over keyring: the in-memory test backend stands in for the OS keyring; the
insecure backends keyring really ships (fail, null, chainer-without-backends) are refused."""

from __future__ import annotations

from collections.abc import Iterator

import keyring
import keyring.backend
import keyring.errors
import pytest
from keyring.backends import fail, null

from console.core import notify
from console.core.errors import UserFacingError
from console.core.redact import forget_secrets, redact
from console.services.secrets import (
    SERVICE_NAME,
    InsecureBackendError,
    SecretStore,
    SecretStoreError,
    check_windows_size,
    insecure_reason,
)


@pytest.fixture(autouse=True)
def _clean() -> Iterator[None]:
    notify.reset()
    yield
    notify.reset()
    forget_secrets()


class LowPriorityKeyring(keyring.backend.KeyringBackend):
    priority = 0.5  # type: ignore[assignment]

    def get_password(self, service, username):
        return None

    def set_password(self, service, username, password):
        raise AssertionError("must never be called")

    def delete_password(self, service, username):
        raise keyring.errors.PasswordDeleteError(username)


class BrokenKeyring(keyring.backend.KeyringBackend):
    """A real-looking backend whose daemon is locked: every call raises like SecretService does."""

    priority = 5  # type: ignore[assignment]

    def get_password(self, service, username):
        raise keyring.errors.InitError("Failed to unlock the collection: secret-in-message-123456")

    def set_password(self, service, username, password):
        raise keyring.errors.PasswordSetError(f"could not store {password}")

    def delete_password(self, service, username):
        raise keyring.errors.KeyringError("locked")


def test_roundtrip_under_namespaced_service(memory_keyring) -> None:
    store = SecretStore.open()
    assert store.is_persistent
    assert store.backend_name.endswith("MemoryKeyring")
    store.set("profile:p1:operator-token", "scop_value_1234567890abcdef")
    assert memory_keyring.store == {
        (SERVICE_NAME, "profile:p1:operator-token"): "scop_value_1234567890abcdef"}
    assert store.get("profile:p1:operator-token") == "scop_value_1234567890abcdef"
    assert store.get("missing") is None
    assert store.delete("profile:p1:operator-token") is True
    assert store.delete("profile:p1:operator-token") is False


def test_read_values_are_registered_for_redaction(memory_keyring) -> None:
    memory_keyring.store[(SERVICE_NAME, "k")] = "no-shape-but-secret-99"
    SecretStore.open().get("k")
    assert "no-shape-but-secret-99" not in redact("log: no-shape-but-secret-99")


@pytest.mark.parametrize(("backend", "why"), [
    (fail.Keyring(), "no secure OS keyring"),
    (null.Keyring(), "stores nothing"),
    (LowPriorityKeyring(), "priority 0.5"),
])
def test_insecure_backends_are_refused_with_an_explanation(backend, why: str) -> None:
    keyring.set_keyring(backend)
    with pytest.raises(InsecureBackendError) as info:
        SecretStore.open()
    assert isinstance(info.value, UserFacingError)
    assert why in str(info.value)
    assert "Secret Service" in (info.value.hint or "")  # says what to do
    assert "memory for this run" in (info.value.hint or "")


def test_plaintext_backend_is_refused_by_module() -> None:
    plaintext = type("PlaintextKeyring", (LowPriorityKeyring,),
                     {"priority": 1.5, "__module__": "keyrings.alt.file"})
    assert "plaintext" in (insecure_reason(plaintext()) or "")


def test_explicit_memory_fallback_is_visible_and_announced() -> None:
    keyring.set_keyring(null.Keyring())
    store = SecretStore.open(allow_memory_fallback=True)
    assert store.is_persistent is False
    assert "memory" in store.backend_name
    assert "stores nothing" in (store.fallback_reason or "")
    store.set("profile:x:operator-token", "scop_memory_only_value_123")
    assert store.get("profile:x:operator-token") == "scop_memory_only_value_123"
    again = SecretStore.open(allow_memory_fallback=True)
    assert again.get("profile:x:operator-token") is None  # kept by that store only, for this run
    seen: list[notify.Message] = []
    notify.subscribe(seen.append)
    assert any("will not be remembered" in m.text for m in seen)


def test_keyring_errors_become_user_facing_without_the_value() -> None:
    keyring.set_keyring(BrokenKeyring())
    store = SecretStore.open()
    with pytest.raises(SecretStoreError) as info:
        store.set("profile:p:operator-token", "scop_should_not_appear_in_error_1234")
    assert "scop_should_not_appear" not in str(info.value)
    assert info.value.__cause__ is None
    assert info.value.__suppress_context__
    with pytest.raises(SecretStoreError, match="read"):
        store.get("profile:p:operator-token")
    with pytest.raises(SecretStoreError, match="delete"):
        store.delete("profile:p:operator-token")


def test_empty_value_refused() -> None:
    with pytest.raises(SecretStoreError):
        SecretStore.open().set("k", "")


def test_windows_credwrite_limit() -> None:
    check_windows_size("k", "x" * 1280)  # 2560 bytes as UTF-16: allowed
    with pytest.raises(SecretStoreError, match="2562 bytes"):
        check_windows_size("k", "x" * 1281)

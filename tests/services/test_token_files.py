"""age-encrypted token files (issue 4 §4b) from a real enable on the sandbox."""

from __future__ import annotations

import stat
from pathlib import Path

import pyrage
import pytest

from console.core.errors import UserFacingError
from console.services.pending_deliveries import PendingDeliveries, secret_key
from console.services.scim_setup import confirm_delivered
from console.services.token_files import generate_passphrase, parse_recipient, write_age_file
from tests.services import test_scim_setup as scim_setup_tests
from tests.services.test_scim_setup import OP, enable

server = scim_setup_tests.server  # the same sandbox fixture (module scope: one per module)


@pytest.fixture
def api(server):
    with scim_setup_tests.client(server) as c:
        yield c
org = scim_setup_tests.org


def test_file_for_the_customers_key_opens_only_with_their_identity(server, api, org, secrets, store,
                                                                    tmp_path: Path) -> None:
    result = enable(server, org, secrets, store)
    identity = pyrage.x25519.Identity.generate()
    path = tmp_path / "scim-token.age"
    delivery = write_age_file(org, result.token_info.id, path, secrets, store.audit, operator=OP,
                              deliveries=PendingDeliveries(store.engine), client=api,
                              recipient=f"  {identity.to_public()} ")
    assert delivery.method == "age-file"
    assert delivery.passphrase is None
    data = path.read_bytes()
    assert data.startswith(b"age-encryption.org/v1")
    assert result.token.encode() not in data
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert pyrage.decrypt(data, [identity]).decode() == result.token
    with pytest.raises(pyrage.DecryptError):
        pyrage.decrypt(data, [pyrage.x25519.Identity.generate()])
    [record] = [r for r in store.audit.query() if r.action == "scim.deliver"]
    assert record.params["method"] == "age-file"
    assert record.params["recipient"] == str(identity.to_public())
    assert result.token not in repr(record)
    # Still pending until the operator confirms; then purged from the keyring.
    assert secrets.get(secret_key(org, result.token_info.id, server.instance_id)) == result.token
    confirm_delivered(org, result.token_info.id, "age-file", secrets, store.audit, operator=OP,
                      deliveries=PendingDeliveries(store.engine))
    assert secrets.get(secret_key(org, result.token_info.id, server.instance_id)) is None


def test_passphrase_file_opens_with_the_shown_passphrase_only(server, api, org, secrets, store,
                                                               tmp_path: Path) -> None:
    result = enable(server, org, secrets, store)
    path = tmp_path / "t.age"
    delivery = write_age_file(org, result.token_info.id, path, secrets, store.audit, operator=OP,
                              deliveries=PendingDeliveries(store.engine), client=api)
    assert delivery.method == "age-passphrase"
    phrase = delivery.passphrase
    assert phrase is not None
    assert len(phrase.split("-")) == 5
    data = path.read_bytes()
    assert pyrage.passphrase.decrypt(data, phrase).decode() == result.token
    with pytest.raises(pyrage.DecryptError):
        pyrage.passphrase.decrypt(data, phrase[:-1] + ("a" if phrase[-1] != "a" else "b"))
    for record in store.audit.query():
        assert phrase not in repr(record)
        assert result.token not in repr(record)
    assert "passphrase=" not in repr(delivery)  # repr hides it


def test_bad_keys_and_unknown_tokens_are_clear_refusals(server, api, org, secrets, store,
                                                         tmp_path: Path) -> None:
    for bad in ("", "age1notakey", "-----BEGIN PGP PUBLIC KEY BLOCK-----", "ssh-ed25519 AAAAbroken"):
        with pytest.raises(UserFacingError):
            parse_recipient(bad)
    result = enable(server, org, secrets, store)
    path = tmp_path / "x.age"
    with pytest.raises(UserFacingError, match="public key"):
        write_age_file(org, result.token_info.id, path, secrets, store.audit, operator=OP,
                       deliveries=PendingDeliveries(store.engine), client=api, recipient="age1broken")
    assert not path.exists()
    with pytest.raises(UserFacingError, match="not waiting for delivery"):
        write_age_file(org, "tok_unknown", path, secrets, store.audit, operator=OP,
                       deliveries=PendingDeliveries(store.engine), client=api)
    with pytest.raises(UserFacingError, match="Could not write"):
        write_age_file(org, result.token_info.id, tmp_path / "missing-dir" / "x.age", secrets, store.audit,
                       operator=OP, deliveries=PendingDeliveries(store.engine), client=api)


def test_generated_passphrases_differ_and_avoid_look_alikes() -> None:
    phrases = {generate_passphrase() for _ in range(50)}
    assert len(phrases) == 50
    assert not any(ch in p for p in phrases for ch in "01lo")

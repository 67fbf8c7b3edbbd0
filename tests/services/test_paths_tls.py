"""AppPaths (SCIM_CONSOLE_HOME vs platformdirs) and TLS: the OS trust store plus an optional extra
CA bundle, verified against a real HTTPS server with a private CA; verification cannot be
switched off."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from console.core.errors import UserFacingError
from console.services import api_errors as E  # noqa: N812
from console.services.api_client import AdminApiClient
from console.services.paths import AppPaths
from console.services.tls import ssl_context
from tests.services.scripted_server import Reply, ScriptedServer, serve


def test_paths_under_console_home(console_home: Path) -> None:
    paths = AppPaths.default().ensure()
    assert paths == AppPaths(console_home / "config", console_home / "data", console_home / "log",
                             console_home / "cache")
    assert all(p.is_dir() for p in (paths.config_dir, paths.data_dir, paths.log_dir, paths.cache_dir))


def test_paths_from_platformdirs_without_home(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SCIM_CONSOLE_HOME")
    paths = AppPaths.default()
    assert all("scim-support-console" in str(p) for p in (paths.config_dir, paths.data_dir, paths.log_dir,
                                                         paths.cache_dir))
    assert len({paths.config_dir, paths.data_dir, paths.cache_dir}) == 3


def _cert(subject: str, key, issuer_name, issuer_key, *, ca: bool) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    builder = (x509.CertificateBuilder()
               .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
               .issuer_name(issuer_name).public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if ca:
        builder = builder.add_extension(x509.KeyUsage(
            digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
            key_encipherment=False, data_encipherment=False, key_agreement=False, encipher_only=False,
            decipher_only=False), critical=True)
        builder = builder.add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                                        critical=False)
    else:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        builder = builder.add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]),
                                        critical=False)
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


@pytest.fixture
def private_ca(tmp_path: Path) -> dict[str, Path]:
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Corp Intercept CA (test)")])
    ca = _cert("Corp Intercept CA (test)", ca_key, ca_name, ca_key, ca=True)
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    leaf = _cert("127.0.0.1", leaf_key, ca_name, ca_key, ca=False)
    files = {"ca": tmp_path / "ca.pem", "cert": tmp_path / "leaf.pem", "key": tmp_path / "leaf.key"}
    files["ca"].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    files["cert"].write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    files["key"].write_bytes(leaf_key.private_bytes(serialization.Encoding.PEM,
                                                    serialization.PrivateFormat.PKCS8,
                                                    serialization.NoEncryption()))
    return files


@pytest.fixture
def https_server(private_ca: dict[str, Path]) -> Iterator[ScriptedServer]:
    yield from serve(certfile=str(private_ca["cert"]), keyfile=str(private_ca["key"]))


def test_context_always_verifies() -> None:
    ctx = ssl_context()
    assert ctx.verify_mode == ssl.CERT_REQUIRED
    assert ctx.check_hostname is True


def test_private_ca_rejected_by_default_and_accepted_as_extra_bundle(
        https_server: ScriptedServer, private_ca: dict[str, Path]) -> None:
    https_server.script("GET", "health", Reply(200, {"status": "ok"}))
    with AdminApiClient(https_server.base_url, "scop_tls_test_token_123456", retries=0) as api, \
            pytest.raises(E.NetworkError, match="CERTIFICATE_VERIFY_FAILED"):
        api.health()
    with AdminApiClient(https_server.base_url, "scop_tls_test_token_123456",
                        extra_ca_bundle=str(private_ca["ca"])) as api:
        assert api.health() == {"status": "ok"}


def test_bad_extra_bundle_is_a_user_facing_error(tmp_path: Path) -> None:
    with pytest.raises(UserFacingError, match="does not exist"):
        ssl_context(tmp_path / "missing.pem")
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate")
    with pytest.raises(UserFacingError, match="not a valid PEM"):
        ssl_context(garbage)

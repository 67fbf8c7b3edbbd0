"""The operator's own credentials in the OS keyring (desktop-stack §1).

Only the support engineer's admin-API tokens live here; customer SCIM tokens never do (§5).

Backends that would not actually protect a secret are refused with an explanation instead of
being used silently: ``fail`` (nothing available), ``null`` (stores nothing), ``keyrings.alt``
(plaintext or a stdin-prompting file), and anything with priority < 1. The caller may then
choose an explicit in-memory store for this run (``allow_memory_fallback=True``), which is
visible as ``is_persistent == False`` so the UI can say "credentials will not be remembered".

Customer SCIM tokens need a store that outlives the process until delivery, so an in-memory store
refuses them (``scim_setup.preflight_keyring``) — with one exception: the tokens the *embedded
sandbox* mints are throwaway training data on this machine. On a fresh or headless machine no Secret
Service answers, and refusing would leave the demo unable to enable SCIM at all; so the composition
root, and only it, marks the sandbox it started (``allow_memory_for``) and those tokens are kept in
memory for this run, labelled as such wherever the UI says where a token lives. A real platform's
tokens keep the refusal.
"""

from __future__ import annotations

import logging
import sys
import threading

import keyring
import keyring.backend
import keyring.errors

from console.core import notify
from console.core.errors import UserFacingError
from console.core.redact import register_secret

SERVICE_NAME = "scim-support-console"
WINDOWS_CREDWRITE_LIMIT = 2560  # bytes of the UTF-16 blob (CredWrite, keyring#355)

log = logging.getLogger(__name__)

_HOW_TO_FIX = (
    "On Linux, install and unlock a Secret Service provider (GNOME Keyring or KeePassXC with Secret "
    "Service enabled) in your desktop session; on Windows and macOS the system keyring is used "
    "automatically. Or continue with credentials kept in memory for this run only."
)


class SecretStoreError(UserFacingError):
    """The keyring failed to read, write or delete a credential."""


class InsecureBackendError(SecretStoreError):
    """The only keyring available would not keep a credential safe (or would not keep it at all)."""


def backend_label(backend: keyring.backend.KeyringBackend) -> str:
    cls = type(backend)
    return f"{cls.__module__}.{cls.__qualname__}"


def _priority(backend: keyring.backend.KeyringBackend) -> float:
    try:
        return float(backend.priority)
    except Exception:  # noqa: BLE001 - a backend's priority raises when it is not usable
        return -1.0


def insecure_reason(backend: keyring.backend.KeyringBackend) -> str | None:
    """Why ``backend`` must not hold a credential, or ``None`` when it is acceptable."""
    from keyring.backends import chainer, fail, null

    label = backend_label(backend)
    if isinstance(backend, fail.Keyring):
        return "no secure OS keyring is available (keyring found only its 'fail' backend)"
    if isinstance(backend, null.Keyring):
        return "the keyring backend is 'null', which silently stores nothing"
    if label.startswith("keyrings.alt") or "plaintext" in label.lower():
        return f"the keyring backend {label} keeps secrets in a file that is plaintext or prompts on stdin"
    if isinstance(backend, chainer.ChainerBackend):
        chained = list(backend.backends)
        if not chained:
            return "the chained keyring has no backends"
        for inner in chained:
            reason = insecure_reason(inner)
            if reason:
                return reason
        return None
    if _priority(backend) < 1:
        return f"the keyring backend {label} has priority {_priority(backend):g} (< 1: not recommended)"
    return None


def check_windows_size(key: str, value: str) -> None:
    """Windows Credential Manager rejects blobs over 2560 bytes with an obscure error; say so."""
    size = len(value.encode("utf-16-le"))
    if size > WINDOWS_CREDWRITE_LIMIT:
        raise SecretStoreError(
            f"This credential is too long for Windows Credential Manager ({size} bytes as UTF-16, "
            f"limit {WINDOWS_CREDWRITE_LIMIT}).",
            where=key,
            hint="Use a shorter token (about 1280 characters at most).",
        )


def _platform_key(admin_url: str) -> str:
    return admin_url.strip().rstrip("/").lower()


class SecretStore:
    """``get``/``set``/``delete`` of credentials under one namespaced keyring service."""

    def __init__(self, backend: keyring.backend.KeyringBackend | None, *, reason: str | None = None) -> None:
        """``backend=None`` means in-memory for this run only; prefer ``SecretStore.open``."""
        self._backend = backend
        self._memory: dict[str, str] = {}
        self._lock = threading.Lock()
        self.fallback_reason = reason
        self._throwaway: set[str] = set()  # admin URLs whose SCIM tokens may live in memory

    @classmethod
    def open(cls, *, allow_memory_fallback: bool = False) -> SecretStore:
        backend = keyring.get_keyring()
        reason = insecure_reason(backend)
        if reason is None:
            log.info("keyring backend: %s", backend_label(backend))
            return cls(backend)
        if not allow_memory_fallback:
            raise InsecureBackendError(f"Credentials cannot be stored safely: {reason}.", hint=_HOW_TO_FIX)
        log.warning("keyring not usable (%s); credentials are kept in memory for this run only", reason)
        notify.warning("Credentials will not be remembered: no secure OS keyring available.")
        return cls(None, reason=reason)

    @classmethod
    def in_memory(cls, reason: str = "in-memory store requested") -> SecretStore:
        return cls(None, reason=reason)

    @property
    def is_persistent(self) -> bool:
        return self._backend is not None

    def allow_memory_for(self, admin_url: str) -> None:
        """The embedded sandbox at ``admin_url`` mints throwaway tokens: with no OS keyring, keep them
        in memory for this run rather than refuse (see the module docstring). Only the entry layer,
        which started that sandbox, may call this."""
        self._throwaway.add(_platform_key(admin_url))

    def may_keep_scim_tokens_of(self, admin_url: str | None) -> bool:
        """Whether a SCIM token minted by ``admin_url`` can be kept here until it is delivered."""
        return self.is_persistent or (admin_url is not None and _platform_key(admin_url) in self._throwaway)

    def token_location(self, admin_url: str | None) -> str:
        """Where a SCIM token of ``admin_url`` lives until delivery, in words for the UI."""
        if self.is_persistent:
            return "the OS keyring"
        if self.may_keep_scim_tokens_of(admin_url):
            return "memory for this session only (embedded sandbox; no OS keyring on this machine)"
        return "nowhere: no OS keyring is available"

    @property
    def backend_name(self) -> str:
        return backend_label(self._backend) if self._backend is not None else "memory (this run only)"

    def _is_windows_backend(self) -> bool:
        return sys.platform == "win32" or backend_label(self._backend).startswith("keyring.backends.Windows")

    def get(self, key: str) -> str | None:
        if self._backend is None:
            with self._lock:
                value = self._memory.get(key)
        else:
            try:
                value = self._backend.get_password(SERVICE_NAME, key)
            except keyring.errors.KeyringError as exc:
                raise SecretStoreError(f"Could not read a credential from the keyring: {type(exc).__name__}",
                                       where=key, hint=_HOW_TO_FIX) from None
        register_secret(value)
        return value

    def set(self, key: str, value: str) -> None:
        if not value:
            raise SecretStoreError("Refusing to store an empty credential.", where=key)
        register_secret(value)
        if self._backend is None:
            with self._lock:
                self._memory[key] = value
            return
        if self._is_windows_backend():
            check_windows_size(key, value)
        try:
            self._backend.set_password(SERVICE_NAME, key, value)
        except keyring.errors.KeyringError as exc:
            # ``from None``: the backend's exception text could echo what it was given.
            raise SecretStoreError(f"Could not save a credential in the keyring: {type(exc).__name__}",
                                   where=key, hint=_HOW_TO_FIX) from None
        log.info("stored credential %s in %s", key, self.backend_name)

    def delete(self, key: str) -> bool:
        """Remove ``key``; returns False when it did not exist."""
        if self._backend is None:
            with self._lock:
                return self._memory.pop(key, None) is not None
        try:
            self._backend.delete_password(SERVICE_NAME, key)
        except keyring.errors.PasswordDeleteError:
            return False
        except keyring.errors.KeyringError as exc:
            raise SecretStoreError(f"Could not delete a credential from the keyring: {type(exc).__name__}",
                                   where=key) from None
        return True

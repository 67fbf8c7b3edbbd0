"""TLS for the admin API: the OS trust store via ``truststore`` (desktop-stack §6.5).

Support staff often sit behind TLS-intercepting proxies whose CA exists only in the OS store;
certifi would reject those. An extra CA bundle (Settings) can be *added*. There is deliberately
no way to switch verification off.
"""

from __future__ import annotations

import ssl
from pathlib import Path

import truststore

from console.core.errors import UserFacingError


def ssl_context(extra_ca_bundle: Path | str | None = None) -> ssl.SSLContext:
    """A client context that verifies against the OS trust store, plus ``extra_ca_bundle``."""
    ctx = truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if extra_ca_bundle:
        path = Path(extra_ca_bundle)
        if not path.is_file():
            raise UserFacingError("The extra CA bundle does not exist.", where=str(path),
                                  hint="Choose a PEM file in Settings, or clear the setting.")
        try:
            ctx.load_verify_locations(cafile=str(path))
        except ssl.SSLError as exc:
            raise UserFacingError(f"The extra CA bundle is not a valid PEM file: {exc.reason}",
                                  where=str(path)) from exc
    return ctx

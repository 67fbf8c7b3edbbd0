"""SCIM Support Console: enable and support SCIM provisioning from Microsoft Entra ID."""

from importlib import metadata as _metadata

APP_NAME = "SCIM Support Console"
APP_ID = "scim-support-console"
APP_AUTHOR = "SupportConsole"

try:
    __version__ = _metadata.version("scim-support-console")
except _metadata.PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+source"

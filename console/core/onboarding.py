"""When did the customer's Entra first reach the platform? (issue 4 §7)

The onboarding checklist is done when the provisioning log shows the first *authenticated* SCIM
request for the org — that also proves the token reached the customer. 401/403 answers are
refused credentials and do not count. Caveat: the console's own Test Connection probes are
authenticated requests too and cannot be told apart from Entra's by the log alone.
"""

from __future__ import annotations

from collections.abc import Iterable

from console.core.models import LogEvent

REFUSED = frozenset({401, 403})


def first_authenticated(events: Iterable[LogEvent]) -> LogEvent | None:
    """The earliest event whose request was authenticated (events in any order)."""
    ok = [e for e in events if e.status not in REFUSED and e.status != 0]
    return min(ok, key=lambda e: e.id, default=None)

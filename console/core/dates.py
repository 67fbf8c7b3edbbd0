"""Times as people's tools write them, and the day/month order of a column (docs/log-formats.md §2, pure).

ISO 8601 is read as such. Excel and Log Analytics write locale forms: ``5/4/2019 3:00`` (en-US),
``04/05/2019 03:00`` (en-GB), ``04.05.2019 03:00`` (de-DE), ``5/4/2019, 3:00:54.000 AM`` (Log
Analytics). A dotted date is always day first. For ``/`` and ``-`` the order is decided per column
from **all** its values: one value whose first part is above 12 settles day-first, one whose second
part is, month-first. When no value settles it, ``default_order`` picks (and the importer warns):
month first when the first parts are written without a leading zero or with a 12-hour clock (what
US tools and Log Analytics write), day first when they are zero-padded with a 24-hour clock (what
en-GB/EU Excel writes). The user can override with ``--date-order``/the GUI's re-import.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

DMY, MDY = "dmy", "mdy"
ORDERS = (DMY, MDY)
_NUMERIC = re.compile(r"^\s*(\d{1,2})([/.\-])(\d{1,2})[/.\-]")
_TWELVE_HOUR = re.compile(r"[AaPp]\.?[Mm]\.?\s*$")
_TIMES = (
    "%H:%M:%S.%f",
    "%H:%M:%S",
    "%H:%M",
    "%I:%M:%S.%f %p",
    "%I:%M:%S %p",
    "%I:%M %p",
)


@dataclass(frozen=True)
class OrderDecision:
    """How one column's numeric dates are read, and why."""

    order: str
    settled: bool  # a value (or the dotted form, or the user) decided it; False = the default picked
    ambiguous_values: int = 0  # values that read differently in the other order (when not settled)
    conflicts: int = 0  # values that contradict the decided order (unreadable in it)
    example: str = ""  # one ambiguous value, for the warning

    @property
    def other(self) -> str:
        return MDY if self.order == DMY else DMY


def decide_order(values: Iterable[str | None], forced: str | None = None) -> OrderDecision:
    """The day/month order of a column from all its values (see the module docstring)."""
    day_first = month_first = ambiguous = padded = unpadded = twelve = dotted = 0
    example = ""
    for v in values:
        if not v:
            continue
        m = _NUMERIC.match(v)
        if m is None:
            continue
        if m.group(2) == ".":
            dotted += 1
            continue
        a, b = int(m.group(1)), int(m.group(3))
        if a > 12 >= b:
            day_first += 1
        elif b > 12 >= a:
            month_first += 1
        elif a != b and a <= 12 and b <= 12:
            ambiguous += 1
            example = example or v.strip()
        if m.group(1).startswith("0"):
            padded += 1
        else:
            unpadded += 1
        if _TWELVE_HOUR.search(v):
            twelve += 1
    if forced in ORDERS:
        conflicts = month_first if forced == DMY else day_first
        return OrderDecision(forced, True, conflicts=conflicts)
    if day_first or month_first:
        order = DMY if day_first >= month_first else MDY
        return OrderDecision(order, True, conflicts=min(day_first, month_first))
    order = DMY if (padded > unpadded and not twelve) or (dotted and not padded + unpadded) else MDY
    return OrderDecision(order, ambiguous == 0, ambiguous_values=ambiguous, example=example)


def formats(order: str) -> list[str]:
    """strptime formats (Python's and DuckDB's alike) of the locale forms in ``order``."""
    slash = "%d/%m/%Y" if order == DMY else "%m/%d/%Y"
    dash = "%d-%m-%Y" if order == DMY else "%m-%d-%Y"
    out = []
    for date in (slash, "%d.%m.%Y", dash):
        out += [f"{date} {t}" for t in _TIMES] + [date]
    return out


_UTC_SUFFIX = re.compile(r"\s*(\(?UTC\)?|Z)\s*$", re.IGNORECASE)
_FRACTION = re.compile(r"(\.\d{6})\d+")


def clean(value: str) -> str:
    """``"5/4/2019, 3:00:54.000 AM"`` → ``"5/4/2019 3:00:54.000 AM"``; a trailing ``UTC`` dropped."""
    text = re.sub(r",\s*", " ", value.strip())
    return _UTC_SUFFIX.sub("", text) if not re.match(r"^\d{4}-\d\d-\d\d", text) else text


def parse(value: str | None, order: str) -> datetime | None:
    """A UTC time from ISO 8601 or a locale form in ``order``; None when unreadable (never a guess)."""
    if value is None or not value.strip():
        return None
    text = clean(value)
    if re.match(r"^\d{4}-\d\d-\d\d", text):
        try:
            iso = _FRACTION.sub(r"\1", text.replace("Z", "+00:00").replace("z", "+00:00"))
            t = datetime.fromisoformat(iso)
        except ValueError:
            return None
        return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)
    for fmt in formats(order):
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    return None


def order_name(order: str) -> str:
    return "day/month (dd/mm/yyyy)" if order == DMY else "month/day (mm/dd/yyyy)"


def ambiguity_warning(file: str, column: str, decision: OrderDecision) -> str | None:
    """What/where/what to do when the default had to pick the order (None when something settled it)."""
    if decision.settled:
        return None
    return (
        f"{file}, column '{column}': dates like '{decision.example}' read differently day-first and "
        "month-first, and no value in the column settles it; read as "
        f"{order_name(decision.order)}. If that is wrong, import again with --date-order {decision.other} "
        f"(in the app: “Re-import as {order_name(decision.other)}”)."
    )


def formats_by_use(values: list[str], order: str) -> list[str]:
    """``formats(order)`` with the ones that read ``values`` first, most used first (a SQL engine
    trying the list in order then stops at the first for nearly every row)."""
    fmts = formats(order)
    hits = dict.fromkeys(fmts, 0)
    for v in values:
        text = clean(v)
        for f in fmts:
            try:
                datetime.strptime(text, f)
            except ValueError:
                continue
            hits[f] += 1
            break
    return sorted(fmts, key=lambda f: -hits[f])

"""Times as people's tools write them and the day/month order of a column (core.dates)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from console.core.dates import DMY, MDY, ambiguity_warning, decide_order, parse

MAY4 = datetime(2019, 5, 4, 3, 0, tzinfo=UTC)


@pytest.mark.parametrize(("values", "order", "settled"), [
    (["04/05/2019 03:00", "13/05/2019 15:20"], DMY, True),  # a day above 12 settles it
    (["5/4/2019 3:00", "5/13/2019 15:20"], MDY, True),
    (["04.05.2019 03:00", "05.04.2019 23:05"], DMY, True),  # dotted: always day first
    (["04/05/2019 03:00", "05/04/2019 23:05"], DMY, False),  # zero-padded, 24 h: en-GB default
    (["5/4/2019 3:00", "4/5/2019 23:05"], MDY, False),  # unpadded: en-US default
    (["05/04/2019, 03:00:54.000 AM", "04/05/2019 11:05:09 PM"], MDY, False),  # 12-hour clock: US
    (["2019-05-04T03:00:54Z", "1/1/2019 0:00"], MDY, True),  # ISO and same-day-month say nothing
])
def test_order_is_decided_from_all_values(values: list[str], order: str, settled: bool) -> None:
    d = decide_order(values)
    assert (d.order, d.settled) == (order, settled)


def test_a_forced_order_counts_the_values_it_contradicts() -> None:
    d = decide_order(["04/05/2019", "13/05/2019", "14/05/2019"], forced=MDY)
    assert (d.order, d.settled, d.conflicts) == (MDY, True, 2)


def test_the_ambiguity_warning_says_what_where_and_what_to_do() -> None:
    d = decide_order(["04/05/2019 03:00"])
    assert ambiguity_warning("ProvisioningLogs.csv", "Date (UTC)", d) == (
        "ProvisioningLogs.csv, column 'Date (UTC)': dates like '04/05/2019 03:00' read differently "
        "day-first and month-first, and no value in the column settles it; read as day/month "
        "(dd/mm/yyyy). If that is wrong, import again with --date-order mdy (in the app: “Re-import as "
        "month/day (mm/dd/yyyy)”)."
    )
    assert ambiguity_warning("f", "c", decide_order(["13/05/2019"])) is None


@pytest.mark.parametrize(("text", "order", "expected"), [
    ("2019-05-04T03:00:00Z", MDY, MAY4),
    ("2019-05-04T03:00:00.1234567Z", MDY, MAY4.replace(microsecond=123456)),
    ("2019-05-04 05:00:00+02:00", MDY, MAY4),
    ("5/4/2019 3:00", MDY, MAY4),
    ("5/4/2019, 3:00:00.000 AM", MDY, MAY4),  # Log Analytics
    ("04/05/2019 03:00", DMY, MAY4),
    ("04.05.2019 03:00", MDY, MAY4),  # dotted is day first whatever the column's order
    ("04-05-2019 03:00:00", DMY, MAY4),
    ("5/4/2019 3:00 UTC", MDY, MAY4),
    ("5/4/2019", MDY, MAY4.replace(hour=0)),
    ("13/05/2019 03:00", MDY, None),  # contradicts the order: never guessed
    ("gestern", DMY, None),
    ("", DMY, None),
])
def test_parse(text: str, order: str, expected: datetime | None) -> None:
    assert parse(text, order) == expected

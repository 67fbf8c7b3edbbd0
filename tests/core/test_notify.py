from __future__ import annotations

from collections.abc import Iterator

import pytest

from console.core import notify


@pytest.fixture(autouse=True)
def _fresh() -> Iterator[None]:
    notify.reset()
    yield
    notify.reset()


def test_messages_before_a_subscriber_are_cached_and_flushed_once() -> None:
    notify.warning("keyring is not persistent")
    notify.info("hello")
    first: list[notify.Message] = []
    second: list[notify.Message] = []
    notify.subscribe(first.append)
    notify.subscribe(second.append)
    notify.error("boom")
    assert [(m.level, m.text) for m in first] == [
        (notify.Level.WARNING, "keyring is not persistent"), (notify.Level.INFO, "hello"),
        (notify.Level.ERROR, "boom")]
    assert [m.text for m in second] == ["boom"]


def test_unsubscribe_and_redaction() -> None:
    got: list[notify.Message] = []
    unsubscribe = notify.subscribe(got.append)
    notify.info("Authorization: Bearer scop_abcdefghijklmnopqrstuvwxyz")
    unsubscribe()
    notify.info("after")
    assert len(got) == 1
    assert "scop_abcdefghijklmnop" not in got[0].text


def test_cache_is_bounded() -> None:
    for i in range(500):
        notify.info(f"m{i}")
    got: list[notify.Message] = []
    notify.subscribe(got.append)
    assert len(got) == 100
    assert got[-1].text == "m499"


def test_a_failing_subscriber_does_not_fail_the_sender_or_other_subscribers(
    caplog: pytest.LogCaptureFixture,
) -> None:
    got: list[str] = []

    def broken(_message: notify.Message) -> None:
        raise RuntimeError("window already deleted")

    off_broken = notify.subscribe(broken)
    off_good = notify.subscribe(lambda m: got.append(m.text))
    try:
        notify.info("still delivered")
    finally:
        off_broken()
        off_good()
    assert got == ["still delivered"]
    assert "notification subscriber failed" in caplog.text

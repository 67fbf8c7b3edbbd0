"""The error presenter and the last-resort hooks."""

from __future__ import annotations

import logging
import sys
import threading
from typing import Any

import pytest
from PySide6.QtWidgets import QApplication, QMessageBox

from console.core.errors import Cancelled, UserFacingError
from console.ui import errors

SECRET = "scop_" + "A1b2C3d4E5f6G7h8I9j0KkLl"


@pytest.fixture
def presenter(qapp: Any) -> Any:
    p = errors.ErrorPresenter(debounce_ms=20)
    errors.install_hooks(p, qt_messages=False)
    yield p
    errors.uninstall_hooks()


def _open_boxes() -> list[QMessageBox]:
    return [w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox) and w.isVisible()]


def _close_boxes() -> None:
    for box in _open_boxes():
        box.close()


def test_user_facing_text_is_shown_as_is(qtbot: Any) -> None:
    errors.show_error(None, UserFacingError("The org <b>acme</b> has no template.", hint="Create one first."))
    boxes = _open_boxes()
    try:
        assert len(boxes) == 1
        assert boxes[0].text() == "The org <b>acme</b> has no template.\n\nCreate one first."
        assert boxes[0].textFormat() == boxes[0].textFormat().PlainText
        assert boxes[0].detailedText() == ""
    finally:
        _close_boxes()


def test_unexpected_errors_get_a_generic_message_with_redacted_details(qtbot: Any, tmp_path: Any) -> None:
    errors.set_log_dir(tmp_path)
    try:
        raise RuntimeError(f"request failed: Authorization: Bearer {SECRET}")
    except RuntimeError as exc:
        error = exc
    errors.show_error(None, error)
    boxes = _open_boxes()
    try:
        assert len(boxes) == 1
        box = boxes[0]
        assert box.text() == errors.GENERIC_MESSAGE
        assert str(tmp_path) in box.informativeText()
        assert "RuntimeError" in box.detailedText()
        assert SECRET not in box.detailedText()
        assert "[REDACTED]" in box.detailedText()
        copy = next(b for b in box.buttons() if b.text() == "Copy details")
        copy.click()
        clip = QApplication.clipboard().text()
        assert "RuntimeError" in clip
        assert SECRET not in clip
    finally:
        _close_boxes()
        errors.set_log_dir(None)


def test_cancelled_is_never_shown(qtbot: Any) -> None:
    errors.show_error(None, Cancelled())
    assert _open_boxes() == []
    assert errors.user_message(Cancelled()) is None


def test_excepthook_logs_redacted_and_reaches_the_presenter(qtbot: Any, presenter: Any,
                                                           shown_errors: list[BaseException],
                                                           caplog: pytest.LogCaptureFixture) -> None:
    try:
        raise ValueError(f"token={SECRET}")
    except ValueError:
        info = sys.exc_info()
    with qtbot.waitSignal(presenter.sig_errors_presented, timeout=5000):
        sys.excepthook(*info)
    assert [type(e) for e in shown_errors] == [ValueError]
    assert any(r.levelno == logging.ERROR for r in caplog.records)


def test_thread_excepthook_is_marshalled_to_the_gui_thread(qtbot: Any, presenter: Any,
                                                           shown_errors: list[BaseException]) -> None:
    seen_on: list[threading.Thread] = []
    presenter.sig_errors_presented.connect(lambda _b: seen_on.append(threading.current_thread()))

    def crash() -> None:
        raise KeyError("from a worker")

    with qtbot.waitSignal(presenter.sig_errors_presented, timeout=5000):
        t = threading.Thread(target=crash)
        t.start()
        t.join()
    assert [type(e) for e in shown_errors] == [KeyError]
    assert seen_on == [threading.main_thread()]


def test_a_burst_of_errors_becomes_one_dialog(qtbot: Any, presenter: Any,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[BaseException, int]] = []
    monkeypatch.setattr(errors, "show_error", lambda parent, exc, also=0: calls.append((exc, also)))
    with qtbot.waitSignal(presenter.sig_errors_presented, timeout=5000) as blocker:
        for i in range(5):
            presenter.report(RuntimeError(f"burst {i}"))
        presenter.report(Cancelled())
    assert len(blocker.args[0]) == 5
    assert len(calls) == 1
    assert str(calls[0][0]) == "burst 0"
    assert calls[0][1] == 4


def test_real_burst_dialog_counts_the_others(qtbot: Any) -> None:
    errors.show_error(None, UserFacingError("First problem."), also=2)
    boxes = _open_boxes()
    try:
        assert "2 more error(s)" in boxes[0].text()
    finally:
        _close_boxes()


def test_qt_warnings_are_routed_into_logging(qapp: Any, caplog: pytest.LogCaptureFixture) -> None:
    from PySide6.QtCore import qWarning

    p = errors.ErrorPresenter()
    errors.install_hooks(p, qt_messages=True)
    try:
        with caplog.at_level(logging.WARNING, logger="qt"):
            qWarning(f"something odd with Bearer {SECRET}")
    finally:
        errors.uninstall_hooks()
    messages = [r.getMessage() for r in caplog.records if r.name == "qt"]
    assert any("something odd" in m for m in messages)
    assert not any(SECRET in m for m in messages)

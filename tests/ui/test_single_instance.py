"""Single instance: a second start finds the lock, raises the first window, and gets False."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from console.ui.single_instance import SingleInstance


def test_second_start_activates_the_first(qtbot: Any, tmp_path: Path) -> None:
    first = SingleInstance(tmp_path)
    assert first.acquire() is True
    try:
        second = SingleInstance(tmp_path)
        with qtbot.waitSignal(first.sig_activation_requested, timeout=5000):
            assert second.acquire() is False
    finally:
        first.release()


def test_lock_is_free_again_after_release(qtbot: Any, tmp_path: Path) -> None:
    first = SingleInstance(tmp_path)
    assert first.acquire()
    first.release()
    again = SingleInstance(tmp_path)
    assert again.acquire() is True
    again.release()


def test_different_data_dirs_do_not_collide(qtbot: Any, tmp_path: Path) -> None:
    a, b = SingleInstance(tmp_path / "a"), SingleInstance(tmp_path / "b")
    assert a.acquire()
    assert b.acquire()
    a.release()
    b.release()

"""Restore a sandbox database to its seed ("Reset training data…", ``scim-console sandbox reset``).

A trainer changes the demo orgs (enables SCIM, merges accounts …); a reset gives the next session the
seed again. The file is replaced, not edited: the platform audit log is append-only by design, and a
fresh file is also what a new user gets.

Replacing a SQLite file that a running server still has open would mix the old WAL with the new file,
so every ``SandboxServer`` holds a *shared* advisory lock on ``<db>.lock`` while it runs and a reset
needs the *exclusive* one (POSIX ``flock``; on Windows an open database file cannot be deleted, which
refuses the reset just as well). The lock file itself stays: removing it would race with a starting
server.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO

SIDE_FILES = ("-wal", "-shm", "-journal")


class DatabaseInUseError(RuntimeError):
    """A running sandbox (the console's embedded one or ``sandbox serve``) has the database open."""


def _lock_path(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".lock")


@contextlib.contextmanager
def _locked(db_path: Path, exclusive: bool) -> Iterator[None]:
    db_path.parent.mkdir(parents=True, exist_ok=True)
    handle: IO[bytes] = open(_lock_path(db_path), "a+b")  # noqa: SIM115 - closed in finally
    try:
        if sys.platform != "win32":
            import fcntl

            mode = fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH
            try:
                fcntl.flock(handle.fileno(), mode | fcntl.LOCK_NB)
            except BlockingIOError:
                raise DatabaseInUseError(
                    f"The sandbox database {db_path} is in use by a running sandbox (the console's "
                    "embedded one or `scim-console sandbox serve`).") from None
        yield
    finally:
        handle.close()  # releases the lock


class SharedLock:
    """Held by a running server so that a reset cannot replace its file under it."""

    def __init__(self, db_path: Path) -> None:
        self._db_path = Path(db_path)
        self._held: contextlib.AbstractContextManager[None] | None = None

    def acquire(self) -> None:
        if self._held is None:
            held = _locked(self._db_path, exclusive=False)
            held.__enter__()
            self._held = held

    def release(self) -> None:
        held, self._held = self._held, None
        if held is not None:
            held.__exit__(None, None, None)


def remove_database(db_path: Path | str) -> list[Path]:
    """Delete the database and its WAL/SHM side files; returns what was removed.

    Raises ``DatabaseInUseError`` while any sandbox server has it open."""
    db_path = Path(db_path)
    removed: list[Path] = []
    with _locked(db_path, exclusive=True):
        for path in [db_path, *(db_path.with_name(db_path.name + s) for s in SIDE_FILES)]:
            try:
                os.remove(path)
            except FileNotFoundError:
                continue
            except PermissionError as exc:  # Windows: open in another process
                raise DatabaseInUseError(
                    f"The sandbox database {db_path} is in use ({exc.strerror}).") from None
            removed.append(path)
    return removed


def reset_database(db_path: Path | str, seed: str = "demo") -> dict[str, int]:
    """Replace the database with a freshly seeded one (all of it, Tailspin included); returns the
    counts the new file holds. Raises ``DatabaseInUseError`` while a sandbox server has it open."""
    from sqlalchemy import func, select

    from console.sandbox.db import Org, ProvisioningEvent, User, make_engine, make_sessionmaker
    from console.sandbox.seed import SEED_KINDS
    from console.sandbox.seed import seed as seed_database

    if seed not in SEED_KINDS:
        raise ValueError(f"unknown seed {seed!r}; expected one of {', '.join(SEED_KINDS)}")
    db_path = Path(db_path)
    remove_database(db_path)
    engine = make_engine(db_path)
    try:
        with make_sessionmaker(engine)() as session:
            seed_database(session, seed)
            return {name: session.scalar(select(func.count()).select_from(table)) or 0
                    for name, table in (("orgs", Org), ("users", User), ("events", ProvisioningEvent))}
    finally:
        engine.dispose()

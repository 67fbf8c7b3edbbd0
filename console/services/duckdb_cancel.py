"""Cancel a running DuckDB statement from another thread, for the log importer and the reconcile engine.

DuckDB holds no GIL while it works, so a statement can run for seconds without a Python check in
between; a watcher thread polls the cancel flag every 100 ms and interrupts the connection, and the
interrupt (or the error a half-done statement raises after it) becomes ``Cancelled``.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator

import duckdb

from console.core.errors import Cancelled

POLL_S = 0.1


@contextlib.contextmanager
def interruptible(con: duckdb.DuckDBPyConnection, cancelled: Callable[[], bool],
                  on_tick: Callable[[], None] | None = None) -> Iterator[None]:
    """Run the block's statements on ``con``; interrupt them within 100 ms of ``cancelled()``.

    ``on_tick`` is called from the watcher thread at each poll while the block runs (progress)."""
    if cancelled():
        raise Cancelled()
    done = threading.Event()
    fired = threading.Event()

    def watch() -> None:
        while not done.wait(POLL_S):
            if cancelled():
                fired.set()
                con.interrupt()
                return
            if on_tick is not None:
                on_tick()

    watcher = threading.Thread(target=watch, name="duckdb-watch", daemon=True)
    watcher.start()
    try:
        yield
    except duckdb.InterruptException:
        raise Cancelled() from None
    except duckdb.Error:
        if fired.is_set():
            raise Cancelled() from None
        raise
    finally:
        done.set()
        watcher.join()
    if fired.is_set():
        raise Cancelled()

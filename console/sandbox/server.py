"""``SandboxServer``: the sandbox platform running in-process (uvicorn in a daemon thread).

Used by the test fixtures, ``scim-console sandbox serve`` and ``scim-console gui --sandbox``. Several
servers can run in one process: each has its own engine, app and port (port 0 = the OS picks one,
read back from the bound socket). Access logging is off: one-time-link keys travel in ``/s/…`` paths.

``faults`` (a spec, see ``console.sandbox.faults``) starts the server misbehaving on purpose;
``server.faults.set(spec)`` / ``.clear()`` switch faults at runtime from any thread.

``bulk`` says when the big Tailspin org of a new (or interrupted) seed is filled: ``"wait"`` before
``start()`` returns (CLI, tests: the data is complete once the server answers), ``"background"`` on a
thread while the server already answers (the GUI's first start lists the other orgs at once;
``server.bulk`` reports the progress, ``stop()`` interrupts it and the next start completes it).
While it runs, the server holds a shared lock that keeps ``reset`` from replacing its file.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import httpx
import uvicorn
from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker

from console.sandbox.app import ADMIN_PREFIX, SCIM_PREFIX, create_app
from console.sandbox.db import make_engine, make_sessionmaker
from console.sandbox.faults import FaultInjector
from console.sandbox.reset import SharedLock
from console.sandbox.seed import SEED_KINDS, ensure_seeded
from console.sandbox.seed_bulk import TAILSPIN_ID, TailspinSize, fill, pending_size
from console.sandbox.tokens import start_operator_token

log = logging.getLogger(__name__)

START_TIMEOUT_S = 30.0
OPERATOR_NAME = "sandbox-operator"
BULK_MODES = ("wait", "background")


@dataclass
class BulkProgress:
    """Tailspin's bulk fill, read from any thread (plain attribute writes by the fill thread).

    ``state``: ``"none"`` (nothing to fill), ``"filling"``, ``"done"``, ``"stopped"`` (the server
    stopped first; the next start completes it) or ``"failed"`` (``error`` says why)."""

    org_id: str = TAILSPIN_ID
    state: str = "none"
    done: int = 0
    total: int = 0
    error: str = ""

    @property
    def percent(self) -> int:
        return int(100 * self.done / self.total) if self.total else 0


class SandboxError(RuntimeError):
    """The sandbox server could not start."""


class SandboxServer:
    """Context manager; ``start()`` returns once ``/admin/v1/health`` answers."""

    def __init__(
        self,
        db_path: Path | str,
        *,
        seed: str = "demo",
        host: str = "127.0.0.1",
        port: int = 0,
        faults: str | None = None,
        fault_seed: int | None = None,
        bulk: str = "wait",
        rotate_operator_token: bool = False,
    ) -> None:
        if seed not in SEED_KINDS:
            raise ValueError(f"unknown seed {seed!r}; expected one of {', '.join(SEED_KINDS)}")
        if bulk not in BULK_MODES:
            raise ValueError(f"unknown bulk mode {bulk!r}; expected one of {', '.join(BULK_MODES)}")
        self.bulk_mode = bulk
        self.bulk = BulkProgress()
        self._bulk_thread: threading.Thread | None = None
        self._bulk_stop = threading.Event()
        self._lock = SharedLock(Path(db_path))
        self.db_path = Path(db_path)
        self.seed = seed
        self.host = host
        self.port = port
        self.base_url = ""
        self.admin_url = ""
        self.scim_base_url = ""
        self.operator_token = ""
        self.rotate_operator_token = rotate_operator_token  # revoke every operator token, not just ours
        self.instance_id = ""  # the platform identity /admin/v1/health reports (one per database)
        self.seeded = False
        self.engine: Engine | None = None
        self.session_factory: sessionmaker | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._failure: BaseException | None = None
        # Parsed here so a bad spec fails before anything is bound or seeded (FaultSpecError).
        self.faults = FaultInjector(faults, seed=fault_seed)

    def start(self) -> SandboxServer:
        if self._thread is not None:
            raise SandboxError("sandbox server already started")
        self.db_path.parent.mkdir(parents=True, exist_ok=True)
        sock = self._bind()  # first: a busy port fails fast, before any seeding
        self._bulk_stop.clear()
        try:
            self._lock.acquire()
            self.engine = make_engine(self.db_path)
            self.session_factory = make_sessionmaker(self.engine)
            with self.session_factory() as session:
                self.seeded = ensure_seeded(session, self.seed)
                self.operator_token = start_operator_token(session, OPERATOR_NAME,
                                                           revoke_all=self.rotate_operator_token)
                session.commit()
                pending = pending_size(session)
            if pending is not None and self.bulk_mode == "wait":
                self._fill(pending, exclusive=True)
                pending = None
            app = create_app(self.session_factory, public_base_url=None, faults=self.faults)
        except BaseException:
            sock.close()
            self._cleanup()
            raise
        config = uvicorn.Config(
            app,
            host=self.host,
            port=self.port,
            log_level="warning",
            lifespan="on",
            access_log=False,
            log_config=None,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._run, args=(self._server, sock), name=f"sandbox-{self.db_path.name}", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self._server.started:
            if not self._thread.is_alive():
                self._cleanup()
                reason = type(self._failure).__name__ if self._failure else "exited"
                raise SandboxError(f"sandbox server failed to start on {self.host}:{self.port} ({reason})")
            if time.monotonic() > deadline:
                self.stop()
                raise SandboxError("sandbox server did not start in time")
            time.sleep(0.005)
        sockname = self._server.servers[0].sockets[0].getsockname()
        self.port = int(sockname[1])
        host = f"[{self.host}]" if ":" in self.host else self.host
        self.base_url = f"http://{host}:{self.port}"
        self.admin_url = self.base_url + ADMIN_PREFIX
        self.scim_base_url = self.base_url + SCIM_PREFIX
        app.state.public_base_url = self.base_url
        self.instance_id = app.state.instance_id
        self._wait_healthy(deadline)
        if pending is not None:
            self._bulk_thread = threading.Thread(target=self._fill, args=(pending,), daemon=True,
                                                 name=f"sandbox-fill-{self.db_path.name}")
            self._bulk_thread.start()
        return self

    def _fill(self, size: TailspinSize, exclusive: bool = False) -> None:
        """Tailspin's bulk (see ``seed_bulk``); on the fill thread a failure is reported, not raised."""
        assert self.engine is not None
        progress = self.bulk
        progress.state, progress.total = "filling", size.rows

        def report(done: int, _total: int) -> None:
            progress.done = done

        try:
            finished = fill(self.engine, size, progress=report, cancelled=self._bulk_stop.is_set,
                            exclusive=exclusive)
        except Exception as exc:
            if exclusive:
                raise
            log.exception("filling the sandbox's %s org failed", TAILSPIN_ID)
            progress.state, progress.error = "failed", f"{type(exc).__name__}: {exc}"
            return
        progress.state = "done" if finished else "stopped"

    def _bind(self) -> socket.socket:
        """Bind here, in the caller's thread, so "address in use" is an exception the caller sees."""
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        # proto=IPPROTO_TCP matters: asyncio only sets TCP_NODELAY on accepted sockets whose proto is
        # TCP; without it every keep-alive response waits ~40 ms (Nagle + delayed ACK).
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.host, self.port))
        except OSError as exc:
            sock.close()
            raise SandboxError(f"cannot listen on {self.host}:{self.port}: {exc.strerror}") from exc
        sock.set_inheritable(True)
        return sock

    def _run(self, server: uvicorn.Server, sock: socket.socket) -> None:
        try:
            server.run(sockets=[sock])
        except BaseException as exc:  # noqa: BLE001 - the thread must not die with a traceback
            self._failure = exc
        finally:
            sock.close()

    def _wait_healthy(self, deadline: float) -> None:
        with httpx.Client(timeout=2.0, trust_env=False) as client:
            while True:
                try:
                    if client.get(self.admin_url + "/health").status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    self.stop()
                    raise SandboxError("sandbox server is not answering /admin/v1/health")
                time.sleep(0.01)

    def stop(self) -> None:
        self._bulk_stop.set()  # a fill stops at its next chunk; the next start completes it
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=15)
        self._cleanup()

    def _cleanup(self) -> None:
        self._server = None
        self._thread = None
        if self._bulk_thread is not None:
            self._bulk_thread.join(timeout=60)
            self._bulk_thread = None
        if self.engine is not None:
            self.engine.dispose()
            self.engine = None
        self._lock.release()

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

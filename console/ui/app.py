"""Composition root of the desktop console: builds every collaborator once and wires them.

Order matters: paths → settings → logging (so everything after is logged) → QApplication →
single instance → last-resort hooks → theme → task runner → connection → main window (shown at
once) → keyring, local store and profiles (opened on a worker, with their imports, so the first
window is not waiting for SQLAlchemy) → sandbox or the active profile. Services never read
settings; this module passes plain values in.

A new user (no profile yet) or ``--sandbox`` gets the embedded sandbox platform: it starts on a
worker thread so the window appears at once with "Starting sandbox…", reuses
``<data_dir>/sandbox.db`` on later starts, and is stopped on quit.

``console.ui`` normally may not import ``console.sandbox`` (layers contract); this module imports
it lazily inside ``_start_sandbox`` and is the single allowed exception.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QApplication

import console
from console.core.errors import UserFacingError
from console.services.logging_setup import configure_logging, shutdown_logging
from console.services.paths import AppPaths
from console.ui import errors, messages, resources, theme
from console.ui.connection import Connection
from console.ui.context import AppContext
from console.ui.main_window import MainWindow
from console.ui.settings import Settings
from console.ui.single_instance import SingleInstance
from console.ui.tasks import CancelToken, TaskRunner

log = logging.getLogger(__name__)

STARTUP_TRACE_ENV = "SCIM_CONSOLE_STARTUP_TRACE"  # print "first-window-exposed <seconds>" (benchmarks)


@dataclass
class GuiApp:
    """Everything ``build_gui`` made; ``shutdown()`` releases it in reverse order."""

    app: QApplication
    paths: AppPaths
    settings: Settings
    runner: TaskRunner
    connection: Connection
    window: MainWindow
    store: Any
    profiles: Any
    instance: SingleInstance | None
    presenter: errors.ErrorPresenter
    events: GuiEvents
    sandbox: Any = None
    bridge: messages.MessageBridge | None = None
    _closed: bool = field(default=False, repr=False)

    def shutdown(self) -> None:
        if self._closed:
            return
        self._closed = True
        log.info("shutting down")
        if self.bridge is not None:
            self.bridge.close()  # later notifier messages must not reach a deleted window
        self.runner.shutdown(timeout=5.0)
        self.connection.close()
        if self.sandbox is not None:
            try:
                self.sandbox.stop()
            except Exception:  # quitting must go on
                log.exception("stopping the sandbox failed")
            self.sandbox = None
        if self.store is not None:
            self.store.close()
        if self.instance is not None:
            self.instance.release()
        errors.uninstall_hooks()


class GuiEvents(QObject):
    """Signals:
    sig_sandbox_started(server): the embedded sandbox answers; its profile is active.
    sig_sandbox_failed(exc): it could not start.
    sig_services_opened(): the keyring, the local store and the profiles are ready.
    """

    sig_services_opened = Signal()
    sig_sandbox_started = Signal(object)
    sig_sandbox_failed = Signal(object)


def _keyring_status(secrets: Any) -> str:
    if secrets.is_persistent:
        return f"{secrets.backend_name} (saved across restarts)"
    reason = getattr(secrets, "fallback_reason", None)
    return f"{secrets.backend_name} — not remembered: {reason}" if reason else secrets.backend_name


def build_gui(app: QApplication, *, sandbox: bool = False, sandbox_seed: str = "demo",
              paths: AppPaths | None = None, hooks: bool = True) -> GuiApp | None:
    """Compose the GUI; returns ``None`` when another instance is already running (it was raised)."""
    paths = (paths or AppPaths.default()).ensure()
    settings = Settings.in_dir(paths.config_dir)
    configure_logging(paths, settings.get("logging/level"))
    log.info("%s %s starting", console.APP_NAME, console.__version__)
    app.setApplicationName(console.APP_NAME)
    app.setApplicationVersion(console.__version__)
    app.setDesktopFileName(console.APP_ID)
    app.setWindowIcon(resources.icon("app"))

    instance = SingleInstance(paths.data_dir)
    if not instance.acquire():
        log.info("another instance is running; asked it to come to the front")
        return None

    presenter = errors.ErrorPresenter(app)
    errors.set_log_dir(paths.log_dir)
    if hooks:
        errors.install_hooks(presenter)
    theme.apply_theme(app, settings.get("ui/theme"))
    theme.follow_system(app)

    runner = TaskRunner(app)
    holder: dict[str, Any] = {}  # services, filled in by _open_services (off the GUI thread)

    def client_factory(profile: Any) -> Any:
        return holder["profiles"].client_for(
            profile, extra_ca_bundle=settings.get("network/extra_ca_bundle") or None)

    def audit_provider() -> Any:
        if "store" not in holder:
            raise UserFacingError("The local database is still opening.")
        return holder["store"].audit

    connection = Connection(runner, client_factory, app)

    def apply_log_level(level: str) -> None:
        logging.getLogger().setLevel(level)

    ctx = AppContext(paths=paths, settings=settings, runner=runner, connection=connection, profiles=None,
                     audit_provider=audit_provider, keyring_status="opening…",
                     apply_theme=lambda name: theme.apply_theme(app, name), apply_log_level=apply_log_level)
    window = MainWindow(ctx)
    bridge = messages.MessageBridge(window)
    bridge.sig_message_received.connect(
        lambda level, text: window.show_status(messages.status_text(level, text),
                                               messages.STATUS_TIMEOUT_MS.get(level, 8_000)))
    instance.sig_activation_requested.connect(window.bring_to_front)
    gui = GuiApp(app=app, paths=paths, settings=settings, runner=runner, connection=connection,
                 window=window, store=None, profiles=None, instance=instance, presenter=presenter,
                 events=GuiEvents(app), bridge=bridge)
    app.aboutToQuit.connect(gui.shutdown)
    bridge.start()
    _open_services(gui, holder, sandbox=sandbox, sandbox_seed=sandbox_seed)
    return gui


def _purge_expired_tokens(store: Any, secrets: Any) -> None:
    """Undelivered SCIM tokens whose delivery window ended leave the keyring at start, even if
    nobody opens their org again (the org page purges too, after asking the platform about links)."""
    from console.services.pending_deliveries import PendingDeliveries

    try:
        purged = PendingDeliveries(store.engine).purge(secrets)
    except UserFacingError as exc:  # a locked keyring: try again next start
        log.warning("could not purge expired SCIM tokens from the keyring: %s", exc)
        return
    if purged:
        log.info("purged %d expired undelivered SCIM token(s) from the keyring", len(purged))


def _open_services(gui: GuiApp, holder: dict[str, Any], *, sandbox: bool, sandbox_seed: str) -> None:
    """Keyring, local store and profiles, opened on a worker so the window shows at once.

    Their imports (SQLAlchemy, keyring, httpx: ~0.8 s) happen here too, off the start-up path.
    """
    db_url = os.environ.get("SCIM_CONSOLE_DB_URL") or gui.settings.get("store/database_url") or None
    paths = gui.paths

    def _open(token: CancelToken) -> tuple[Any, Any, Any, str, Any]:
        from console.services.profiles import ProfileService
        from console.services.secrets import SecretStore
        from console.services.store import Store

        secrets = SecretStore.open(allow_memory_fallback=True)
        store = Store.open(db_url, paths)
        try:
            profiles = ProfileService(store, secrets)
            _purge_expired_tokens(store, secrets)
            existing = profiles.list()
            active = profiles.active() or (existing[0] if existing else None)
            token.raise_if_cancelled()  # quit while opening: close again, nobody will use it
        except BaseException:
            store.close()
            raise
        return store, profiles, active, _keyring_status(secrets), secrets

    def _opened(result: tuple[Any, Any, Any, str, Any]) -> None:
        store, profiles, active, keyring_status, _secrets = result
        holder.update(store=store, profiles=profiles)
        gui.store, gui.profiles = store, profiles
        ctx = gui.window.ctx
        ctx.profiles, ctx.keyring_status = profiles, keyring_status
        gui.window.settings_page.keyring.setText(keyring_status)
        gui.events.sig_services_opened.emit()
        if sandbox or active is None or active.is_sandbox:
            # The sandbox lives only while the console runs: a saved Sandbox profile means "start it".
            _start_sandbox(gui, sandbox_seed)
        else:
            gui.connection.connect_to(active)

    def _failed(exc: BaseException) -> None:
        gui.window.show_status("The local database could not be opened.")
        gui.window.orgs_page.clear("The local database could not be opened",
                                   str(exc) if isinstance(exc, UserFacingError)
                                   else "Details are in the log (Help → Open log folder).")
        errors.show_error(gui.window, exc)

    gui.window.show_status("Opening…")
    gui.runner.run(_open, _opened, on_failure=_failed, purpose="services.open", label="Opening the database")


def _start_sandbox(gui: GuiApp, seed: str) -> None:
    """Start (or reuse) the embedded sandbox on a worker; the window is already showing."""
    db_path = gui.paths.sandbox_db
    profiles = gui.profiles
    first_run = not db_path.exists()

    def _start(token: CancelToken) -> tuple[Any, Any]:
        from console.sandbox.server import SandboxServer  # lazily: the one ui → sandbox import

        text = "Creating the sandbox platform (first run)…" if first_run else "Starting sandbox…"
        token.progress(0, 0, text)
        server = SandboxServer(db_path=db_path, seed=seed).start()
        if token.cancelled():
            server.stop()
            token.raise_if_cancelled()
        try:
            profile = profiles.ensure_sandbox_profile(server.admin_url, server.operator_token)
            profiles.switch(profile.id)
        except BaseException:
            server.stop()
            raise
        return server, profile

    def _started(result: tuple[Any, Any]) -> None:
        server, profile = result
        gui.sandbox = server
        log.info("sandbox platform running at %s", server.base_url)
        gui.window.show_status(f"Sandbox running at {server.base_url}", 5000)
        gui.connection.connect_to(profile)
        gui.events.sig_sandbox_started.emit(server)

    def _failed(exc: BaseException) -> None:
        gui.window.show_status("The sandbox could not start.")
        gui.window.orgs_page.clear("The sandbox could not start", str(exc) if isinstance(exc, UserFacingError)
                                   else "Details are in the log (Help → Open log folder).")
        gui.events.sig_sandbox_failed.emit(exc)
        errors.show_error(gui.window, exc)

    gui.window.show_status("Starting sandbox…")
    gui.window.orgs_page.clear("Starting sandbox…",
                               "Creating demo organisations on first run; this takes a moment."
                               if first_run else "")
    gui.runner.run(_start, _started, on_failure=_failed, purpose="sandbox.start", label="Starting sandbox")


def run_gui(sandbox: bool = False) -> int:
    """Entry point of ``scim-console gui``: returns the process exit code."""
    t0 = time.perf_counter()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    gui = build_gui(app, sandbox=sandbox)
    if gui is None:
        return 0
    if os.environ.get(STARTUP_TRACE_ENV):
        _trace_first_expose(gui.window, t0)
    gui.window.show()
    try:
        return app.exec()
    finally:
        gui.shutdown()
        shutdown_logging()


def _trace_first_expose(window: MainWindow, t0: float) -> None:
    """Print the wall-clock time of the first exposed frame, then quit (tests/bench/cold_start.py
    subtracts the time it spawned the process)."""
    from PySide6.QtCore import QEvent, QTimer

    class _Watcher(QObject):
        def eventFilter(self, obj: QObject, event: QEvent) -> bool:
            handle = window.windowHandle()
            if event.type() == QEvent.Type.Expose and handle is not None and handle.isExposed():
                print(f"first-window-exposed-at {time.time():.6f} "  # noqa: T201 - benchmark output
                      f"run_gui-to-expose {time.perf_counter() - t0:.3f}", flush=True)
                handle.removeEventFilter(self)
                QTimer.singleShot(0, QApplication.quit)
            return False

    watcher = _Watcher(window)
    window.winId()  # creates the QWindow so its Expose event can be watched
    handle = window.windowHandle()
    if handle is not None:
        handle.installEventFilter(watcher)

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
from collections.abc import Callable
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
from console.ui.tasks import CancelToken, Job, TaskRunner

log = logging.getLogger(__name__)

# Benchmarks: print "first-window-exposed-at <epoch>" and quit; with the value "orgs", also wait for the
# organisation list and print "orgs-listed-at <epoch>" (tests/bench/cold_start.py --until-orgs).
STARTUP_TRACE_ENV = "SCIM_CONSOLE_STARTUP_TRACE"


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
    bulk_watcher: BulkWatcher | None = None
    _closed: bool = field(default=False, repr=False)

    def shutdown(self) -> None:
        if self._closed:
            return
        self._closed = True
        log.info("shutting down")
        if self.bridge is not None:
            self.bridge.close()  # later notifier messages must not reach a deleted window
        if self.bulk_watcher is not None:
            self.bulk_watcher.stop()  # its last tick would reload through the runner stopped next
            self.bulk_watcher = None
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


def _keyring_status(secrets: Any, sandbox_url: str | None = None) -> str:
    if secrets.is_persistent:
        return f"{secrets.backend_name} (saved across restarts)"
    reason = getattr(secrets, "fallback_reason", None)
    text = f"{secrets.backend_name} — not remembered: {reason}" if reason else secrets.backend_name
    if sandbox_url is not None and secrets.may_keep_scim_tokens_of(sandbox_url):
        text += ("; the embedded sandbox's SCIM tokens are kept in memory for this session, a real "
                 "platform's need an OS keyring")
    return text


def build_gui(app: QApplication, *, sandbox: bool = False, sandbox_seed: str = "demo",
              paths: AppPaths | None = None, hooks: bool = True, verbose: bool = False) -> GuiApp | None:
    """Compose the GUI; returns ``None`` when another instance is already running (it was raised).

    ``verbose``: the terminal also gets the informational lines the log file always has."""
    paths = (paths or AppPaths.default()).ensure()
    settings = Settings.in_dir(paths.config_dir)
    level = settings.get("logging/level")
    configure_logging(paths, level, stderr_level=level if verbose else "WARNING")
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
    window.sig_reset_training_requested.connect(lambda: reset_training_data(gui))
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
    """Start (or reuse) the embedded sandbox on a worker; the window is already showing.

    The small demo orgs are there at once; Tailspin's 250 000 rows fill in the background
    (``bulk="background"``) with their progress on its row, so a first start lists orgs in seconds."""
    db_path = gui.paths.sandbox_db
    profiles = gui.profiles
    first_run = not db_path.exists()

    def _start(token: CancelToken) -> tuple[Any, Any]:
        from console.sandbox.server import SandboxServer  # lazily: the one ui → sandbox import

        text = "Creating the sandbox platform (first run)…" if first_run else "Starting sandbox…"
        token.progress(0, 0, text)
        server = SandboxServer(db_path=db_path, seed=seed, bulk="background").start()
        if token.cancelled():
            server.stop()
            token.raise_if_cancelled()
        try:
            # The sandbox's SCIM tokens are throwaway: without an OS keyring they may live in memory.
            profiles.secrets.allow_memory_for(server.admin_url)
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
        keyring_status = _keyring_status(profiles.secrets, server.admin_url)
        gui.window.ctx.keyring_status = keyring_status
        gui.window.settings_page.keyring.setText(keyring_status)
        gui.window.reset_training_action.setEnabled(True)
        gui.connection.connect_to(profile)
        if gui.bulk_watcher is not None:
            gui.bulk_watcher.stop()
        gui.bulk_watcher = BulkWatcher(server.bulk, gui.window.orgs_page, gui.window)
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


class BulkWatcher(QObject):
    """Shows the embedded sandbox's background fill on Tailspin's row and reloads the list when done.

    It reads ``server.bulk`` (plain attributes the fill thread writes) on a GUI-thread timer: no I/O
    and no cross-thread Qt calls."""

    INTERVAL_MS = 400

    def __init__(self, bulk: Any, orgs_page: Any, parent: QObject) -> None:
        super().__init__(parent)
        from PySide6.QtCore import QTimer

        self._bulk, self._orgs = bulk, orgs_page
        self._timer = QTimer(self)
        self._timer.setInterval(self.INTERVAL_MS)
        self._timer.timeout.connect(self._tick)
        if bulk.state == "filling":
            self._timer.start()
            self._tick()

    def stop(self) -> None:
        """No more ticks (quit, reset): the sandbox's next start gets a watcher of its own. The
        object itself stays with its parent window (a few bytes), so a later stop() is safe."""
        self._timer.stop()

    def _tick(self) -> None:
        bulk, model = self._bulk, self._orgs.model
        if bulk.state == "filling":
            model.set_note(bulk.org_id, f"Filling demo data… {bulk.percent} %",
                           f"The sandbox is adding this org's {bulk.total:,} users and log events in "
                           "the background; the other orgs are ready.")
            return
        self._timer.stop()
        if bulk.state == "failed":
            model.set_note(bulk.org_id, "Demo data incomplete", f"Filling it failed: {bulk.error}. "
                           "Help → Open log folder has the details; File → Reset training data… retries.")
        elif bulk.state == "done":
            model.set_note(bulk.org_id, None)
            self._orgs.reload()  # the real counts
        # "stopped": the sandbox was stopped (quit, reset); its next start fills the rest


def reset_training_data(gui: GuiApp, seed: str = "demo") -> Job | None:
    """File → Reset training data…: after a confirmation, replace the embedded sandbox's database with
    the seed (stop it, remove its file, start it again). Tokens this console still held for the
    sandbox's orgs are forgotten: the new sandbox never minted them."""
    from console.ui.dialogs.confirm import ConfirmDialog

    server = gui.sandbox
    if server is None or gui.profiles is None:
        return None
    if not ConfirmDialog.ask(
            gui.window, "Reset training data",
            "Replace everything in the embedded sandbox (orgs, users, SCIM settings, tokens, logs) with "
            "the demo data it started with? Whatever was changed in training is gone; real platforms "
            "are not touched.", yes="Reset"):
        return None
    profiles, db_path = gui.profiles, gui.paths.sandbox_db
    gui.sandbox = None
    if gui.bulk_watcher is not None:
        gui.bulk_watcher.stop()
    gui.window.reset_training_action.setEnabled(False)
    gui.connection.connect_to(None)  # nothing may talk to the sandbox while its file is replaced
    gui.window.orgs_page.clear("Resetting training data…")

    def _reset(_t: CancelToken) -> int:
        from console.sandbox.reset import remove_database  # lazily: the entry layer's sandbox import
        from console.services.pending_deliveries import PendingDeliveries
        from console.services.profiles import SANDBOX_PROFILE_NAME

        server.stop()
        remove_database(db_path)
        deliveries = PendingDeliveries(profiles.store.engine)
        sandbox = profiles.store.profiles.get_by_name(SANDBOX_PROFILE_NAME)
        forgotten = [d for d in deliveries.list() if d.purged_at is None and sandbox is not None
                     and d.profile_id == sandbox.id]
        for d in forgotten:
            deliveries.mark_delivered(d.token_id, "sandbox-reset")
        deliveries.purge(profiles.secrets)
        return len(forgotten)

    def _done(forgotten: int) -> None:
        log.info("training data reset (%d undelivered sandbox token(s) forgotten)", forgotten)
        gui.window.show_status("Training data reset: the sandbox starts again with the demo data.", 8000)
        _start_sandbox(gui, seed)

    def _failed(exc: BaseException) -> None:
        gui.window.show_status("The training data could not be reset.")
        errors.show_error(gui.window, exc)
        _start_sandbox(gui, seed)  # whatever is on disk: the sandbox is the demo's platform

    return gui.runner.run(_reset, _done, on_failure=_failed, purpose="sandbox.reset",
                          label="Resetting training data")


def run_gui(sandbox: bool = False, verbose: bool = False,
            ready: Callable[[GuiApp], None] | None = None) -> int:
    """Entry point of ``scim-console gui``: returns the process exit code.

    ``ready(gui)`` runs once the event loop is running (the fresh-machine test drives the real entry
    point through it)."""
    t0 = time.perf_counter()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    gui = build_gui(app, sandbox=sandbox, verbose=verbose)
    if gui is None:
        return 0
    if os.environ.get(STARTUP_TRACE_ENV):
        _trace_first_expose(gui.window, t0, until_orgs=os.environ[STARTUP_TRACE_ENV] == "orgs")
    gui.window.show()
    if ready is not None:
        from PySide6.QtCore import QTimer

        QTimer.singleShot(0, lambda: ready(gui))
    try:
        return app.exec()
    finally:
        gui.shutdown()
        shutdown_logging()


def _trace_first_expose(window: MainWindow, t0: float, *, until_orgs: bool = False) -> None:
    """Print the wall-clock time of the first exposed frame (and, ``until_orgs``, of the first
    non-empty organisation list), then quit (tests/bench/cold_start.py subtracts the time it spawned
    the process)."""
    from PySide6.QtCore import QEvent, QTimer

    def _listed(n: int) -> None:
        if n > 0:
            print(f"orgs-listed-at {time.time():.6f}", flush=True)  # noqa: T201 - benchmark output
            QTimer.singleShot(0, QApplication.quit)

    if until_orgs:
        window.orgs_page.sig_orgs_loaded.connect(_listed)

    class _Watcher(QObject):
        def eventFilter(self, obj: QObject, event: QEvent) -> bool:
            handle = window.windowHandle()
            if event.type() == QEvent.Type.Expose and handle is not None and handle.isExposed():
                print(f"first-window-exposed-at {time.time():.6f} "  # noqa: T201 - benchmark output
                      f"run_gui-to-expose {time.perf_counter() - t0:.3f}", flush=True)
                handle.removeEventFilter(self)
                if not until_orgs:
                    QTimer.singleShot(0, QApplication.quit)
            return False

    watcher = _Watcher(window)
    window.winId()  # creates the QWindow so its Expose event can be watched
    handle = window.windowHandle()
    if handle is not None:
        handle.installEventFilter(watcher)

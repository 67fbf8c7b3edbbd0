"""Shared test fixtures.

* Qt runs offscreen (set before anything imports PySide6).
* Every test gets fresh config/data/log dirs (``SCIM_CONSOLE_HOME``) so nothing touches the
  developer's real files, and an in-memory keyring so nothing touches the real one.
* ``sandbox`` is a real sandbox platform: uvicorn on 127.0.0.1, a real SQLite file in a temp dir.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from collections.abc import Iterator
from pathlib import Path

import keyring
import keyring.backend
import keyring.errors
import pytest
from hypothesis import settings as hypothesis_settings
from jaraco.classes import properties

# Property tests are reproducible: the default ("ci") profile derives every example from the test
# itself (derandomize), so two runs — and CI — try exactly the same inputs, and a failure prints the
# example plus a @reproduce_failure blob to replay it. The "explore" profile is random (and keeps a
# local example database) for hunting new bugs: HYPOTHESIS_PROFILE=explore .venv/bin/python -m pytest
hypothesis_settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
hypothesis_settings.register_profile("explore", derandomize=False, print_blob=True)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


class MemoryKeyring(keyring.backend.KeyringBackend):
    """In-memory keyring backend for unit tests (keyring's documented runtime configuration).

    keyring discovers every KeyringBackend subclass; this one is viable only while the fixture has
    installed it, so a test of this machine's own resolution (``os_keyring``) never picks it."""

    installed = False

    @properties.classproperty
    def priority(cls) -> float:  # noqa: N805 - a class property
        if not cls.installed:
            raise RuntimeError("the test keyring is installed only by the memory_keyring fixture")
        return 1

    def __init__(self) -> None:
        super().__init__()
        self.store: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.store.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.store[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self.store.pop((service, username), None) is None:
            raise keyring.errors.PasswordDeleteError(username)


@pytest.fixture(autouse=True)
def memory_keyring(request: pytest.FixtureRequest) -> Iterator[MemoryKeyring | None]:
    """Every test uses an in-memory keyring, except the real Secret Service tests and the tests of
    what this machine's own keyring resolution gives (``os_keyring``: a fresh machine has none)."""
    if request.node.get_closest_marker("secret_service") or request.node.get_closest_marker("os_keyring"):
        yield None
        return
    previous = keyring.get_keyring()
    MemoryKeyring.installed = True
    ring = MemoryKeyring()
    keyring.set_keyring(ring)
    yield ring
    keyring.set_keyring(previous)
    MemoryKeyring.installed = False


@pytest.fixture(autouse=True)
def console_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Redirect every console directory (config, data, logs, cache) into the test's temp dir."""
    home = tmp_path / "console-home"
    home.mkdir()
    monkeypatch.setenv("SCIM_CONSOLE_HOME", str(home))
    monkeypatch.delenv("SCIM_CONSOLE_URL", raising=False)
    monkeypatch.delenv("SCIM_CONSOLE_TOKEN", raising=False)
    monkeypatch.delenv("SCIM_CONSOLE_DB_URL", raising=False)
    return home


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Auto-mark tests that use a QApplication as ``gui`` (so ``-m "not gui"`` runs headless)."""
    for item in items:
        fixtures = getattr(item, "fixturenames", ())
        if "qtbot" in fixtures or "qapp" in fixtures:
            item.add_marker(pytest.mark.gui)


@pytest.fixture(scope="session")
def _sandbox_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    from console.sandbox.server import SandboxServer

    db = tmp_path_factory.mktemp("sandbox") / "platform.db"
    with SandboxServer(db_path=db, seed="demo") as server:
        yield server


@pytest.fixture
def sandbox(_sandbox_session: object) -> object:
    """A running sandbox platform seeded with the demo data (shared by the session: read-mostly).

    Tests that change data should create their own org through the admin API, or use
    ``fresh_sandbox``.
    """
    return _sandbox_session


@pytest.fixture
def fresh_sandbox(tmp_path: Path) -> Iterator[object]:
    """A running sandbox platform on its own empty database, for tests that change things."""
    from console.sandbox.server import SandboxServer

    with SandboxServer(db_path=tmp_path / "platform.db", seed="empty") as server:
        yield server


@pytest.fixture
def store(console_home: Path) -> Iterator[object]:
    """The local store: SQLite in this test's console home, closed after the test."""
    from console.services.paths import AppPaths
    from console.services.store import Store

    with Store.open(None, AppPaths.default().ensure()) as s:
        yield s


@pytest.fixture
def secrets(memory_keyring: MemoryKeyring | None) -> object:
    """The SecretStore over this test's in-memory keyring backend (persistent, as far as it knows)."""
    from console.services.secrets import SecretStore

    return SecretStore.open()


@pytest.fixture
def new_org(server: object) -> Iterator[object]:
    """``make()`` → a fresh SCIM-enabled org on the module's ``server``, its clients closed after the test."""
    from tests.sandbox.scim_helpers import scim_org

    made: list = []

    def make() -> object:
        made.append(scim_org(server))
        return made[-1]

    yield make
    for org in made:
        org.close()

"""One sandbox per test module whose faults every test sets and the fixture clears.

Bind both in a test module (``server = fault_fixtures.server``, ``clear_faults = …``): module
scope is per module that holds the fixture, so each module gets its own sandbox.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from console.sandbox.server import SandboxServer


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxServer]:
    with SandboxServer(tmp_path_factory.mktemp("faults") / "platform.db", seed="small") as s:
        yield s


@pytest.fixture(autouse=True)
def clear_faults(server: SandboxServer) -> Iterator[None]:
    """No test inherits another's faults, and a failing test cannot leave the sandbox broken."""
    server.faults.clear()
    yield
    server.faults.clear()

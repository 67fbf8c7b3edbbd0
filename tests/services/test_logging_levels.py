"""Quiet by default: the terminal gets warnings and errors, the log file everything; --verbose brings
the informational lines (one per request, for instance) back to the terminal."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from console.services.logging_setup import LOG_FILE, configure_logging, shutdown_logging
from console.services.paths import AppPaths


@pytest.fixture
def paths(console_home: object) -> Iterator[AppPaths]:
    root = logging.getLogger()
    level = root.level
    yield AppPaths.default().ensure()
    shutdown_logging()
    root.setLevel(level)


@pytest.mark.parametrize(("stderr_level", "info_on_terminal"), [("WARNING", False), ("INFO", True)])
def test_the_terminal_gets_warnings_only_unless_verbose(paths: AppPaths, capfd: pytest.CaptureFixture[str],
                                                        stderr_level: str, info_on_terminal: bool) -> None:
    configure_logging(paths, "INFO", stderr_level=stderr_level)
    log = logging.getLogger("console.test")
    log.info("GET /admin/v1/orgs 200 in 12 ms")
    log.warning("connection to Sandbox failed: refused")
    for handler in logging.getLogger().handlers:
        handler.flush()
    terminal = capfd.readouterr().err
    assert "connection to Sandbox failed" in terminal
    assert ("GET /admin/v1/orgs 200" in terminal) is info_on_terminal
    in_file = (paths.log_dir / LOG_FILE).read_text(encoding="utf-8")
    assert "GET /admin/v1/orgs 200" in in_file  # the file always has everything at the chosen level
    assert "connection to Sandbox failed" in in_file


def test_the_gui_command_takes_verbose() -> None:
    from console.cli import build_parser

    args = build_parser().parse_args(["gui", "--sandbox", "--verbose"])
    assert args.verbose is True
    assert build_parser().parse_args(["--sandbox"]).verbose is False

"""Command line: ``scim-console [gui|selfcheck|orgs|sandbox|…]``.

Every command supports ``--json`` and exits non-zero with a one-line reason on failure. Tokens are
never accepted as arguments (they would leak into process lists): the CLI reads
``SCIM_CONSOLE_URL`` / ``SCIM_CONSOLE_TOKEN`` from the environment, or the active profile's
keyring entry.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from console import APP_NAME, __version__

# Each entry registers one top-level subcommand: (name, help, register(parser) -> None).
# A command's handler is stored as ``parser.set_defaults(handler=fn)``; fn(args) -> int.
Registrar = Callable[[argparse.ArgumentParser], None]


def _register_gui(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sandbox", action="store_true",
                        help="connect to the embedded sandbox platform instead of the active profile")
    parser.add_argument("--verbose", action="store_true",
                        help="also print informational log lines (every request) on the terminal")
    parser.set_defaults(handler=_run_gui)


NO_DISPLAY = (
    "no display: neither DISPLAY nor WAYLAND_DISPLAY is set, so the window cannot open. On a machine "
    "without a desktop run it under a virtual display: xvfb-run -a {command} — or use the command "
    "line: {exe} --help"
)


def _as_typed(argv: Sequence[str]) -> tuple[str, str]:
    """(the executable, the whole command) as the user can type them again."""
    exe = argv[0] if argv and argv[0] else "scim-console"
    if exe.endswith("__main__.py"):
        exe = f"{Path(sys.executable).name} -m console"
    return exe, " ".join([exe, *argv[1:]])


def display_problem(environ: dict[str, str] | None = None, platform: str = sys.platform) -> str | None:
    """Why the GUI cannot open a window here, before Qt aborts with a message about xcb libraries."""
    env = os.environ if environ is None else environ
    if not platform.startswith("linux") or env.get("QT_QPA_PLATFORM"):
        return None  # Windows/macOS always have a display; QT_QPA_PLATFORM is the user's explicit choice
    if env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"):
        return None
    exe, command = _as_typed(sys.argv)
    return NO_DISPLAY.format(exe=exe, command=command)


def _run_gui(args: argparse.Namespace) -> int:
    problem = display_problem()
    if problem is not None:
        return fail(problem, code=2)
    from console.ui.app import run_gui  # imported lazily: CLI commands must not load Qt

    return run_gui(sandbox=getattr(args, "sandbox", False), verbose=getattr(args, "verbose", False))


def _subcommands() -> list[tuple[str, str, Registrar]]:
    from console.commands import COMMANDS  # lazily: keeps start-up import cost low

    return [("gui", "open the desktop console (default)", _register_gui), *COMMANDS]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="scim-console", description=APP_NAME)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--sandbox", action="store_true",
                        help="open the GUI on the embedded sandbox platform (started on this machine)")
    parser.add_argument("--verbose", action="store_true",
                        help="GUI: also print informational log lines on the terminal (they always go "
                             "to the log file)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, help_text, register in _subcommands():
        register(sub.add_parser(name, help=help_text))
    return parser


def fail(message: str, *, as_json: bool = False, code: int = 1) -> int:
    """Print a one-line reason (or a JSON error object) and return the exit code."""
    one_line = " ".join(str(message).split())
    if as_json:
        print(json.dumps({"ok": False, "error": one_line}))
    else:
        print(f"scim-console: error: {one_line}", file=sys.stderr)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:  # no subcommand: open the GUI
        return _run_gui(args)
    try:
        code = int(handler(args) or 0)
        sys.stdout.flush()  # here, not at exit: a reader that went away is then a BrokenPipeError we see
        return code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (``scim-console … | head``): not an error of ours, and Python would
        # print a second traceback while flushing stdout at exit unless stdout is redirected.
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # 128 + SIGPIPE, as a shell reports a killed writer
    except Exception as exc:  # noqa: BLE001 - last resort: one line, never a traceback with secrets
        from console.core.redact import redact

        return fail(f"{type(exc).__name__}: {redact(str(exc))}", as_json=getattr(args, "json", False))


def gui_main() -> int:
    """Entry point of the windowed (gui-script) executable."""
    return main(["gui", *sys.argv[1:]])

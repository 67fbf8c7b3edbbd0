"""Registry of CLI subcommands beyond ``gui``; each feature adds its own ``register`` here."""

from __future__ import annotations

from console.sandbox.cli import register as register_sandbox

COMMANDS = [
    ("sandbox", "run the sandbox platform (admin API + SCIM 2.0) and its Entra simulator",
     register_sandbox),
]

"""Email reconciliation, the pure part (issue 6): finding classes, comparison rules, plans, texts.

The engine that finds the findings is SQL (``console.services.reconcile``); everything a person reads
or confirms — what a finding means, what the fix is, which exact steps a plan will run and how a step
recognises that it already happened — is decided here, without I/O, so it is testable in isolation.
"""

from console.core.reconcile.findings import (
    CLASS_INFO,
    Account,
    EntraRecord,
    Evidence,
    Finding,
    FindingClass,
)
from console.core.reconcile.plan import Plan, PlannedStep, build_plan, effect_present, steps_for
from console.core.reconcile.rules import identity_key, is_placeholder, pick_survivor

__all__ = [
    "CLASS_INFO",
    "Account",
    "EntraRecord",
    "Evidence",
    "Finding",
    "FindingClass",
    "Plan",
    "PlannedStep",
    "build_plan",
    "effect_present",
    "identity_key",
    "is_placeholder",
    "pick_survivor",
    "steps_for",
]

"""Stage 5 of the pipeline: derived facts, from the rules in ``rules/``.

:mod:`~cipd_graph.derive.rules` reads the rules, :mod:`~cipd_graph.derive.plan` works out
what each reads from its focus, :mod:`~cipd_graph.derive.maintain` keeps the derived
graphs up to date with each write at the cost of what it touches, and
:mod:`~cipd_graph.derive.full` recomputes everything.
"""

from cipd_graph.derive.full import Derivation, compute, derive_in_bulk, full_operations
from cipd_graph.derive.maintain import Maintainer, NeedsFullDerivation
from cipd_graph.derive.plan import PlanError, RulePlan, plans
from cipd_graph.derive.rules import Rule, fingerprint, parse_rule, rule_levels, rules

__all__ = [
    "Derivation",
    "Maintainer",
    "NeedsFullDerivation",
    "PlanError",
    "Rule",
    "RulePlan",
    "compute",
    "derive_in_bulk",
    "fingerprint",
    "full_operations",
    "parse_rule",
    "plans",
    "rule_levels",
    "rules",
]

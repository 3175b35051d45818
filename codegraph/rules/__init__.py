"""The rules: one module per rule, listed once here.

Rule codes and names are a stable contract. Adding a rule is one module beside these
(a :class:`~codegraph.rules.base.Rule` subclass), one line in :data:`ALL_RULES` and
one fixture named after its code in ``tests/rules/fixtures/``.

:func:`find_candidates` is the one enumeration of candidate bug locations and their
repairs; the same enumeration serves inference and training (bug injection applies a
repair of a correct program, the fix is then the inverse repair, which the
enumeration finds again on the buggy program). Nested function definitions are left
out of a function's candidates: each is a unit of its own. Lambdas and
comprehensions belong to the enclosing function.
"""

from __future__ import annotations

from collections.abc import Iterable

from codegraph.rules.base import (
    Enumeration,
    Rule,
    analysis_functions,
    apply_repair,
    function_nodes,
    is_module,
    module_function,
)
from codegraph.rules.cg001_variable_misuse import VariableMisuse
from codegraph.rules.cg002_swapped_arguments import SwappedArguments
from codegraph.rules.cg003_wrong_binary_operator import WrongBinaryOperator
from codegraph.rules.cg004_wrong_comparison_operator import WrongComparisonOperator
from codegraph.rules.cg005_wrong_boolean_operator import WrongBooleanOperator
from codegraph.rules.cg006_wrong_literal import WrongLiteral
from codegraph.rules.cg007_wrong_negation import WrongNegation
from codegraph.rules.cg008_wrong_assignment_operator import WrongAssignmentOperator
from codegraph.schema import CodeGraph, FunctionInfo
from codegraph.scopes import ScopeInfo
from codegraph.units import Candidate

#: every rule, in code order: the one list
ALL_RULES: tuple[type[Rule], ...] = (
    VariableMisuse,
    SwappedArguments,
    WrongBinaryOperator,
    WrongComparisonOperator,
    WrongBooleanOperator,
    WrongLiteral,
    WrongNegation,
    WrongAssignmentOperator,
)
RULES_BY_CODE: dict[str, type[Rule]] = {r.code: r for r in ALL_RULES}
#: every rule code, in order
RULE_CODES: tuple[str, ...] = tuple(RULES_BY_CODE)
RULE_INDEX: dict[str, int] = {code: i for i, code in enumerate(RULE_CODES)}
#: every repair token the enumeration can produce, in a fixed order (vocabulary building)
REPAIR_TOKENS: tuple[str, ...] = tuple(t for r in ALL_RULES for t in r.repair_tokens)

__all__ = [
    "ALL_RULES",
    "REPAIR_TOKENS",
    "RULES_BY_CODE",
    "RULE_CODES",
    "RULE_INDEX",
    "Enumeration",
    "Rule",
    "analysis_functions",
    "apply_repair",
    "find_candidates",
    "function_nodes",
    "is_module",
    "module_function",
]


def _dispatch(rules: Iterable[type[Rule]]) -> dict[str, tuple[type[Rule], ...]]:
    out: dict[str, list[type[Rule]]] = {}
    for r in rules:
        for t in r.node_types:
            out.setdefault(t, []).append(r)
    return {t: tuple(rs) for t, rs in out.items()}


_DISPATCH = _dispatch(ALL_RULES)


def find_candidates(
    g: CodeGraph, func: FunctionInfo, scopes: ScopeInfo | None, rules: Iterable[str] | None = None
) -> list[Candidate]:
    """All candidate locations of ``func`` (file graph node ids), sorted by (node, rule).

    ``scopes`` is the scope analysis of ``g`` (rules that need it are left out when it
    is ``None``). ``rules`` restricts the enumeration to some rule codes.
    """
    return _enumerate(g, func, scopes, rules, injections=False)


def find_injections(
    g: CodeGraph, func: FunctionInfo, scopes: ScopeInfo | None, rules: Iterable[str] | None = None
) -> list[Candidate]:
    """The extra bug injections of every rule in ``func`` (:meth:`Rule.injections`: rewrites beyond
    the candidates' repairs), sorted as candidates."""
    return _enumerate(g, func, scopes, rules, injections=True)


def _enumerate(
    g: CodeGraph, func: FunctionInfo, scopes: ScopeInfo | None, rules: Iterable[str] | None, injections: bool
) -> list[Candidate]:
    if rules is None and scopes is not None:
        dispatch = _DISPATCH
    else:
        wanted = set(RULE_CODES if rules is None else rules)
        dispatch = _dispatch(
            r for r in ALL_RULES if r.code in wanted and (scopes is not None or not r.needs_scopes)
        )
    ctx = Enumeration(g, func, scopes)
    out: list[Candidate] = []
    types = g.type
    for n in function_nodes(g, func):
        for rule in dispatch.get(types[n], ()):
            found = rule.injections(ctx, n) if injections else rule.candidates(ctx, n)
            out.extend(c for c in found if c.repairs)
    out.sort(key=lambda c: (c.node, RULE_INDEX[c.rule]))
    return out

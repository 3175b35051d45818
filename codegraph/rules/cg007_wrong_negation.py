"""CG007 wrong-negation: a ``not`` missing or extra in a condition.

Locations: the conditions of ``if``/``elif``/``while``/ternaries/``assert``/comprehension
``if`` and the operands of ``and``/``or``. Repairs: add a ``not`` (parenthesised where
needed) or remove the one the condition has.
"""

from __future__ import annotations

from collections.abc import Iterable

from codegraph.rules.base import Enumeration, Rule, expression_evidence
from codegraph.schema import CodeGraph
from codegraph.scopes import ScopeInfo
from codegraph.units import AnalysisUnit, Candidate, Repair

#: expression types that need parentheses under a prefixed ``not`` to keep their meaning
_LOOSER_THAN_NOT = frozenset({"boolean_operator", "conditional_expression", "lambda", "named_expression"})
#: binding strength of the boolean operators
_BOOL_RANK = {"or": 1, "and": 2}
#: statement-like positions whose condition may be any expression without parentheses
_STATEMENT_CONDITION_PARENTS = frozenset({"if_statement", "elif_clause", "while_statement"})
#: condition types that take no ``not``
_NOT_CONDITIONS = frozenset({"ERROR", "keyword_argument", "list_splat", "expression_list"})


class WrongNegation(Rule):
    """## What it does
    Finds a condition that lacks a `not` it needs, or has one it should not.

    ## Why is this bad?
    The branch runs exactly when it should not.

    ## Example
    ```python
    if os.path.exists(path):
        os.makedirs(path)
    ```
    Use instead:
    ```python
    if not os.path.exists(path):
        os.makedirs(path)
    ```
    """

    code = "CG007"
    name = "wrong-negation"
    summary = "a `not` missing or extra in a condition"
    node_types = frozenset(
        {"if_statement", "elif_clause", "while_statement", "conditional_expression", "assert_statement",
         "if_clause", "boolean_operator"}
    )  # fmt: skip
    repair_tokens = ("not:add", "not:remove")

    @classmethod
    def candidates(cls, ctx: Enumeration, n: int) -> Iterable[Candidate]:
        seen: set[int] = ctx.memo.setdefault(cls.code, set())
        for cond in conditions_of(ctx.g, n):
            if cond not in seen:
                seen.add(cond)
                cand = _negation_candidate(ctx.g, cond)
                if cand is not None:
                    yield cand

    @classmethod
    def message(cls, current: str, replacement: str, token: str) -> str:
        return "this condition looks inverted: a `not` seems " + (
            "missing" if token == "not:add" else "to be one too many"
        )

    @classmethod
    def evidence(cls, unit: AnalysisUnit, graph: CodeGraph, scopes: ScopeInfo) -> list[int]:
        """The other occurrences of the variables the condition reads."""
        _, loc = unit.origin[unit.candidates[unit.bug].node]
        return expression_evidence(unit, graph, scopes, loc)


def conditions_of(g: CodeGraph, n: int) -> list[int]:
    """The condition expressions that syntax node ``n`` holds."""
    t = g.type[n]
    if t in ("if_statement", "elif_clause", "while_statement"):
        c = g.child_by_field(n, "condition")
        return [c] if c is not None else []
    if t == "conditional_expression":
        kids = g.children[n]
        return [kids[1]] if len(kids) >= 3 else []
    if t in ("assert_statement", "if_clause"):
        kids = g.children[n]
        return [kids[0]] if kids else []
    if t == "boolean_operator":
        return [c for c in (g.child_by_field(n, "left"), g.child_by_field(n, "right")) if c is not None]
    return []


def _negation_candidate(g: CodeGraph, cond: int) -> Candidate | None:
    """Add a ``not`` in front of a condition, or remove the one it has."""
    s, e = g.start_byte[cond], g.end_byte[cond]
    t = g.type[cond]
    if t in _NOT_CONDITIONS:
        return None
    if t == "not_operator":
        arg = g.child_by_field(cond, "argument")
        if arg is None:
            return None
        replacement = g.node_source(arg)
        if g.type[arg] == "parenthesized_expression" and _strip_parens_ok(g, cond, arg):
            inner = g.children[arg]
            if len(inner) == 1:
                replacement = g.node_source(inner[0])
        return Candidate(cond, "CG007", [Repair("CG007", "not:remove", replacement, s, e)])
    text = g.node_source(cond)
    replacement = f"not ({text})" if t in _LOOSER_THAN_NOT else f"not {text}"
    return Candidate(cond, "CG007", [Repair("CG007", "not:add", replacement, s, e)])


def _strip_parens_ok(g: CodeGraph, not_node: int, paren: int) -> bool:
    """Whether ``not (X)`` may lose its parentheses when the ``not`` goes.

    Exactly where ``X`` would parse as the same expression without them, so that
    removing a ``not`` is the inverse of adding one (which parenthesises ``X`` when it
    binds more loosely than ``not``): a boolean operator, conditional expression,
    walrus or lambda as the condition of ``if`` / ``elif`` / ``while``; a boolean
    operator or conditional expression asserted; a boolean operator as the condition
    of a ternary or comprehension ``if``, or as the operand of a boolean operator it
    binds at least as tightly as (strictly, on the right: ``and`` / ``or`` associate left).
    """
    inner = g.children[paren]
    if len(inner) != 1:
        return False
    it = g.type[inner[0]]
    p = g.parent[not_node]
    if p < 0:
        return False
    pt, f = g.type[p], g.field_name[not_node]
    if pt in _STATEMENT_CONDITION_PARENTS and f == "condition":
        return it in _LOOSER_THAN_NOT
    if pt == "assert_statement":
        return it in ("boolean_operator", "conditional_expression") and g.children[p][0] == not_node
    if it != "boolean_operator":
        return False
    if pt in ("conditional_expression", "if_clause"):
        return True
    if pt == "boolean_operator" and f in ("left", "right"):
        inner_rank = _BOOL_RANK.get(_operator_type(g, inner[0]), 0)
        outer_rank = _BOOL_RANK.get(_operator_type(g, p), 0)
        return inner_rank > outer_rank or (inner_rank == outer_rank and f == "left")
    return False


def _operator_type(g: CodeGraph, n: int) -> str:
    op = g.child_by_field(n, "operator")
    return g.type[op] if op is not None else ""

"""CG004 wrong-comparison-operator: a comparison operator confused with another.

Locations: each operator token of a comparison (a chained comparison has several).
Repairs: the other operators of its group (order and equality, membership, identity), and
across the groups equality / identity / membership (``==`` / ``is`` / ``in`` and their
negations).
"""

from __future__ import annotations

from collections.abc import Iterable

from codegraph.rules.base import Enumeration, Rule, operator_candidate, peers
from codegraph.units import Candidate

#: comparison operators, each confusable only within its group
COMPARISON_PEERS = peers(
    [
        ("<", "<=", ">", ">=", "==", "!="), ("in", "not in"), ("is", "is not"),
        ("==", "is"), ("!=", "is not"), ("==", "in"), ("!=", "not in"), ("is", "in"), ("is not", "not in"),
    ]
)  # fmt: skip


class WrongComparisonOperator(Rule):
    """## What it does
    Finds a comparison (`< <= > >= == !=`, `in`/`not in`, `is`/`is not`) that should
    be another one, `is` where `==` was meant (or `in`) included.

    ## Why is this bad?
    Off-by-one bounds and inverted membership tests are classic silent bugs.

    ## Example
    ```python
    while i <= len(items):
    ```
    Use instead:
    ```python
    while i < len(items):
    ```
    """

    code = "CG004"
    name = "wrong-comparison-operator"
    summary = "a comparison operator confused with another"
    node_types = frozenset({"comparison_operator"})
    repair_tokens = tuple(f"cmp:{o}" for o in COMPARISON_PEERS)

    @classmethod
    def candidates(cls, ctx: Enumeration, n: int) -> Iterable[Candidate]:
        g = ctx.g
        for op in g.children_by_field(n, "operators"):
            cand = operator_candidate(g, op, cls.code, "cmp", COMPARISON_PEERS)
            if cand is not None:
                yield cand

"""CG005 wrong-boolean-operator: ``and`` / ``or`` confused.

Locations: the operator token of a boolean operator. Repairs: the other one.
"""

from __future__ import annotations

from collections.abc import Iterable

from codegraph.rules.base import Enumeration, Rule, operator_candidate, peers
from codegraph.units import Candidate

BOOLEAN_PEERS = peers([("and", "or")])


class WrongBooleanOperator(Rule):
    """## What it does
    Finds `and` where `or` was meant, or the reverse.

    ## Why is this bad?
    The condition holds in different cases than intended.

    ## Example
    ```python
    if x is None and y is None: raise ValueError("need x or y")
    ```
    Use instead:
    ```python
    if x is None or y is None: ...
    ```
    """

    code = "CG005"
    name = "wrong-boolean-operator"
    summary = "`and` / `or` confused"
    node_types = frozenset({"boolean_operator"})
    repair_tokens = tuple(f"bool:{o}" for o in BOOLEAN_PEERS)

    @classmethod
    def candidates(cls, ctx: Enumeration, n: int) -> Iterable[Candidate]:
        cand = operator_candidate(ctx.g, ctx.g.child_by_field(n, "operator"), cls.code, "bool", BOOLEAN_PEERS)
        return (cand,) if cand is not None else ()

"""CG003 wrong-binary-operator: an arithmetic or bitwise operator confused with another.

Locations: the operator token of a binary operator. Repairs: the other operators of
its group (arithmetic; bitwise and shifts; ``@`` pairs with ``*``).
"""

from __future__ import annotations

from collections.abc import Iterable

from codegraph.rules.base import Enumeration, Rule, operator_candidate, peers
from codegraph.units import Candidate

#: binary operators that may be confused with each other
BINARY_PEERS = peers([("+", "-", "*", "/", "//", "%", "**"), ("<<", ">>", "&", "|", "^"), ("*", "@")])


class WrongBinaryOperator(Rule):
    """## What it does
    Finds an arithmetic or bitwise operator (`+ - * / // % ** << >> & | ^ @`) that
    should be another one.

    ## Why is this bad?
    A confused operator gives wrong numbers without any error.

    ## Example
    ```python
    mean = total * count
    ```
    Use instead:
    ```python
    mean = total / count
    ```
    """

    code = "CG003"
    name = "wrong-binary-operator"
    summary = "an arithmetic or bitwise operator confused with another"
    node_types = frozenset({"binary_operator"})
    repair_tokens = tuple(f"op:{o}" for o in BINARY_PEERS)

    @classmethod
    def candidates(cls, ctx: Enumeration, n: int) -> Iterable[Candidate]:
        cand = operator_candidate(ctx.g, ctx.g.child_by_field(n, "operator"), cls.code, "op", BINARY_PEERS)
        return (cand,) if cand is not None else ()

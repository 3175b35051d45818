"""CG008 wrong-assignment-operator: ``=`` and an augmented assignment confused.

Locations: the ``=`` of a plain single-target assignment statement (a name, attribute
or subscript; no annotation, no chain) and the operator of an augmented assignment.
Repairs: ``=`` pairs with the common augmented operators, augmented operators with the
others of their group.
"""

from __future__ import annotations

from collections.abc import Iterable

from codegraph.rules.base import Enumeration, Rule, operator_candidate, peers
from codegraph.schema import CodeGraph
from codegraph.units import Candidate

ASSIGN_PEERS = peers(
    [
        ("=", "+="), ("=", "-="), ("=", "*="), ("=", "/="), ("=", "|="),
        ("+=", "-=", "*=", "/=", "//=", "%=", "**="),
        ("|=", "&=", "^=", "<<=", ">>="),
    ]
)  # fmt: skip
#: assignment targets that an augmented assignment accepts
_AUGMENTABLE_TARGETS = frozenset({"identifier", "attribute", "subscript"})


class WrongAssignmentOperator(Rule):
    """## What it does
    Finds `=` where an augmented assignment (`+=`, `-=` ...) was meant, or the reverse.

    ## Why is this bad?
    An accumulator is overwritten instead of updated, or updated instead of reset.

    ## Example
    ```python
    for item in items:
        total = item.price
    ```
    Use instead:
    ```python
    for item in items:
        total += item.price
    ```
    """

    code = "CG008"
    name = "wrong-assignment-operator"
    summary = "`=` and an augmented assignment confused"
    node_types = frozenset({"assignment", "augmented_assignment"})
    repair_tokens = tuple(f"assign:{o}" for o in ASSIGN_PEERS)

    @classmethod
    def candidates(cls, ctx: Enumeration, n: int) -> Iterable[Candidate]:
        cand = _assignment_candidate(ctx.g, n)
        return (cand,) if cand is not None else ()


def _assignment_candidate(g: CodeGraph, n: int) -> Candidate | None:
    """``x = e`` <-> ``x op= e`` for a single name, attribute or subscript target."""
    left = g.child_by_field(n, "left")
    right = g.child_by_field(n, "right")
    if left is None or right is None or g.type[left] not in _AUGMENTABLE_TARGETS:
        return None
    if g.type[n] == "assignment":
        if g.child_by_field(n, "type") is not None or g.type[right] in ("assignment", "augmented_assignment"):
            return None
        if g.type[g.parent[n]] != "expression_statement":
            return None
        op = next((c for c in g.children[n] if g.type[c] == "="), None)
    else:
        op = g.child_by_field(n, "operator")
    return operator_candidate(g, op, "CG008", "assign", ASSIGN_PEERS)

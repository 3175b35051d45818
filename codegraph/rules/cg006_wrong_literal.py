"""CG006 wrong-literal: a number or ``True``/``False`` that should be another.

Locations: the integer literals -2..2 (``-1`` is a unary minus over ``1``: the unary
graph node is the location) and ``True`` / ``False``. Repairs: the other values
(negative ones only where ``-x`` parses as one operand there).
"""

from __future__ import annotations

from collections.abc import Iterable

from codegraph.rules.base import Enumeration, Rule
from codegraph.schema import CodeGraph
from codegraph.units import Candidate, Repair

#: integer values
INT_VALUES: tuple[int, ...] = (-2, -1, 0, 1, 2)


class WrongLiteral(Rule):
    """## What it does
    Finds a small number or a `True`/`False` that should be another value.

    ## Why is this bad?
    Off-by-one indices and flipped flags change behaviour silently.

    ## Example
    ```python
    last = items[len(items) - 0]
    ```
    Use instead:
    ```python
    last = items[len(items) - 1]
    ```
    """

    code = "CG006"
    name = "wrong-literal"
    summary = "a number or True/False that should be another"
    node_types = frozenset({"integer", "unary_operator", "true", "false"})
    repair_tokens = tuple(f"lit:{v}" for v in (*INT_VALUES, True, False))

    @classmethod
    def candidates(cls, ctx: Enumeration, n: int) -> Iterable[Candidate]:
        cand = _literal_candidate(ctx.g, n)
        return (cand,) if cand is not None and cand.repairs else ()


def literal_value(g: CodeGraph, n: int) -> int | bool | None:
    """The value of a literal location: -2..2 or True/False; None if ``n`` is not one."""
    t = g.type[n]
    if t == "true":
        return True
    if t == "false":
        return False
    if t == "integer":
        value = _small_int(g.text[n])
        if value is None:
            return None
        p = g.parent[n]
        if p >= 0 and g.type[p] == "unary_operator" and _unary_op(g, p) == "-":
            return None  # the unary minus is the location
        return value
    if t == "unary_operator" and _unary_op(g, n) == "-":
        arg = g.child_by_field(n, "argument")
        if arg is not None and g.type[arg] == "integer":
            value = _small_int(g.text[arg])
            if value is not None and value > 0:
                return -value
    return None


def _small_int(text: str) -> int | None:
    return int(text) if text in ("0", "1", "2") else None


def _unary_op(g: CodeGraph, n: int) -> str | None:
    op = g.child_by_field(n, "operator")
    return g.type[op] if op is not None else None


def _literal_candidate(g: CodeGraph, n: int) -> Candidate | None:
    value = literal_value(g, n)
    if value is None:
        return None
    s, e = g.start_byte[n], g.end_byte[n]
    if isinstance(value, bool):
        other = "False" if value else "True"
        return Candidate(n, "CG006", [Repair("CG006", f"lit:{other}", other, s, e)])
    negative_ok = not _binds_tighter_than_unary(g, n)
    repairs = [
        Repair("CG006", f"lit:{v}", str(v), s, e)
        for v in INT_VALUES
        if v != value and (v >= 0 or negative_ok)
    ]
    return Candidate(n, "CG006", repairs)


def _binds_tighter_than_unary(g: CodeGraph, n: int) -> bool:
    """True where a ``-x`` put at ``n`` would not parse as one operand (``-1 ** 2``, ``-1 .real``)."""
    p = g.parent[n]
    if p < 0:
        return False
    pt, f = g.type[p], g.field_name[n]
    if pt == "binary_operator" and f == "left":
        op = g.child_by_field(p, "operator")
        return op is not None and g.type[op] == "**"
    return (
        (pt == "attribute" and f == "object")
        or (pt == "subscript" and f == "value")
        or (pt == "call" and f == "function")
    )

"""CG006 wrong-literal: a number, ``True``/``False`` or ``None`` that should be another.

Locations: decimal integer literals (``-1`` is a unary minus over ``1``: the unary graph
node is the location), ``True`` / ``False``, ``None`` and the empty string. Repairs: for
-2..2 the other values of -2..2; for every integer the next one up and down
(``lit:inc`` / ``lit:dec`` outside -2..2); negative values only where ``-x`` parses as
one operand there. ``True`` / ``False`` swap; ``None`` may be ``True``, ``False``, ``0``,
``1`` or ``""``, and each of those ``None``.
"""

from __future__ import annotations

from collections.abc import Iterable

from codegraph.rules.base import Enumeration, Rule
from codegraph.schema import CodeGraph
from codegraph.units import Candidate, Repair

#: integer values that are repairs of every small integer
INT_VALUES: tuple[int, ...] = (-2, -1, 0, 1, 2)
#: what ``None`` may have been meant as (and which may have been meant as ``None``)
NONE_PEERS: tuple[str, ...] = ("True", "False", "0", "1", '""')
Literal = int | bool | str | None


class WrongLiteral(Rule):
    """## What it does
    Finds a number, a `True`/`False` or a `None` that should be another value (the next
    number up or down, the other flag, `None` for `0` / `False` / `""` or the reverse).

    ## Why is this bad?
    Off-by-one indices, flipped flags and a `None` where a value was meant change
    behaviour silently.

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
    node_types = frozenset({"integer", "unary_operator", "true", "false", "none", "string"})
    repair_tokens = (
        *(f"lit:{v}" for v in (*INT_VALUES, True, False)),
        "lit:inc", "lit:dec", "lit:None", 'lit:""',
    )  # fmt: skip

    @classmethod
    def candidates(cls, ctx: Enumeration, n: int) -> Iterable[Candidate]:
        cand = _literal_candidate(ctx.g, n)
        return (cand,) if cand is not None and cand.repairs else ()


def literal_value(g: CodeGraph, n: int) -> tuple[Literal] | None:
    """The value of a literal location (an integer, True/False, None or ``""``) in a 1-tuple;
    None if ``n`` is not a location."""
    t = g.type[n]
    if t in ("true", "false"):
        return (t == "true",)
    if t == "none":
        return (None,)
    if t == "string":
        return ("",) if g.node_source(n) in ('""', "''") else None
    if t == "integer":
        value = _decimal(g.text[n])
        if value is None:
            return None
        p = g.parent[n]
        if p >= 0 and g.type[p] == "unary_operator" and _unary_op(g, p) == "-":
            return None  # the unary minus is the location
        return (value,)
    if t == "unary_operator" and _unary_op(g, n) == "-":
        arg = g.child_by_field(n, "argument")
        if arg is not None and g.type[arg] == "integer":
            value = _decimal(g.text[arg])
            if value is not None and value > 0:
                return (-value,)
    return None


def _decimal(text: str) -> int | None:
    """A plain decimal integer (no sign, underscore, base prefix or leading zero)."""
    if not text.isascii() or not text.isdigit() or (len(text) > 1 and text[0] == "0") or len(text) > 18:
        return None
    return int(text)


def _unary_op(g: CodeGraph, n: int) -> str | None:
    op = g.child_by_field(n, "operator")
    return g.type[op] if op is not None else None


def _literal_candidate(g: CodeGraph, n: int) -> Candidate | None:
    found = literal_value(g, n)
    if found is None:
        return None
    (value,) = found
    s, e = g.start_byte[n], g.end_byte[n]

    def repair(token: str, text: str) -> Repair:
        return Repair("CG006", token, text, s, e)

    if value is None:
        return Candidate(n, "CG006", [repair(f"lit:{v}", v) for v in NONE_PEERS])
    if isinstance(value, str):
        return Candidate(n, "CG006", [repair("lit:None", "None")])
    if isinstance(value, bool):
        other = "False" if value else "True"
        return Candidate(n, "CG006", [repair(f"lit:{other}", other), repair("lit:None", "None")])
    negative_ok = not _binds_tighter_than_unary(g, n)
    values: dict[int, str] = {}
    if -2 <= value <= 2:
        values.update((v, f"lit:{v}") for v in INT_VALUES if v != value)
    for v, token in ((value - 1, "lit:dec"), (value + 1, "lit:inc")):
        values.setdefault(v, f"lit:{v}" if -2 <= v <= 2 else token)
    repairs = [repair(token, str(v)) for v, token in sorted(values.items()) if v >= 0 or negative_ok]
    if value in (0, 1):
        repairs.append(repair("lit:None", "None"))
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

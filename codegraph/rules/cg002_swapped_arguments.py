"""CG002 swapped-arguments: two arguments of a call in the wrong order.

Locations: each positional argument of a call with >= 2 positional arguments and no
splats. Repairs: swap with each later positional argument (pointing at it). Calls of
functions whose result does not depend on the order of their arguments (``max``,
``min``, ``math.gcd``, ... :data:`SYMMETRIC_CALLEES`) have none: swapping them is no bug.
"""

from __future__ import annotations

from collections.abc import Iterable

from codegraph.rules.base import Enumeration, Rule, bug_and_fix
from codegraph.schema import CodeGraph, EdgeKind
from codegraph.scopes import ScopeInfo
from codegraph.units import AnalysisUnit, Candidate, Repair

#: callees, as written at the call, whose arguments may come in any order
SYMMETRIC_CALLEES: frozenset[str] = frozenset(
    {"max", "min"}
    | {f"math.{f}" for f in ("gcd", "lcm", "hypot", "dist", "isclose")}
    | {"cmath.isclose"}
    | {f"operator.{f}" for f in ("add", "mul", "eq", "ne", "and_", "or_", "xor", "is_", "is_not")}
)
_SPLATS = frozenset({"list_splat", "dictionary_splat", "parenthesized_list_splat"})


class SwappedArguments(Rule):
    """## What it does
    Finds two arguments of a call passed in the wrong order, judged against the
    callee's parameter names (which may be defined in another file).

    ## Why is this bad?
    Positional arguments of the same type swap silently.

    ## Example
    ```python
    def copy(src, dst): ...
    copy(target, source)
    ```
    Use instead:
    ```python
    copy(source, target)
    ```
    """

    code = "CG002"
    name = "swapped-arguments"
    summary = "two arguments of a call in the wrong order"
    node_types = frozenset({"argument_list"})
    repair_tokens = ("swap",)
    target_note = "`{what}` is the other argument"

    @classmethod
    def candidates(cls, ctx: Enumeration, n: int) -> Iterable[Candidate]:
        return _swap_candidates(ctx.g, n)

    @classmethod
    def message(cls, current: str, replacement: str, token: str) -> str:
        return f"these arguments look swapped: `{current.strip()}` should probably be `{replacement.strip()}`"

    @classmethod
    def evidence(cls, unit: AnalysisUnit, graph: CodeGraph, scopes: ScopeInfo) -> list[int]:
        """The parameters of the callee bound by the swapped arguments (possibly in another file)."""
        cand, fix = bug_and_fix(unit)
        args = {cand.node} | ({fix.target} if fix is not None and fix.target >= 0 else set())
        formal = EdgeKind.FORMAL_ARG_NAME
        return [d for s, d, k in zip(unit.src, unit.dst, unit.edge_kind) if s in args and k == formal]


def _swap_candidates(g: CodeGraph, arglist: int) -> list[Candidate]:
    """Positional arguments of a call (>= 2, no splats), each swappable with every later one."""
    call = g.parent[arglist]
    if call < 0 or g.type[call] != "call" or g.field_name[arglist] != "arguments":
        return []
    callee = g.child_by_field(call, "function")
    if callee is not None and g.node_source(callee) in SYMMETRIC_CALLEES:
        return []
    positional: list[int] = []
    for a in g.children[arglist]:
        t = g.type[a]
        if t in _SPLATS:
            return []
        if t != "keyword_argument":
            positional.append(a)
    if len(positional) < 2:
        return []
    sb, eb = g.start_byte, g.end_byte
    texts = [g.source[sb[a] : eb[a]] for a in positional]
    out: list[Candidate] = []
    for i, a in enumerate(positional):
        cand = Candidate(a, "CG002")
        for j in range(i + 1, len(positional)):
            if texts[i] == texts[j]:
                continue  # swapping equal texts changes nothing
            b = positional[j]
            swapped = texts[j] + g.source[eb[a] : sb[b]] + texts[i]
            cand.repairs.append(Repair("CG002", "swap", swapped.decode("utf-8", "replace"), sb[a], eb[b], b))
        if cand.repairs:
            out.append(cand)
    return out

"""What every rule is made of, and the per-function state their candidate enumerators share.

A rule (one module per rule beside this one) is a :class:`Rule` subclass: its stable
code and name, its documentation (the class docstring: what it does, why it is bad,
an example, what to use instead), the syntax types whose graph nodes it inspects, its
candidate enumerator and repair tokens, its message template and evidence note, and
its bug injection for training. :mod:`codegraph.rules` lists them, once.

Graph node ids here are those of the file's :class:`CodeGraph` (``codegraph.context``
maps them to unit-local ids). Byte ranges are file byte offsets; a replacement is the
real text that, spliced into the source, re-parses with the intended meaning.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Iterator
from typing import Any, ClassVar

from codegraph.schema import CodeGraph, FunctionInfo
from codegraph.scopes import ScopeInfo
from codegraph.units import AnalysisUnit, Candidate, Repair


class Enumeration:
    """One function's candidate enumeration: its graph, the function, the scope analysis
    (None: rules that need it are left out) and a memo where rules keep per-function state."""

    def __init__(self, g: CodeGraph, func: FunctionInfo, scopes: ScopeInfo | None) -> None:
        self.g = g
        self.func = func
        self.scopes = scopes
        self.memo: dict[str, Any] = {}


class Rule:
    """Base class of the rules; subclasses set the class attributes and the enumerator.

    The docstring of a subclass is its help text (``codegraph rules CODE``).
    """

    #: stable code, "CG001"
    code: ClassVar[str] = ""
    #: stable name, "variable-misuse"
    name: ClassVar[str] = ""
    #: one line: what it finds
    summary: ClassVar[str] = ""
    #: syntax types whose graph nodes :meth:`candidates` is called with
    node_types: ClassVar[frozenset[str]] = frozenset()
    #: every repair token the enumerator can produce, in a fixed order (vocabulary building)
    repair_tokens: ClassVar[tuple[str, ...]] = ()
    #: whether the enumerator needs the scope analysis (left out without it)
    needs_scopes: ClassVar[bool] = False
    #: repair tokens that only fix a bug, never make one: applied to a correct program their
    #: inverse is no candidate (a typo's fix), so bug injection does not apply them
    fix_only_tokens: ClassVar[frozenset[str]] = frozenset()
    #: evidence note at a repair's target graph node; ``{what}`` is its text
    target_note: ClassVar[str] = "`{what}` is related"

    @classmethod
    def help(cls) -> str:
        return inspect.cleandoc(cls.__doc__ or "")

    @classmethod
    def candidates(cls, ctx: Enumeration, n: int) -> Iterable[Candidate]:
        """The candidate locations that graph node ``n`` (of one of :attr:`node_types`) holds."""
        raise NotImplementedError

    @classmethod
    def message(cls, current: str, replacement: str, token: str) -> str:
        """The finding's message for replacing ``current`` by ``replacement`` (repair ``token``)."""
        return f"`{current.strip()}` looks wrong here; did you mean `{replacement.strip()}`?"

    @classmethod
    def injections(cls, ctx: Enumeration, n: int) -> Iterable[Candidate]:
        """Bug injection for training, beyond the candidates: every candidate's repairs are
        injections already (each repair relation is symmetric: applied to a correct program,
        the buggy program's candidates hold the inverse, the fix). A rule adds here the
        rewrites at ``n`` that make a bug whose fix is a candidate but not the other way round
        (a typo, whose fix is an undefined name's repair). None by default."""
        return ()

    @classmethod
    def evidence(cls, unit: AnalysisUnit, graph: CodeGraph, scopes: ScopeInfo) -> list[int]:
        """Unit-local graph nodes that are the evidence for the unit's (injected) bug of this rule.

        By default the other occurrences, outside the location's expression, of the variables
        read in that expression (the operator's or literal's parent expression).
        """
        cand = unit.candidates[unit.bug]
        _, loc = unit.origin[cand.node]
        return expression_evidence(unit, graph, scopes, graph.parent[loc])


def expression_evidence(unit: AnalysisUnit, graph: CodeGraph, scopes: ScopeInfo, expr: int) -> list[int]:
    """Unit-local occurrences, outside ``expr``'s subtree, of the variables read inside it."""
    if expr < 0:
        return []
    local0 = file_locals(unit)
    lo, hi = expr, graph.subtree_end[expr]
    out: list[int] = []
    seen: set[int] = set()
    for k in scopes.occurrences_in(lo, hi):
        sym = scopes.occ_symbols[k]
        if sym.id in seen or sym.is_builtin:
            continue
        seen.add(sym.id)
        out.extend(local0[o] for o in sym.occurrences if not lo <= o < hi and o in local0)
    return out


def bug_and_fix(unit: AnalysisUnit) -> tuple[Candidate, Repair | None]:
    """The unit's buggy candidate and its fixing repair (None when the unit records none)."""
    cand = unit.candidates[unit.bug]
    return cand, (cand.repairs[unit.fix] if unit.fix >= 0 else None)


def file_locals(unit: AnalysisUnit) -> dict[int, int]:
    """Graph node of the unit's own file -> its unit-local id."""
    return {n: u for u, (pi, n) in enumerate(unit.origin) if pi == 0}


def peers(groups: Iterable[tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
    """Symmetric "may be confused with" relation: every other member of every group an item is in."""
    out: dict[str, list[str]] = {}
    for group in groups:
        for a in group:
            bucket = out.setdefault(a, [])
            bucket.extend(b for b in group if b != a and b not in bucket)
    return {k: tuple(v) for k, v in out.items()}


def operator_candidate(
    g: CodeGraph, op: int | None, rule: str, prefix: str, table: dict[str, tuple[str, ...]]
) -> Candidate | None:
    """An operator token and the other operators it may be confused with (``table``)."""
    if op is None:
        return None
    others = table.get(g.type[op])
    if not others:
        return None
    s, e = g.start_byte[op], g.end_byte[op]
    return Candidate(op, rule, [Repair(rule, f"{prefix}:{o}", o, s, e) for o in others])


def module_function(g: CodeGraph) -> FunctionInfo:
    """The module-level code of ``g`` as a unit of its own: its function is the module's dotted
    name (the file's stem when the graph has none), its root the ``module`` graph node."""
    name = g.module or g.path.replace("\\", "/").rsplit("/", 1)[-1].removesuffix(".py")
    return FunctionInfo(name, 0, 0, None)


def is_module(g: CodeGraph, func: FunctionInfo) -> bool:
    return g.type[func.node] == "module"


def analysis_functions(g: CodeGraph) -> list[FunctionInfo]:
    """What is analysed in a file: every function, then its module-level code as a unit of its own."""
    if not g.num_nodes or g.type[0] != "module":
        return list(g.functions)
    return [*g.functions, module_function(g)]


def function_nodes(g: CodeGraph, func: FunctionInfo) -> Iterator[int]:
    """Graph nodes of ``func`` in preorder, skipping the subtrees of nested function definitions
    (for the module's unit: of every function definition)."""
    n, end = func.node, g.subtree_end[func.node]
    types, send = g.type, g.subtree_end
    while n < end:
        if n != func.node and types[n] == "function_definition":
            n = send[n]
            continue
        yield n
        n += 1


def apply_repair(source: bytes, repair: Repair) -> bytes:
    """``source`` with the repair's byte range replaced by its replacement text."""
    return source[: repair.start_byte] + repair.replacement.encode("utf-8") + source[repair.end_byte :]

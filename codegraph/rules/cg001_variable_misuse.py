"""CG001 variable-misuse: a variable used where another in-scope variable was meant.

Locations: every read of a variable (not ``self``/``cls``, not a builtin, not a name
that is only bound by ``def``/``class``/``import``, not inside a type annotation).
Repairs: the other variables in scope there, nearest first, at most
:data:`MAX_VARIABLE_REPAIRS`; each points at the nearest earlier occurrence of the
replacement in the function, else at its definition.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable
from typing import cast

from codegraph.rules.base import Enumeration, Rule, bug_and_fix, file_locals
from codegraph.schema import CodeGraph, FunctionInfo
from codegraph.scopes import Access, Scope, ScopeInfo, ScopeKind, Symbol, SymbolFlag
from codegraph.units import AnalysisUnit, Candidate, Repair

#: most alternative variables offered for one location
MAX_VARIABLE_REPAIRS = 24
#: names never treated as a misused variable nor offered as a replacement
IMPLICIT_NAMES: frozenset[str] = frozenset({"self", "cls", "__class__"})
#: symbol flags that make a name a plain variable
_VARIABLE_FLAGS = SymbolFlag.ASSIGN | SymbolFlag.PARAM
#: ancestors at which the search for an enclosing annotation stops
_ANNOTATION_STOPS = frozenset({"block", "module", "lambda", "function_definition", "class_definition"})


class VariableMisuse(Rule):
    """## What it does
    Finds a variable used where another variable in scope was meant.

    ## Why is this bad?
    The code runs and type-checks, but computes with the wrong value.

    ## Example
    ```python
    def area(width, height):
        return width * width
    ```
    Use instead:
    ```python
    def area(width, height):
        return width * height
    ```
    """

    code = "CG001"
    name = "variable-misuse"
    summary = "a variable used where another in-scope variable was meant"
    node_types = frozenset({"identifier"})
    repair_tokens = ("var",)
    needs_scopes = True
    target_note = "`{what}` is defined or last used here"

    @classmethod
    def candidates(cls, ctx: Enumeration, n: int) -> Iterable[Candidate]:
        variables = ctx.memo.get(cls.code)
        if variables is None:
            assert ctx.scopes is not None
            variables = ctx.memo[cls.code] = _Variables(ctx.g, ctx.func, ctx.scopes)
        cand = variables.candidate(n)
        return (cand,) if cand is not None else ()

    @classmethod
    def message(cls, current: str, replacement: str, token: str) -> str:
        return f"`{current.strip()}` is used here, but `{replacement.strip()}` looks intended"

    @classmethod
    def evidence(cls, unit: AnalysisUnit, graph: CodeGraph, scopes: ScopeInfo) -> list[int]:
        """The other occurrences (bindings included) of the correct variable: the fix's target's symbol."""
        cand, fix = bug_and_fix(unit)
        if fix is None or fix.target < 0:
            return []
        pi, target = unit.origin[fix.target]
        sym = scopes.symbol_of(target) if pi == 0 else None
        if sym is None:
            return [fix.target]
        local0 = file_locals(unit)
        _, loc = unit.origin[cand.node]
        return [local0[o] for o in sym.occurrences if o != loc and o in local0]


class _Variables:
    """The variables visible per scope of one function, split once into those the function uses
    and the nearest others, so that each read costs O(variables used + cap)."""

    def __init__(self, g: CodeGraph, func: FunctionInfo, scopes: ScopeInfo) -> None:
        self.g, self.scopes = g, scopes
        self.lo, self.hi = func.node, g.subtree_end[func.node]
        self._by_scope: dict[int, tuple[list[Symbol], list[tuple[int, Symbol]]]] = {}
        self._is_variable: dict[int, bool] = {}

    def is_variable(self, sym: Symbol) -> bool:
        hit = self._is_variable.get(sym.id)
        if hit is None:
            hit = self._is_variable[sym.id] = is_variable(sym)
        return hit

    def visible(self, n: int) -> tuple[list[Symbol], list[tuple[int, Symbol]]]:
        """(variables visible at ``n`` that occur in the function, the nearest others with their target).

        The variables of the enclosing function-like scopes are few and looked at one by one;
        the module's can be thousands, so the work per function stays independent of their
        number: the used ones come from the function's own occurrences, the nearest others
        from the module's variables sorted by target (:func:`_module_targets`). The result
        is that of going through ``ScopeInfo.visible_symbols(n)``.
        """
        scopes = self.scopes
        scope = scopes.scope_at(n)
        hit = self._by_scope.get(scope.id)
        if hit is not None:
            return hit
        lo, hi = self.lo, self.hi
        module = scopes.module
        inner: dict[str, Symbol] = {}  # visible names bound outside the module scope, innermost first
        s: Scope | None = scope
        first = True
        while s is not None and s is not module:
            if first or s.kind != ScopeKind.CLASS:
                for name, sym in s.symbols.items():
                    inner.setdefault(name, sym)
            first = False
            s = s.parent
        used: list[Symbol] = []
        others: list[tuple[int, int, Symbol]] = []
        for alt in inner.values():
            if not self.is_variable(alt):
                continue
            occ = alt.occurrences
            k = bisect_left(occ, lo)
            if k < len(occ) and occ[k] < hi:
                used.append(alt)
                continue
            target = alt.bindings[0] if alt.bindings else (occ[0] if occ else -1)
            if target >= 0:
                others.append((abs(lo - target), target, alt))
        if s is module:
            module_symbols = module.symbols
            taken = {id(alt) for alt in used}
            for i in scopes.occurrences_in(lo, hi):
                alt = scopes.occ_symbols[i]
                if id(alt) in taken or alt.name in inner or module_symbols.get(alt.name) is not alt:
                    continue
                taken.add(id(alt))
                if self.is_variable(alt):
                    used.append(alt)
            targets, syms = _module_targets(scopes)
            k = bisect_left(targets, lo)
            for step, start in ((-1, k - 1), (1, k)):  # the nearest on each side of the function
                found, i = 0, start
                while found < MAX_VARIABLE_REPAIRS and 0 <= i < len(targets):
                    alt = syms[i]
                    if id(alt) not in taken and alt.name not in inner:
                        others.append((abs(lo - targets[i]), targets[i], alt))
                        found += 1
                    i += step
        others.sort(key=lambda r: (r[0], r[1]))
        hit = self._by_scope[scope.id] = (used, [(t, alt) for _, t, alt in others[:MAX_VARIABLE_REPAIRS]])
        return hit

    def candidate(self, n: int) -> Candidate | None:
        """A read of a variable, and the other variables in scope that could have been meant."""
        scopes, g = self.scopes, self.g
        sym = scopes.symbol_of(n)
        if sym is None or not self.is_variable(sym) or scopes.access_of(n) != Access.READ:
            return None
        if _in_annotation(g, n):
            return None
        used, others = self.visible(n)
        ranked: list[tuple[int, int, int, Symbol]] = []
        for alt in used:
            if alt is not sym:
                target, inside = variable_target(alt, n, self.lo, self.hi)
                if target >= 0:
                    ranked.append((0 if inside else 1, abs(n - target), target, alt))
        ranked.extend((1, abs(n - target), target, alt) for target, alt in others)
        if not ranked:
            return None
        ranked.sort(key=lambda r: (r[0], r[1], r[2]))
        s, e = g.start_byte[n], g.end_byte[n]
        return Candidate(
            n,
            "CG001",
            [Repair("CG001", "var", alt.name, s, e, t) for _, _, t, alt in ranked[:MAX_VARIABLE_REPAIRS]],
        )


def _module_targets(scopes: ScopeInfo) -> tuple[list[int], list[Symbol]]:
    """The module's variables sorted by the graph node a repair to them points at when they do not
    occur in the function (their first binding, else their first occurrence), once per file."""
    hit = scopes.memo.get("cg001.module_targets")
    if hit is None:
        rows = []
        for sym in scopes.module.symbols.values():
            if not is_variable(sym):
                continue
            occ = sym.occurrences
            target = sym.bindings[0] if sym.bindings else (occ[0] if occ else -1)
            if target >= 0:
                rows.append((target, sym))
        rows.sort(key=lambda r: r[0])
        hit = scopes.memo["cg001.module_targets"] = ([t for t, _ in rows], [sym for _, sym in rows])
    return cast(tuple[list[int], list[Symbol]], hit)


def is_variable(sym: Symbol) -> bool:
    """A plain variable: assigned or a parameter, not only a def / class / import name, not builtin."""
    return (
        not sym.is_builtin
        and bool(sym.flags & _VARIABLE_FLAGS)
        and sym.name not in IMPLICIT_NAMES
        and sym.name.isidentifier()
    )


def variable_target(sym: Symbol, n: int, lo: int, hi: int) -> tuple[int, bool]:
    """The graph node a repair to ``sym`` at ``n`` points at, and whether it lies in ``[lo, hi)``.

    The nearest occurrence of ``sym`` before ``n`` inside the function ``[lo, hi)``;
    else its first binding (definition) anywhere; else its first occurrence; -1 if none.
    """
    occ = sym.occurrences
    k = bisect_left(occ, n) - 1
    if k >= 0 and occ[k] >= lo:
        return occ[k], True
    target = sym.bindings[0] if sym.bindings else (occ[0] if occ else -1)
    return target, lo <= target < hi


def _in_annotation(g: CodeGraph, n: int) -> bool:
    """Whether identifier ``n`` is part of a type annotation."""
    p = g.parent[n]
    types, parent = g.type, g.parent
    while p >= 0:
        t = types[p]
        if t == "type":
            return True
        if t in _ANNOTATION_STOPS or t.endswith("statement"):
            return False
        p = parent[p]
    return False

"""CG001 variable-misuse: a name used where another name in reach was meant.

Locations: every read of a name (not ``self``/``cls``, not inside a type annotation), by
what the name is:

* a variable (assigned or a parameter): the other variables in scope, nearest first, at
  most :data:`MAX_VARIABLE_REPAIRS` (token ``var``);
* a name bound only by ``def`` / ``class`` / ``import`` (a module-level function, a class,
  an imported name): the other such names in scope, those of its kind (class-like or not)
  first, then the nearest, at most :data:`MAX_NAME_REPAIRS` (token ``name``); class-like
  names that look like exceptions also get the common builtin exceptions;
* a builtin: the builtins it is commonly confused with (:data:`BUILTIN_PEERS`; for
  exceptions, the common ones and those next to it in the hierarchy) and the exception
  classes in scope (token ``builtin``);
* a name bound nowhere (undefined): the names in reach spelled most like it, variables,
  module-level names and builtins alike, at most :data:`MAX_NAME_REPAIRS` (token ``typo``).

Each repair points at the nearest earlier occurrence of the replacement in the function,
else at its definition; builtins point nowhere.

Bug injection adds to the candidates' own (symmetric) repairs a misspelling of a read
variable (a letter dropped, doubled or two swapped), whose fix is the undefined name's
repair back to the variable.
"""

from __future__ import annotations

import builtins
import difflib
from bisect import bisect_left
from collections.abc import Iterable
from typing import cast

from codegraph.rules.base import Enumeration, Rule, bug_and_fix, file_locals
from codegraph.schema import CodeGraph, FunctionInfo
from codegraph.scopes import Access, Scope, ScopeInfo, ScopeKind, Symbol, SymbolFlag
from codegraph.units import AnalysisUnit, Candidate, Repair

#: most alternative variables offered for one location
MAX_VARIABLE_REPAIRS = 24
#: most alternatives offered for a module-level name, a builtin or an undefined name
MAX_NAME_REPAIRS = 12
#: most alternatives offered for a builtin exception
MAX_EXCEPTION_REPAIRS = 18
#: names of the builtins
BUILTIN_NAMES: frozenset[str] = frozenset(n for n in dir(builtins) if not n.startswith("_"))


def _exception_classes() -> dict[str, type[BaseException]]:
    return {
        n: v
        for n in BUILTIN_NAMES
        if isinstance(v := getattr(builtins, n), type) and issubclass(v, BaseException)
    }


_EXCEPTIONS = _exception_classes()
#: the builtin exceptions most often raised or caught, in that order
COMMON_EXCEPTIONS: tuple[str, ...] = (
    "ValueError", "TypeError", "KeyError", "IndexError", "AttributeError", "RuntimeError", "Exception",
    "NotImplementedError", "OSError", "IOError", "ImportError", "LookupError", "StopIteration",
    "AssertionError", "FileNotFoundError", "BaseException", "NameError", "ZeroDivisionError",
)  # fmt: skip
_PEER_GROUPS: tuple[tuple[str, ...], ...] = (
    ("str", "repr", "bytes", "int", "float", "bool"),
    ("list", "tuple", "set", "frozenset", "dict", "sorted", "reversed", "iter"),
    ("min", "max"), ("any", "all"), ("isinstance", "issubclass"),
    ("getattr", "setattr", "hasattr", "delattr"), ("map", "filter", "zip", "enumerate"),
    ("globals", "locals", "vars"), ("staticmethod", "classmethod", "property"),
    ("NotImplemented", "NotImplementedError"), ("iter", "next"), ("chr", "ord"), ("bin", "hex", "oct"),
)  # fmt: skip


def _builtin_peers() -> dict[str, tuple[str, ...]]:
    """Builtin -> the builtins it may be confused with (its groups; for an exception, its parent,
    children and siblings in the hierarchy, then the common exceptions)."""
    out: dict[str, list[str]] = {}
    for group in _PEER_GROUPS:
        for a in group:
            out.setdefault(a, []).extend(b for b in group if b != a)
    aliases = {"IOError": "OSError", "EnvironmentError": "OSError"}
    for name, cls in _EXCEPTIONS.items():
        others = [(n, c) for n, c in _EXCEPTIONS.items() if c is not cls]
        parents = [n for n, c in others if c in cls.__bases__ and n not in aliases]
        alike = [  # siblings spelled alike: UnicodeDecodeError / UnicodeEncodeError
            n
            for n, c in others
            if c.__bases__ == cls.__bases__ and difflib.SequenceMatcher(None, n, name).ratio() > 0.75
        ]
        same = [n for n in aliases if n != name and _EXCEPTIONS[n] is cls] + (
            [aliases[name]] if name in aliases else []
        )
        children = sorted(n for n, c in others if cls in c.__bases__)
        common = [n for n in COMMON_EXCEPTIONS if _EXCEPTIONS[n] is not cls]
        few = children if len(children) <= 3 else []  # FileExistsError: yes; OSError's dozen: after
        out[name] = [*parents, *alike, *same, *few, *common, *children]
    return {k: tuple(dict.fromkeys(v))[:MAX_EXCEPTION_REPAIRS] for k, v in out.items()}


#: builtin -> the builtins it may be confused with
BUILTIN_PEERS: dict[str, tuple[str, ...]] = _builtin_peers()
_DEFINITION_FLAGS = SymbolFlag.IMPORT | SymbolFlag.FUNCTION | SymbolFlag.CLASS
_EXCEPTION_SUFFIXES = ("Error", "Exception", "Warning", "Exit", "Interrupt")
#: names never treated as a misused variable nor offered as a replacement
IMPLICIT_NAMES: frozenset[str] = frozenset({"self", "cls", "__class__"})
#: symbol flags that make a name a plain variable
_VARIABLE_FLAGS = SymbolFlag.ASSIGN | SymbolFlag.PARAM
#: ancestors at which the search for an enclosing annotation stops
_ANNOTATION_STOPS = frozenset({"block", "module", "lambda", "function_definition", "class_definition"})


class VariableMisuse(Rule):
    """## What it does
    Finds a variable used where another variable in scope was meant, and likewise a
    module-level function, class or imported name, a builtin (`min` for `max`, the wrong
    exception class) or a name that is defined nowhere (a typo of a name in reach).

    ## Why is this bad?
    The code runs and type-checks, but computes with the wrong value, catches the wrong
    exception, or fails with a `NameError` only when that line runs.

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
    repair_tokens = ("var", "name", "builtin", "typo")
    fix_only_tokens = frozenset({"typo"})
    needs_scopes = True
    target_note = "`{what}` is defined or last used here"

    @classmethod
    def candidates(cls, ctx: Enumeration, n: int) -> Iterable[Candidate]:
        cand = _variables(ctx).candidate(n)
        return (cand,) if cand is not None else ()

    @classmethod
    def message(cls, current: str, replacement: str, token: str) -> str:
        if token == "typo":
            return f"`{current.strip()}` is not defined; `{replacement.strip()}` looks intended"
        return f"`{current.strip()}` is used here, but `{replacement.strip()}` looks intended"

    @classmethod
    def injections(cls, ctx: Enumeration, n: int) -> Iterable[Candidate]:
        """Misspell a read variable into a name bound nowhere (the fix is the typo's repair)."""
        variables = _variables(ctx)
        cand = variables.candidate(n)
        if cand is None or cand.repairs[0].token != "var":
            return ()
        g = ctx.g
        name = g.text[n]
        taken = set(variables.scopes.visible_symbols(n)) | BUILTIN_NAMES
        spellings = [t for t in misspellings(name) if t not in taken]
        if not spellings:
            return ()
        s, e = g.start_byte[n], g.end_byte[n]
        return (Candidate(n, cls.code, [Repair(cls.code, "typo", t, s, e) for t in spellings]),)

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


def _variables(ctx: Enumeration) -> _Variables:
    variables = ctx.memo.get(VariableMisuse.code)
    if variables is None:
        assert ctx.scopes is not None
        variables = ctx.memo[VariableMisuse.code] = _Variables(ctx.g, ctx.func, ctx.scopes)
    return variables


def misspellings(name: str) -> list[str]:
    """A few typos of ``name``: the second-to-last letter dropped, the last doubled, the first
    two after the first letter swapped (only those that are still identifiers and differ)."""
    out = []
    if len(name) >= 3:
        out.append(name[:-2] + name[-1])
    if len(name) >= 2:
        out.append(name + name[-1])
    if len(name) >= 3 and name[1] != name[2]:
        out.append(name[0] + name[2] + name[1] + name[3:])
    return [t for t in dict.fromkeys(out) if t != name and t.isidentifier()]


class _Variables:
    """The variables visible per scope of one function, split once into those the function uses
    and the nearest others, so that each read costs O(variables used + cap)."""

    def __init__(self, g: CodeGraph, func: FunctionInfo, scopes: ScopeInfo) -> None:
        self.g, self.scopes = g, scopes
        self.lo, self.hi = func.node, g.subtree_end[func.node]
        self._by_scope: dict[int, tuple[list[Symbol], list[tuple[int, Symbol]]]] = {}
        self._is_variable: dict[int, bool] = {}
        self._names_by_scope: dict[int, list[Symbol]] = {}

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
        """A read of a name, and the other names in reach that could have been meant."""
        scopes, g = self.scopes, self.g
        sym = scopes.symbol_of(n)
        if sym is None or scopes.access_of(n) != Access.READ or sym.name in IMPLICIT_NAMES:
            return None
        if not sym.name.isidentifier() or _in_annotation(g, n):
            return None
        if not self.is_variable(sym):
            if sym.is_builtin:
                return self._builtin(n, sym) if sym.name in BUILTIN_NAMES else self._undefined(n, sym)
            return self._definition(n, sym) if sym.flags & _DEFINITION_FLAGS else None
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

    # -- names that are not variables -----------------------------------------------------------
    def _names(self, n: int) -> list[Symbol]:
        """The def / class / import names in scope at ``n`` (cached per scope): those of the
        enclosing functions and class, then the module's nearest to the function of each kind
        (exception-like classes, other classes, the rest; :func:`_module_names`), at most
        :data:`MAX_NAME_REPAIRS` on each side of it per kind, so the work per function stays
        independent of the module's size."""
        scopes = self.scopes
        scope = scopes.scope_at(n)
        hit = self._names_by_scope.get(scope.id)
        if hit is not None:
            return hit
        inner: dict[str, Symbol] = {}
        s: Scope | None = scope
        first = True
        while s is not None and s is not scopes.module:
            if first or s.kind != ScopeKind.CLASS:
                for name, sym in s.symbols.items():
                    inner.setdefault(name, sym)
            first = False
            s = s.parent
        hit = [sym for sym in inner.values() if _is_definition(sym)]
        if s is scopes.module:
            for targets, syms in _module_names(scopes):
                k = bisect_left(targets, self.lo)
                near = syms[max(0, k - MAX_NAME_REPAIRS) : k + MAX_NAME_REPAIRS]
                hit += [sym for sym in near if sym.name not in inner]
        self._names_by_scope[scope.id] = hit
        return hit

    def _target(self, sym: Symbol, n: int) -> int:
        return variable_target(sym, n, self.lo, self.hi)[0]

    def _repairs(
        self, n: int, token: str, alts: Iterable[tuple[str, int]], cap: int = MAX_NAME_REPAIRS
    ) -> Candidate | None:
        s, e = self.g.start_byte[n], self.g.end_byte[n]
        repairs = [Repair("CG001", token, name, s, e, t) for name, t in dict(alts).items()]
        return Candidate(n, "CG001", repairs[:cap]) if repairs else None

    def _definition(self, n: int, sym: Symbol) -> Candidate | None:
        """A module-level function, class or imported name: the others of its kind first."""
        kind = _class_like(sym.name)
        ranked = sorted(
            (_class_like(alt.name) != kind, abs(n - t), alt.name, t)
            for alt in self._names(n)
            if alt is not sym and (t := self._target(alt, n)) >= 0
        )
        alts = [(name, t) for _, _, name, t in ranked]
        if kind and _looks_like_exception(sym.name):
            return self._repairs(
                n, "name", alts[: MAX_NAME_REPAIRS // 2] + [(e, -1) for e in COMMON_EXCEPTIONS]
            )
        return self._repairs(n, "name", alts)

    def _builtin(self, n: int, sym: Symbol) -> Candidate | None:
        """A builtin: its usual confusions, and the classes in scope for an exception (those that
        look like exceptions first), or the variables in scope spelled like it (``type`` / ``typ``)."""
        alts = [(name, -1) for name in BUILTIN_PEERS.get(sym.name, ())]
        if sym.name in _EXCEPTIONS:
            classes = [alt for alt in self._names(n) if _class_like(alt.name)]
            classes.sort(key=lambda alt: not _looks_like_exception(alt.name))
            mine = [(alt.name, self._target(alt, n)) for alt in classes[: MAX_NAME_REPAIRS // 2]]
            return self._repairs(n, "builtin", mine + alts, MAX_EXCEPTION_REPAIRS)
        used, _ = self.visible(n)
        by_name = {v.name: v for v in used}
        alike = difflib.get_close_matches(sym.name, list(by_name), n=3, cutoff=0.75)
        alts += [(name, self._target(by_name[name], n)) for name in alike]
        return self._repairs(n, "builtin", alts)

    def _undefined(self, n: int, sym: Symbol) -> Candidate | None:
        """A name bound nowhere: the names in reach spelled most like it."""
        used, _ = self.visible(n)  # the variables the function uses, then def / class / import names
        visible = {s.name: s for s in [*used, *self._names(n)]}
        pool = [name for name in visible if name not in IMPLICIT_NAMES and name.isidentifier()]
        pool += sorted(BUILTIN_NAMES - set(visible))
        close = difflib.get_close_matches(sym.name, pool, n=MAX_NAME_REPAIRS, cutoff=0.5)
        alts = [(name, self._near(visible[name], n) if name in visible else -1) for name in close]
        return self._repairs(n, "typo", alts)

    def _near(self, sym: Symbol, n: int) -> int:
        """Where a typo's repair points: an occurrence in the function itself, else nowhere (the
        names in reach are many; pulling each one's definition into the unit would crowd it)."""
        target, inside = variable_target(sym, n, self.lo, self.hi)
        return target if inside else -1


def _class_like(name: str) -> bool:
    return name[:1].isupper() and not name.isupper()


def _looks_like_exception(name: str) -> bool:
    return name.endswith(_EXCEPTION_SUFFIXES)


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


def _is_definition(sym: Symbol) -> bool:
    """A name bound only by ``def`` / ``class`` / ``import`` (not a variable, not implicit)."""
    return not is_variable(sym) and bool(sym.flags & _DEFINITION_FLAGS) and sym.name not in IMPLICIT_NAMES


def _module_names(scopes: ScopeInfo) -> list[tuple[list[int], list[Symbol]]]:
    """The module's def / class / import names by kind (exception-like classes, other classes,
    the rest), each sorted by the graph node of its first binding, once per file."""
    hit = scopes.memo.get("cg001.module_names")
    if hit is None:
        kinds: tuple[list[tuple[int, Symbol]], ...] = ([], [], [])
        for sym in scopes.module.symbols.values():
            if not _is_definition(sym):
                continue
            occ = sym.occurrences
            target = sym.bindings[0] if sym.bindings else (occ[0] if occ else -1)
            kind = (0 if _looks_like_exception(sym.name) else 1) if _class_like(sym.name) else 2
            kinds[kind].append((target, sym))
        names: list[tuple[list[int], list[Symbol]]] = []
        for rows in kinds:
            rows.sort(key=lambda r: r[0])
            names.append(([t for t, _ in rows], [sym for _, sym in rows]))
        scopes.memo["cg001.module_names"] = hit = names
    return cast(list[tuple[list[int], list[Symbol]]], hit)


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

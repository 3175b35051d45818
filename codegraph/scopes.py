"""Python name scoping over a CodeGraph: which variable every identifier graph node refers to.

:func:`codegraph.scope_analysis.analyze_scopes` follows CPython's symbol-table rules:

* Scopes are the module, class bodies, functions, lambdas and comprehensions
  (list / set / dict / generator). A class body does not enclose the functions,
  lambdas and comprehensions nested in it: names bound in a class body are invisible
  there. The first iterable of a comprehension is evaluated in the enclosing scope;
  parameter defaults and annotations, decorators, base classes and return
  annotations too.
* A name is local to a scope when the scope binds it anywhere (assignment,
  augmented assignment, ``for`` / ``with ... as`` / ``except ... as`` targets,
  ``del``, imports, ``def`` / ``class`` names, parameters, match-case captures,
  walrus, a bare annotation ``x: int``), unless declared ``global`` or
  ``nonlocal``. A walrus inside a comprehension binds in the nearest enclosing
  non-comprehension scope. Private names are not mangled.
* Other names are free: they resolve to the nearest enclosing function-like scope
  binding them (class scopes skipped), else to the module, else to a pseudo-symbol
  of the :attr:`ScopeKind.BUILTINS` scope (builtins and unresolved names).
* Attribute names (``x.y``: only ``x`` is a variable), keyword-argument names in
  calls, keyword names in class patterns, dotted module paths of imports (``import
  a.b`` binds ``a``; ``import a.b as c`` binds ``c``; ``from x import y as z`` binds
  ``z``) and ``__future__`` imports are not variable occurrences. Names in
  ``global`` / ``nonlocal`` statements are declarations (see
  :attr:`ScopeInfo.declarations`), not occurrences. Annotations are reads.

This module holds what the analysis produces (:class:`ScopeInfo`: scopes, symbols and
every occurrence) and the queries over it; :mod:`codegraph.scope_analysis` computes it.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass, field
from enum import IntEnum, IntFlag


class ScopeKind(IntEnum):
    """What kind of code block a :class:`Scope` is."""

    MODULE = 0
    CLASS = 1
    FUNCTION = 2
    LAMBDA = 3
    COMPREHENSION = 4
    BUILTINS = 5  # pseudo-scope of builtins and of names bound nowhere in the file


class Access(IntFlag):
    """How an occurrence uses its variable. Augmented assignment targets are READ | WRITE."""

    READ = 1
    WRITE = 2
    DELETE = 4  # ``del x``: always together with WRITE (it ends the binding)


class SymbolFlag(IntFlag):
    """How a symbol is bound in its scope (accumulated over all its bindings)."""

    NONE = 0
    ASSIGN = 1  # assignment, for / with / except target, walrus, del, match capture, type alias
    PARAM = 2
    IMPORT = 4
    FUNCTION = 8  # ``def name``
    CLASS = 16  # ``class name``
    GLOBAL = 32  # declared ``global`` in some function
    NONLOCAL = 64  # declared ``nonlocal`` in some nested function
    TYPE_PARAM = 128  # PEP 695 type parameter (bound in the scope of its def / class)


@dataclass(slots=True, eq=False)
class Symbol:
    """One variable: a name in the scope that binds it.

    ``occurrences`` lists every identifier graph node referring to it (reads and
    writes, nested scopes included, source order); ``bindings`` the ones that bind it
    (writes, parameters, imports, def / class names).
    """

    id: int
    name: str
    scope: Scope
    flags: SymbolFlag = SymbolFlag.NONE
    occurrences: list[int] = field(default_factory=list)
    bindings: list[int] = field(default_factory=list)

    @property
    def is_builtin(self) -> bool:
        """True for the pseudo-symbols of builtins and unresolved names."""
        return self.scope.kind == ScopeKind.BUILTINS

    def __repr__(self) -> str:
        return f"Symbol({self.name!r} in {self.scope.kind.name.lower()} {self.scope.name!r})"


@dataclass(slots=True, eq=False)
class Scope:
    """A code block with its own namespace.

    ``node`` is the graph node creating it (module root, ``function_definition``,
    ``class_definition``, ``lambda`` or a comprehension; -1 for builtins). ``symbols``
    holds the names bound here (after ``global`` / ``nonlocal`` declarations are taken
    out), in order of first binding; ``params`` the parameters in order.
    """

    id: int
    kind: ScopeKind
    node: int
    parent: Scope | None
    name: str
    symbols: dict[str, Symbol] = field(default_factory=dict)
    params: list[Symbol] = field(default_factory=list)
    globals: set[str] = field(default_factory=set)
    nonlocals: set[str] = field(default_factory=set)
    children: list[Scope] = field(default_factory=list)
    is_generator: bool = False  # contains ``yield`` (functions and lambdas)
    # names bound in pass 1 (before symbols exist): name -> flags; params in order
    _bound: dict[str, int] = field(default_factory=dict, repr=False)
    _param_names: list[str] = field(default_factory=list, repr=False)
    _resolved: dict[str, Symbol] = field(default_factory=dict, repr=False)

    @property
    def is_function_like(self) -> bool:
        """Functions, lambdas and comprehensions: scopes whose free names see enclosing functions."""
        return self.kind in _FUNCTION_LIKE

    @property
    def flow_owner(self) -> Scope:
        """The scope whose control flow runs this scope's code inline: the nearest module,
        function or lambda (class bodies and comprehensions run inside their enclosing code)."""
        s = self
        while s.kind in INLINE_KINDS and s.parent is not None:
            s = s.parent
        return s

    def __repr__(self) -> str:
        return f"Scope({self.kind.name.lower()} {self.name!r} @{self.node})"


_FUNCTION_LIKE = frozenset({ScopeKind.FUNCTION, ScopeKind.LAMBDA, ScopeKind.COMPREHENSION})
INLINE_KINDS = frozenset({ScopeKind.CLASS, ScopeKind.COMPREHENSION})


@dataclass(eq=False)
class ScopeInfo:
    """The result of :func:`analyze_scopes`.

    Occurrences (identifier graph nodes that are variable reads / writes) are kept as
    parallel lists in source order: ``occ_nodes`` (ascending graph node ids),
    ``occ_symbols``, ``occ_access`` and ``occ_scopes`` (the scope whose code contains
    the occurrence: for parameters the function, for defaults the enclosing scope, for
    a walrus in a comprehension the scope it binds in).
    """

    module: Scope
    builtins: Scope
    scopes: list[Scope]  # module first, then in preorder of their graph nodes
    symbols: list[Symbol]  # indexed by Symbol.id
    occ_nodes: list[int]
    occ_symbols: list[Symbol]
    occ_access: list[Access]
    occ_scopes: list[Scope]
    declarations: dict[int, Symbol]  # identifier graph nodes of ``global`` / ``nonlocal`` names
    yields: list[int]  # graph nodes of ``yield`` expressions, source order
    #: graph nodes whose evaluation order differs from preorder or that branch / loop
    #: (assignments, walrus, conditional and boolean expressions, comprehensions, lambdas)
    flow_specials: list[int]
    _region_root: dict[int, Scope]  # graph node whose subtree (mostly) belongs to a scope
    _by_node: dict[int, Scope]  # creating graph node -> scope
    _parent: list[int]
    _type: list[str]
    _field: list[str | None]
    _children: list[list[int]]
    _visible: dict[int, dict[str, Symbol]] = field(default_factory=dict, repr=False)
    _index_map: dict[int, int] | None = field(default=None, repr=False)
    #: what the rules derive once per file from this analysis, by a key of their own
    memo: dict[str, object] = field(default_factory=dict, repr=False)

    @property
    def _index(self) -> dict[int, int]:
        """Occurrence graph node -> position in the ``occ_*`` lists (built on first use)."""
        index = self._index_map
        if index is None:
            nodes = self.occ_nodes
            index = self._index_map = dict(zip(nodes, range(len(nodes))))
        return index

    # -- occurrences -------------------------------------------------------------------
    def symbol_of(self, node: int) -> Symbol | None:
        """The symbol an identifier graph node refers to, or None when it is no variable occurrence."""
        k = self._index.get(node)
        return None if k is None else self.occ_symbols[k]

    def access_of(self, node: int) -> Access | None:
        """READ, WRITE, READ | WRITE (augmented assignment) or WRITE | DELETE; None for non-occurrences."""
        k = self._index.get(node)
        return None if k is None else self.occ_access[k]

    def occurrence_index(self, node: int) -> int | None:
        """Position of an occurrence in the ``occ_*`` lists."""
        return self._index.get(node)

    def occurrences_in(self, node: int, end: int) -> range:
        """Positions (into ``occ_*``) of the occurrences among graph nodes ``node <= n < end``."""
        return range(bisect_left(self.occ_nodes, node), bisect_left(self.occ_nodes, end))

    def is_occurrence(self, node: int) -> bool:
        return node in self._index

    # -- scopes ------------------------------------------------------------------------
    def scope_of_definition(self, node: int) -> Scope | None:
        """The scope created by a module / function_definition / class_definition / lambda /
        comprehension graph node (a ``decorated_definition`` maps to its definition's scope)."""
        s = self._by_node.get(node)
        if s is None and self._type[node] == "decorated_definition":
            for c in self._children[node]:
                if self._field[c] == "definition":
                    return self._by_node.get(c)
        return s

    def resolve(self, scope: Scope, name: str) -> Symbol:
        """The symbol ``name`` would refer to if read in code of ``scope`` (builtins / unresolved
        names give a pseudo-symbol of the BUILTINS scope)."""
        sym = scope._resolved.get(name)
        if sym is None:
            sym = scope._resolved[name] = resolve_name(scope, name, self.module, self.builtins, self.symbols)
        return sym

    def definitions(self, symbol: Symbol) -> list[int]:
        """The ``function_definition`` / ``class_definition`` graph nodes that bind ``symbol``."""
        out = []
        for b in symbol.bindings:
            p = self._parent[b]
            if self._field[b] == "name" and self._type[p] in ("function_definition", "class_definition"):
                out.append(p)
        return out

    def scope_at(self, node: int) -> Scope:
        """The innermost scope whose code contains graph node ``node``.

        Parameter names belong to their function; defaults, annotations, decorators and
        the first iterable of a comprehension to the enclosing scope.
        """
        parent, roots, types, fields = self._parent, self._region_root, self._type, self._field
        below2 = below = -1  # the grandchild and child of p on the path from node
        p = node
        while p >= 0:
            s = roots.get(p)
            if s is not None:
                if types[p] in _PARAM_LISTS and below2 >= 0 and fields[below2] in ("value", "type"):
                    # a default or annotation: evaluated where the definition is
                    below2 = below = -1
                    p = s.node
                    continue
                return s
            below2, below = below, p
            p = parent[p]
        return self.module

    def function_scope_of(self, node: int) -> Scope:
        """The innermost ``def`` scope containing graph node ``node`` (lambdas, comprehensions
        and class bodies are folded into it), or the module scope outside any function.
        A ``function_definition`` graph node maps to its own scope."""
        s = self._by_node.get(node)
        if s is None or s.kind != ScopeKind.FUNCTION:
            s = self.scope_at(node)
        while s.kind not in (ScopeKind.FUNCTION, ScopeKind.MODULE):
            assert s.parent is not None
            s = s.parent
        return s

    def visible_symbols(self, node: int, *, bound_before: bool = False) -> dict[str, Symbol]:
        """The variables in scope at graph node ``node``: name -> symbol, innermost first.

        These are the symbols of the scope containing ``node``, then those of the
        enclosing function-like scopes (closures), then the module's; class bodies are
        only visible from their own body, never from nested functions, lambdas or
        comprehensions. Inner bindings shadow outer ones; names declared ``global`` /
        ``nonlocal`` show the symbol they refer to. Builtins are not included.

        With ``bound_before``, symbols of the scopes whose code runs inline with
        ``node`` (the innermost scopes up to and including the nearest function, lambda
        or module) are kept only when they are parameters or have a binding at a graph
        node before ``node``; symbols of enclosing functions and of the module (when
        ``node`` is inside a function) are kept regardless, since they may be bound by
        the time the function runs.
        """
        s: Scope | None = self.scope_at(node)
        assert s is not None
        if not bound_before:
            cached = self._visible.get(s.id)
            if cached is None:
                cached = self._visible[s.id] = self._visible_from(s, -1)
            return dict(cached)
        return self._visible_from(s, node)

    def _visible_from(self, s: Scope | None, node: int) -> dict[str, Symbol]:
        """Symbols visible in scope ``s``; with ``node >= 0``, inline ones bound before it only."""
        bound_before = node >= 0
        out: dict[str, Symbol] = {}
        first = True
        inline = True  # still inside the code that runs together with node
        while s is not None:
            if first or s.kind != ScopeKind.CLASS:
                for name, sym in s.symbols.items():
                    if name in out:
                        continue
                    if bound_before and inline and not (sym.flags & SymbolFlag.PARAM):
                        b = sym.bindings
                        if not b or b[0] >= node:
                            continue
                    out[name] = sym
            if s.kind in (ScopeKind.FUNCTION, ScopeKind.LAMBDA):
                inline = False
            first = False
            s = s.parent
        return out

    def scope_symbols(self, scope: Scope) -> list[Symbol]:
        """The symbols bound in ``scope`` (parameters first, in order)."""
        params = scope.params
        seen = {id(p) for p in params}
        return [*params, *(s for s in scope.symbols.values() if id(s) not in seen)]


_PARAM_LISTS = frozenset({"parameters", "lambda_parameters"})


def module_symbol(name: str, module: Scope, symbols: list[Symbol]) -> Symbol:
    sym = module.symbols.get(name)
    if sym is None:
        sym = Symbol(len(symbols), name, module, SymbolFlag.GLOBAL)
        symbols.append(sym)
        module.symbols[name] = sym
    return sym


def _builtin(name: str, builtins: Scope, symbols: list[Symbol]) -> Symbol:
    sym = builtins.symbols.get(name)
    if sym is None:
        sym = Symbol(len(symbols), name, builtins)
        symbols.append(sym)
        builtins.symbols[name] = sym
    return sym


def resolve_name(sc: Scope, name: str, module: Scope, builtins: Scope, symbols: list[Symbol]) -> Symbol:
    """The symbol ``name`` refers to in code of scope ``sc``."""
    if sc.kind == ScopeKind.MODULE:
        return module.symbols.get(name) or _builtin(name, builtins, symbols)
    if name in sc.globals:
        return module_symbol(name, module, symbols)
    if name not in sc.nonlocals:
        sym = sc.symbols.get(name)
        if sym is not None:
            return sym
    s = sc.parent
    while s is not None and s.kind != ScopeKind.MODULE:
        if s.kind != ScopeKind.CLASS:
            if name in s.globals:
                return module_symbol(name, module, symbols)
            if name not in s.nonlocals:
                sym = s.symbols.get(name)
                if sym is not None:
                    return sym
        s = s.parent
    return module.symbols.get(name) or _builtin(name, builtins, symbols)

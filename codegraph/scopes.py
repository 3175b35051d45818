"""Python name scoping over a CodeGraph: which variable every identifier graph node refers to.

:func:`analyze_scopes` follows CPython's symbol-table rules:

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

The analysis is one iterative pass over the graph nodes in preorder (no recursion,
so 500-deep nesting is fine) followed by one pass over the occurrences. ERROR syntax
nodes are analysed like any other: what parses is scoped, stray identifiers are reads.
"""

from __future__ import annotations

import weakref
from bisect import bisect_left
from dataclasses import dataclass, field
from enum import IntEnum, IntFlag
from heapq import heappop, heappush

from codegraph.nodes import MAX_TOKEN_TEXT
from codegraph.schema import CodeGraph


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
        while s.kind in _INLINE and s.parent is not None:
            s = s.parent
        return s

    def __repr__(self) -> str:
        return f"Scope({self.kind.name.lower()} {self.name!r} @{self.node})"


_FUNCTION_LIKE = frozenset({ScopeKind.FUNCTION, ScopeKind.LAMBDA, ScopeKind.COMPREHENSION})
_INLINE = frozenset({ScopeKind.CLASS, ScopeKind.COMPREHENSION})


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
            sym = scope._resolved[name] = _resolve(scope, name, self.module, self.builtins, self.symbols)
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

# -- pass 1 dispatch -----------------------------------------------------------------------
_IDENT, _CONTAINER, _FUNC, _CLASS, _LAMBDA, _COMP, _SPECIAL, _YIELD = range(8)
_DISPATCH: dict[str, int] = {
    "identifier": _IDENT,
    "pattern_list": _CONTAINER,
    "tuple_pattern": _CONTAINER,
    "list_pattern": _CONTAINER,
    "tuple": _CONTAINER,
    "list": _CONTAINER,
    "parenthesized_expression": _CONTAINER,
    "list_splat_pattern": _CONTAINER,
    "dictionary_splat_pattern": _CONTAINER,
    "list_splat": _CONTAINER,
    "expression_list": _CONTAINER,
    "as_pattern_target": _CONTAINER,
    "function_definition": _FUNC,
    "class_definition": _CLASS,
    "lambda": _LAMBDA,
    "list_comprehension": _COMP,
    "set_comprehension": _COMP,
    "dictionary_comprehension": _COMP,
    "generator_expression": _COMP,
    "assignment": _SPECIAL,
    "augmented_assignment": _SPECIAL,
    "named_expression": _SPECIAL,
    "conditional_expression": _SPECIAL,
    "boolean_operator": _SPECIAL,
    "yield": _YIELD,
}
_CONTAINERS = frozenset(t for t, c in _DISPATCH.items() if c == _CONTAINER)
_COMP_NAMES = {
    "list_comprehension": "<listcomp>",
    "set_comprehension": "<setcomp>",
    "dictionary_comprehension": "<dictcomp>",
    "generator_expression": "<genexpr>",
}

# identifier rules, by parent type
(
    _R_ATTR, _R_KWARG, _R_CONTAINER, _R_LEFT, _R_AUG, _R_WALRUS, _R_DEF, _R_PARAMS, _R_DEFAULT,
    _R_TYPED, _R_SPLAT_PARAM, _R_DEL, _R_DOTTED, _R_ALIAS, _R_GLOBAL, _R_NONLOCAL, _R_SKIP,
    _R_CAPTURE, _R_AS, _R_TYPE, _R_GENERIC,
) = range(21)  # fmt: skip
_IRULE: dict[str, int] = {
    "attribute": _R_ATTR,
    "keyword_argument": _R_KWARG,
    "pattern_list": _R_CONTAINER,
    "tuple_pattern": _R_CONTAINER,
    "list_pattern": _R_CONTAINER,
    "tuple": _R_CONTAINER,
    "list": _R_CONTAINER,
    "parenthesized_expression": _R_CONTAINER,
    "list_splat": _R_CONTAINER,
    "expression_list": _R_CONTAINER,
    "as_pattern_target": _R_CONTAINER,
    "list_splat_pattern": _R_SPLAT_PARAM,
    "dictionary_splat_pattern": _R_SPLAT_PARAM,
    "assignment": _R_LEFT,
    "for_statement": _R_LEFT,
    "for_in_clause": _R_LEFT,
    "augmented_assignment": _R_AUG,
    "named_expression": _R_WALRUS,
    "function_definition": _R_DEF,
    "class_definition": _R_DEF,
    "parameters": _R_PARAMS,
    "lambda_parameters": _R_PARAMS,
    "default_parameter": _R_DEFAULT,
    "typed_default_parameter": _R_DEFAULT,
    "typed_parameter": _R_TYPED,
    "delete_statement": _R_DEL,
    "dotted_name": _R_DOTTED,
    "aliased_import": _R_ALIAS,
    "global_statement": _R_GLOBAL,
    "nonlocal_statement": _R_NONLOCAL,
    "keyword_pattern": _R_SKIP,
    "import_prefix": _R_SKIP,
    "relative_import": _R_SKIP,
    "future_import_statement": _R_SKIP,
    "splat_pattern": _R_CAPTURE,
    "case_pattern": _R_CAPTURE,
    "as_pattern": _R_AS,
    "type": _R_TYPE,
    "generic_type": _R_GENERIC,
}
_PARAM_PARENTS = frozenset({"parameters", "lambda_parameters", "typed_parameter"})
_CASE_CAPTURE_PARENTS = frozenset({"case_pattern", "keyword_pattern", "splat_pattern"})

_FLAGS: dict[int, SymbolFlag] = {}  # int -> SymbolFlag (constructing an IntFlag is slow)
_R, _W, _RW, _DEL = Access.READ, Access.WRITE, Access.READ | Access.WRITE, Access.WRITE | Access.DELETE
_ASSIGN, _PARAM, _IMPORT = int(SymbolFlag.ASSIGN), int(SymbolFlag.PARAM), int(SymbolFlag.IMPORT)
_FUNCTION, _CLASSF, _TYPE_PARAM = int(SymbolFlag.FUNCTION), int(SymbolFlag.CLASS), int(SymbolFlag.TYPE_PARAM)


def analyze_scopes(g: CodeGraph) -> ScopeInfo:
    """Scope every identifier graph node of ``g`` (see the module docstring for the rules)."""
    types, texts, parents, fields, children, send = (
        g.type, g.text, g.parent, g.field_name, g.children, g.subtree_end,
    )  # fmt: skip
    n = len(types)
    module = Scope(0, ScopeKind.MODULE, 0, None, g.module or "<module>")
    scopes: list[Scope] = [module]
    by_node: dict[int, Scope] = {0: module} if n else {}
    region_root: dict[int, Scope] = {0: module} if n else {}
    # active regions (end, scope) and regions still to come (start, end, scope id)
    stack: list[tuple[int, Scope]] = [(n, module)]
    pending: list[tuple[int, int, int]] = []
    cur, cur_end, next_start = module, n, n
    occ_nodes: list[int] = []
    occ_scopes: list[Scope] = []
    occ_access: list[Access] = []
    tmode: dict[int, Access] = {}  # target containers -> how their identifiers are accessed
    param_scope: dict[int, Scope] = {}  # parameter lists / splat params -> their function
    decl_nodes: list[tuple[int, Scope]] = []
    specials: list[int] = []
    yields: list[int] = []
    dispatch, irule, get_mode = _DISPATCH.get, _IRULE.get, tmode.get
    occ_nodes_append, occ_scopes_append, occ_access_append = (
        occ_nodes.append,
        occ_scopes.append,
        occ_access.append,
    )

    for i in range(n):
        code = dispatch(types[i])
        if code is None:
            continue
        if i >= cur_end or i >= next_start:
            while True:
                while i >= cur_end:
                    stack.pop()
                    cur_end, cur = stack[-1]
                if next_start > i:
                    break
                _, e, sid = heappop(pending)
                next_start = pending[0][0] if pending else n
                if e > i:
                    stack.append((e, scopes[sid]))
                    cur_end, cur = e, scopes[sid]
        if code == _IDENT:
            p = parents[i]
            rule = irule(types[p])
            if rule is None:  # the common case: a plain read
                occ_nodes_append(i)
                occ_scopes_append(cur)
                occ_access_append(_R)
                continue
            scope = cur
            flag = _ASSIGN
            if rule == _R_ATTR:
                if fields[i] == "attribute":
                    continue
                acc = _R
            elif rule == _R_CONTAINER:
                acc = get_mode(p, _R)
            elif rule == _R_LEFT:
                acc = _W if fields[i] == "left" else _R
            elif rule == _R_KWARG:
                if fields[i] == "name":
                    continue
                acc = _R
            elif rule == _R_DEF:
                if fields[i] == "name":
                    acc, flag = _W, (_FUNCTION if types[p] == "function_definition" else _CLASSF)
                else:
                    acc = _R
            elif rule == _R_PARAMS:
                ps = param_scope.get(p)
                if ps is None:
                    acc = _R
                else:
                    acc, scope, flag = _W, ps, _PARAM
            elif rule in (_R_DEFAULT, _R_TYPED):
                ps = param_scope.get(parents[p])
                if ps is None or fields[i] != ("name" if rule == _R_DEFAULT else None):
                    acc = _R
                else:
                    acc, scope, flag = _W, ps, _PARAM
            elif rule == _R_SPLAT_PARAM:
                ps = param_scope.get(p)
                if ps is None:
                    acc = get_mode(p, _R)
                else:
                    acc, scope, flag = _W, ps, _PARAM
            elif rule == _R_AUG:
                acc = _RW if fields[i] == "left" else _R
            elif rule == _R_WALRUS:
                if fields[i] == "name":
                    acc = _W
                    while scope.kind == ScopeKind.COMPREHENSION and scope.parent is not None:
                        scope = scope.parent
                else:
                    acc = _R
            elif rule == _R_DEL:
                acc = _DEL
            elif rule == _R_DOTTED:
                gp = parents[p]
                gpt = types[gp]
                first = children[p][0] == i
                if gpt == "import_statement":
                    if not first:
                        continue
                    acc, flag = _W, _IMPORT
                elif gpt == "import_from_statement":
                    if fields[p] != "name" or not first:
                        continue
                    acc, flag = _W, _IMPORT
                elif gpt in ("aliased_import", "relative_import", "future_import_statement"):
                    continue
                elif gpt in _CASE_CAPTURE_PARENTS and len(children[p]) == 1 and fields[p] != "key":
                    if texts[i] == "_":
                        continue
                    acc = _W
                else:
                    if not first:
                        continue
                    acc = _R
            elif rule == _R_ALIAS:
                if fields[i] != "alias":
                    continue
                acc, flag = _W, _IMPORT
            elif rule in (_R_GLOBAL, _R_NONLOCAL):
                (cur.globals if rule == _R_GLOBAL else cur.nonlocals).add(_name(g, i))
                decl_nodes.append((i, cur))
                continue
            elif rule == _R_SKIP:
                continue
            elif rule == _R_CAPTURE:
                if texts[i] == "_":
                    continue
                acc = _W
            elif rule == _R_AS:
                gp = parents[p]
                if gp >= 0 and types[gp] == "case_pattern" and children[p][-1] == i:
                    if texts[i] == "_":
                        continue
                    acc = _W
                else:
                    acc = _R
            elif rule == _R_TYPE:
                gp = parents[p]
                if fields[p] == "left" and types[gp] == "type_alias_statement":
                    acc = _W
                elif fields[gp] == "type_parameters" and parents[gp] in by_node:
                    acc, scope, flag = _W, by_node[parents[gp]], _TYPE_PARAM
                else:
                    acc = _R
            else:  # _R_GENERIC
                gp = parents[p]
                if (
                    children[p][0] == i
                    and fields[gp] == "left"
                    and types[gp] == "type"
                    and types[parents[gp]] == "type_alias_statement"
                ):
                    acc = _W
                else:
                    acc = _R
            occ_nodes_append(i)
            occ_scopes_append(scope)
            occ_access_append(acc)
            if acc is not _R:  # (IntFlag "&" is slow)
                name = texts[i]
                if len(name) >= MAX_TOKEN_TEXT:
                    name = g.node_source(i)
                bound = scope._bound
                bound[name] = bound.get(name, 0) | flag
                if flag == _PARAM:
                    scope._param_names.append(name)
        elif code == _CONTAINER:
            p = parents[i]
            if p < 0:
                continue
            pt = types[p]
            mode: Access | None
            if pt in _CONTAINERS:
                mode = get_mode(p)
            elif pt == "assignment" or pt == "for_statement" or pt == "for_in_clause":
                mode = _W if fields[i] == "left" else None
            elif pt == "delete_statement":
                mode = _DEL
            elif pt in _PARAM_PARENTS:
                ps = param_scope.get(parents[p] if pt == "typed_parameter" else p)
                if ps is not None:
                    param_scope[i] = ps
                continue
            else:
                mode = None
            if types[i] == "as_pattern_target":
                mode = _W
            if mode is not None:
                tmode[i] = mode
        elif code == _SPECIAL:
            specials.append(i)
        elif code == _YIELD:
            yields.append(i)
            s = cur
            while s.kind in _INLINE and s.parent is not None:
                s = s.parent
            s.is_generator = True
        else:
            # a scope-creating graph node
            kind = (
                ScopeKind.FUNCTION if code == _FUNC
                else ScopeKind.CLASS if code == _CLASS
                else ScopeKind.LAMBDA if code == _LAMBDA
                else ScopeKind.COMPREHENSION
            )  # fmt: skip
            if code in (_FUNC, _CLASS):
                name_node = g.child_by_field(i, "name")
                sname = _name(g, name_node) if name_node is not None else "?"
            else:
                sname = "<lambda>" if code == _LAMBDA else _COMP_NAMES[types[i]]
            sc = Scope(len(scopes), kind, i, cur, sname)
            scopes.append(sc)
            cur.children.append(sc)
            by_node[i] = sc
            if code == _COMP:
                specials.append(i)
                region_root[i] = sc
                stack.append((send[i], sc))
                outer = cur
                cur, cur_end = sc, send[i]
                for c in children[i]:
                    if types[c] == "for_in_clause":
                        for r in children[c]:
                            if fields[r] == "right":
                                heappush(pending, (r, send[r], outer.id))
                                region_root[r] = outer
                        break
            else:
                if code == _LAMBDA:
                    specials.append(i)
                for c in children[i]:
                    f = fields[c]
                    if f == "body":
                        heappush(pending, (c, send[c], sc.id))
                        region_root[c] = sc
                    elif f == "parameters":
                        param_scope[c] = sc
                        region_root[c] = sc
                    elif f == "type_parameters":
                        region_root[c] = sc
            if pending:
                next_start = pending[0][0]

    builtins = Scope(len(scopes), ScopeKind.BUILTINS, -1, None, "builtins")
    symbols = _make_symbols(scopes, module)
    # pass 2: resolve every occurrence
    occ_symbols: list[Symbol] = []
    append = occ_symbols.append
    for node, sc, acc in zip(occ_nodes, occ_scopes, occ_access):
        name = texts[node]
        if len(name) >= MAX_TOKEN_TEXT:
            name = g.node_source(node)
        sym = sc._resolved.get(name)
        if sym is None:
            sym = sc._resolved[name] = _resolve(sc, name, module, builtins, symbols)
        append(sym)
        sym.occurrences.append(node)
        if acc is not _R:
            sym.bindings.append(node)
    declarations: dict[int, Symbol] = {}
    for node, sc in decl_nodes:
        name = _name(g, node)
        if name in sc.globals:
            declarations[node] = _module_symbol(name, module, symbols)
        else:
            declarations[node] = _resolve(sc, name, module, builtins, symbols)
    scopes.append(builtins)
    return ScopeInfo(
        module=module,
        builtins=builtins,
        scopes=scopes,
        symbols=symbols,
        occ_nodes=occ_nodes,
        occ_symbols=occ_symbols,
        occ_access=occ_access,
        occ_scopes=occ_scopes,
        declarations=declarations,
        yields=yields,
        flow_specials=specials,
        _region_root=region_root,
        _by_node=by_node,
        _parent=parents,
        _type=types,
        _field=fields,
        _children=children,
    )


#: (weak reference to the graph, its node count, its analysis); the entry goes with the graph
_cache: list[tuple[weakref.ref[CodeGraph], int, ScopeInfo]] = []


def _forget(_: object) -> None:
    _cache.clear()


def scopes_of(g: CodeGraph) -> ScopeInfo:
    """:func:`analyze_scopes`, cached for the most recent graph while it is alive (the edge
    builders and the bug-candidate generators of one graph share a single analysis)."""
    if _cache:
        ref, n, info = _cache[0]
        if ref() is g and n == g.num_nodes:
            return info
    info = analyze_scopes(g)
    _cache[:] = [(weakref.ref(g, _forget), g.num_nodes, info)]
    return info


def _name(g: CodeGraph, node: int) -> str:
    t = g.text[node]
    return g.node_source(node) if len(t) >= MAX_TOKEN_TEXT else t


def _make_symbols(scopes: list[Scope], module: Scope) -> list[Symbol]:
    """Create the symbols of every scope from the pass-1 bindings, applying global / nonlocal."""
    symbols: list[Symbol] = []
    for sc in scopes:
        bound = sc._bound
        if sc.globals or sc.nonlocals:
            for name in sc.globals:
                flags = bound.pop(name, 0)
                if flags and sc is not module:
                    module._bound[name] = module._bound.get(name, 0) | flags | int(SymbolFlag.GLOBAL)
            for name in sc.nonlocals:
                bound.pop(name, None)
    for sc in scopes:
        syms = sc.symbols
        for name, flags in sc._bound.items():
            flag = _FLAGS.get(flags)
            if flag is None:
                flag = _FLAGS[flags] = SymbolFlag(flags)
            sym = Symbol(len(symbols), name, sc, flag)
            symbols.append(sym)
            syms[name] = sym
        if sc._param_names:
            sc.params = [syms[p] for p in sc._param_names if p in syms]
        sc._bound = {}
    return symbols


def _module_symbol(name: str, module: Scope, symbols: list[Symbol]) -> Symbol:
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


def _resolve(sc: Scope, name: str, module: Scope, builtins: Scope, symbols: list[Symbol]) -> Symbol:
    """The symbol ``name`` refers to in code of scope ``sc``."""
    if sc.kind == ScopeKind.MODULE:
        return module.symbols.get(name) or _builtin(name, builtins, symbols)
    if name in sc.globals:
        return _module_symbol(name, module, symbols)
    if name not in sc.nonlocals:
        sym = sc.symbols.get(name)
        if sym is not None:
            return sym
    s = sc.parent
    while s is not None and s.kind != ScopeKind.MODULE:
        if s.kind != ScopeKind.CLASS:
            if name in s.globals:
                return _module_symbol(name, module, symbols)
            if name not in s.nonlocals:
                sym = s.symbols.get(name)
                if sym is not None:
                    return sym
        s = s.parent
    return module.symbols.get(name) or _builtin(name, builtins, symbols)

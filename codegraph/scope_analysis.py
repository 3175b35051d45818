"""The scope analysis of a CodeGraph: :func:`analyze_scopes` computes its ScopeInfo.

The rules are CPython's (see :mod:`codegraph.scopes`). The analysis is one iterative
pass over the graph nodes in preorder (no recursion, so 500-deep nesting is fine) that
opens scopes and decides, per identifier, where it binds and how it is accessed (one
small rule per parent syntax type, :data:`_IRULE`), followed by one pass that resolves
every occurrence to its symbol. ERROR syntax nodes are analysed like any other: what
parses is scoped, stray identifiers are reads. :func:`scopes_of` caches it per graph.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from heapq import heappop, heappush

from codegraph.nodes import MAX_TOKEN_TEXT
from codegraph.schema import CodeGraph
from codegraph.scopes import (
    INLINE_KINDS,
    Access,
    Scope,
    ScopeInfo,
    ScopeKind,
    Symbol,
    SymbolFlag,
    module_symbol,
    resolve_name,
)

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

_PARAM_PARENTS = frozenset({"parameters", "lambda_parameters", "typed_parameter"})
_CASE_CAPTURE_PARENTS = frozenset({"case_pattern", "keyword_pattern", "splat_pattern"})

_FLAGS: dict[int, SymbolFlag] = {}  # int -> SymbolFlag (constructing an IntFlag is slow)
_R, _W, _RW, _DEL = Access.READ, Access.WRITE, Access.READ | Access.WRITE, Access.WRITE | Access.DELETE
_ASSIGN, _PARAM, _IMPORT = int(SymbolFlag.ASSIGN), int(SymbolFlag.PARAM), int(SymbolFlag.IMPORT)
_FUNCTION, _CLASSF, _TYPE_PARAM = int(SymbolFlag.FUNCTION), int(SymbolFlag.CLASS), int(SymbolFlag.TYPE_PARAM)


@dataclass
class _Walk:
    """What pass 1 of :func:`analyze_scopes` has built so far, as the identifier rules read it."""

    g: CodeGraph
    cur: Scope  # the scope of the graph node being visited
    scopes: list[Scope]
    by_node: dict[int, Scope]  # scope-creating graph node -> its scope
    region_root: dict[int, Scope]  # first graph node of a region -> the scope it belongs to
    pending: list[tuple[int, int, int]]  # regions still to come: (start, end, scope id), a heap
    tmode: dict[int, Access] = field(default_factory=dict)  # target containers -> their access
    param_scope: dict[int, Scope] = field(default_factory=dict)  # parameter lists -> their function
    decl_nodes: list[tuple[int, Scope]] = field(default_factory=list)  # global / nonlocal names
    specials: list[int] = field(default_factory=list)
    yields: list[int] = field(default_factory=list)


#: how an identifier is accessed, in which scope it binds, and the symbol flag of a binding
_Binding = tuple[Access, Scope, int]


def _read(w: _Walk) -> _Binding:
    return _R, w.cur, _ASSIGN


def _rule_attr(w: _Walk, i: int, p: int) -> _Binding | None:
    return None if w.g.field_name[i] == "attribute" else _read(w)


def _rule_kwarg(w: _Walk, i: int, p: int) -> _Binding | None:
    return None if w.g.field_name[i] == "name" else _read(w)


def _rule_container(w: _Walk, i: int, p: int) -> _Binding | None:
    return w.tmode.get(p, _R), w.cur, _ASSIGN


def _rule_left(w: _Walk, i: int, p: int) -> _Binding | None:
    return (_W if w.g.field_name[i] == "left" else _R), w.cur, _ASSIGN


def _rule_aug(w: _Walk, i: int, p: int) -> _Binding | None:
    return (_RW if w.g.field_name[i] == "left" else _R), w.cur, _ASSIGN


def _rule_walrus(w: _Walk, i: int, p: int) -> _Binding | None:
    if w.g.field_name[i] != "name":
        return _read(w)
    scope = w.cur  # binds in the nearest enclosing scope that is not a comprehension
    while scope.kind == ScopeKind.COMPREHENSION and scope.parent is not None:
        scope = scope.parent
    return _W, scope, _ASSIGN


def _rule_def(w: _Walk, i: int, p: int) -> _Binding | None:
    if w.g.field_name[i] != "name":
        return _read(w)
    return _W, w.cur, (_FUNCTION if w.g.type[p] == "function_definition" else _CLASSF)


def _rule_params(w: _Walk, i: int, p: int) -> _Binding | None:
    ps = w.param_scope.get(p)
    return _read(w) if ps is None else (_W, ps, _PARAM)


def _rule_default(w: _Walk, i: int, p: int) -> _Binding | None:
    ps = w.param_scope.get(w.g.parent[p])
    return _read(w) if ps is None or w.g.field_name[i] != "name" else (_W, ps, _PARAM)


def _rule_typed(w: _Walk, i: int, p: int) -> _Binding | None:
    ps = w.param_scope.get(w.g.parent[p])
    return _read(w) if ps is None or w.g.field_name[i] is not None else (_W, ps, _PARAM)


def _rule_splat_param(w: _Walk, i: int, p: int) -> _Binding | None:
    ps = w.param_scope.get(p)
    return (w.tmode.get(p, _R), w.cur, _ASSIGN) if ps is None else (_W, ps, _PARAM)


def _rule_del(w: _Walk, i: int, p: int) -> _Binding | None:
    return _DEL, w.cur, _ASSIGN


def _rule_dotted(w: _Walk, i: int, p: int) -> _Binding | None:
    g = w.g
    gp = g.parent[p]
    gpt = g.type[gp]
    first = g.children[p][0] == i
    if gpt == "import_statement":
        return (_W, w.cur, _IMPORT) if first else None
    if gpt == "import_from_statement":
        return (_W, w.cur, _IMPORT) if g.field_name[p] == "name" and first else None
    if gpt in ("aliased_import", "relative_import", "future_import_statement"):
        return None
    if gpt in _CASE_CAPTURE_PARENTS and len(g.children[p]) == 1 and g.field_name[p] != "key":
        return None if g.text[i] == "_" else (_W, w.cur, _ASSIGN)
    return _read(w) if first else None


def _rule_alias(w: _Walk, i: int, p: int) -> _Binding | None:
    return (_W, w.cur, _IMPORT) if w.g.field_name[i] == "alias" else None


def _rule_global(w: _Walk, i: int, p: int) -> _Binding | None:
    w.cur.globals.add(_name(w.g, i))
    w.decl_nodes.append((i, w.cur))
    return None


def _rule_nonlocal(w: _Walk, i: int, p: int) -> _Binding | None:
    w.cur.nonlocals.add(_name(w.g, i))
    w.decl_nodes.append((i, w.cur))
    return None


def _rule_skip(w: _Walk, i: int, p: int) -> _Binding | None:
    return None


def _rule_capture(w: _Walk, i: int, p: int) -> _Binding | None:
    return None if w.g.text[i] == "_" else (_W, w.cur, _ASSIGN)


def _rule_as(w: _Walk, i: int, p: int) -> _Binding | None:
    g = w.g
    gp = g.parent[p]
    if gp >= 0 and g.type[gp] == "case_pattern" and g.children[p][-1] == i:
        return None if g.text[i] == "_" else (_W, w.cur, _ASSIGN)
    return _read(w)


def _rule_type(w: _Walk, i: int, p: int) -> _Binding | None:
    g = w.g
    gp = g.parent[p]
    if g.field_name[p] == "left" and g.type[gp] == "type_alias_statement":
        return _W, w.cur, _ASSIGN
    if g.field_name[gp] == "type_parameters" and g.parent[gp] in w.by_node:
        return _W, w.by_node[g.parent[gp]], _TYPE_PARAM
    return _read(w)


def _rule_generic(w: _Walk, i: int, p: int) -> _Binding | None:
    g = w.g
    gp = g.parent[p]
    if (
        g.children[p][0] == i
        and g.field_name[gp] == "left"
        and g.type[gp] == "type"
        and g.type[g.parent[gp]] == "type_alias_statement"
    ):
        return _W, w.cur, _ASSIGN
    return _read(w)


#: identifier rules, by the parent's syntax type (an identifier under any other parent is a read)
_IRULE: dict[str, Callable[[_Walk, int, int], _Binding | None]] = {
    "attribute": _rule_attr,
    "keyword_argument": _rule_kwarg,
    **dict.fromkeys(
        (
            "pattern_list",
            "tuple_pattern",
            "list_pattern",
            "tuple",
            "list",
            "parenthesized_expression",
            "list_splat",
            "expression_list",
            "as_pattern_target",
        ),
        _rule_container,
    ),
    "list_splat_pattern": _rule_splat_param,
    "dictionary_splat_pattern": _rule_splat_param,
    "assignment": _rule_left,
    "for_statement": _rule_left,
    "for_in_clause": _rule_left,
    "augmented_assignment": _rule_aug,
    "named_expression": _rule_walrus,
    "function_definition": _rule_def,
    "class_definition": _rule_def,
    "parameters": _rule_params,
    "lambda_parameters": _rule_params,
    "default_parameter": _rule_default,
    "typed_default_parameter": _rule_default,
    "typed_parameter": _rule_typed,
    "delete_statement": _rule_del,
    "dotted_name": _rule_dotted,
    "aliased_import": _rule_alias,
    "global_statement": _rule_global,
    "nonlocal_statement": _rule_nonlocal,
    "keyword_pattern": _rule_skip,
    "import_prefix": _rule_skip,
    "relative_import": _rule_skip,
    "future_import_statement": _rule_skip,
    "splat_pattern": _rule_capture,
    "case_pattern": _rule_capture,
    "as_pattern": _rule_as,
    "type": _rule_type,
    "generic_type": _rule_generic,
}


def _container_mode(w: _Walk, i: int) -> None:
    """Record how the identifiers inside the target container ``i`` are accessed."""
    g = w.g
    p = g.parent[i]
    if p < 0:
        return
    pt = g.type[p]
    mode: Access | None
    if pt in _CONTAINERS:
        mode = w.tmode.get(p)
    elif pt == "assignment" or pt == "for_statement" or pt == "for_in_clause":
        mode = _W if g.field_name[i] == "left" else None
    elif pt == "delete_statement":
        mode = _DEL
    elif pt in _PARAM_PARENTS:
        ps = w.param_scope.get(g.parent[p] if pt == "typed_parameter" else p)
        if ps is not None:
            w.param_scope[i] = ps
        return
    else:
        mode = None
    if g.type[i] == "as_pattern_target":
        mode = _W
    if mode is not None:
        w.tmode[i] = mode


def _open_scope(w: _Walk, i: int, code: int) -> Scope:
    """Create the scope of the scope-creating graph node ``i`` and schedule its regions (a
    comprehension's starts here, but its first iterable belongs to the enclosing scope)."""
    g = w.g
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
        sname = "<lambda>" if code == _LAMBDA else _COMP_NAMES[g.type[i]]
    sc = Scope(len(w.scopes), kind, i, w.cur, sname)
    w.scopes.append(sc)
    w.cur.children.append(sc)
    w.by_node[i] = sc
    if code == _COMP:
        w.specials.append(i)
        w.region_root[i] = sc
        for c in g.children[i]:
            if g.type[c] == "for_in_clause":
                for r in g.children[c]:
                    if g.field_name[r] == "right":
                        heappush(w.pending, (r, g.subtree_end[r], w.cur.id))
                        w.region_root[r] = w.cur
                break
        return sc
    if code == _LAMBDA:
        w.specials.append(i)
    for c in g.children[i]:
        f = g.field_name[c]
        if f == "body":
            heappush(w.pending, (c, g.subtree_end[c], sc.id))
            w.region_root[c] = sc
        elif f == "parameters":
            w.param_scope[c] = sc
            w.region_root[c] = sc
        elif f == "type_parameters":
            w.region_root[c] = sc
    return sc


@dataclass
class _Occurrences:
    """Pass 1's identifier occurrences: graph node, scope and access of each."""

    nodes: list[int] = field(default_factory=list)
    scopes: list[Scope] = field(default_factory=list)
    access: list[Access] = field(default_factory=list)


def analyze_scopes(g: CodeGraph) -> ScopeInfo:
    """Scope every identifier graph node of ``g`` (see the module docstring for the rules)."""
    module = Scope(0, ScopeKind.MODULE, 0, None, g.module or "<module>")
    w = _Walk(g, module, [module], {0: module} if len(g.type) else {}, {0: module} if len(g.type) else {}, [])
    occ = _first_pass(w)
    builtins = Scope(len(w.scopes), ScopeKind.BUILTINS, -1, None, "builtins")
    symbols = _make_symbols(w.scopes, module)
    occ_symbols = _resolve_occurrences(g, occ, module, builtins, symbols)
    declarations: dict[int, Symbol] = {}
    for node, sc in w.decl_nodes:
        name = _name(g, node)
        if name in sc.globals:
            declarations[node] = module_symbol(name, module, symbols)
        else:
            declarations[node] = resolve_name(sc, name, module, builtins, symbols)
    w.scopes.append(builtins)
    return ScopeInfo(
        module=module,
        builtins=builtins,
        scopes=w.scopes,
        symbols=symbols,
        occ_nodes=occ.nodes,
        occ_symbols=occ_symbols,
        occ_access=occ.access,
        occ_scopes=occ.scopes,
        declarations=declarations,
        yields=w.yields,
        flow_specials=w.specials,
        _region_root=w.region_root,
        _by_node=w.by_node,
        _parent=g.parent,
        _type=g.type,
        _field=g.field_name,
        _children=g.children,
    )


def _first_pass(w: _Walk) -> _Occurrences:
    """Pass 1, in graph node order: scopes, their regions, and every identifier's scope and access."""
    g = w.g
    types, parents = g.type, g.parent
    n = len(types)
    occ = _Occurrences()
    # active regions (end, scope); the next region to come starts at next_start
    stack: list[tuple[int, Scope]] = [(n, w.cur)]
    cur, cur_end, next_start = w.cur, n, n
    dispatch, irule = _DISPATCH.get, _IRULE.get
    occ_nodes_append, occ_scopes_append, occ_access_append = (
        occ.nodes.append, occ.scopes.append, occ.access.append,
    )  # fmt: skip
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
                _, e, sid = heappop(w.pending)
                next_start = w.pending[0][0] if w.pending else n
                if e > i:
                    stack.append((e, w.scopes[sid]))
                    cur_end, cur = e, w.scopes[sid]
            w.cur = cur
        if code == _IDENT:
            rule = irule(types[parents[i]])
            if rule is None:  # the common case: a plain read
                occ_nodes_append(i)
                occ_scopes_append(cur)
                occ_access_append(_R)
                continue
            binding = rule(w, i, parents[i])
            if binding is None:
                continue
            acc, scope, flag = binding
            occ_nodes_append(i)
            occ_scopes_append(scope)
            occ_access_append(acc)
            if acc is not _R:  # (IntFlag "&" is slow)
                _bind(g, i, scope, flag)
        elif code == _CONTAINER:
            _container_mode(w, i)
        elif code == _SPECIAL:
            w.specials.append(i)
        elif code == _YIELD:
            w.yields.append(i)
            s = cur
            while s.kind in INLINE_KINDS and s.parent is not None:
                s = s.parent
            s.is_generator = True
        else:
            sc = _open_scope(w, i, code)
            if code == _COMP:  # the comprehension's own scope starts here
                stack.append((g.subtree_end[i], sc))
                cur, cur_end = sc, g.subtree_end[i]
                w.cur = cur
            if w.pending:
                next_start = w.pending[0][0]
    return occ


def _bind(g: CodeGraph, i: int, scope: Scope, flag: int) -> None:
    name = g.text[i]
    if len(name) >= MAX_TOKEN_TEXT:
        name = g.node_source(i)
    bound = scope._bound
    bound[name] = bound.get(name, 0) | flag
    if flag == _PARAM:
        scope._param_names.append(name)


def _resolve_occurrences(
    g: CodeGraph, occ: _Occurrences, module: Scope, builtins: Scope, symbols: list[Symbol]
) -> list[Symbol]:
    """Pass 2: the symbol of every occurrence (bindings recorded on their symbols)."""
    occ_symbols: list[Symbol] = []
    append = occ_symbols.append
    for node, sc, acc in zip(occ.nodes, occ.scopes, occ.access, strict=True):
        name = g.text[node]
        if len(name) >= MAX_TOKEN_TEXT:
            name = g.node_source(node)
        sym = sc._resolved.get(name)
        if sym is None:
            sym = sc._resolved[name] = resolve_name(sc, name, module, builtins, symbols)
        append(sym)
        sym.occurrences.append(node)
        if acc is not _R:
            sym.bindings.append(node)
    return occ_symbols


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

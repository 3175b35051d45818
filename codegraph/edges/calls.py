"""Call edges: CALLS (call -> callee definition) and FORMAL_ARG_NAME (argument -> parameter).

This module is the one place where calls are resolved, over each file's light symbol
table (:func:`~codegraph.edges.call_symbols.file_symbols`). :func:`resolve_call`
evaluates a call's callee expression over that table: plain names (LEGB, class scopes
skipped), ``self.m()`` / ``cls.m()`` with methods inherited from base classes,
``Class.m()``, ``Class(...)`` -> ``__init__``, ``super().m()``, ``module.func()`` and
imported names. Names that leave the file go through a :class:`World`; :data:`NO_WORLD`
knows no other file (what :func:`call_edges` uses), ``codegraph.project.Project`` is the
world of a whole project. :func:`bind_arguments` maps the arguments of a call to the
parameters they bind.

No data flow is used: ``x = A(); x.m()`` is not resolved.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from codegraph.edges.call_symbols import (
    NO_WORLD,
    Binding,
    BindKind,
    ClassDef,
    FileSymbols,
    FuncDef,
    MethodKind,
    ParamKind,
    Scope,
    ScopeKind,
    World,
    file_symbols,
)
from codegraph.schema import CodeGraph, EdgeKind

# ---------------------------------------------------------------------------------------------
# evaluating callee expressions


class ValueKind(IntEnum):
    FUNCTION = 0  # fs/node: a function_definition; offset: implicitly bound leading arguments
    CLASS = 1  # fs/node: a class_definition (the class object)
    INSTANCE = 2  # fs/node: an instance of the class_definition
    MODULE = 3  # module: a module name
    SUPER = 4  # fs/node: super() inside class node; offset 1 when bound to an instance


@dataclass(frozen=True, slots=True, eq=False)
class Value:
    """What an expression is known to evaluate to."""

    kind: ValueKind
    fs: FileSymbols | None = None
    node: int = -1
    module: str = ""
    offset: int = 0


@dataclass(frozen=True, slots=True, eq=False)
class Callee:
    """The definition a call runs: a function_definition (``func`` set) or a class_definition
    without its own ``__init__`` (``func`` None). ``offset`` leading parameters are bound
    implicitly (``self`` / ``cls``)."""

    symbols: FileSymbols
    node: int
    offset: int
    func: FuncDef | None


@dataclass(frozen=True, slots=True, eq=False)
class ResolvedCall:
    """A call graph node of the caller's file, its callee and (argument, parameter) pairs."""

    call: int
    callee: Callee
    bindings: list[tuple[int, int]]


class Resolver:
    """Evaluates names, attributes and calls over the symbol tables of a :class:`World`.

    Holds caches (module attributes, resolved base classes) that are valid as long as the
    world does not change: make a new one after a file changed. Cycles (``class A(A.x)``,
    modules star-importing each other) end in "unknown", never in a loop.
    """

    def __init__(self, world: World = NO_WORLD) -> None:
        self.world = world
        self._attrs: dict[tuple[str, str], Value | None] = {}
        self._bases: dict[tuple[int, int], list[tuple[FileSymbols, int]]] = {}
        self._mro: dict[tuple[int, int], list[tuple[FileSymbols, ClassDef]]] = {}
        self._bases_in_progress = 0  # while > 0, a cycle may cut an MRO short: do not cache it

    def resolve_calls(self, fs: FileSymbols) -> list[ResolvedCall]:
        """Resolve every call of ``fs`` (preorder); unresolved calls are left out."""
        out: list[ResolvedCall] = []
        for call, scope in fs.call_scope.items():
            callee = self._resolve(fs, call, scope)
            if callee is not None:
                binds = bind_arguments(fs.graph, call, callee.func, callee.offset) if callee.func else []
                out.append(ResolvedCall(call, callee, binds))
        return out

    def resolve_call(self, fs: FileSymbols, call: int) -> Callee | None:
        """The callee of the call graph node ``call``, or None when it cannot be resolved."""
        scope = fs.call_scope.get(call)
        return None if scope is None else self._resolve(fs, call, scope)

    def _resolve(self, fs: FileSymbols, call: int, scope: Scope) -> Callee | None:
        func_expr = fs.graph.child_by_field(call, "function")
        value = self.value_of(fs, scope, func_expr) if func_expr is not None else None
        if value is None or value.fs is None:
            return None
        vfs = value.fs
        if value.kind == ValueKind.FUNCTION:
            fd = vfs.functions.get(value.node)
            return Callee(vfs, value.node, value.offset, fd) if fd is not None else None
        if value.kind == ValueKind.CLASS:
            init = vfs.classes[value.node].body.names.get("__init__")
            if init is not None and init.kind == BindKind.DEF:
                return Callee(vfs, init.node, 1, vfs.functions[init.node])
            return Callee(vfs, value.node, 0, None)
        return None

    def value_of(self, fs: FileSymbols, scope: Scope, expr: int) -> Value | None:
        """Evaluate an expression of names, attributes and calls (iteratively: chains may be long)."""
        g = fs.graph
        types, children, fields = g.type, g.children, g.field_name
        steps: list[tuple[bool, int]] = []  # (is a call, graph node), from the outside in
        node = expr
        while True:
            t = types[node]
            if t == "identifier":
                break
            if t == "attribute" or t == "call":
                steps.append((t == "call", node))
                kids = children[node]
                inner = kids[0] if kids and fields[kids[0]] in ("object", "function") else None
            elif t == "parenthesized_expression" and len(g.children[node]) == 1:
                inner = g.children[node][0]
            else:
                return None
            if inner is None:
                return None
            node = inner
        name = g.text[node]
        value = self.lookup_name(fs, scope, name)
        if value is None and name == "super" and steps and steps[-1][0]:
            value = self._super(fs, scope, g.child_by_field(steps.pop()[1], "arguments"))
        for is_call, step in reversed(steps):
            if value is None:
                return None
            if is_call:  # calling a class makes an instance; other return values are unknown
                value = (
                    Value(ValueKind.INSTANCE, value.fs, value.node) if value.kind == ValueKind.CLASS else None
                )
            else:
                attr = children[step][-1]
                value = self.attribute(value, g.text[attr]) if fields[attr] == "attribute" else None
        return value

    def _super(self, fs: FileSymbols, scope: Scope, args: int | None) -> Value | None:
        """``super()`` (the class of the enclosing method) or ``super(C, obj)``."""
        explicit = fs.graph.children[args] if args is not None else []
        if explicit:
            cls = self.value_of(fs, scope, explicit[0])
            if cls is None or cls.kind != ValueKind.CLASS:
                return None
            return Value(ValueKind.SUPER, cls.fs, cls.node, offset=1 if len(explicit) > 1 else 0)
        s: Scope | None = scope
        while s is not None and s.kind != ScopeKind.FUNCTION:
            s = s.parent
        if s is None or s.parent is None or s.parent.kind != ScopeKind.CLASS:
            return None
        bound = fs.functions[s.node].method_kind == MethodKind.FUNCTION
        return Value(ValueKind.SUPER, fs, s.parent.node, offset=1 if bound else 0)

    def lookup_name(self, fs: FileSymbols, scope: Scope, name: str) -> Value | None:
        """What ``name`` refers to in ``scope`` (LEGB; a class scope only where the lookup starts)."""
        s: Scope | None = scope
        while s is not None:
            b = s.names.get(name) if s is scope or s.kind != ScopeKind.CLASS else None
            if b is not None and b.kind == BindKind.GLOBAL and s is not fs.module_scope:
                s = scope = fs.module_scope
                continue
            if b is not None and b.kind != BindKind.NONLOCAL and b.kind != BindKind.GLOBAL:
                return self._binding_value(fs, b)
            s = s.parent
        for star in fs.star_imports:
            v = self.module_attribute(star, name)
            if v is not None:
                return v
        return None

    def _binding_value(self, fs: FileSymbols, b: Binding) -> Value | None:
        k = b.kind
        if k == BindKind.DEF:
            return Value(ValueKind.FUNCTION, fs, b.node)
        if k == BindKind.CLASS or k == BindKind.CLS:
            return Value(ValueKind.CLASS, fs, b.node)
        if k == BindKind.SELF:
            return Value(ValueKind.INSTANCE, fs, b.node)
        if k == BindKind.MODULE:
            return Value(ValueKind.MODULE, module=b.module)
        if k == BindKind.IMPORT:
            return self.module_attribute(b.module, b.attr)
        return None

    def module_attribute(self, module: str, name: str) -> Value | None:
        """``module.name``: a top-level binding of the module (re-exports followed), else the
        submodule ``module.name``, else a name that the module's ``import *`` brings in."""
        key = (module, name)
        if key in self._attrs:
            return self._attrs[key]
        self._attrs[key] = None  # in progress: a cycle reads "unknown"
        fs = self.world.symbols(module)
        value: Value | None = None
        b = fs.module_scope.names.get(name) if fs is not None else None
        if fs is not None and b is not None and b.kind not in (BindKind.GLOBAL, BindKind.NONLOCAL):
            value = self._binding_value(fs, b)
            if value is not None or b.kind != BindKind.IMPORT:
                self._attrs[key] = value
                return value
        sub = f"{module}.{name}" if module else name
        if self.world.is_module(sub):
            value = Value(ValueKind.MODULE, module=sub)
        elif fs is not None and b is None:
            for star in fs.star_imports:
                value = self.module_attribute(star, name)
                if value is not None:
                    break
        self._attrs[key] = value
        return value

    def attribute(self, value: Value, name: str) -> Value | None:
        """``value.name`` for modules, classes, instances and super(); None when unknown."""
        kind = value.kind
        if kind == ValueKind.MODULE:
            return self.module_attribute(value.module, name)
        if value.fs is None or kind == ValueKind.FUNCTION:
            return None
        found = self.class_member(value.fs, value.node, name, skip_self=kind == ValueKind.SUPER)
        if found is None:
            return None
        fs, b = found
        if b.kind != BindKind.DEF:
            return self._binding_value(fs, b)
        mk = fs.functions[b.node].method_kind
        if mk == MethodKind.PROPERTY:
            return None
        if mk == MethodKind.STATIC:
            offset = 0
        elif mk == MethodKind.CLASSMETHOD or kind == ValueKind.INSTANCE:
            offset = 1
        elif kind == ValueKind.SUPER:
            offset = value.offset
        else:  # a plain method through the class: self is passed explicitly
            offset = 0
        return Value(ValueKind.FUNCTION, fs, b.node, offset=offset)

    def class_member(
        self, fs: FileSymbols, class_node: int, name: str, skip_self: bool = False
    ) -> tuple[FileSymbols, Binding] | None:
        """The first binding of ``name`` in the class body or along its bases."""
        for cfs, cd in self.mro(fs, class_node):
            if skip_self:
                skip_self = False
                continue
            b = cd.body.names.get(name)
            if b is not None:
                return cfs, b
        return None

    def mro(self, fs: FileSymbols, class_node: int) -> list[tuple[FileSymbols, ClassDef]]:
        """The class and its known bases, depth-first left to right, each once (C3, roughly)."""
        key = (id(fs), class_node)
        cached = self._mro.get(key)
        if cached is not None:
            return cached
        out: list[tuple[FileSymbols, ClassDef]] = []
        seen: set[tuple[int, int]] = set()
        todo: list[tuple[FileSymbols, int]] = [(fs, class_node)]
        while todo:
            cfs, node = todo.pop()
            key = (id(cfs), node)
            if key in seen:
                continue
            seen.add(key)
            out.append((cfs, cfs.classes[node]))
            todo.extend(reversed(self._class_bases(cfs, node)))
        if not self._bases_in_progress:
            self._mro[key] = out
        return out

    def _class_bases(self, fs: FileSymbols, class_node: int) -> list[tuple[FileSymbols, int]]:
        key = (id(fs), class_node)
        cached = self._bases.get(key)
        if cached is not None:
            return cached
        self._bases[key] = []  # in progress: class A(A.x) sees no bases of A
        self._bases_in_progress += 1
        cd = fs.classes[class_node]
        bases: list[tuple[FileSymbols, int]] = []
        for base in cd.bases:
            v = self.value_of(fs, cd.outer, base)
            if v is not None and v.kind == ValueKind.CLASS and v.fs is not None:
                bases.append((v.fs, v.node))
        self._bases_in_progress -= 1
        self._bases[key] = bases
        return bases


def resolve_calls(fs: FileSymbols, world: World = NO_WORLD) -> list[ResolvedCall]:
    """Resolve every call of ``fs`` in ``world`` (preorder); unresolved calls are left out."""
    return Resolver(world).resolve_calls(fs)


def resolve_call(fs: FileSymbols, call: int, world: World = NO_WORLD) -> Callee | None:
    """The callee of the call graph node ``call`` in ``world``, or None when unknown."""
    return Resolver(world).resolve_call(fs, call)


# ---------------------------------------------------------------------------------------------
# arguments -> parameters


def bind_arguments(g: CodeGraph, call: int, func: FuncDef, offset: int = 0) -> list[tuple[int, int]]:
    """(argument graph node, parameter identifier graph node) for each argument of ``call`` that
    binds a parameter of ``func``, the first ``offset`` positional parameters being bound
    implicitly. Positional arguments bind the positional parameters in order, extra ones the
    ``*args`` parameter; keyword arguments (the keyword_argument graph node) bind the parameter
    of their name, else ``**kwargs``. Star-splatted arguments are skipped, and so are the
    positional arguments after a ``*splat`` (their position is unknown)."""
    args = g.child_by_field(call, "arguments")
    if args is None:
        return []
    params = func.params
    positional = [p for p in params if p.kind <= ParamKind.POSITIONAL_OR_KEYWORD]
    var_pos = next((p for p in params if p.kind == ParamKind.VAR_POSITIONAL), None)
    var_kw = next((p for p in params if p.kind == ParamKind.VAR_KEYWORD), None)
    slots = positional[offset:]
    implicit = {p.name for p in positional[:offset]}
    out: list[tuple[int, int]] = []
    if g.type[args] == "generator_expression":  # f(x for x in y)
        if slots:
            out.append((args, slots[0].node))
        elif var_pos is not None:
            out.append((args, var_pos.node))
        return out
    types = g.type
    pos = 0
    splatted = False
    for a in g.children[args]:
        t = types[a]
        if t == "keyword_argument":
            name_node = g.child_by_field(a, "name")
            if name_node is None:
                continue
            name = g.text[name_node]
            target = next(
                (p for p in params if p.name == name and p.name not in implicit
                 and p.kind in (ParamKind.POSITIONAL_OR_KEYWORD, ParamKind.KEYWORD_ONLY)),
                var_kw,
            )  # fmt: skip
            if target is not None:
                out.append((a, target.node))
        elif t == "list_splat":
            splatted = True
        elif t == "dictionary_splat":
            continue
        elif not splatted:
            if pos < len(slots):
                out.append((a, slots[pos].node))
            elif var_pos is not None:
                out.append((a, var_pos.node))
            pos += 1
    return out


def call_edges(g: CodeGraph) -> list[tuple[int, int, EdgeKind]]:
    """CALLS and FORMAL_ARG_NAME edges for the calls whose callee is defined in the same file."""
    fs = file_symbols(g)
    if not fs.call_scope:
        return []
    calls, formal = EdgeKind.CALLS, EdgeKind.FORMAL_ARG_NAME
    edges: list[tuple[int, int, EdgeKind]] = []
    for rc in resolve_calls(fs, NO_WORLD):
        if rc.callee.symbols is not fs:
            continue
        edges.append((rc.call, rc.callee.node, calls))
        edges.extend((a, p, formal) for a, p in rc.bindings)
    return edges

"""Call edges: CALLS (call -> callee definition) and FORMAL_ARG_NAME (argument -> parameter).

This module is the one place where calls are resolved. :func:`file_symbols` makes one
linear pass over a CodeGraph and records a light symbol table: the scopes (module,
functions, lambdas, classes) with the names each binds (defs, classes, imports,
``self`` / ``cls``, and "opaque" names bound by parameters or assignments, which
shadow outer definitions), every function's parameter list, every class's bases and
every call graph node. :func:`resolve_call` then evaluates a call's callee expression
over that table: plain names (LEGB, class scopes skipped), ``self.m()`` / ``cls.m()``
with methods inherited from base classes, ``Class.m()``, ``Class(...)`` -> ``__init__``,
``super().m()``, ``module.func()`` and imported names. Names that leave the file go
through a :class:`World`; :data:`NO_WORLD` knows no other file (what
:func:`call_edges` uses), ``codegraph.project.Project`` is the world of a whole project.
:func:`bind_arguments` maps the arguments of a call to the parameters they bind.

No data flow is used: ``x = A(); x.m()`` is not resolved.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from itertools import compress
from typing import Protocol

from codegraph.schema import CodeGraph, EdgeKind


class BindKind(IntEnum):
    """What a name bound in a scope stands for."""

    OPAQUE = 0  # a parameter, an assignment target ...: nothing known, but it shadows outer names
    DEF = 1  # a function definition (node: its function_definition)
    CLASS = 2  # a class definition (node: its class_definition)
    MODULE = 3  # ``import a.b`` binds ``a`` (module "a"); ``import a.b as c`` binds ``c`` (module "a.b")
    IMPORT = 4  # ``from m import n [as k]`` binds ``k`` to name ``n`` of module ``m``
    SELF = 5  # the first parameter of a method (node: the class_definition)
    CLS = 6  # the first parameter of a classmethod (node: the class_definition)
    GLOBAL = 7  # ``global x``: look the name up in the module scope
    NONLOCAL = 8  # ``nonlocal x``: look the name up in the enclosing scopes


@dataclass(frozen=True, slots=True)
class Binding:
    """One name binding; ``node``, ``module`` and ``attr`` are used as :class:`BindKind` says."""

    kind: BindKind
    node: int = -1
    module: str = ""
    attr: str = ""


_OPAQUE = Binding(BindKind.OPAQUE)
_GLOBAL = Binding(BindKind.GLOBAL)
_NONLOCAL = Binding(BindKind.NONLOCAL)


class ScopeKind(IntEnum):
    MODULE = 0
    FUNCTION = 1
    CLASS = 2
    LAMBDA = 3


@dataclass(slots=True, eq=False)
class Scope:
    """A name scope. Graph nodes from ``body_start`` to the end of ``node``'s subtree run in it."""

    kind: ScopeKind
    node: int
    parent: Scope | None
    body_start: int
    names: dict[str, Binding] = field(default_factory=dict)


class ParamKind(IntEnum):
    POSITIONAL_ONLY = 0
    POSITIONAL_OR_KEYWORD = 1
    VAR_POSITIONAL = 2
    KEYWORD_ONLY = 3
    VAR_KEYWORD = 4


@dataclass(frozen=True, slots=True)
class Param:
    """A formal parameter; ``node`` is its identifier graph node."""

    name: str
    node: int
    kind: ParamKind
    has_default: bool


class MethodKind(IntEnum):
    FUNCTION = 0  # a plain function, or an instance method
    STATIC = 1  # @staticmethod (and __new__)
    CLASSMETHOD = 2  # @classmethod (and __init_subclass__, __class_getitem__)
    PROPERTY = 3  # @property and friends: calling ``self.p()`` does not call the getter


@dataclass(slots=True, eq=False)
class FuncDef:
    """A function_definition: its parameters and, for a method, how it is bound."""

    node: int
    name: str
    params: list[Param]
    method_kind: MethodKind
    class_node: int | None  # the class_definition when defined directly in a class body


@dataclass(slots=True, eq=False)
class ClassDef:
    """A class_definition: its base expressions (evaluated in ``outer``) and its body scope."""

    node: int
    name: str
    bases: list[int]
    outer: Scope
    body: Scope


@dataclass(frozen=True, slots=True)
class ImportRecord:
    """One imported name. ``module`` is absolute (relative imports resolved); ``attr`` is empty
    for ``import a.b [as c]`` and the imported name for ``from m import attr``; ``name`` is the
    local name bound (for ``import a.b``, ``a``); ``node`` is the import statement graph node.
    A relative import that leaves the top-level package has ``module == ""``."""

    name: str
    module: str
    attr: str
    level: int
    node: int


@dataclass(slots=True, eq=False)
class FileSymbols:
    """The light symbol table of one file (see the module docstring)."""

    graph: CodeGraph
    module: str
    is_package: bool
    module_scope: Scope
    functions: dict[int, FuncDef] = field(default_factory=dict)
    classes: dict[int, ClassDef] = field(default_factory=dict)
    call_scope: dict[int, Scope] = field(default_factory=dict)  # call graph node -> its scope
    imports: list[ImportRecord] = field(default_factory=list)
    star_imports: list[str] = field(default_factory=list)  # modules of module-level ``import *``


class World(Protocol):
    """What resolution needs to know about other files."""

    def symbols(self, module: str) -> FileSymbols | None:
        """The symbol table of ``module``, or None when it is not part of the world."""
        ...

    def is_module(self, module: str) -> bool:
        """Whether ``module`` names a module (or package) of the world."""
        ...


class _NoWorld:
    """A world without other files: single-file resolution."""

    def symbols(self, module: str) -> FileSymbols | None:
        return None

    def is_module(self, module: str) -> bool:
        return False


#: the world of :func:`call_edges`: nothing outside the file is known
NO_WORLD: World = _NoWorld()


# ---------------------------------------------------------------------------------------------
# the symbol table: one linear pass

_SCOPE_OPENERS = frozenset({"function_definition", "class_definition", "lambda"})
_INTERESTING = _SCOPE_OPENERS | {
    "call",
    "import_statement",
    "import_from_statement",
    "assignment",
    "augmented_assignment",
    "for_statement",
    "for_in_clause",
    "named_expression",
    "as_pattern_target",
    "global_statement",
    "nonlocal_statement",
}
#: syntax node types whose identifier children are bound by an assignment to them
_TARGET_PATTERNS = frozenset(
    {"pattern_list", "tuple_pattern", "list_pattern", "tuple", "list", "list_splat_pattern",
     "parenthesized_expression", "expression_list"}
)  # fmt: skip
_TARGET_FIELD = {
    "assignment": "left",
    "augmented_assignment": "left",
    "for_statement": "left",
    "for_in_clause": "left",
    "named_expression": "name",
}
_IMPLICIT_CLASSMETHODS = frozenset({"__init_subclass__", "__class_getitem__"})
_PROPERTY_SUFFIXES = ("property", ".setter", ".getter", ".deleter")


def file_symbols(g: CodeGraph) -> FileSymbols:
    """Build the symbol table of ``g`` in one pass over its graph nodes (preorder)."""
    types = g.type
    n = len(types)
    module_scope = Scope(ScopeKind.MODULE, 0, None, 0)
    is_package = g.path.replace("\\", "/").rsplit("/", 1)[-1] in ("__init__.py", "__init__.pyi")
    fs = FileSymbols(g, g.module, is_package, module_scope)
    stack: list[Scope] = [module_scope]
    ends: list[int] = [n]
    send = g.subtree_end
    call_scope = fs.call_scope
    for i in compress(range(n), map(_INTERESTING.__contains__, types)):
        t = types[i]
        while ends[-1] <= i:
            stack.pop()
            ends.pop()
        k = len(stack) - 1
        while stack[k].body_start > i:  # decorators, defaults, bases run in the enclosing scope
            k -= 1
        scope = stack[k]
        if t == "call":
            call_scope[i] = scope
        elif t in _SCOPE_OPENERS:
            new = _open_scope(fs, i, t, scope)
            stack.append(new)
            ends.append(send[i])
        elif t in _TARGET_FIELD:
            target = g.child_by_field(i, _TARGET_FIELD[t])
            if target is not None:
                _bind_targets(g, target, scope)
        elif t == "as_pattern_target":
            for c in g.children[i]:
                _bind_targets(g, c, scope)
        elif t == "import_statement" or t == "import_from_statement":
            _record_import(fs, i, t, scope)
        else:  # global_statement, nonlocal_statement
            mark = _GLOBAL if t == "global_statement" else _NONLOCAL
            for c in g.children[i]:
                if types[c] == "identifier":
                    scope.names[g.text[c]] = mark
    return fs


def _bind(names: dict[str, Binding], name: str, b: Binding) -> None:
    """Bind ``name``; an opaque binding never hides a definition, import or self of the same scope."""
    if b.kind == BindKind.OPAQUE and name in names:
        return
    names[name] = b


def _bind_targets(g: CodeGraph, target: int, scope: Scope) -> None:
    t = g.type[target]
    if t == "identifier":
        _bind(scope.names, g.text[target], _OPAQUE)
    elif t in _TARGET_PATTERNS:
        types, parent, text = g.type, g.parent, g.text
        for d in range(target + 1, g.subtree_end[target]):
            if types[d] == "identifier" and types[parent[d]] in _TARGET_PATTERNS:
                _bind(scope.names, text[d], _OPAQUE)


def _open_scope(fs: FileSymbols, i: int, t: str, outer: Scope) -> Scope:
    """Record the function, class or lambda at graph node ``i`` and return its new scope."""
    g = fs.graph
    name_node = body = params_node = None
    for c in g.children[i]:
        f = g.field_name[c]
        if f == "name":
            name_node = c
        elif f == "body":
            body = c
        elif f == "parameters" or f == "superclasses":
            params_node = c
    body_start = body if body is not None else g.subtree_end[i]
    name = g.text[name_node] if name_node is not None else ""
    if t == "class_definition":
        scope = Scope(ScopeKind.CLASS, i, outer, body_start)
        bases = []
        if params_node is not None:
            skip = ("keyword_argument", "list_splat", "dictionary_splat")
            bases = [c for c in g.children[params_node] if g.type[c] not in skip]
        fs.classes[i] = ClassDef(i, name, bases, outer, scope)
        if name:
            _bind(outer.names, name, Binding(BindKind.CLASS, i))
        return scope
    params = _params(g, params_node) if params_node is not None else []
    if t == "lambda":
        scope = Scope(ScopeKind.LAMBDA, i, outer, body_start)
        for p in params:
            _bind(scope.names, p.name, _OPAQUE)
        return scope
    scope = Scope(ScopeKind.FUNCTION, i, outer, body_start)
    class_node = outer.node if outer.kind == ScopeKind.CLASS else None
    kind = _method_kind(g, i, name) if class_node is not None else MethodKind.FUNCTION
    fs.functions[i] = FuncDef(i, name, params, kind, class_node)
    if name:
        _bind(outer.names, name, Binding(BindKind.DEF, i))
    first = True
    for p in params:
        if first and class_node is not None and p.kind <= ParamKind.POSITIONAL_OR_KEYWORD:
            first = False
            if kind == MethodKind.CLASSMETHOD or name == "__new__":
                _bind(scope.names, p.name, Binding(BindKind.CLS, class_node))
                continue
            if kind != MethodKind.STATIC:
                _bind(scope.names, p.name, Binding(BindKind.SELF, class_node))
                continue
        _bind(scope.names, p.name, _OPAQUE)
    return scope


def _method_kind(g: CodeGraph, func: int, name: str) -> MethodKind:
    """How a method is bound, from its decorators (and the implicit classmethods / __new__)."""
    if name == "__new__":
        return MethodKind.STATIC
    kind = MethodKind.CLASSMETHOD if name in _IMPLICIT_CLASSMETHODS else MethodKind.FUNCTION
    p = g.parent[func]
    if p < 0 or g.type[p] != "decorated_definition":
        return kind
    for dec in g.children[p]:
        if g.type[dec] != "decorator":
            continue
        for expr in g.children[dec]:
            t = g.type[expr]
            if t != "identifier" and t != "attribute":
                continue
            text = g.node_source(expr)
            if text == "staticmethod" or text.endswith(".staticmethod"):
                return MethodKind.STATIC
            if text == "classmethod" or text.endswith(".classmethod"):
                return MethodKind.CLASSMETHOD
            if text.endswith(_PROPERTY_SUFFIXES):
                return MethodKind.PROPERTY
    return kind


def _params(g: CodeGraph, pnode: int) -> list[Param]:
    """The parameters of a ``parameters`` / ``lambda_parameters`` graph node, in order."""
    params: list[Param] = []
    kw_only = False
    types, text = g.type, g.text
    for c in g.children[pnode]:
        t = types[c]
        default = False
        if t == "typed_parameter":  # x: int, *args: int, **kw: int
            inner = g.children[c][0] if g.children[c] else c
            t, c = types[inner], inner
        if t == "default_parameter" or t == "typed_default_parameter":
            name = g.child_by_field(c, "name")
            if name is None:
                continue
            t, c, default = "identifier", name, True
        if t == "identifier":
            kind = ParamKind.KEYWORD_ONLY if kw_only else ParamKind.POSITIONAL_OR_KEYWORD
            params.append(Param(text[c], c, kind, default))
        elif t == "list_splat_pattern" or t == "dictionary_splat_pattern":
            ident = next((d for d in g.children[c] if types[d] == "identifier"), None)
            var = t == "list_splat_pattern"
            if ident is not None:
                kind = ParamKind.VAR_POSITIONAL if var else ParamKind.VAR_KEYWORD
                params.append(Param(text[ident], ident, kind, False))
            kw_only = kw_only or var
        elif t == "keyword_separator":
            kw_only = True
        elif t == "positional_separator":
            pos_only = ParamKind.POSITIONAL_ONLY
            params = [Param(p.name, p.node, pos_only, p.has_default) for p in params]
    return params


def _dotted(g: CodeGraph, node: int) -> str:
    if g.type[node] == "identifier":
        return g.text[node]
    return ".".join(g.text[c] for c in g.children[node] if g.type[c] == "identifier")


def resolve_relative(module: str, is_package: bool, level: int, name: str) -> str | None:
    """The absolute module of ``from <level dots><name> import ...`` written in ``module``.

    None when the import climbs above the top-level package (or the file's module is unknown).
    """
    if level == 0:
        return name
    if not module:
        return None
    package = module if is_package else module.rpartition(".")[0]
    for _ in range(level - 1):
        if not package:
            return None
        package = package.rpartition(".")[0]
    if not package:
        return name or None
    return f"{package}.{name}" if name else package


def _record_import(fs: FileSymbols, i: int, t: str, scope: Scope) -> None:
    g = fs.graph
    names = scope.names
    if t == "import_statement":
        for c in g.children[i]:
            if g.field_name[c] != "name":
                continue
            if g.type[c] == "aliased_import":
                dn, alias = g.child_by_field(c, "name"), g.child_by_field(c, "alias")
                if dn is None or alias is None:
                    continue
                full, local = _dotted(g, dn), g.text[alias]
                _bind(names, local, Binding(BindKind.MODULE, i, full))
            else:
                full = _dotted(g, c)
                local = full.partition(".")[0]
                _bind(names, local, Binding(BindKind.MODULE, i, local))
            fs.imports.append(ImportRecord(local, full, "", 0, i))
        return
    level, base = 0, ""
    mod_node = g.child_by_field(i, "module_name")
    if mod_node is not None:
        if g.type[mod_node] == "relative_import":
            for c in g.children[mod_node]:
                if g.type[c] == "import_prefix":
                    level = g.node_source(c).count(".")
                elif g.type[c] == "dotted_name":
                    base = _dotted(g, c)
        else:
            base = _dotted(g, mod_node)
    module = resolve_relative(fs.module, fs.is_package, level, base)
    for c in g.children[i]:
        ct = g.type[c]
        if ct == "wildcard_import":
            if module is not None and scope.kind == ScopeKind.MODULE:
                fs.star_imports.append(module)
            fs.imports.append(ImportRecord("*", module or "", "*", level, i))
            continue
        if g.field_name[c] != "name":
            continue
        if ct == "aliased_import":
            dn, alias = g.child_by_field(c, "name"), g.child_by_field(c, "alias")
            if dn is None or alias is None:
                continue
            attr, local = _dotted(g, dn), g.text[alias]
        else:
            attr = local = _dotted(g, c)
        if module is None:
            _bind(names, local, _OPAQUE)
        else:
            _bind(names, local, Binding(BindKind.IMPORT, i, module, attr))
        fs.imports.append(ImportRecord(local, module or "", attr, level, i))


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

"""The symbol table of one file that call resolution reads (:mod:`codegraph.edges.calls`).

:func:`file_symbols` makes one linear pass over a CodeGraph and records a light symbol
table: the scopes (module, functions, lambdas, classes) with the names each binds (defs,
classes, imports, ``self`` / ``cls``, and "opaque" names bound by parameters or
assignments, which shadow outer definitions), every function's parameter list, every
class's bases and every call graph node. A :class:`World` hands out other files' tables.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from itertools import compress
from typing import Protocol

from codegraph.schema import CodeGraph


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

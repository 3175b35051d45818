"""Scope analysis: which symbol every identifier refers to, how it is accessed, what is visible where."""

from __future__ import annotations

import textwrap

import pytest

from codegraph.nodes import graph_nodes
from codegraph.schema import CodeGraph
from codegraph.scope_analysis import analyze_scopes, scopes_of
from codegraph.scopes import Access, ScopeInfo, ScopeKind, SymbolFlag
from codegraph.syntax import parse

R, W, RW, DEL = Access.READ, Access.WRITE, Access.READ | Access.WRITE, Access.WRITE | Access.DELETE


def analyze(src: str) -> tuple[CodeGraph, ScopeInfo]:
    source = textwrap.dedent(src).encode()
    g = graph_nodes(parse(source), source)
    return g, analyze_scopes(g)


def ident(g: CodeGraph, text: str, index: int = 0) -> int:
    """The ``index``-th identifier graph node spelled ``text``, in source order."""
    found = [i for i, t in enumerate(g.type) if t == "identifier" and g.text[i] == text]
    return found[index]


def where(g: CodeGraph, info: ScopeInfo, text: str, index: int = 0) -> tuple[str, str, Access] | None:
    """(scope kind, scope name, access) of an identifier's symbol, or None when it is no variable."""
    node = ident(g, text, index)
    sym = info.symbol_of(node)
    if sym is None:
        return None
    access = info.access_of(node)
    assert access is not None
    return sym.scope.kind.name.lower(), sym.scope.name, access


def table(g: CodeGraph, info: ScopeInfo) -> list[str]:
    """Every occurrence as 'name#k scope access' in source order (k counts identifiers spelled alike)."""
    seen: dict[str, int] = {}
    index: dict[int, str] = {}
    for i, t in enumerate(g.type):
        if t == "identifier":
            k = seen.get(g.text[i], 0)
            seen[g.text[i]] = k + 1
            index[i] = f"{g.text[i]}#{k}"
    out = []
    for node, sym, acc in zip(info.occ_nodes, info.occ_symbols, info.occ_access):
        a = {R: "r", W: "w", RW: "rw", DEL: "del"}[acc]
        out.append(f"{index[node]} {sym.scope.name} {a}")
    return out


def test_module_function_and_builtins() -> None:
    g, info = analyze(
        """
        x = 1
        def f(a):
            y = a + x
            return len(y)
        """
    )
    assert table(g, info) == [
        "x#0 <module> w",
        "f#0 <module> w",
        "a#0 f w",
        "y#0 f w",
        "a#1 f r",
        "x#1 <module> r",
        "len#0 builtins r",
        "y#1 f r",
    ]
    assert info.symbol_of(ident(g, "len")).is_builtin  # type: ignore[union-attr]
    f = info.module.symbols["f"]
    assert f.flags == SymbolFlag.FUNCTION
    assert [p.name for p in info.scopes[1].params] == ["a"]


def test_class_body_does_not_enclose_methods() -> None:
    g, info = analyze(
        """
        x = "module"
        class C:
            x = 1
            y = x
            def m(self):
                return x
            z = [x for _ in range(3)]
            w = [q for q in x]
        """
    )
    assert where(g, info, "x", 2) == ("class", "C", R)  # y = x
    assert where(g, info, "x", 3) == ("module", "<module>", R)  # in the method
    assert where(g, info, "x", 4) == ("module", "<module>", R)  # comprehension body
    assert where(g, info, "x", 5) == ("class", "C", R)  # first iterable: class scope
    assert info.module.symbols["C"].flags == SymbolFlag.CLASS
    cls = info.scope_of_definition(g.parent[ident(g, "C")])
    assert cls is not None and set(cls.symbols) == {"x", "y", "m", "z", "w"}


def test_comprehension_scopes() -> None:
    g, info = analyze(
        """
        def f(x, rows):
            a = [x for x in x]
            b = {k: v for k, v in rows if k}
            c = (y for row in rows for y in row)
            return x
        """
    )
    assert where(g, info, "x", 1) == ("comprehension", "<listcomp>", R)
    assert where(g, info, "x", 2) == ("comprehension", "<listcomp>", W)
    assert where(g, info, "x", 3) == ("function", "f", R)  # first iterable
    assert where(g, info, "x", 4) == ("function", "f", R)
    assert where(g, info, "k", 1) == ("comprehension", "<dictcomp>", W)
    assert where(g, info, "v", 0) == ("comprehension", "<dictcomp>", R)
    assert where(g, info, "rows", 2) == ("function", "f", R)  # the first iterable again
    assert where(g, info, "row", 1) == ("comprehension", "<genexpr>", R)


def test_walrus_in_comprehension_binds_in_function() -> None:
    g, info = analyze(
        """
        def f(xs):
            if any((hit := x) > 0 for x in xs):
                return hit
        """
    )
    assert where(g, info, "hit", 0) == ("function", "f", W)
    assert where(g, info, "hit", 1) == ("function", "f", R)
    assert "hit" in info.scopes[1].symbols
    assert "hit" not in info.scopes[2].symbols


def test_global_and_nonlocal() -> None:
    g, info = analyze(
        """
        count = 0
        def outer():
            total = 0
            def bump():
                global count
                nonlocal total
                count += 1
                total += 1
            def shadow():
                total = 5
                return total
            return total
        """
    )
    assert where(g, info, "count", 2) == ("module", "<module>", RW)
    assert where(g, info, "total", 2) == ("function", "outer", RW)
    assert where(g, info, "total", 3) == ("function", "shadow", W)
    assert where(g, info, "total", 5) == ("function", "outer", R)
    assert info.module.symbols["count"].flags & SymbolFlag.GLOBAL
    # the names in global / nonlocal statements are declarations, not occurrences
    assert info.symbol_of(ident(g, "count", 1)) is None
    assert info.declarations[ident(g, "count", 1)] is info.module.symbols["count"]
    assert info.declarations[ident(g, "total", 1)].scope.name == "outer"
    bump = info.scope_of_definition(g.parent[ident(g, "bump")])
    assert bump is not None and bump.symbols == {}


def test_global_declared_name_created_in_module() -> None:
    g, info = analyze(
        """
        def setup():
            global CONFIG
            CONFIG = {}
        def use():
            return CONFIG
        """
    )
    assert where(g, info, "CONFIG", 1) == ("module", "<module>", W)
    assert where(g, info, "CONFIG", 2) == ("module", "<module>", R)


def test_parameters_of_every_kind() -> None:
    g, info = analyze(
        """
        d = 1
        def f(a, /, b: int, c=d, *args: str, e, f: int = d, **kw) -> int:
            return a
        """
    )
    f = info.scopes[1]
    assert [p.name for p in f.params] == ["a", "b", "c", "args", "e", "f", "kw"]
    assert all(p.flags == SymbolFlag.PARAM for p in f.params)
    assert where(g, info, "d", 1) == ("module", "<module>", R)  # default: enclosing scope
    assert where(g, info, "int", 0) == ("builtins", "builtins", R)  # annotations are reads
    assert where(g, info, "f", 0) == ("module", "<module>", W)
    assert where(g, info, "f", 1) == ("function", "f", W)  # the parameter named f


def test_lambda_defaults_and_body() -> None:
    g, info = analyze(
        """
        def f(x):
            return lambda y, z=x: y + z + x
        """
    )
    assert table(g, info)[2:] == [
        "y#0 <lambda> w",
        "z#0 <lambda> w",
        "x#1 f r",
        "y#1 <lambda> r",
        "z#1 <lambda> r",
        "x#2 f r",
    ]
    assert info.scope_at(ident(g, "x", 1)).name == "f"
    assert info.scope_at(ident(g, "z", 0)).name == "<lambda>"


def test_targets() -> None:
    g, info = analyze(
        """
        a, *b = c = d
        [e, (f, g)] = h
        for i, (j, k) in items:
            pass
        with open(p) as fh, ctx() as (s, t):
            pass
        try:
            pass
        except ValueError as err:
            del err
        del a, b[0], c.attr
        x.y = 1
        m[n] += 2
        o += 3
        """
    )
    rows = table(g, info)
    for name in [
        "a#0",
        "b#0",
        "c#0",
        "e#0",
        "f#0",
        "g#0",
        "i#0",
        "j#0",
        "k#0",
        "fh#0",
        "s#0",
        "t#0",
        "err#0",
    ]:
        assert f"{name} <module> w" in rows
    for name in ["d#0", "h#0", "items#0", "open#0", "p#0", "ctx#0", "ValueError#0", "x#0", "m#0", "n#0"]:
        assert any(r.startswith(name + " ") and r.endswith(" r") for r in rows), name
    assert "err#1 <module> del" in rows
    assert "a#1 <module> del" in rows
    assert "b#1 <module> r" in rows  # del b[0] reads b
    assert "c#1 <module> r" in rows
    assert "o#0 <module> rw" in rows
    assert where(g, info, "attr") is None
    assert where(g, info, "y") is None


def test_imports() -> None:
    g, info = analyze(
        """
        import os.path
        import a.b as c
        from x import y as z, w
        from . import rel
        from __future__ import annotations
        """
    )
    assert table(g, info) == [
        "os#0 <module> w",
        "c#0 <module> w",
        "z#0 <module> w",
        "w#0 <module> w",
        "rel#0 <module> w",
    ]
    assert info.module.symbols["os"].flags == SymbolFlag.IMPORT


def test_attributes_and_keywords_are_not_variables() -> None:
    g, info = analyze(
        """
        obj.attr.other(key=value, *args, **kw)
        class K(Base, metaclass=Meta):
            pass
        """
    )
    assert [r.split()[0] for r in table(g, info)] == [
        "obj#0",
        "value#0",
        "args#0",
        "kw#0",
        "K#0",
        "Base#0",
        "Meta#0",
    ]


def test_match_captures() -> None:
    g, info = analyze(
        """
        match cmd:
            case [first, *rest] if first:
                pass
            case {"k": v, **others}:
                pass
            case Point(x=px, y=0) as whole:
                pass
            case Color.RED | _:
                pass
        """
    )
    assert table(g, info) == [
        "cmd#0 builtins r",
        "first#0 <module> w",
        "rest#0 <module> w",
        "first#1 <module> r",
        "v#0 <module> w",
        "others#0 <module> w",
        "Point#0 builtins r",
        "px#0 <module> w",
        "whole#0 <module> w",
        "Color#0 builtins r",
    ]


def test_shadowing_and_closures() -> None:
    g, info = analyze(
        """
        x = 0
        def outer(y):
            x = 1
            def inner():
                return x + y
            return inner
        """
    )
    assert where(g, info, "x", 2) == ("function", "outer", R)
    assert where(g, info, "y", 1) == ("function", "outer", R)
    outer = info.scopes[1]
    assert len(outer.symbols["x"].occurrences) == 2


def test_visible_symbols() -> None:
    g, info = analyze(
        """
        import os
        G = 1
        class C:
            attr = 2
            def m(self, p):
                local = p
                result = [i for i in local]
                return result
        def late():
            pass
        """
    )
    at_result = ident(g, "result", 1)
    assert set(info.visible_symbols(at_result)) == {"os", "G", "C", "late", "self", "p", "local", "result"}
    in_comp = ident(g, "i", 0)
    assert "i" in info.visible_symbols(in_comp)
    assert "attr" in info.visible_symbols(ident(g, "attr"))  # in the class body itself
    # bound_before: locals bound later are left out; module names may be bound when m runs
    first = ident(g, "local", 0)
    vis = info.visible_symbols(first, bound_before=True)
    assert set(vis) == {"os", "G", "C", "late", "self", "p"}
    assert vis["p"].scope.kind == ScopeKind.FUNCTION


def test_function_scope_of() -> None:
    g, info = analyze(
        """
        def f():
            g = lambda: [x for x in y]
        class K:
            z = 1
        """
    )
    assert info.function_scope_of(ident(g, "x", 0)).name == "f"
    assert info.function_scope_of(ident(g, "z")).kind == ScopeKind.MODULE
    assert info.function_scope_of(g.parent[ident(g, "f")]).name == "f"
    assert info.scope_at(ident(g, "x", 0)).kind == ScopeKind.COMPREHENSION
    assert info.scope_at(ident(g, "y")).kind == ScopeKind.LAMBDA


def test_scopes_of_is_cached_per_graph() -> None:
    g, _ = analyze("x = 1\n")
    assert scopes_of(g) is scopes_of(g)


@pytest.mark.parametrize(
    "src",
    [
        "",
        "\n\n",
        "def f(:\n    x = \ny = 1\n",
        "class (:\n  for in x:\n    return\nlambda: def\n[x for]\nx := 3\nmatch\n",
        "x = " + "(" * 500 + "y" + ")" * 500 + "\n",
        "x = " + "lambda a=" * 300 + "1\n",
        "x = " + "[" * 300 + "a for a in b" + "]" * 300 + "\n",
        "".join(" " * i + "def f(a=b):\n" for i in range(500)) + " " * 500 + "return a\n",
    ],
)
def test_bad_inputs_do_not_raise(src: str) -> None:
    _, info = analyze(src)
    for node in info.occ_nodes:
        info.visible_symbols(node)
        info.function_scope_of(node)


def test_syntax_error_keeps_what_parses() -> None:
    g, info = analyze(
        """
        def ok(a):
            return a
        x = (
        """
    )
    assert where(g, info, "a", 1) == ("function", "ok", R)


def test_resolve_and_definitions() -> None:
    g, info = analyze(
        """
        import os
        @decorate
        def helper(x):
            return x
        class Box:
            def get(self):
                return helper(self)
        """
    )
    helper = info.module.symbols["helper"]
    decorated = g.parent[g.parent[ident(g, "helper")]]
    assert g.type[decorated] == "decorated_definition"
    definition = info.scope_of_definition(decorated)
    assert definition is not None and definition.name == "helper"
    assert info.definitions(helper) == [definition.node]
    get = info.scope_of_definition(g.parent[ident(g, "get")])
    assert get is not None
    assert info.resolve(get, "helper") is helper
    assert info.resolve(get, "Box") is info.module.symbols["Box"]
    assert info.resolve(get, "get").is_builtin  # the method name lives in the class body
    assert info.symbol_of(ident(g, "helper", 1)) is helper
    assert info.definitions(info.module.symbols["os"]) == []

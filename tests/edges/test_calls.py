"""CALLS and FORMAL_ARG_NAME edges within one file: snippet in, exact edges out."""

from __future__ import annotations

import textwrap

from codegraph.edges.call_symbols import NO_WORLD, ParamKind, file_symbols, resolve_relative
from codegraph.edges.calls import Resolver, call_edges
from codegraph.graph import build_file_graph
from codegraph.nodes import graph_nodes
from codegraph.schema import CodeGraph, EdgeKind
from codegraph.syntax import parse


def graph(src: str, module: str = "m", path: str = "m.py") -> CodeGraph:
    source = textwrap.dedent(src).encode()
    return graph_nodes(parse(source), source, path, module)


def label(g: CodeGraph, n: int) -> str:
    """``def name@line`` for definitions, else the source text ``@line``."""
    line = g.start_point[n][0] + 1
    if g.type[n] in ("function_definition", "class_definition"):
        name = g.child_by_field(n, "name")
        assert name is not None
        word = "def" if g.type[n] == "function_definition" else "class"
        return f"{word} {g.text[name]}@{line}"
    return f"{g.node_source(n)}@{line}"


def edges(src: str) -> list[tuple[str, str, str]]:
    """(kind, source label, target label) of every call edge, in builder order."""
    g = graph(src)
    return [(k.name, label(g, s), label(g, d)) for s, d, k in call_edges(g)]


def calls(src: str) -> list[tuple[str, str]]:
    return [(s, d) for k, s, d in edges(src) if k == "CALLS"]


def formals(src: str) -> list[tuple[str, str]]:
    return [(s, d) for k, s, d in edges(src) if k == "FORMAL_ARG_NAME"]


def test_module_level_function_with_positional_and_keyword_arguments():
    src = """
    def add(a, b):
        return a + b

    add(1, b=2)
    """
    assert edges(src) == [
        ("CALLS", "add(1, b=2)@5", "def add@2"),
        ("FORMAL_ARG_NAME", "1@5", "a@2"),
        ("FORMAL_ARG_NAME", "b=2@5", "b@2"),
    ]


def test_nested_and_enclosing_scope_definitions():
    src = """
    def outer(x):
        def inner(y):
            return helper(y)
        def sibling():
            return inner(x)
        return sibling()

    def helper(z):
        return z
    """
    assert edges(src) == [
        ("CALLS", "helper(y)@4", "def helper@9"),
        ("FORMAL_ARG_NAME", "y@4", "z@9"),
        ("CALLS", "inner(x)@6", "def inner@3"),
        ("FORMAL_ARG_NAME", "x@6", "y@3"),
        ("CALLS", "sibling()@7", "def sibling@5"),
    ]


def test_parameters_and_assignments_shadow_definitions():
    src = """
    def f():
        pass

    def g(f):
        f()

    def h():
        f = make()
        f()

    def k():
        f()

    print(f)
    """
    assert calls(src) == [("f()@13", "def f@2")]


def test_imports_shadow_and_are_not_resolved_within_one_file():
    src = """
    def f():
        pass

    from other import f
    import os
    f()
    os.path.join("a")
    """
    assert edges(src) == []


def test_methods_through_self_and_cls():
    src = """
    class A:
        def m(self, x):
            pass

        @classmethod
        def make(cls, y):
            return cls.build(y)

        @classmethod
        def build(cls, z):
            pass

        @staticmethod
        def st(w):
            pass

        @property
        def p(self):
            pass

        def run(self):
            self.m(1)
            self.st(2)
            self.p()
            A.make(3)
            self.m(x=4)
    """
    assert edges(src) == [
        ("CALLS", "cls.build(y)@8", "def build@11"),
        ("FORMAL_ARG_NAME", "y@8", "z@11"),
        ("CALLS", "self.m(1)@23", "def m@3"),
        ("FORMAL_ARG_NAME", "1@23", "x@3"),
        ("CALLS", "self.st(2)@24", "def st@15"),
        ("FORMAL_ARG_NAME", "2@24", "w@15"),
        ("CALLS", "A.make(3)@26", "def make@7"),
        ("FORMAL_ARG_NAME", "3@26", "y@7"),
        ("CALLS", "self.m(x=4)@27", "def m@3"),
        ("FORMAL_ARG_NAME", "x=4@27", "x@3"),
    ]


def test_self_inside_a_closure_of_a_method():
    src = """
    class A:
        def m(self, x):
            pass

        def run(self):
            def later():
                self.m(1)
            return later
    """
    assert formals(src) == [("1@8", "x@3")]


def test_unbound_method_through_the_class_binds_self_explicitly():
    src = """
    class A:
        def m(self, x):
            pass

    a = A()
    A.m(a, 1)
    """
    assert edges(src)[-3:] == [
        ("CALLS", "A.m(a, 1)@7", "def m@3"),
        ("FORMAL_ARG_NAME", "a@7", "self@3"),
        ("FORMAL_ARG_NAME", "1@7", "x@3"),
    ]


def test_class_call_goes_to_its_init_or_to_the_class():
    src = """
    class P:
        def __init__(self, a, b=0):
            pass

    class Q:
        pass

    P(1, b=2)
    Q()
    P(1).__init__(3)
    """
    assert edges(src) == [
        ("CALLS", "P(1, b=2)@9", "def __init__@3"),
        ("FORMAL_ARG_NAME", "1@9", "a@3"),
        ("FORMAL_ARG_NAME", "b=2@9", "b@3"),
        ("CALLS", "Q()@10", "class Q@6"),
        ("CALLS", "P(1).__init__(3)@11", "def __init__@3"),
        ("FORMAL_ARG_NAME", "3@11", "a@3"),
        ("CALLS", "P(1)@11", "def __init__@3"),
        ("FORMAL_ARG_NAME", "1@11", "a@3"),
    ]


def test_inherited_methods_and_super():
    src = """
    class Base:
        def __init__(self, name):
            pass

        def greet(self, who):
            pass

    class Middle(Base):
        pass

    class Child(Middle):
        def __init__(self, name, extra):
            super().__init__(name)

        def run(self):
            self.greet("x")
            Child.greet(self, "y")
    """
    assert edges(src) == [
        ("CALLS", "super().__init__(name)@14", "def __init__@3"),
        ("FORMAL_ARG_NAME", "name@14", "name@3"),
        ("CALLS", 'self.greet("x")@17', "def greet@6"),
        ("FORMAL_ARG_NAME", '"x"@17', "who@6"),
        ("CALLS", 'Child.greet(self, "y")@18', "def greet@6"),
        ("FORMAL_ARG_NAME", "self@18", "self@6"),
        ("FORMAL_ARG_NAME", '"y"@18', "who@6"),
    ]


def test_overriding_method_wins_over_the_base():
    src = """
    class Base:
        def m(self):
            pass

    class Child(Base):
        def m(self):
            pass

        def run(self):
            self.m()
    """
    assert calls(src) == [("self.m()@11", "def m@7")]


def test_args_kwargs_defaults_and_keyword_only():
    src = """
    def f(a, b=1, *args, c, d=2, **kw):
        pass

    f(1, 2, 3, 4, c=5, e=6, a=7)
    """
    assert formals(src) == [
        ("1@5", "a@2"),
        ("2@5", "b@2"),
        ("3@5", "args@2"),
        ("4@5", "args@2"),
        ("c=5@5", "c@2"),
        ("e=6@5", "kw@2"),
        ("a=7@5", "a@2"),
    ]


def test_positional_only_and_keyword_separator():
    src = """
    def f(a, /, b, *, c):
        pass

    def g(a, /, **kw):
        pass

    f(1, 2, c=3)
    f(1, b=2, c=3, d=4)
    g(1, a=2)
    """
    assert formals(src) == [
        ("1@8", "a@2"),
        ("2@8", "b@2"),
        ("c=3@8", "c@2"),
        ("1@9", "a@2"),
        ("b=2@9", "b@2"),
        ("c=3@9", "c@2"),
        ("1@10", "a@5"),
        ("a=2@10", "kw@5"),
    ]


def test_star_splatted_arguments_are_skipped():
    src = """
    def f(a, b, *rest, **kw):
        pass

    f(1, *xs, 2, key=3, **extra)
    """
    assert formals(src) == [("1@5", "a@2"), ("key=3@5", "kw@2")]


def test_typed_parameters_and_generator_argument():
    src = """
    def f(a: int, b: str = "", *args: int, **kw: str):
        pass

    f(x for x in y)
    f(1, "s", 2)
    """
    assert formals(src) == [
        ("(x for x in y)@5", "a@2"),
        ("1@6", "a@2"),
        ('"s"@6', "b@2"),
        ("2@6", "args@2"),
    ]


def test_defaults_and_decorators_run_in_the_enclosing_scope():
    src = """
    def helper():
        pass

    class A:
        def helper(self):
            pass

        def m(self, x=helper()):
            helper()
    """
    assert calls(src) == [("helper()@9", "def helper@6"), ("helper()@10", "def helper@2")]


def test_global_statement_and_last_definition_wins():
    src = """
    def f():
        pass

    def f(x):
        pass

    def g():
        global f
        f = None
        f(1)
    """
    assert edges(src) == [("CALLS", "f(1)@11", "def f@5"), ("FORMAL_ARG_NAME", "1@11", "x@5")]


def test_cyclic_and_self_referencing_bases_terminate():
    src = """
    class A(B):
        pass

    class B(A):
        def m(self):
            pass

    class C(C.x):
        pass

    A().m()
    C()
    """
    assert calls(src) == [("A().m()@12", "def m@6"), ("A()@12", "class A@2"), ("C()@13", "class C@9")]


def test_call_edges_are_part_of_the_file_graph():
    g = build_file_graph(b"def f(a):\n    pass\n\nf(1)\n", "m.py", "m")
    call = next(i for i, t in enumerate(g.type) if t == "call")
    func = next(i for i, t in enumerate(g.type) if t == "function_definition")
    assert g.edges_of(EdgeKind.CALLS) == [(call, func)]
    assert len(g.edges_of(EdgeKind.FORMAL_ARG_NAME)) == 1


def test_symbol_table_records_parameters_and_imports():
    g = graph(
        """
        from . import sibling
        from ..up import thing as t
        import a.b, c.d as e

        def f(a, /, b=1, *args, c, **kw):
            pass
        """,
        module="pkg.sub.mod",
        path="pkg/sub/mod.py",
    )
    fs = file_symbols(g)
    (fd,) = fs.functions.values()
    assert [(p.name, p.kind, p.has_default) for p in fd.params] == [
        ("a", ParamKind.POSITIONAL_ONLY, False),
        ("b", ParamKind.POSITIONAL_OR_KEYWORD, True),
        ("args", ParamKind.VAR_POSITIONAL, False),
        ("c", ParamKind.KEYWORD_ONLY, False),
        ("kw", ParamKind.VAR_KEYWORD, False),
    ]
    assert [(r.name, r.module, r.attr, r.level) for r in fs.imports] == [
        ("sibling", "pkg.sub", "sibling", 1),
        ("t", "pkg.up", "thing", 2),
        ("a", "a.b", "", 0),
        ("e", "c.d", "", 0),
    ]


def test_resolve_relative():
    assert resolve_relative("pkg.sub.mod", False, 1, "x") == "pkg.sub.x"
    assert resolve_relative("pkg.sub.mod", False, 2, "") == "pkg"
    assert resolve_relative("pkg.sub", True, 1, "x") == "pkg.sub.x"
    assert resolve_relative("pkg.sub", True, 2, "y") == "pkg.y"
    assert resolve_relative("pkg.mod", False, 3, "y") is None
    assert resolve_relative("", False, 1, "y") is None
    assert resolve_relative("pkg.mod", False, 0, "abs.name") == "abs.name"


def test_resolve_call_answers_one_call():
    g = graph("def f():\n    pass\nf()\nprint()\n")
    fs = file_symbols(g)
    call_f, call_print = list(fs.call_scope)
    resolver = Resolver(NO_WORLD)
    callee = resolver.resolve_call(fs, call_f)
    assert callee is not None and g.type[callee.node] == "function_definition"
    assert resolver.resolve_call(fs, call_print) is None

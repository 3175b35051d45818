"""CONTROL_FLOW and RETURNS_TO edges: exact edge sets on small snippets."""

from __future__ import annotations

import textwrap

import pytest

from codegraph.edges.controlflow import control_flow, controlflow_edges
from codegraph.edges.flow_blocks import ENTRY, EXIT
from codegraph.graph import build_file_graph
from codegraph.schema import CodeGraph, EdgeKind
from codegraph.scopes import Access

_SHORT = {
    "module": "module",
    "function_definition": "def",
    "class_definition": "class",
    "decorated_definition": "decorated",
    "expression_statement": "expr",
}


def build(src: str) -> CodeGraph:
    return build_file_graph(textwrap.dedent(src).lstrip("\n").encode())


def label(g: CodeGraph, n: int) -> str:
    """'if@3' for a statement on line 3 ('module' for the root); 'x@2:4' for a token."""
    if g.text[n]:
        row, col = g.start_point[n]
        return f"{g.text[n]}@{row + 1}:{col}"
    t = g.type[n]
    if t == "module":
        return t
    return f"{_SHORT.get(t, t.removesuffix('_statement'))}@{g.start_point[n][0] + 1}"


def flow(src: str, kind: EdgeKind = EdgeKind.CONTROL_FLOW) -> set[tuple[str, str]]:
    g = build(src)
    return {(label(g, a), label(g, b)) for a, b in g.edges_of(kind)}


def test_sequence() -> None:
    assert flow(
        """
        a = 1
        b = a
        print(b)
        """
    ) == {("module", "expr@1"), ("expr@1", "expr@2"), ("expr@2", "expr@3"), ("expr@3", "module")}


def test_if_elif_else() -> None:
    assert flow(
        """
        if a:
            x = 1
        elif b:
            x = 2
        else:
            x = 3
        y = x
        """
    ) == {
        ("module", "if@1"),
        ("if@1", "expr@2"),
        ("if@1", "elif_clause@3"),
        ("elif_clause@3", "expr@4"),
        ("elif_clause@3", "expr@6"),
        ("expr@2", "expr@7"),
        ("expr@4", "expr@7"),
        ("expr@6", "expr@7"),
        ("expr@7", "module"),
    }


def test_if_without_else_falls_through() -> None:
    assert flow(
        """
        if a:
            pass
        b()
        """
    ) == {
        ("module", "if@1"),
        ("if@1", "pass@2"),
        ("if@1", "expr@3"),
        ("pass@2", "expr@3"),
        ("expr@3", "module"),
    }


def test_while_break_continue_else() -> None:
    assert flow(
        """
        while a:
            if b:
                break
            if c:
                continue
            d()
        else:
            e()
        f()
        """
    ) == {
        ("module", "while@1"),
        ("while@1", "if@2"),
        ("while@1", "expr@8"),
        ("if@2", "break@3"),
        ("if@2", "if@4"),
        ("break@3", "expr@9"),
        ("if@4", "continue@5"),
        ("if@4", "expr@6"),
        ("continue@5", "while@1"),
        ("expr@6", "while@1"),
        ("expr@8", "expr@9"),
        ("expr@9", "module"),
    }


def test_while_true_only_leaves_by_break() -> None:
    assert flow(
        """
        while True:
            if a:
                break
        b()
        """
    ) == {
        ("module", "while@1"),
        ("while@1", "if@2"),
        ("if@2", "break@3"),
        ("if@2", "while@1"),
        ("break@3", "expr@4"),
        ("expr@4", "module"),
    }


def test_for_else() -> None:
    assert flow(
        """
        for x in xs:
            if x:
                break
        else:
            y()
        z()
        """
    ) == {
        ("module", "for@1"),
        ("for@1", "if@2"),
        ("for@1", "expr@5"),
        ("if@2", "break@3"),
        ("if@2", "for@1"),
        ("break@3", "expr@6"),
        ("expr@5", "expr@6"),
        ("expr@6", "module"),
    }


def test_try_except_else_finally() -> None:
    assert flow(
        """
        try:
            a()
            b()
        except E as e:
            c()
        else:
            d()
        finally:
            f()
        g()
        """
    ) == {
        ("module", "try@1"),
        ("try@1", "expr@2"),
        ("expr@2", "expr@3"),
        # every statement of the try body (and the try itself) may raise into the handler
        ("try@1", "except_clause@4"),
        ("expr@2", "except_clause@4"),
        ("expr@3", "except_clause@4"),
        ("except_clause@4", "expr@5"),
        ("expr@3", "expr@7"),
        # the finally block runs after everything, exceptions included
        ("try@1", "expr@9"),
        ("expr@2", "expr@9"),
        ("expr@3", "expr@9"),
        ("expr@5", "expr@9"),
        ("expr@7", "expr@9"),
        ("expr@9", "expr@10"),
        ("expr@9", "module"),  # re-raise of an exception no handler caught
        ("expr@10", "module"),
    }


def test_return_through_finally() -> None:
    assert flow(
        """
        def f():
            for x in y:
                try:
                    return x
                finally:
                    cleanup()
            done()
        """
    ) == {
        ("module", "def@1"),
        ("def@1", "module"),
        ("def@1", "for@2"),
        ("for@2", "try@3"),
        ("for@2", "expr@7"),
        ("try@3", "return@4"),
        ("try@3", "expr@6"),
        ("return@4", "expr@6"),
        ("expr@6", "def@1"),  # the pending return, and the re-raise
        ("expr@7", "def@1"),
    }


def test_raise_goes_to_handlers_then_outward() -> None:
    assert flow(
        """
        def f():
            try:
                raise E
            except E:
                pass
            raise F
        """
    ) == {
        ("module", "def@1"),
        ("def@1", "module"),
        ("def@1", "try@2"),
        ("try@2", "raise@3"),
        ("try@2", "except_clause@4"),
        ("raise@3", "except_clause@4"),
        ("raise@3", "def@1"),  # E may not be caught by ``except E`` (a subclass check at run time)
        ("except_clause@4", "pass@5"),
        ("pass@5", "raise@6"),
        ("raise@6", "def@1"),
    }


def test_with() -> None:
    assert flow(
        """
        with open(p) as fh:
            fh.read()
        done()
        """
    ) == {("module", "with@1"), ("with@1", "expr@2"), ("expr@2", "expr@3"), ("expr@3", "module")}


def test_with_whose_body_always_jumps_may_suppress() -> None:
    assert flow(
        """
        def f():
            with suppress(OSError):
                return g()
            return None
        """
    ) == {
        ("module", "def@1"),
        ("def@1", "module"),
        ("def@1", "with@2"),
        ("with@2", "return@3"),
        ("return@3", "def@1"),
        # only reachable when the context manager swallows an exception
        ("with@2", "return@4"),
        ("return@3", "return@4"),
        ("return@4", "def@1"),
    }


def test_match_case() -> None:
    assert flow(
        """
        match p:
            case 1:
                a()
            case [x] if x:
                b()
        c()
        """
    ) == {
        ("module", "match@1"),
        ("match@1", "case_clause@2"),
        ("case_clause@2", "expr@3"),
        ("case_clause@2", "case_clause@4"),
        ("case_clause@4", "expr@5"),
        ("case_clause@4", "expr@6"),  # no case matched
        ("expr@3", "expr@6"),
        ("expr@5", "expr@6"),
        ("expr@6", "module"),
    }


def test_match_irrefutable_last_case() -> None:
    edges = flow(
        """
        match p:
            case 1:
                a()
            case _:
                b()
        """
    )
    assert ("case_clause@4", "module") not in edges
    assert ("case_clause@4", "expr@5") in edges


def test_class_body_runs_inline_and_methods_are_separate() -> None:
    assert flow(
        """
        @dec
        class C(Base):
            x = 1
            def m(self):
                return self.x
        after()
        """
    ) == {
        ("module", "decorated@1"),
        ("decorated@1", "expr@3"),
        ("expr@3", "def@4"),
        ("def@4", "expr@6"),
        ("expr@6", "module"),
        # the method's own flow: the def node is its entry and exit
        ("def@4", "return@5"),
        ("return@5", "def@4"),
    }


def test_returns_to() -> None:
    assert flow(
        """
        def gen(a):
            yield a
            yield from other(a)
            return a + 1
        def plain():
            return
        f = lambda: (yield)
        """,
        EdgeKind.RETURNS_TO,
    ) == {("a@2:10", "def@1"), ("call@3", "def@1"), ("binary_operator@4", "def@1")}


def test_block_structure_is_exposed_for_dataflow() -> None:
    g = build(
        """
        def f(a):
            return a
        """
    )
    cf = control_flow(g)
    assert cf is control_flow(g)  # shared by the control-flow and data-flow builders
    fg = next(fg for fg in cf.flows if fg.node == cf.scopes.scopes[1].node)
    assert fg.anchor[ENTRY] == fg.anchor[EXIT] == fg.node
    info = cf.scopes
    # the parameter is bound at entry; the first statement shares the entry block
    first, second = (info.occ_nodes[e >> 3] for e in fg.events[ENTRY])
    assert (g.text[first], g.text[second]) == ("a", "a")
    assert info.access_of(first) == Access.WRITE and info.access_of(second) == Access.READ
    assert g.type[fg.tail[ENTRY]] == "return_statement"
    assert EXIT in fg.succ[ENTRY]


@pytest.mark.parametrize(
    "src",
    [
        "",
        "def f(:\n    x = \ny = 1\n",
        "if x\n  y = (1,\nwhile :\n  break\ntry:\nexcept\n",
        "break\ncontinue\nreturn 1\n",
        "".join(" " * i + "if x:\n" for i in range(500)) + " " * 500 + "pass\n",
        "".join(" " * i + "while x:\n" for i in range(300)) + " " * 300 + "break\n",
        "x = " + " and ".join(["a"] * 2000) + "\n",
    ],
)
def test_bad_inputs_do_not_raise(src: str) -> None:
    g = build_file_graph(src.encode())
    controlflow_edges(g)

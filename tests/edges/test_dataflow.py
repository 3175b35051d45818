"""LAST_READ, LAST_WRITE, COMPUTED_FROM and OCCURRENCE edges: exact edge sets on small snippets.

Tokens are named ``x#k``: the k-th identifier spelled ``x`` in the snippet (0-based).
"""

from __future__ import annotations

import textwrap

import pytest

from codegraph.edges.dataflow import dataflow_edges
from codegraph.graph import build_file_graph
from codegraph.schema import CodeGraph, EdgeKind

LW, LR, CF, OCC = EdgeKind.LAST_WRITE, EdgeKind.LAST_READ, EdgeKind.COMPUTED_FROM, EdgeKind.OCCURRENCE


def build(src: str) -> CodeGraph:
    return build_file_graph(textwrap.dedent(src).lstrip("\n").encode())


def names(g: CodeGraph) -> dict[int, str]:
    seen: dict[str, int] = {}
    out: dict[int, str] = {}
    for i, t in enumerate(g.type):
        if t == "identifier":
            k = seen.get(g.text[i], 0)
            seen[g.text[i]] = k + 1
            out[i] = f"{g.text[i]}#{k}"
    return out


def edges(src: str, kind: EdgeKind) -> set[str]:
    """The edges of one kind as 'x#1 -> x#0' strings."""
    g = build(src)
    n = names(g)
    return {f"{n[a]} -> {n[b]}" for a, b in g.edges_of(kind)}


def test_straight_line() -> None:
    src = """
    x = 1
    y = x
    x = y
    print(x, y)
    """
    assert edges(src, LW) == {
        "x#1 -> x#0",
        "x#2 -> x#0",
        "y#1 -> y#0",
        "x#3 -> x#2",
        "y#2 -> y#0",
    }
    assert edges(src, LR) == {"x#2 -> x#1", "x#3 -> x#1", "y#2 -> y#1"}


def test_rhs_is_evaluated_before_the_target() -> None:
    assert edges("x = 1\nx = x + 1\n", LW) == {"x#1 -> x#0", "x#2 -> x#0"}
    assert edges("x = 1\nx = x + 1\n", LR) == {"x#1 -> x#2"}


def test_branches_merge() -> None:
    src = """
    if c:
        x = 1
    else:
        x = 2
    print(x)
    """
    assert edges(src, LW) == {"x#2 -> x#0", "x#2 -> x#1"}


def test_if_without_else_keeps_earlier_write() -> None:
    src = """
    x = 0
    if c:
        x = 1
    use(x)
    """
    assert edges(src, LW) == {"x#1 -> x#0", "x#2 -> x#0", "x#2 -> x#1"}


def test_loop_sees_writes_at_its_bottom() -> None:
    src = """
    x = 0
    while x < 10:
        y = x
        x = y + 1
    print(x)
    """
    assert edges(src, LW) == {
        "x#1 -> x#0",
        "x#1 -> x#3",
        "x#2 -> x#0",
        "x#2 -> x#3",
        "x#3 -> x#0",
        "x#3 -> x#3",
        "x#4 -> x#0",
        "x#4 -> x#3",
        "y#0 -> y#0",
        "y#1 -> y#0",
    }
    assert edges(src, LR) == {
        "x#2 -> x#1",
        "x#3 -> x#2",
        "x#1 -> x#2",
        "x#4 -> x#1",
        "y#0 -> y#1",
        "y#1 -> y#1",
    }


def test_for_loop_break_and_else() -> None:
    src = """
    for i in items:
        if i:
            found = i
            break
    else:
        found = None
    use(found)
    """
    assert edges(src, LW) == {
        "i#0 -> i#0",  # the previous iteration's binding
        "i#1 -> i#0",
        "i#2 -> i#0",
        "found#2 -> found#0",
        "found#2 -> found#1",
    }
    assert edges(src, CF) == {"i#0 -> items#0", "found#0 -> i#2"}


def test_augmented_assignment_reads_then_writes() -> None:
    src = """
    total = 0
    for v in values:
        total += v
    print(total)
    """
    assert edges(src, LW) == {
        "total#1 -> total#0",
        "total#1 -> total#1",
        "total#2 -> total#0",
        "total#2 -> total#1",
        "v#0 -> v#0",
        "v#1 -> v#0",
    }
    # total#1 reads before it writes, so the later read's last read is total#1 itself
    assert edges(src, LR) == {"total#1 -> total#1", "total#2 -> total#1", "v#0 -> v#1", "v#1 -> v#1"}
    assert edges(src, CF) == {"v#0 -> values#0", "total#1 -> v#1"}


def test_x_plus_equals_x() -> None:
    assert edges("x = 1\nx += x\n", LW) == {"x#1 -> x#0", "x#2 -> x#0"}
    assert edges("x = 1\nx += x\n", LR) == {"x#2 -> x#1"}


def test_try_except_sees_partial_writes() -> None:
    src = """
    x = 0
    try:
        x = 1
        risky()
        x = 2
    except E:
        print(x)
    """
    # a write's own LAST_WRITE edges point at the write it replaces
    assert edges(src, LW) == {"x#1 -> x#0", "x#2 -> x#1", "x#3 -> x#0", "x#3 -> x#1", "x#3 -> x#2"}


def test_short_circuit_and_conditional_expression() -> None:
    src = """
    y = a and (x := b) or x
    z = p if q else p
    """
    assert edges(src, LW) == {"x#1 -> x#0"}
    assert edges(src, LR) == set()  # the two p are on different branches
    assert edges(src, CF) == {
        "x#0 -> b#0",
        "y#0 -> a#0",
        "y#0 -> b#0",
        "y#0 -> x#1",
        "z#0 -> p#0",
        "z#0 -> q#0",
        "z#0 -> p#1",
    }


def test_comprehension_is_a_loop_in_its_own_scope() -> None:
    src = """
    def f(y):
        z = [x + i for i in y if i]
        return i
    """
    assert edges(src, LW) == {
        "i#0 -> i#1",
        "i#1 -> i#1",
        "i#2 -> i#1",
        "y#1 -> y#0",
    }
    assert edges(src, LR) == {
        "i#0 -> i#2",
        "i#1 -> i#0",
        "i#1 -> i#2",  # the filter failed: next item
        "i#2 -> i#0",
        "i#2 -> i#2",
        "x#0 -> x#0",
    }
    # i#3 is the module-level / builtin i, not the comprehension's
    assert "i#3 -> i#2" not in edges(src, OCC)


def test_functions_are_analysed_separately_but_occurrences_connect() -> None:
    src = """
    def outer():
        v = 1
        def inner():
            return v
        v = 2
        return inner
    """
    # no LAST_WRITE from the closure's read (other function); v = 2 replaces v = 1
    assert edges(src, LW) == {"v#2 -> v#0", "inner#1 -> inner#0"}
    assert edges(src, OCC) == {"v#0 -> v#1", "v#1 -> v#2", "inner#0 -> inner#1"}


def test_parameters_are_written_at_entry() -> None:
    src = """
    def f(a, b=a):
        return a + b
    """
    assert edges(src, LW) == {"a#2 -> a#0", "b#1 -> b#0"}
    assert edges(src, OCC) == {"a#0 -> a#2", "b#0 -> b#1"}  # a#1 is the module's a (the default)


def test_computed_from_targets() -> None:
    src = """
    a, b = c, d
    with open(p) as fh:
        pass
    n = m = k
    o.attr = q
    """
    assert edges(src, CF) == {
        "a#0 -> c#0",
        "a#0 -> d#0",
        "b#0 -> c#0",
        "b#0 -> d#0",
        "fh#0 -> open#0",
        "fh#0 -> p#0",
        "n#0 -> k#0",
        "m#0 -> k#0",
    }


def test_computed_from_skips_lambda_bodies() -> None:
    assert edges("f = lambda x, d=y: x + z\n", CF) == {"f#0 -> y#0"}


def test_occurrence_chain_follows_the_symbol() -> None:
    src = """
    x = 1
    class C:
        x = 2
        def m(self):
            return x
    print(x)
    """
    # x#1 is the class attribute: a different symbol, invisible in the method
    assert edges(src, OCC) == {"x#0 -> x#2", "x#2 -> x#3"}


def test_del_kills_nothing_but_is_a_write() -> None:
    src = """
    x = 1
    del x
    x = 2
    """
    assert edges(src, LW) == {"x#1 -> x#0", "x#2 -> x#1"}


def test_global_writes_in_functions_are_not_followed_across_functions() -> None:
    src = """
    def f():
        global G
        G = 1
        return G
    """
    assert edges(src, LW) == {"G#2 -> G#1"}


def test_finally_sees_every_path() -> None:
    src = """
    def f():
        x = 0
        try:
            x = 1
            return x
        finally:
            print(x)
    """
    assert edges(src, LW) == {"x#1 -> x#0", "x#2 -> x#1", "x#3 -> x#0", "x#3 -> x#1"}


def test_with_suppressing_an_exception() -> None:
    src = """
    def f():
        with self.assertRaises(KeyError):
            x = 1
            raise KeyError
        return x
    """
    assert edges(src, LW) == {"x#1 -> x#0"}


@pytest.mark.parametrize(
    "src",
    [
        "",
        "def f(:\n    x = \ny = 1\n",
        "x = " + "(" * 500 + "y" + ")" * 500 + "\n",
        "x = " + "[" * 300 + "a for a in b" + "]" * 300 + "\n",
        "x = " + "a if b else " * 500 + "c\n",
        "x = " + " or ".join(["a"] * 2000) + "\n",
        "".join(" " * i + "for x in y:\n" for i in range(300)) + " " * 300 + "x += 1\n",
        "class (:\n  for in x:\n    return\nlambda: def\n[x for]\nx := 3\nmatch\n",
    ],
)
def test_bad_inputs_do_not_raise(src: str) -> None:
    g = build_file_graph(src.encode())
    dataflow_edges(g)


def test_long_boolean_chain_stays_linear() -> None:
    g = build_file_graph(("x = " + " and ".join(["a"] * 2000) + "\n").encode())
    assert len(g.edges_of(LR)) < 4 * 2000


def test_bare_annotation_is_not_a_write() -> None:
    src = """
    def f(flag):
        x: int
        if flag:
            x = 1
        return x
    """
    assert edges(src, LW) == {"flag#1 -> flag#0", "x#2 -> x#1"}

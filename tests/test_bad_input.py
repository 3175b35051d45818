"""Graph building never crashes on hostile input; it reports what it cannot analyse."""

import sys

import pytest

from codegraph.graph import build_file_graph
from codegraph.schema import EdgeKind
from codegraph.syntax import SourceError


def test_empty_file():
    g = build_file_graph(b"")
    assert g.type == ["module"] and g.num_edges == 0 and g.functions == []


@pytest.mark.parametrize("data", [b"\x7fELF\x02\x01\x01\x00\x00\x00", bytes(range(256))])
def test_binary_is_a_source_error(data):
    with pytest.raises(SourceError):
        build_file_graph(data)


def test_non_utf8_is_a_source_error():
    with pytest.raises(SourceError, match="UTF-8"):
        build_file_graph("x = 'café'\n".encode("latin-1"))


def test_fifty_thousand_lines():
    body = "".join(f"def f{i}(a, b):\n    c = a + b\n    return c * {i % 3}\n\n" for i in range(12_500))
    g = build_file_graph(body.encode())
    assert body.count("\n") == 50_000
    assert len(g.functions) == 12_500
    assert g.num_nodes > 200_000


def test_500_deep_nested_expression_has_no_recursion_error():
    depth = 500
    expr = "(" * depth + "x" + ")" * depth
    src = f"def f(x):\n    return {expr} + " + "[" * depth + "x" + "]" * depth + "\n"
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(400)  # far below the nesting depth: only iterative code survives
    try:
        g = build_file_graph(src.encode())
    finally:
        sys.setrecursionlimit(old)
    assert g.num_nodes > depth
    assert EdgeKind.RETURNS_TO in set(g.edge_kind)


def test_mixed_tabs_and_spaces_parse_and_keep_functions():
    src = b"def f(a):\n\tif a:\n\t\treturn 1\n        return 2\n\ndef g():\n    return 3\n"
    g = build_file_graph(src)
    assert [f.qualname for f in g.functions] == ["f", "g"]


def test_syntax_error_keeps_graphs_for_what_parses():
    src = b"def good(a, b):\n    return a + b\n\ndef bad(:\n    return\n\ndef also_good(c):\n    return c\n"
    g = build_file_graph(src)
    assert g.has_error
    names = [f.qualname for f in g.functions]
    assert "good" in names and "also_good" in names


UNCLOSED_CALL = b"""\
def a(x, y):
    return x + y


def b(x):
    print(x, (1


def c(width, height):
    return width * width


class K:
    def m(self, p, q):
        return p - q
"""


def test_definitions_after_a_swallowing_syntax_error_are_recovered():
    g = build_file_graph(UNCLOSED_CALL)
    assert g.has_error
    assert [f.qualname for f in g.functions] == ["a", "c", "K.m"]
    c = next(f for f in g.functions if f.qualname == "c")
    assert g.start_point[c.node] == (8, 0)  # positions are those of the original text
    assert g.source == UNCLOSED_CALL
    width = [n for n in range(g.num_nodes) if g.text[n] == "width" and g.start_point[n][0] == 9]
    assert len(width) == 2 and g.start_point[width[0]] == (9, 11)


@pytest.mark.parametrize(
    ("src", "names"),
    [
        # a def-looking line inside a string is not a definition to recover
        (b"def a(x):\n    s = '''\ndef fake():\n'''\n    return (x\n\ndef z(): pass\n", ["z"]),
        # loose tokens of a broken statement at module level
        (b"x = foo(1,\ny = 2\ndef z(a, b): return a - b\nclass Q:\n    def m(self): pass\n", ["z", "Q.m"]),
        # several swallowing errors, one after the other
        (
            b"def f(a):\n    print(a, (1\n\ndef g(a):\n    print(a, (2\n\ndef h(a, b):\n    return a - b\n",
            ["h"],
        ),
        # decorators stay with what they decorate; multi-byte text before the error keeps offsets
        (
            b"s = '\xc3\xa9\xc3\xa9'\n@deco\ndef e(a):\n    return [a,\n\n"
            b"@deco\nasync def k(a, b):\n    return a - b\n",
            ["e", "k"],
        ),
    ],
)
def test_recovery_cases(src, names):
    g = build_file_graph(src)
    assert g.has_error and [f.qualname for f in g.functions] == names


def test_pipeline_reports_a_finding_in_the_function_after_the_syntax_error():
    from types import SimpleNamespace

    from codegraph.config import Settings
    from codegraph.pipeline import Analyzer

    class FirstCandidate:
        name, sha256 = "fixed", "f" * 64

        def predict(self, units):
            return [
                SimpleNamespace(
                    p_no_bug=0.02,
                    loc_probs=[0.98] + [0.0] * (len(u.candidates) - 1),
                    rep_probs=[[1.0] + [0.0] * (len(c.repairs) - 1) for c in u.candidates],
                )
                for u in units
            ]

    result = Analyzer(Settings(), predictor=FirstCandidate()).analyze_source("m.py", UNCLOSED_CALL)
    assert [e.message for e in result.errors] == ["syntax error: analysed the parts that parse"]
    found = {f.function: f for f in result.findings}
    assert set(found) == {"a", "c", "K.m"}
    assert found["c"].line == 10 and found["c"].rule == "CG001"

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

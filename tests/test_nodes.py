"""Graph nodes and syntax edges: exact results on small snippets."""

from codegraph.edges.syntax import syntax_edges
from codegraph.nodes import graph_nodes
from codegraph.schema import EdgeKind, NodeKind
from codegraph.syntax import parse


def build(src: str, module: str = "m"):
    data = src.encode()
    return graph_nodes(parse(data), data, "m.py", module)


def test_nodes_keep_operators_and_drop_punctuation():
    g = build("y = f(a) + 1\n")
    assert g.type == [
        "module", "expression_statement", "assignment", "identifier", "=", "binary_operator",
        "call", "identifier", "argument_list", "identifier", "+", "integer",
    ]  # fmt: skip
    assert [g.text[i] for i in range(g.num_nodes) if g.kind[i] == NodeKind.TOKEN] == [
        "y", "=", "f", "a", "+", "1",
    ]  # fmt: skip
    assert g.field_name[3] == "left" and g.field_name[5] == "right" and g.field_name[10] == "operator"


def test_node_ranges_are_rows_and_byte_columns():
    g = build("x = 'é'\nz = x\n")
    z = g.text.index("z")
    assert g.start_point[z] == (1, 0) and g.end_point[z] == (1, 1)
    last = g.num_nodes - 1
    assert g.text[last] == "x" and g.start_point[last] == (1, 4)
    assert g.node_source(g.type.index("string")) == "'é'"


def test_exact_syntax_edges():
    g = build("a = b\n")
    # module(0) expression_statement(1) assignment(2) a(3) =(4) b(5)
    edges = set(zip(g.src, g.dst, g.edge_kind, strict=True)) if g.src else set()
    assert not edges
    got = {(s, d, k) for s, d, k in syntax_edges(g)}
    child, sib, tok = EdgeKind.CHILD, EdgeKind.NEXT_SIBLING, EdgeKind.NEXT_TOKEN
    assert got == {
        (0, 1, child), (1, 2, child), (2, 3, child), (2, 4, child), (2, 5, child),
        (3, 4, sib), (4, 5, sib),
        (3, 4, tok), (4, 5, tok),
    }  # fmt: skip


def test_subtree_ranges_are_contiguous_in_preorder():
    g = build("def f(x):\n    if x:\n        return [i for i in x]\n    return None\n")
    for n in range(g.num_nodes):
        sub = g.descendants(n)
        for d in sub:
            if d == n:
                continue
            p = d
            while p not in (n, -1):
                p = g.parent[p]
            assert p == n
        after = sub.stop
        assert after == g.num_nodes or g.parent[after] < n or g.start_byte[after] >= g.end_byte[n]


def test_function_qualnames_include_classes_and_nesting():
    g = build(
        "class A:\n    @staticmethod\n    def m():\n        def inner():\n            pass\n"
        "def top():\n    class B:\n        def k(self):\n            pass\n",
        module="pkg.mod",
    )
    names = {f.qualname: f.class_node for f in g.functions}
    assert set(names) == {"pkg.mod.A.m", "pkg.mod.A.m.inner", "pkg.mod.top", "pkg.mod.top.B.k"}
    assert names["pkg.mod.A.m"] is not None
    assert names["pkg.mod.A.m.inner"] is None
    assert names["pkg.mod.top.B.k"] is not None

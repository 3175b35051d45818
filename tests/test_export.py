"""Export to JSON, networkx, GraphML and DOT, and the `codegraph graph` command."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import networkx as nx
import pytest

from codegraph import cli, export
from codegraph.edges.calls import call_edges
from codegraph.edges.syntax import syntax_edges
from codegraph.export import find_function, main, to_dot, to_graphml, to_json, to_networkx
from codegraph.nodes import graph_nodes
from codegraph.schema import CodeGraph
from codegraph.syntax import parse

FIXTURE = Path(__file__).parent / "fixtures" / "project_pkg"


def tiny(src: str, path: str = "t.py", module: str = "t") -> CodeGraph:
    """A graph with syntax and call edges only, so the expected edges do not depend on other families."""
    source = textwrap.dedent(src).encode()
    g = graph_nodes(parse(source), source, path, module)
    g.add_edges(syntax_edges(g))
    g.add_edges(call_edges(g))
    return g


def node(i: int, kind: str, typ: str, text: str, start: list[int], end: list[int]) -> dict[str, object]:
    return {"id": i, "kind": kind, "type": typ, "text": text, "start": start, "end": end}


def test_json_shape_kinds_and_character_columns():
    g = tiny("def f(é): pass\nf(é)\n")
    data = to_json(g)
    assert list(data) == ["path", "module", "nodes", "edges"]
    assert (data["path"], data["module"]) == ("t.py", "t")
    S, T = "SYNTAX", "TOKEN"
    assert data["nodes"] == [
        node(0, S, "module", "", [1, 1], [3, 1]),
        node(1, S, "function_definition", "", [1, 1], [1, 15]),
        node(2, T, "identifier", "f", [1, 5], [1, 6]),
        node(3, S, "parameters", "", [1, 6], [1, 9]),
        node(4, T, "identifier", "é", [1, 7], [1, 8]),  # columns count characters
        node(5, S, "block", "", [1, 11], [1, 15]),
        node(6, S, "pass_statement", "", [1, 11], [1, 15]),
        node(7, S, "expression_statement", "", [2, 1], [2, 5]),
        node(8, S, "call", "", [2, 1], [2, 5]),
        node(9, T, "identifier", "f", [2, 1], [2, 2]),
        node(10, S, "argument_list", "", [2, 2], [2, 5]),
        node(11, T, "identifier", "é", [2, 3], [2, 4]),
    ]
    edges = sorted((e["source"], e["target"], e["kind"]) for e in data["edges"])
    assert edges == sorted(
        [
            (0, 1, "CHILD"), (0, 7, "CHILD"), (1, 2, "CHILD"), (1, 3, "CHILD"), (1, 5, "CHILD"),
            (3, 4, "CHILD"), (5, 6, "CHILD"), (7, 8, "CHILD"), (8, 9, "CHILD"), (8, 10, "CHILD"),
            (10, 11, "CHILD"),
            (1, 7, "NEXT_SIBLING"), (2, 3, "NEXT_SIBLING"), (3, 5, "NEXT_SIBLING"), (9, 10, "NEXT_SIBLING"),
            (2, 4, "NEXT_TOKEN"), (4, 9, "NEXT_TOKEN"), (9, 11, "NEXT_TOKEN"),
            (8, 1, "CALLS"), (11, 4, "FORMAL_ARG_NAME"),
        ]
    )  # fmt: skip
    assert all(set(e) == {"source", "target", "kind"} for e in data["edges"])
    json.dumps(data)  # serialisable as is


SNIPPET = """
class K:
    def m(self, a):
        return a + 1

def top(x):
    return K().m(x)
"""


def test_function_restriction_keeps_the_subtree_and_the_edges_inside_it():
    g = tiny(SNIPPET)
    info = find_function(g, "K.m")
    assert info is not None and info is find_function(g, "t.K.m")
    data = to_json(g, "t.K.m")
    ids = [n["id"] for n in data["nodes"]]
    assert ids == list(range(info.node, g.subtree_end[info.node]))
    inside = set(ids)
    assert data["edges"] and all(e["source"] in inside and e["target"] in inside for e in data["edges"])
    # the call K().m(x) lives in top, its callee in K: the edge is in neither function's subgraph
    assert {"CALLS", "FORMAL_ARG_NAME"} <= {e["kind"] for e in to_json(g)["edges"]}
    for function in ("K.m", "top"):
        assert not {"CALLS", "FORMAL_ARG_NAME"} & {e["kind"] for e in to_json(g, function)["edges"]}


def test_unknown_function_lists_the_available_qualnames():
    g = tiny(SNIPPET)
    with pytest.raises(export.GraphExportError, match=r"available: t\.K\.m, t\.top"):
        to_json(g, "nope")


def test_networkx_attributes():
    g = tiny(SNIPPET)
    nxg = to_networkx(g)
    assert isinstance(nxg, nx.MultiDiGraph)
    assert nxg.number_of_nodes() == g.num_nodes and nxg.number_of_edges() == g.num_edges
    name = next(i for i in range(g.num_nodes) if g.text[i] == "top")
    assert nxg.nodes[name] == {
        "kind": "TOKEN",
        "type": "identifier",
        "text": "top",
        "start_line": 6,
        "start_column": 5,
        "end_line": 6,
        "end_column": 8,
    }
    kinds = {d["kind"] for _, _, d in nxg.edges(data=True)}
    assert {"CHILD", "NEXT_SIBLING", "NEXT_TOKEN", "CALLS", "FORMAL_ARG_NAME"} <= kinds


def test_graphml_reads_back_with_networkx(tmp_path: Path):
    g = tiny(SNIPPET)
    out = tmp_path / "g.graphml"
    out.write_text(to_graphml(g))
    back = nx.read_graphml(out, force_multigraph=True)
    assert back.number_of_nodes() == g.num_nodes
    assert back.number_of_edges() == g.num_edges
    call = next(i for i, t in enumerate(g.type) if t == "call" and g.node_source(i) == "K().m(x)")
    assert back.nodes[str(call)]["type"] == "call" and back.nodes[str(call)]["start_line"] == 7
    calls = [(u, v) for u, v, d in back.edges(data=True) if d["kind"] == "CALLS"]
    assert (str(call), str(g.functions[0].node)) in calls


def test_dot_contains_the_edges_coloured_by_family():
    g = tiny(SNIPPET)
    dot = to_dot(g)
    assert dot.startswith('digraph "t.py" {') and dot.rstrip().endswith("}")
    for s, d in zip(g.src, g.dst):
        assert f"n{s} -> n{d} [" in dot
    call = next(i for i, t in enumerate(g.type) if t == "call" and g.node_source(i) == "K().m(x)")
    assert f'n{call} -> n{g.functions[0].node} [label="CALLS", color="darkgreen"];' in dot
    assert 'n0 -> n1 [color="gray60"];' in dot
    assert '[label="identifier\\ntop", tooltip="6:5", shape=ellipse];' in dot


def test_dot_escapes_quotes_and_backslashes():
    g = tiny('s = "a\\\\b\\"c"\n')
    dot = to_dot(g)
    assert 'label="string_content\\na\\\\\\\\b\\\\\\"c"' in dot


# -- the command ---------------------------------------------------------------------------------


def stdlib_file() -> str:
    return textwrap.__file__


def test_cli_json_on_a_stdlib_file(capsys: pytest.CaptureFixture[str]):
    assert main([stdlib_file()]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["path"] == stdlib_file() and out["module"] == "textwrap"
    assert len(out["nodes"]) > 1000 and out["nodes"][0]["id"] == 0
    assert {"CHILD", "CALLS", "FORMAL_ARG_NAME"} <= {e["kind"] for e in out["edges"]}


def test_cli_dispatcher_routes_graph_with_function_and_dot(capsys: pytest.CaptureFixture[str]):
    assert cli.main(["graph", stdlib_file(), "--function", "TextWrapper.wrap", "--format", "dot"]) == 0
    out = capsys.readouterr().out
    assert out.startswith('digraph "') and "TextWrapper.wrap" in out.splitlines()[0]


def test_cli_graphml_to_an_output_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    target = tmp_path / "out.graphml"
    assert main([stdlib_file(), "--format", "graphml", "--output", str(target), "--function", "dedent"]) == 0
    assert capsys.readouterr().out == ""
    back = nx.read_graphml(target)
    types = {d["type"] for _, d in back.nodes(data=True)}
    assert {"function_definition", "identifier"} <= types


def test_cli_unknown_function_exits_2_listing_qualnames(capsys: pytest.CaptureFixture[str]):
    assert main([stdlib_file(), "--function", "nope"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert "no function 'nope'" in err and "textwrap.TextWrapper.wrap" in err and "textwrap.dedent" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.py"], "cannot read missing.py"),
        (["{blob}"], "binary file"),
        (["{file}", "--format", "xml"], "invalid choice: 'xml'"),
        (["{file}", "--project-root", "no/such/dir"], "is not a directory"),
        ([], "the following arguments are required: FILE"),
    ],
)
def test_cli_bad_input_is_one_line_and_exit_2(
    args: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    blob = tmp_path / "blob.py"
    blob.write_bytes(b"\x00\x01\x02")
    filled = [a.format(blob=blob, file=stdlib_file()) for a in args]
    assert main(filled) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("codegraph graph: error: ") and message in lines[0]


def test_cli_project_root_gives_module_and_cross_file_edges(capsys: pytest.CaptureFixture[str]):
    deep = FIXTURE / "app" / "sub" / "deep.py"
    assert main([str(deep), "--project-root", str(FIXTURE), "--function", "use"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["module"] == "app.sub.deep"
    cross = out["cross_file_edges"]
    assert {Path(e["target_path"]).name for e in cross} == {"impl.py", "util.py", "models.py"}
    ids = {n["id"] for n in out["nodes"]}
    assert all(e["source"] in ids for e in cross)  # only edges leaving the selected function
    to_models = [e["kind"] for e in cross if Path(e["target_path"]).name == "models.py"]
    assert to_models == ["CALLS"]  # Plain() has no __init__: no parameters to bind

"""CodeGraph -> networkx, JSON, GraphML and DOT; and the ``codegraph graph`` command.

Positions are 1-based lines and columns counted in characters (code points), ends
exclusive, as everywhere in codegraph's output. A graph can be restricted to one
function: the graph nodes of its subtree and the edges among them (graph node ids are
kept, so they still match the whole file's graph).

    codegraph graph FILE [--function QUALNAME] [--format json|graphml|dot]
                         [--output FILE] [--project-root DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

import networkx as nx

from codegraph.arguments import Parser
from codegraph.command import CommandError, command
from codegraph.graph import build_file_graph
from codegraph.project import CrossEdge, Project, module_name_for
from codegraph.schema import CodeGraph, EdgeKind, FunctionInfo
from codegraph.syntax import SourceError, utf8_source

#: family -> DOT colour
FAMILY_COLOR: dict[str, str] = {
    "syntax": "gray60",
    "dataflow": "blue",
    "controlflow": "red",
    "calls": "darkgreen",
}
FORMATS = ("json", "graphml", "dot")

Point = tuple[int, int]


class GraphExportError(CommandError, ValueError):
    """The requested graph cannot be exported (unknown function, unreadable input ...)."""


# ---------------------------------------------------------------------------------------------
# selecting graph nodes and edges


def find_function(g: CodeGraph, qualname: str) -> FunctionInfo | None:
    """The function named ``qualname``, with or without the module prefix (``mod.C.m`` or ``C.m``)."""
    prefixed = f"{g.module}.{qualname}" if g.module else qualname
    for f in g.functions:
        if f.qualname == qualname or f.qualname == prefixed:
            return f
    return None


def select(g: CodeGraph, function: str | None = None) -> tuple[range, list[int]]:
    """(graph nodes, edge indices) of the whole graph or of one function's subtree.

    Raises GraphExportError, listing the available qualified names, for an unknown function.
    """
    if function is None:
        return range(g.num_nodes), list(range(g.num_edges))
    info = find_function(g, function)
    if info is None:
        names = ", ".join(f.qualname for f in g.functions) or "(none)"
        raise GraphExportError(f"no function {function!r} in {g.path}; available: {names}")
    nodes = g.descendants(info.node)
    lo, hi = nodes.start, nodes.stop
    edges = [i for i, (s, d) in enumerate(zip(g.src, g.dst)) if lo <= s < hi and lo <= d < hi]
    return nodes, edges


def point_converter(source: bytes) -> Callable[[Point], Point]:
    """A function from a tree-sitter point (0-based row, byte column) to (line, character column), 1-based."""
    lines = source.split(b"\n")
    ascii_rows: dict[int, bool] = {}

    def convert(point: Point) -> Point:
        row, col = point
        if row >= len(lines):
            return row + 1, col + 1
        is_ascii = ascii_rows.get(row)
        if is_ascii is None:
            is_ascii = ascii_rows[row] = lines[row].isascii()
        if not is_ascii:
            col = len(lines[row][:col].decode("utf-8", "replace"))
        return row + 1, col + 1

    return convert


# ---------------------------------------------------------------------------------------------
# formats


def to_networkx(g: CodeGraph, function: str | None = None) -> nx.MultiDiGraph:
    """A MultiDiGraph: node attrs kind, type, text, start/end line/column; edge attr kind (its name)."""
    nodes, edges = select(g, function)
    pos = point_converter(g.source)
    out = nx.MultiDiGraph(path=g.path, module=g.module)
    for n in nodes:
        (sl, sc), (el, ec) = pos(g.start_point[n]), pos(g.end_point[n])
        out.add_node(
            n,
            kind=g.kind[n].name,
            type=g.type[n],
            text=g.text[n],
            start_line=sl,
            start_column=sc,
            end_line=el,
            end_column=ec,
        )
    for i in edges:
        out.add_edge(g.src[i], g.dst[i], kind=g.edge_kind[i].name)
    return out


def to_json(g: CodeGraph, function: str | None = None, cross: Sequence[CrossEdge] = ()) -> dict[str, Any]:
    """``{"path", "module", "nodes": [{"id", "kind", "type", "text", "start", "end"}], "edges": [...]}``.

    With ``cross`` (edges from this file into others, see Project.cross_file_calls), a
    ``"cross_file_edges"`` list ``[{"source", "target_path", "target", "kind"}]`` is added.
    """
    nodes, edges = select(g, function)
    pos = point_converter(g.source)
    out: dict[str, Any] = {
        "path": g.path,
        "module": g.module,
        "nodes": [
            {
                "id": n,
                "kind": g.kind[n].name,
                "type": g.type[n],
                "text": g.text[n],
                "start": list(pos(g.start_point[n])),
                "end": list(pos(g.end_point[n])),
            }
            for n in nodes
        ],
        "edges": [{"source": g.src[i], "target": g.dst[i], "kind": g.edge_kind[i].name} for i in edges],
    }
    if cross:
        out["cross_file_edges"] = [
            {"source": e.src_node, "target_path": e.dst_path, "target": e.dst_node, "kind": e.kind.name}
            for e in cross
            if e.src_node in nodes
        ]
    return out


def to_graphml(g: CodeGraph, function: str | None = None) -> str:
    """GraphML text (networkx's writer) of :func:`to_networkx`."""
    return "\n".join(nx.generate_graphml(to_networkx(g, function))) + "\n"


def _dot_string(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "")
    return f'"{escaped}"'


def to_dot(g: CodeGraph, function: str | None = None) -> str:
    """Graphviz DOT text: boxes for syntax nodes, ellipses for tokens, edges coloured by family."""
    nodes, edges = select(g, function)
    pos = point_converter(g.source)
    title = f"{g.path}" + (f" :: {function}" if function else "")
    lines = [
        f"digraph {_dot_string(title)} {{",
        '  graph [rankdir=TB, fontname="Helvetica"];',
        '  node [shape=box, fontname="Helvetica", fontsize=10];',
        '  edge [fontname="Helvetica", fontsize=8];',
        "  // edge colours: " + ", ".join(f"{fam} = {col}" for fam, col in FAMILY_COLOR.items()),
    ]
    for n in nodes:
        line, col = pos(g.start_point[n])
        label = f"{g.type[n]}\n{g.text[n]}" if g.text[n] and g.text[n] != g.type[n] else g.type[n]
        shape = "" if g.text[n] == "" else ", shape=ellipse"
        lines.append(f"  n{n} [label={_dot_string(label)}, tooltip={_dot_string(f'{line}:{col}')}{shape}];")
    for i in edges:
        kind = EdgeKind(g.edge_kind[i])
        family = kind.family
        color = FAMILY_COLOR.get(family, "black")
        attrs = f'color="{color}"' if family == "syntax" else f'label="{kind.name}", color="{color}"'
        if kind == EdgeKind.NEXT_TOKEN or kind == EdgeKind.NEXT_SIBLING:
            attrs += ", style=dashed"
        lines.append(f"  n{g.src[i]} -> n{g.dst[i]} [{attrs}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------
# the command


class _Parser(Parser):
    """An argument parser whose usage errors become one line on stderr and exit status 2."""

    def error(self, message: str) -> NoReturn:
        raise CommandError(self.suggest(message))


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="codegraph graph", description="Print the code graph of a Python file.")
    p.add_argument("file", metavar="FILE", help="the Python file")
    p.add_argument(
        "--function", metavar="QUALNAME", help="only this function's subgraph (e.g. mod.Class.method)"
    )
    p.add_argument("--format", choices=FORMATS, default="json", help="output format (default: json)")
    p.add_argument("--output", "-o", metavar="FILE", help="write here instead of standard output")
    p.add_argument(
        "--project-root",
        metavar="DIR",
        help="the project the file belongs to: module name from it, cross-file call edges in json",
    )
    return p


def _load(file: str, project_root: str | None) -> tuple[CodeGraph, list[CrossEdge]]:
    """The file's graph (and its cross-file edges when a project root is given)."""
    try:
        with open(file, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        raise GraphExportError(f"cannot read {file}: {exc.strerror or exc}") from None
    try:
        data = utf8_source(data)
    except SourceError as exc:
        raise GraphExportError(f"{file}: {exc}") from None
    if project_root is None:
        try:
            return build_file_graph(data, file, module_name_for(file)), []
        except SourceError as exc:
            raise GraphExportError(f"{file}: {exc}") from None
    if not os.path.isdir(project_root):
        raise GraphExportError(f"project root {project_root} is not a directory")
    project = Project(project_root)
    project.update_file(file, data)
    g = project.graph(file)
    if g is None:
        raise GraphExportError(f"{file}: {project.error_of(file) or 'cannot be analysed'}")
    return g, project.cross_file_calls(file)


@command("codegraph graph")
def main(argv: Sequence[str]) -> int:
    """``codegraph graph``: 0 on success, 2 (one line on stderr) on bad input."""
    args = _parser().parse_args(list(argv))
    g, cross = _load(args.file, args.project_root)
    if args.format == "json":
        text = json.dumps(to_json(g, args.function, cross), ensure_ascii=False) + "\n"
    elif args.format == "graphml":
        text = to_graphml(g, args.function)
    else:
        text = to_dot(g, args.function)
    if args.output is None:
        sys.stdout.write(text)
        return 0
    try:
        with open(args.output, "w", encoding="utf-8") as fh:
            fh.write(text)
    except OSError as exc:
        raise CommandError(f"cannot write {args.output}: {exc.strerror or exc}") from None
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

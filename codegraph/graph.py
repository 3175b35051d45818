"""Source bytes -> the complete CodeGraph of one file (all edge families)."""

from __future__ import annotations

import gc
from collections.abc import Callable

from codegraph.edges.calls import call_edges
from codegraph.edges.controlflow import controlflow_edges
from codegraph.edges.dataflow import dataflow_edges
from codegraph.edges.syntax import syntax_edges
from codegraph.nodes import graph_nodes
from codegraph.schema import CodeGraph, EdgeKind
from codegraph.syntax import parse_recovering

EdgeBuilder = Callable[[CodeGraph], list[tuple[int, int, EdgeKind]]]

#: the edge families, in the order they are added
BUILDERS: tuple[EdgeBuilder, ...] = (syntax_edges, dataflow_edges, controlflow_edges, call_edges)


def build_file_graph(source: bytes, path: str = "<string>", module: str = "") -> CodeGraph:
    """Parse ``source`` and build its code graph. Raises SourceError for binary / non-UTF-8 input.

    After a syntax error the top-level definitions that follow are recovered
    (:func:`codegraph.syntax.parse_recovering`); ``has_error`` records the error.

    The cyclic garbage collector is paused while building: the graph is millions of
    small acyclic lists, and collections during the build cost about 15% of its time.
    """
    tree, had_error = parse_recovering(source)
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        g = graph_nodes(tree, source, path, module)
        g.has_error = had_error
        for builder in BUILDERS:
            g.add_edges(builder(g))
    finally:
        if was_enabled:
            gc.enable()
    return g

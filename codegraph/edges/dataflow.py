"""dataflow edges (being written)."""

from __future__ import annotations

from codegraph.schema import CodeGraph, EdgeKind


def dataflow_edges(g: CodeGraph) -> list[tuple[int, int, EdgeKind]]:
    return []

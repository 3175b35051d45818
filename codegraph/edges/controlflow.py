"""controlflow edges (being written)."""

from __future__ import annotations

from codegraph.schema import CodeGraph, EdgeKind


def controlflow_edges(g: CodeGraph) -> list[tuple[int, int, EdgeKind]]:
    return []

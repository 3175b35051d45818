"""calls edges (being written)."""

from __future__ import annotations

from codegraph.schema import CodeGraph, EdgeKind


def call_edges(g: CodeGraph) -> list[tuple[int, int, EdgeKind]]:
    return []

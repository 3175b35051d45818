"""Syntax edges: Child, NextSibling, NextToken."""

from __future__ import annotations

from codegraph.schema import CodeGraph, EdgeKind, NodeKind


def syntax_edges(g: CodeGraph) -> list[tuple[int, int, EdgeKind]]:
    """Child (parent -> child), NextSibling (child -> next child), NextToken (token -> next token)."""
    child, sibling, nxt = EdgeKind.CHILD, EdgeKind.NEXT_SIBLING, EdgeKind.NEXT_TOKEN
    edges: list[tuple[int, int, EdgeKind]] = []
    for p, kids in enumerate(g.children):
        prev = -1
        for c in kids:
            edges.append((p, c, child))
            if prev >= 0:
                edges.append((prev, c, sibling))
            prev = c
    prev = -1
    token = NodeKind.TOKEN
    for i, k in enumerate(g.kind):
        if k == token:
            if prev >= 0:
                edges.append((prev, i, nxt))
            prev = i
    return edges

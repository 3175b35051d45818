"""Function + context -> AnalysisUnit: the common input of training and inference.

A unit's graph nodes are the analysed function's own subtree first (preorder, so a
cut keeps a connected prefix: ``num_function_nodes``), then context graph nodes in
priority order until the node budget is spent:

1. the definitions that CG001 repairs point at when they lie outside the function
   (single graph nodes: a global's or an enclosing function's binding occurrence);
2. the enclosing class header: the ``class_definition`` with its name and bases, the
   body ``block`` graph node, and each sibling method's decorators, name and
   parameters (never whole bodies);
3. the module-level definitions of the globals the function reads: assignments and
   imports whole (at most :data:`STATEMENT_NODES` graph nodes each), ``def`` and
   ``class`` by their signature only; the ``module`` graph node is added with them so
   that its CHILD edges tie them together;
4. the callees reached through CALLS edges, in this file or (through the
   :class:`~codegraph.project.Project`) in other files: every callee's signature
   first, then the first graph nodes of each body (at most :data:`CALLEE_BODY_NODES`).

The unit's edges are all edges of the code graphs among included graph nodes plus
the project's cross-file CALLS / FORMAL_ARG_NAME edges between included graph nodes.
Candidates (:func:`codegraph.rules.find_candidates`) are only the function's own; when the
function alone exceeds the budget, the prefix of its graph nodes is kept, candidates
outside the prefix are dropped, and ``meta["truncated"]`` says so.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

import numpy as np

from codegraph.rules import analysis_functions, find_candidates, function_nodes, is_module
from codegraph.schema import CodeGraph, EdgeKind, FunctionInfo
from codegraph.scopes import Access, ScopeInfo
from codegraph.units import AnalysisUnit, Candidate, Repair

if TYPE_CHECKING:
    from codegraph.project import CrossEdge

#: default node budget of a unit
DEFAULT_BUDGET = 1500
#: most graph nodes of one module-level statement taken as context
STATEMENT_NODES = 64
#: most graph nodes of one callee's body taken as context (after all signatures)
CALLEE_BODY_NODES = 48
#: share of the budget kept free for repair targets when the function alone is too large
TARGET_RESERVE = 0.05

_SIGNATURE_FIELDS = ("name", "parameters", "return_type", "type_parameters")
_SIMPLE_STATEMENTS = frozenset(
    {"expression_statement", "import_statement", "import_from_statement", "future_import_statement"}
)


class ProjectView(Protocol):
    """What unit building needs from a :class:`~codegraph.project.Project`."""

    def graph(self, path: str) -> CodeGraph | None: ...

    def cross_file_calls(self, path: str) -> list[CrossEdge]: ...


class EdgeIndex:
    """Out-edges per graph node of one CodeGraph (edge ids grouped by source, CSR style)."""

    def __init__(self, g: CodeGraph) -> None:
        src = np.asarray(g.src, dtype=np.int64)
        order = np.argsort(src, kind="stable")
        offsets = np.zeros(g.num_nodes + 1, dtype=np.int64)
        np.cumsum(np.bincount(src, minlength=g.num_nodes), out=offsets[1:])
        self.offsets = offsets.tolist()
        self.order = order.tolist()
        self.dst = g.dst
        self.kind = g.edge_kind
        # the same, as arrays in source order, for assembling units
        self.np_offsets = offsets
        self.np_dst = np.asarray(g.dst, dtype=np.int64)[order]
        self.np_kind = np.asarray(g.edge_kind, dtype=np.int64)[order]
        #: CALLS edges: call graph node -> callee definitions, in edge order
        self.calls: dict[int, list[int]] = {}
        for s, d, k in zip(g.src, g.dst, g.edge_kind):
            if k == EdgeKind.CALLS:
                self.calls.setdefault(s, []).append(d)

    def out_edges(self, node: int) -> Iterable[int]:
        return self.order[self.offsets[node] : self.offsets[node + 1]]

    def induced(self, nodes: np.ndarray, local: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Edges among ``nodes`` as (position in ``nodes`` of the source, local id of the destination,
        kind), by source position then edge order; ``local`` maps graph node -> local id or -1."""
        starts, ends = self.np_offsets[nodes], self.np_offsets[nodes + 1]
        counts = ends - starts
        total = int(counts.sum())
        pos = np.repeat(np.arange(len(nodes)), counts)
        first = np.cumsum(counts) - counts
        idx = np.arange(total) - np.repeat(first, counts) + np.repeat(starts, counts)
        v = local[self.np_dst[idx]]
        keep = v >= 0
        return pos[keep], v[keep], self.np_kind[idx[keep]]


@dataclass
class _Assembly:
    """The graph nodes chosen so far: per path index, graph node -> unit-local id."""

    budget: int
    paths: list[str]
    graphs: list[CodeGraph]
    local: list[dict[int, int]]
    origin: list[tuple[int, int]] = field(default_factory=list)

    def path_index(self, path: str, graph: CodeGraph) -> int:
        if path in self.paths:
            return self.paths.index(path)
        self.paths.append(path)
        self.graphs.append(graph)
        self.local.append({})
        return len(self.paths) - 1

    @property
    def full(self) -> bool:
        return len(self.origin) >= self.budget

    def add(self, pi: int, node: int) -> bool:
        """Include one graph node; False when the budget is spent."""
        m = self.local[pi]
        if node in m:
            return True
        if len(self.origin) >= self.budget:
            return False
        m[node] = len(self.origin)
        self.origin.append((pi, node))
        return True

    def add_all(self, pi: int, nodes: Iterable[int]) -> bool:
        """Include graph nodes in order; False (and the rest left out) when the budget is spent."""
        m, origin, budget = self.local[pi], self.origin, self.budget
        for node in nodes:
            if node in m:
                continue
            if len(origin) >= budget:
                return False
            m[node] = len(origin)
            origin.append((pi, node))
        return True


class ContextBuilder:
    """Builds the units of one file; per-file indexes are computed once and shared by its functions."""

    def __init__(
        self,
        graph: CodeGraph,
        scopes: ScopeInfo | None,
        project: ProjectView | None = None,
        budget: int = DEFAULT_BUDGET,
        edge_indexes: dict[str, tuple[CodeGraph, EdgeIndex]] | None = None,
    ) -> None:
        self.g = graph
        self.scopes = scopes
        self.project = project
        self.budget = budget
        #: path -> (graph, its EdgeIndex); shareable between builders of one project
        self.edge_indexes = edge_indexes if edge_indexes is not None else {}
        self.index = self._edge_index(graph.path, graph)
        self._scratches: dict[str, tuple[CodeGraph, np.ndarray]] = {}
        self.cross: dict[int, list[CrossEdge]] = {}
        if project is not None:
            try:
                cross = project.cross_file_calls(graph.path)
            except KeyError:  # the file is not part of the project: no cross-file context
                cross = []
            for ce in cross:
                self.cross.setdefault(ce.src_node, []).append(ce)

    def _scratch(self, path: str, g: CodeGraph) -> np.ndarray:
        """A graph node -> unit-local id array for ``g``, all -1, allocated once per file (a fresh
        one per unit made each unit cost as much as the whole file)."""
        hit = self._scratches.get(path)
        if hit is None or hit[0] is not g:
            hit = self._scratches[path] = (g, np.full(g.num_nodes, -1, dtype=np.int64))
        return hit[1]

    def _edge_index(self, path: str, g: CodeGraph) -> EdgeIndex:
        hit = self.edge_indexes.get(path)
        if hit is not None and hit[0] is g:
            return hit[1]
        index = EdgeIndex(g)
        self.edge_indexes[path] = (g, index)
        return index

    # -- the unit -------------------------------------------------------------------------
    def build(self, func: FunctionInfo, candidates: list[Candidate] | None = None) -> AnalysisUnit:
        """The unit of ``func``; ``candidates`` (file graph node ids) default to :func:`find_candidates`."""
        g = self.g
        cands = find_candidates(g, func, self.scopes) if candidates is None else candidates
        fn_start, fn_end = func.node, g.subtree_end[func.node]
        module = is_module(g, func)
        # a function's unit holds its whole subtree; the module's, its code outside any def
        own: range | list[int] = list(function_nodes(g, func)) if module else range(fn_start, fn_end)
        fn_size = len(own)
        inside: range | list[int] | set[int] = set(own) if module else own
        targets = {r.target for c in cands for r in c.repairs if r.target >= 0}
        outside_targets = sorted(t for t in targets if t not in inside)
        truncated = fn_size > self.budget - len(outside_targets)
        keep = fn_size
        if truncated:
            reserve = min(len(outside_targets), int(self.budget * TARGET_RESERVE))
            keep = self.budget - reserve
        asm = _Assembly(self.budget, [g.path], [g], [{}])
        kept = own[:keep]
        asm.add_all(0, kept)
        num_function_nodes = len(asm.origin)
        for t in outside_targets:
            if not asm.add(0, t):
                break
        if not asm.full:
            self._add_class_header(asm, func)
        fn_kept_end = kept[-1] + 1 if kept else fn_start
        if not asm.full and not module:  # module-level definitions are the module unit's own code
            self._add_globals(asm, func, fn_kept_end)
        if not asm.full:
            self._add_callees(asm, func, kept)
        unit = self._assemble(asm, func, num_function_nodes)
        unit.candidates = _localise(cands, asm.local[0])
        unit.meta.update(
            truncated=truncated,
            function_nodes=fn_size,
            context_nodes=unit.num_nodes - num_function_nodes,
            module=g.module,
            start_byte=g.start_byte[func.node],
            start_line=g.start_point[func.node][0] + 1,
            end_line=g.end_point[func.node][0] + 1,
        )
        evidence = self._evidence(asm, unit.candidates)
        if evidence:
            unit.meta["evidence"] = evidence
        return unit

    # -- context items ----------------------------------------------------------------------
    def _signature(self, g: CodeGraph, definition: int) -> list[int]:
        """A def or class without its body: the node, its decorators, name, parameters / bases."""
        nodes: list[int] = []
        p = g.parent[definition]
        if p >= 0 and g.type[p] == "decorated_definition":
            nodes.append(p)
            for d in g.children[p]:
                if g.type[d] == "decorator":
                    nodes.extend(g.descendants(d))
        nodes.append(definition)
        for c in g.children[definition]:
            if g.field_name[c] in _SIGNATURE_FIELDS or g.field_name[c] == "superclasses":
                nodes.extend(g.descendants(c))
        return nodes

    def _add_class_header(self, asm: _Assembly, func: FunctionInfo) -> None:
        g, cls = self.g, func.class_node
        if cls is None:
            return
        nodes = [cls]
        for c in g.children[cls]:
            if g.field_name[c] in ("name", "superclasses", "type_parameters"):
                nodes.extend(g.descendants(c))
        body = g.child_by_field(cls, "body")
        if body is not None:
            nodes.append(body)
        if not asm.add_all(0, nodes) or body is None:
            return
        for stmt in g.children[body]:
            definition = stmt
            if g.type[stmt] == "decorated_definition":
                definition = g.child_by_field(stmt, "definition") or stmt
            if g.type[definition] != "function_definition":
                continue
            if definition == func.node:
                # the function itself is in the unit: add only its decorators
                if stmt != definition and not asm.add_all(0, self._signature(g, definition)[:-1]):
                    return
                continue
            if not asm.add_all(0, self._signature(g, definition)):
                return

    def _add_globals(self, asm: _Assembly, func: FunctionInfo, fn_kept_end: int) -> None:
        """Module-level definitions of the globals the function reads, in order of first read."""
        g = self.g
        statements = self._global_statements(func, fn_kept_end)
        if not statements or not asm.add(0, 0):
            return
        for stmt in statements:
            t = g.type[stmt]
            if t in ("function_definition", "class_definition"):
                nodes = self._signature(g, stmt)
            elif t in _SIMPLE_STATEMENTS:
                nodes = list(g.descendants(stmt)[:STATEMENT_NODES])  # a range: no copy of a huge statement
            else:
                continue
            if not asm.add_all(0, nodes):
                return

    def _global_statements(self, func: FunctionInfo, fn_kept_end: int) -> list[int]:
        """Module-level statements that bind the module symbols read in ``[func.node, fn_kept_end)``."""
        scopes = self.scopes
        if scopes is None:
            return []
        g = self.g
        seen_symbols: set[int] = set()
        out: list[int] = []
        seen: set[int] = set()
        for k in scopes.occurrences_in(func.node, fn_kept_end):
            sym = scopes.occ_symbols[k]
            if (
                sym.scope is not scopes.module
                or sym.id in seen_symbols
                or not scopes.occ_access[k] & Access.READ
            ):
                continue
            seen_symbols.add(sym.id)
            for b in sym.bindings:
                stmt = _module_statement(g, b)
                if stmt is not None and stmt not in seen:
                    seen.add(stmt)
                    out.append(stmt)
        return out

    def _add_callees(self, asm: _Assembly, func: FunctionInfo, kept: Iterable[int]) -> None:
        """Signatures of every callee of the calls among ``kept`` first, then the first graph
        nodes of each body."""
        g = self.g
        callees: list[tuple[int, CodeGraph, int]] = []
        seen: set[tuple[int, int]] = set()
        for n in kept:
            if g.type[n] != "call":
                continue
            for d in self.index.calls.get(n, ()):
                own = d in asm.local[0] if is_module(g, func) else func.node <= d < g.subtree_end[func.node]
                if (0, d) not in seen and not own:
                    seen.add((0, d))
                    callees.append((0, g, d))
            for ce in self.cross.get(n, ()):
                if ce.kind != EdgeKind.CALLS or self.project is None:
                    continue
                other = self.project.graph(ce.dst_path)
                if other is None or ce.dst_node >= other.num_nodes:
                    continue
                pi = asm.path_index(ce.dst_path, other)
                if (pi, ce.dst_node) not in seen:
                    seen.add((pi, ce.dst_node))
                    callees.append((pi, other, ce.dst_node))
        for pi, cg, d in callees:
            if not asm.add_all(pi, self._signature(cg, d)):
                return
        for pi, cg, d in callees:
            body = cg.child_by_field(d, "body")
            if body is not None and not asm.add_all(pi, list(cg.descendants(body))[:CALLEE_BODY_NODES]):
                return

    # -- assembling -------------------------------------------------------------------------
    def _assemble(self, asm: _Assembly, func: FunctionInfo, num_function_nodes: int) -> AnalysisUnit:
        node_type: list[str] = []
        node_text: list[str] = []
        node_kind: list[int] = []
        for pi, n in asm.origin:
            cg = asm.graphs[pi]
            node_type.append(cg.type[n])
            node_text.append(cg.text[n])
            node_kind.append(int(cg.kind[n]))
        # edges among the chosen graph nodes, per file at once, then in unit order (u, edge order)
        origin = np.asarray(asm.origin, dtype=np.int64).reshape(-1, 2)
        parts_u, parts_v, parts_k = [], [], []
        for pi, (p, cg) in enumerate(zip(asm.paths, asm.graphs)):
            index = self._edge_index(p, cg)
            mine = np.flatnonzero(origin[:, 0] == pi)
            if not len(mine):
                continue
            nodes = origin[mine, 1]
            local = self._scratch(p, cg)
            local[nodes] = mine
            try:
                pos, v, k = index.induced(nodes, local)
            finally:
                local[nodes] = -1  # clean for the next unit: the work stays O(unit), not O(file)
            parts_u.append(mine[pos])
            parts_v.append(v)
            parts_k.append(k)
        src: list[int] = []
        dst: list[int] = []
        kinds: list[int] = []
        if parts_u:
            u_all = np.concatenate(parts_u)
            order = np.argsort(u_all, kind="stable")
            src = u_all[order].tolist()
            dst = np.concatenate(parts_v)[order].tolist()
            kinds = np.concatenate(parts_k)[order].tolist()
        for u, (_, n) in enumerate(asm.origin[:num_function_nodes]):
            for ce in self.cross.get(n, ()):
                if ce.dst_path in asm.paths:
                    w = asm.local[asm.paths.index(ce.dst_path)].get(ce.dst_node)
                    if w is not None:
                        src.append(u)
                        dst.append(w)
                        kinds.append(int(ce.kind))
        return AnalysisUnit(
            path=self.g.path,
            function=func.qualname,
            node_type=node_type,
            node_text=node_text,
            node_kind=node_kind,
            src=src,
            dst=dst,
            edge_kind=kinds,
            origin=list(asm.origin),
            paths=list(asm.paths),
            num_function_nodes=num_function_nodes,
        )

    def _evidence(self, asm: _Assembly, cands: list[Candidate]) -> dict[int, list[tuple[int, int, int]]]:
        """CG002 evidence: where the parameter bound by a candidate argument is defined (1-based)."""
        out: dict[int, list[tuple[int, int, int]]] = {}
        g, index = self.g, self.index
        for c in cands:
            if c.rule != "CG002":
                continue
            _, n = asm.origin[c.node]
            found: list[tuple[int, int, int]] = []
            for e in index.out_edges(n):
                if index.kind[e] == EdgeKind.FORMAL_ARG_NAME:
                    p = index.dst[e]
                    found.append((0, g.start_point[p][0] + 1, g.start_point[p][1] + 1))
            for ce in self.cross.get(n, ()):
                if (
                    ce.kind == EdgeKind.FORMAL_ARG_NAME
                    and ce.dst_path in asm.paths
                    and self.project is not None
                ):
                    other = self.project.graph(ce.dst_path)
                    if other is not None and ce.dst_node < other.num_nodes:
                        row, col = other.start_point[ce.dst_node]
                        found.append((asm.paths.index(ce.dst_path), row + 1, col + 1))
            if found:
                out[c.node] = found
        return out


def _module_statement(g: CodeGraph, node: int) -> int | None:
    """The module-level statement holding graph node ``node`` (the definition for ``def`` / ``class``).

    Statements nested in module-level ``if`` / ``try`` / ``with`` blocks count; None when
    ``node`` lies inside a function or class body.
    """
    child, p = node, g.parent[node]
    while p >= 0:
        t = g.type[p]
        if t in ("function_definition", "class_definition") and g.field_name[child] == "body":
            return None
        if t == "module" or t == "block":
            if t == "block" and not _at_module_level(g, p):
                return None
            if g.type[child] == "decorated_definition":
                return g.child_by_field(child, "definition")
            return child
        child, p = p, g.parent[p]
    return None


def _at_module_level(g: CodeGraph, block: int) -> bool:
    """Whether a block belongs to module-level compound statements only (no def / class above it)."""
    p = g.parent[block]
    while p >= 0:
        if g.type[p] in ("function_definition", "class_definition"):
            return False
        p = g.parent[p]
    return True


def localise(cands: list[Candidate], unit: AnalysisUnit) -> list[Candidate]:
    """Candidates of the unit's own file (file graph node ids) in ``unit``'s local ids."""
    return _localise(cands, {n: u for u, (pi, n) in enumerate(unit.origin) if pi == 0})


def _localise(cands: list[Candidate], local: dict[int, int]) -> list[Candidate]:
    """File graph node ids -> unit-local ids; drop what falls outside the unit."""
    out: list[Candidate] = []
    for c in cands:
        node = local.get(c.node)
        if node is None:
            continue
        repairs: list[Repair] = []
        for r in c.repairs:
            if r.target < 0:
                repairs.append(r)
                continue
            target = local.get(r.target)
            if target is not None:
                repairs.append(Repair(r.rule, r.token, r.replacement, r.start_byte, r.end_byte, target))
        if repairs:
            out.append(Candidate(node, c.rule, repairs))
    return out


def build_unit(
    graph: CodeGraph,
    func: FunctionInfo,
    scopes: ScopeInfo | None,
    project: ProjectView | None = None,
    budget: int = DEFAULT_BUDGET,
) -> AnalysisUnit:
    """The analysis unit of one function (see the module docstring)."""
    return ContextBuilder(graph, scopes, project, budget).build(func)


def units_for_file(
    graph: CodeGraph,
    scopes: ScopeInfo | None,
    project: ProjectView | None = None,
    budget: int = DEFAULT_BUDGET,
) -> list[AnalysisUnit]:
    """The units of every function of a file, in source order (functions without candidates included)."""
    builder = ContextBuilder(graph, scopes, project, budget)
    return [builder.build(f) for f in analysis_functions(graph)]

"""Analysis units: the function first, then its context within a node budget; candidates mapped to it."""

from __future__ import annotations

import textwrap
from pathlib import Path

from codegraph.context import ContextBuilder, build_unit, units_for_file
from codegraph.graph import build_file_graph
from codegraph.project import Project
from codegraph.schema import CodeGraph, EdgeKind, FunctionInfo
from codegraph.scope_analysis import analyze_scopes
from codegraph.units import AnalysisUnit

SOURCE = """
import os
LIMIT = 10
TABLE = {"a": 1}
def helper(p, q=2):
    '''A helper.'''
    return p - q

class Base:
    pass

class K(Base):
    attr = 1

    @property
    def size(self):
        return self.attr

    def other(self, t, *rest):
        return t

    def m(self, x, y):
        z = helper(x, y) + LIMIT
        return self.other(z) + os.sep.count("/")
"""


def graph_of(src: str, path: str = "mod.py", module: str = "mod") -> CodeGraph:
    return build_file_graph(textwrap.dedent(src).encode(), path, module)


def function(g: CodeGraph, qualname: str) -> FunctionInfo:
    return next(f for f in g.functions if f.qualname == qualname)


def context_labels(unit: AnalysisUnit) -> list[str]:
    return [
        t or ty
        for t, ty in zip(unit.node_text[unit.num_function_nodes :], unit.node_type[unit.num_function_nodes :])
    ]


def check_consistent(unit: AnalysisUnit, graphs: dict[str, CodeGraph]) -> None:
    """Every unit-local id, origin and edge agrees with the file graphs."""
    n = unit.num_nodes
    assert len(unit.node_text) == len(unit.node_kind) == len(unit.origin) == n
    assert all(0 <= s < n and 0 <= d < n for s, d in zip(unit.src, unit.dst))
    assert len(set(zip(unit.src, unit.dst, unit.edge_kind))) == len(unit.src)
    for u, (pi, node) in enumerate(unit.origin):
        g = graphs[unit.paths[pi]]
        assert unit.node_type[u] == g.type[node] and unit.node_text[u] == g.text[node]
    for c in unit.candidates:
        assert 0 <= c.node < unit.num_function_nodes
        assert c.repairs and all(-1 <= r.target < n for r in c.repairs)


def test_function_first_then_class_header_globals_and_callees() -> None:
    g = graph_of(SOURCE)
    func = function(g, "mod.K.m")
    unit = build_unit(g, func, analyze_scopes(g))
    check_consistent(unit, {"mod.py": g})
    # the function's own subtree, in preorder, comes first
    assert unit.num_function_nodes == g.subtree_end[func.node] - func.node
    assert unit.origin[: unit.num_function_nodes] == [
        (0, n) for n in range(func.node, g.subtree_end[func.node])
    ]
    ctx = context_labels(unit)
    # class header: name, bases, sibling methods' names and parameters (and decorators), no bodies
    for label in ("class_definition", "K", "Base", "size", "property", "other", "t", "rest"):
        assert label in ctx, label
    assert "attr" not in ctx  # class-body statements and method bodies are left out
    # globals read: the module-level assignment of LIMIT whole and the import of os; TABLE is not read,
    # only its binding occurrence is there (a CG001 repair points at it), not its value
    assert "LIMIT" in ctx and "os" in ctx and "import_statement" in ctx
    assert ctx.count("TABLE") == 1 and "dictionary" not in ctx
    # the callee helper: signature and the first graph nodes of its body
    assert "helper" in ctx and "p" in ctx and "q" in ctx
    # edges among included graph nodes, calls included
    calls = [(s, d) for s, d, k in zip(unit.src, unit.dst, unit.edge_kind) if k == EdgeKind.CALLS]
    assert any(unit.node_type[d] == "function_definition" and d >= unit.num_function_nodes for _, d in calls)
    formal = [d for s, d, k in zip(unit.src, unit.dst, unit.edge_kind) if k == EdgeKind.FORMAL_ARG_NAME]
    assert {unit.node_text[d] for d in formal} >= {"p", "q"}
    assert unit.meta["truncated"] is False and unit.meta["start_line"] == 22
    assert unit.meta["context_nodes"] == unit.num_nodes - unit.num_function_nodes
    # CG002 evidence: where the callee's parameters are defined (1-based line, column)
    evidence = unit.meta["evidence"]
    assert isinstance(evidence, dict) and (0, 5, 12) in [e for es in evidence.values() for e in es]


def test_candidates_are_the_functions_own_with_local_targets() -> None:
    g = graph_of(SOURCE)
    unit = build_unit(g, function(g, "mod.helper"), analyze_scopes(g))
    check_consistent(unit, {"mod.py": g})
    misuse = [c for c in unit.candidates if c.rule == "CG001"]
    assert [unit.node_text[c.node] for c in misuse] == ["p", "q"]
    # LIMIT is a global the function does not use: its definition joins the unit so the repair can point at it
    limit = next(r for r in misuse[0].repairs if r.replacement == "LIMIT")
    _, node = unit.origin[limit.target]
    assert limit.target >= unit.num_function_nodes and g.start_point[node][0] == 2
    assert "TABLE" in [r.replacement for r in misuse[0].repairs]


def test_budget_truncates_the_function_and_its_candidates() -> None:
    body = "\n".join(f"    v{i} = v{i - 1} + {i % 3}" for i in range(1, 80))
    g = graph_of(f"def big(v0):\n{body}\n    return v79\n", "big.py", "big")
    full = build_unit(g, g.functions[0], analyze_scopes(g))
    small = build_unit(g, g.functions[0], analyze_scopes(g), budget=200)
    assert full.meta["truncated"] is False and small.meta["truncated"] is True
    assert small.num_nodes <= 200 and small.num_function_nodes < full.num_function_nodes
    assert small.meta["function_nodes"] == full.num_function_nodes
    assert 0 < len(small.candidates) < len(full.candidates)
    check_consistent(small, {"big.py": g})
    assert all(r.target < small.num_nodes for c in small.candidates for r in c.repairs)


def test_units_for_file_and_builder_agree() -> None:
    g = graph_of(SOURCE)
    scopes = analyze_scopes(g)
    units = units_for_file(g, scopes)
    assert [u.function for u in units] == [*(f.qualname for f in g.functions), "mod"]  # then the module
    builder = ContextBuilder(g, scopes)
    again = builder.build(g.functions[2])
    assert again.src == units[2].src and again.node_type == units[2].node_type
    assert [(c.node, c.rule) for c in again.candidates] == [(c.node, c.rule) for c in units[2].candidates]


def test_callee_in_another_file_of_the_project(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "geometry.py").write_text(
        textwrap.dedent(
            """
            def scale(value, factor, offset=0):
                '''Scale value.'''
                result = value * factor
                return result + offset
            """
        )
    )
    (pkg / "app.py").write_text(
        textwrap.dedent(
            """
            from pkg.geometry import scale

            def run(width, ratio):
                return scale(width, ratio)
            """
        )
    )
    project = Project.from_files([pkg / "__init__.py", pkg / "geometry.py", pkg / "app.py"], root=tmp_path)
    app = str(pkg / "app.py")
    g = project.graph(app)
    assert g is not None
    unit = build_unit(g, function(g, "pkg.app.run"), analyze_scopes(g), project)
    geometry = str(pkg / "geometry.py")
    other = project.graph(geometry)
    assert other is not None
    assert unit.paths == [app, geometry]
    check_consistent(unit, {app: g, geometry: other})
    remote = [unit.node_text[u] or unit.node_type[u] for u, (pi, _) in enumerate(unit.origin) if pi == 1]
    assert remote[:3] == ["function_definition", "scale", "parameters"]
    assert {"value", "factor", "offset", "result"} <= set(remote)
    cross = {
        (unit.node_type[s], unit.node_text[d] or unit.node_type[d], EdgeKind(k).name)
        for s, d, k in zip(unit.src, unit.dst, unit.edge_kind)
        if unit.origin[s][0] == 0 and unit.origin[d][0] == 1
    }
    assert ("call", "function_definition", "CALLS") in cross
    assert ("identifier", "value", "FORMAL_ARG_NAME") in cross and (
        "identifier",
        "factor",
        "FORMAL_ARG_NAME",
    ) in cross
    swap = next(c for c in unit.candidates if c.rule == "CG002")
    assert unit.meta["evidence"][swap.node] == [(1, 2, 11)]  # geometry.py line 2, column 11: `value`

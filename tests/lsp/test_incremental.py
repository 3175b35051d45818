"""Function-level incremental analysis gives exactly what a full analysis gives, analysing less."""

from __future__ import annotations

import shlex
import sys
import textwrap
from pathlib import Path

import pytest
from fakes import FakePredictor

from codegraph.config import Settings
from codegraph.lsp import incremental
from codegraph.lsp.analysis import AnalysisService, Outcome, Snapshot
from codegraph.lsp.index import WorkspaceIndex
from codegraph.pipeline import Analyzer

sys.path.insert(0, str(Path(__file__).parents[2] / "benchmarks"))
from lsp_bench import benchmark_source

BASE = """import os

LIMIT = 10


def helper(x, y):
    return x - y


class Box:
    def __init__(self, width, height):
        self.width = width
        self.height = height

    def area(self, scale):
        s = "😀 wide"
        return self.width * self.height * scale


def main(a, b):
    if a < b and not a:
        return helper(a, b)
    return a + LIMIT
"""


def service(predictor: FakePredictor) -> AnalysisService:
    return AnalysisService(Settings(min_confidence=0), WorkspaceIndex(None), lambda s: predictor)


def run(svc: AnalysisService, text: str, version: int, previous: Outcome | None = None) -> Outcome:
    out = svc.analyze(Snapshot("file:///w/m.py", "/w/m.py", version, text), "utf-16", previous=previous)
    assert out is not None
    return out


EDITS = {
    "a body line changes": BASE.replace("return a + LIMIT", "return b + LIMIT"),
    "lines are inserted in a body above others": BASE.replace(
        "        self.height = height\n",
        "        self.height = height\n        self.depth = 0\n        self.tag = ''\n",
    ),
    "a callee's body changes": BASE.replace("return x - y", "return y - x"),
    "a body shrinks": BASE.replace('        s = "😀 wide"\n', ""),
}


@pytest.mark.parametrize("name", list(EDITS))
def test_incremental_equals_full(name: str) -> None:
    fake = FakePredictor()
    svc = service(fake)
    first = run(svc, BASE, 1)
    incr = run(svc, EDITS[name], 2, previous=first)
    full = run(service(FakePredictor()), EDITS[name], 2)
    assert incr.findings == full.findings
    assert incr.analysed < full.analysed  # fewer functions were analysed
    assert [d.range for d in incr.diagnostics] == [d.range for d in full.diagnostics]


def test_only_the_edited_function_and_its_callers_are_dirty() -> None:
    old = incremental.layout(BASE.encode())
    names = [f.name for f in old.functions]
    assert names == ["helper", "__init__", "area", "main"]
    new = incremental.layout(EDITS["a callee's body changes"].encode())
    plan = incremental.plan(old, new, [], "/w/m.py")
    assert plan is not None
    assert {names[i] for i in plan.dirty} == {"helper", "main"}  # main calls helper
    reduced = plan.reduced_source()
    assert len(reduced) == len(new.source) and reduced.count(b"\n") == new.source.count(b"\n")
    assert b"self.width * self.height" not in reduced  # area is neither dirty nor called: blanked
    assert b"return y - x" in reduced and b"return helper(a, b)" in reduced


@pytest.mark.parametrize(
    "edited",
    [
        BASE.replace("LIMIT = 10", "LIMIT = 11"),  # module level
        BASE.replace("def helper(x, y):", "def helper(x, y, z=0):"),  # a signature
        BASE.replace("    return x - y", "    return x -"),  # a syntax error
        BASE.replace("class Box:", "class Box(object):"),  # a class header
    ],
)
def test_anything_outside_bodies_means_a_full_analysis(edited: str) -> None:
    old, new = incremental.layout(BASE.encode()), incremental.layout(edited.encode())
    assert incremental.plan(old, new, [], "/w/m.py") is None


def test_an_unchanged_text_reuses_everything() -> None:
    fake = FakePredictor()
    svc = service(fake)
    first = run(svc, BASE, 1)
    seen = len(fake.seen)
    again = run(svc, BASE, 2, previous=first)
    assert again.findings == first.findings and again.analysed == 0 and len(fake.seen) == seen


def units(source: bytes, functions: set[str] | None = None) -> dict[str, tuple[object, ...]]:
    """What the model sees of each function: the unit's graph, and its candidates with their
    repairs as sets (the order of variable repairs follows graph node ids, which blanking shifts)."""
    analyzer = Analyzer(Settings())
    out: dict[str, tuple[object, ...]] = {}
    for u in analyzer.units(analyzer.prepare("/w/m.py", source), functions):
        candidates = [
            (c.node, c.rule, sorted((r.token, r.replacement, r.target) for r in c.repairs))
            for c in u.candidates
        ]
        out[u.function] = (u.node_type, u.node_text, u.node_kind, u.src, u.dst, u.edge_kind, candidates)
    return out


SOURCES = {
    "base": BASE,
    "benchmark": benchmark_source(120),
    "benchmark, far definitions": benchmark_source(300),  # more module-level functions than are kept
    **{f"{m.__name__} (stdlib)": Path(m.__file__).read_text(encoding="utf-8") for m in (textwrap, shlex)},
}


@pytest.mark.parametrize("source", list(SOURCES))
def test_dirty_functions_see_the_same_unit_in_the_reduced_text(source: str) -> None:
    text = SOURCES[source].encode()
    old = incremental.layout(text)
    for f in old.functions:
        # add a statement at the end of the function's body, indented like its first line
        indent = text[text.rfind(b"\n", 0, f.block_start) + 1 : f.block_start]
        edited = text[: f.block_end] + b"\n" + indent + f"unused_ = {f.name}_".encode() + text[f.block_end :]
        new = incremental.layout(edited)
        plan = incremental.plan(old, new, [], "/w/m.py")
        assert plan is not None, f.name
        reduced = plan.reduced_source()
        assert len(reduced) == len(edited) and reduced.count(b"\n") == edited.count(b"\n")
        graph = Analyzer(Settings()).build_graph("/w/m.py", reduced, None)
        dirty = {g.qualname for g in graph.functions if plan.is_dirty_byte(graph.start_byte[g.node])}
        assert dirty, f.name
        assert units(reduced, dirty) == units(edited, dirty), f.name
        module_level = sum(g.module_level for g in new.functions)
        if module_level > 2 * incremental.NEAR_DEFINITIONS + 2:  # far definitions are gone entirely
            assert reduced.count(b"\ndef ") < edited.count(b"\ndef "), f.name


def test_the_definitions_kept_near_a_dirty_function_cover_its_name_candidates() -> None:
    from codegraph.rules import cg001_variable_misuse

    assert incremental.NEAR_DEFINITIONS >= cg001_variable_misuse.MAX_NAME_REPAIRS

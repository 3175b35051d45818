"""Bug injection: every rewrite parses, its recorded fix restores the original exactly, distances are sane."""

from __future__ import annotations

import random
import textwrap
from collections import Counter
from pathlib import Path

import pytest

from codegraph.context import ContextBuilder, build_unit
from codegraph.graph import build_file_graph
from codegraph.models.training.rewrites import (
    InjectionError,
    Rewrite,
    choose_rewrite,
    inject,
    inject_many,
)
from codegraph.project import Project
from codegraph.rules import RULE_CODES, apply_repair
from codegraph.scope_analysis import analyze_scopes
from codegraph.syntax import parse
from codegraph.units import AnalysisUnit, Repair

STDLIB = Path(textwrap.__file__).parent

SNIPPET = """
OFFSET = 3

def area(width, height, scale=1):
    total = width * height
    if width > 0 and not height < 0:
        total += OFFSET
    result = clamp(total, scale)
    return result if result else -1

def clamp(value, limit):
    return value if value < limit else limit
"""


def unit_of(src: str, name: str = "area") -> tuple[bytes, AnalysisUnit]:
    source = textwrap.dedent(src).encode()
    g = build_file_graph(source, "snippet.py", "snippet")
    func = next(f for f in g.functions if f.qualname.endswith("." + name))
    return source, build_unit(g, func, analyze_scopes(g))


def check_round_trip(source: bytes, unit: AnalysisUnit, bug: int, fix: int) -> AnalysisUnit:
    cand, repair = unit.candidates[bug], unit.candidates[bug].repairs[fix]
    result = inject(source, unit, bug, fix)
    buggy = result.buggy_source
    assert buggy == apply_repair(source, repair) and buggy != source
    assert not parse(buggy).root_node.has_error
    out = result.unit
    assert out.bug >= 0 and out.fix >= 0
    assert (
        out.candidates[out.bug] is result.bug_location
        and out.candidates[out.bug].repairs[out.fix] is result.fix
    )
    assert result.fix.rule == cand.rule == out.meta["rule"] and out.meta["rewrite"] == repair.token
    assert apply_repair(buggy, result.fix) == source  # the recorded fix restores the original exactly
    return out


@pytest.mark.parametrize("rule", RULE_CODES)
def test_each_rule_round_trips(rule: str) -> None:
    source, unit = unit_of(SNIPPET)
    picks = [
        (ci, ri) for ci, c in enumerate(unit.candidates) if c.rule == rule for ri in range(len(c.repairs))
    ]
    assert picks, rule
    for ci, ri in picks:
        check_round_trip(source, unit, ci, ri)


def test_injected_variable_misuse_and_its_distances() -> None:
    source, unit = unit_of(SNIPPET)
    ci = next(
        i for i, c in enumerate(unit.candidates) if c.rule == "CG001" and unit.node_text[c.node] == "height"
    )
    ri = next(i for i, r in enumerate(unit.candidates[ci].repairs) if r.replacement == "scale")
    out = check_round_trip(source, unit, ci, ri)
    assert b"total = width * scale" in inject(source, unit, ci, ri).buggy_source
    assert out.candidates[out.bug].repairs[out.fix].replacement == "height"
    # evidence: the parameter `height` one line above and its later use
    assert out.meta["lines"] == 1 and out.meta["hops"] >= 1
    assert out.meta["function_nodes"] == out.num_function_nodes


def test_swapped_arguments_evidence_is_the_callee_parameter() -> None:
    source, unit = unit_of(SNIPPET)
    ci = next(i for i, c in enumerate(unit.candidates) if c.rule == "CG002")
    out = check_round_trip(source, unit, ci, 0)
    assert b"clamp(scale, total)" in inject(source, unit, ci, 0).buggy_source
    assert out.meta["hops"] == 1  # argument -> parameter (FORMAL_ARG_NAME)
    assert out.meta["lines"] == 3  # `def clamp(value, limit)` is three lines below the call


def test_unusable_rewrites_are_rejected() -> None:
    source, unit = unit_of(SNIPPET)
    ci = next(i for i, c in enumerate(unit.candidates) if c.rule == "CG003")
    cand = unit.candidates[ci]
    first = cand.repairs[0]
    cand.repairs.append(Repair(cand.rule, "op:?", ") (", first.start_byte, first.end_byte))
    with pytest.raises(InjectionError, match="does not parse"):
        inject(source, unit, ci, len(cand.repairs) - 1)
    # `*` -> `<<` parses, but `<<` is never offered `*` back: no recorded fix, no sample
    cand.repairs.append(Repair(cand.rule, "op:<<", "<<", first.start_byte, first.end_byte))
    with pytest.raises(InjectionError, match="inverse"):
        inject(source, unit, ci, len(cand.repairs) - 1)


def test_choose_rewrite_is_seeded_and_uniform_over_present_rules() -> None:
    _, unit = unit_of(SNIPPET)
    picks = [choose_rewrite(random.Random(s), unit.candidates) for s in range(2000)]
    assert picks[:50] == [choose_rewrite(random.Random(s), unit.candidates) for s in range(50)]
    rules = Counter(unit.candidates[p[0]].rule for p in picks if p is not None)
    present = {c.rule for c in unit.candidates}
    assert set(rules) == present
    assert max(rules.values()) < 1.35 * min(rules.values())  # about 2000 / len(present) each
    assert choose_rewrite(random.Random(0), []) is None


def test_many_rewrites_of_one_file_at_once() -> None:
    source = textwrap.dedent(SNIPPET).encode()
    g = build_file_graph(source, "snippet.py", "snippet")
    builder = ContextBuilder(g, analyze_scopes(g))
    units = [builder.build(f) for f in g.functions]
    rewrites = []
    for unit in units:
        ci = next(i for i, c in enumerate(unit.candidates) if c.rule == "CG003" or c.rule == "CG004")
        rewrites.append(Rewrite(unit, unit.candidates[ci], unit.candidates[ci].repairs[0]))
    results = inject_many(source, "snippet.py", rewrites, module="snippet")
    assert all(not isinstance(r, str) for r in results)
    buggy = results[0].buggy_source  # type: ignore[union-attr]
    assert all(r.buggy_source == buggy for r in results)  # type: ignore[union-attr]
    restored = buggy
    for r in sorted(results, key=lambda r: -r.fix.start_byte):  # type: ignore[union-attr]
        restored = apply_repair(restored, r.fix)  # type: ignore[union-attr]
    assert restored == source


def test_cross_file_context_survives_injection(tmp_path: Path) -> None:
    (tmp_path / "geometry.py").write_text("def scale(value, factor):\n    return value * factor\n")
    (tmp_path / "app.py").write_text(
        "from geometry import scale\n\ndef run(width, ratio):\n    return scale(width, ratio)\n"
    )
    project = Project.from_files([tmp_path / "geometry.py", tmp_path / "app.py"], root=tmp_path)
    app = str(tmp_path / "app.py")
    g = project.graph(app)
    assert g is not None
    unit = build_unit(g, g.functions[0], analyze_scopes(g), project)
    ci = next(i for i, c in enumerate(unit.candidates) if c.rule == "CG002")
    result = inject(g.source, unit, ci, 0, project=project, package="demo")
    out = result.unit
    assert b"scale(ratio, width)" in result.buggy_source
    assert out.paths == [app, str(tmp_path / "geometry.py")]
    assert out.meta["package"] == "demo" and out.meta["hops"] == 1 and out.meta["lines"] == -1  # other file
    assert project.graph(app) is g  # the project itself is not changed


@pytest.mark.parametrize("module", ["textwrap.py", "shlex.py", "fnmatch.py", "colorsys.py"])
def test_random_rewrites_of_stdlib_files_round_trip(module: str) -> None:
    """Property-style: two sampled rewrites per function; nearly all are accepted, all accepted round-trip."""
    source = (STDLIB / module).read_bytes()
    g = build_file_graph(source, module, module[:-3])
    builder = ContextBuilder(g, analyze_scopes(g))
    units = [u for u in (builder.build(f) for f in g.functions) if u.candidates]
    rng = random.Random(module)
    accepted = rejected = 0
    for unit in units * 2:
        pick = choose_rewrite(rng, unit.candidates)
        assert pick is not None
        try:
            result = inject(source, unit, *pick)
        except InjectionError:
            rejected += 1
            continue
        accepted += 1
        assert not parse(result.buggy_source).root_node.has_error
        assert apply_repair(result.buggy_source, result.fix) == source
        assert result.unit.function == unit.function and result.unit.meta["rule"] == result.fix.rule
    assert accepted >= 8
    assert rejected <= max(1, accepted // 30)

"""Each rule's fixture, tests/rules/fixtures/<CODE>.py: the candidates its comments announce.

A line ending in ``# expect: A -> B`` holds a candidate of the fixture's rule whose
location reads ``A`` and which offers the repair ``B``; applying that repair and
enumerating again finds the inverse repair (what bug injection relies on; not for repairs
that only fix, such as a typo's, whose inverse is an extra injection). A line
ending in ``# no-candidate`` holds no candidate of the rule.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from codegraph.graph import build_file_graph
from codegraph.rules import ALL_RULES, RULES_BY_CODE, apply_repair, find_candidates, find_injections
from codegraph.schema import CodeGraph
from codegraph.scope_analysis import analyze_scopes
from codegraph.units import Candidate

FIXTURES = Path(__file__).parent / "fixtures"
_EXPECT = re.compile(r"#\s*expect:\s*(?P<current>.+?)\s+->\s+(?P<replacement>.+?)\s*$")


def _candidates(source: bytes, rule: str) -> tuple[CodeGraph, list[Candidate]]:
    g = build_file_graph(source, "fixture.py", "fixture")
    scopes = analyze_scopes(g)
    return g, [c for f in g.functions for c in find_candidates(g, f, scopes, [rule])]


def test_every_rule_has_a_fixture_and_every_fixture_a_rule() -> None:
    assert sorted(p.stem for p in FIXTURES.glob("*.py")) == sorted(r.code for r in ALL_RULES)


@pytest.mark.parametrize("code", [r.code for r in ALL_RULES])
def test_fixture_candidates(code: str) -> None:
    source = (FIXTURES / f"{code}.py").read_bytes()
    g, cands = _candidates(source, code)
    rule = RULES_BY_CODE[code]
    assert cands, f"{code}: no candidates in its fixture"
    assert {r.token for c in cands for r in c.repairs} <= set(rule.repair_tokens)
    by_line: dict[int, list[Candidate]] = {}
    for c in cands:
        by_line.setdefault(g.start_point[c.node][0] + 1, []).append(c)
    checked = 0
    for lineno, line in enumerate(source.decode().splitlines(), 1):
        if line.rstrip().endswith("# no-candidate"):
            assert lineno not in by_line, f"{code}.py:{lineno}: unexpected candidate"
            continue
        m = _EXPECT.search(line)
        if m is None:
            continue
        current, replacement = m["current"], m["replacement"]
        here = [c for c in by_line.get(lineno, []) if g.node_source(c.node) == current]
        assert here, f"{code}.py:{lineno}: no candidate at {current!r}"
        repairs = [r for c in here for r in c.repairs if r.replacement == replacement]
        assert repairs, f"{code}.py:{lineno}: {current!r} offers no repair {replacement!r}"
        checked += 1
        if repairs[0].token in rule.fix_only_tokens:
            continue  # fixes only (a typo's): its inverse is an injection, checked below
        buggy = apply_repair(source, repairs[0])
        _, again = _candidates(buggy, code)
        assert any(apply_repair(buggy, r) == source for c in again for r in c.repairs), (
            f"{code}.py:{lineno}: the inverse of {current!r} -> {replacement!r} is not enumerated"
        )
    assert checked, f"{code}: its fixture announces no candidate"


@pytest.mark.parametrize("code", [r.code for r in ALL_RULES])
def test_every_extra_injection_of_the_fixture_is_fixed_by_a_candidate(code: str) -> None:
    """An injection beyond the candidates, applied, leaves a program whose candidates undo it."""
    source = (FIXTURES / f"{code}.py").read_bytes()
    g = build_file_graph(source, "fixture.py", "fixture")
    scopes = analyze_scopes(g)
    for f in g.functions:
        for cand in find_injections(g, f, scopes, [code]):
            assert cand.rule == code and cand.repairs
            for r in cand.repairs:
                buggy = apply_repair(source, r)
                _, again = _candidates(buggy, code)
                assert any(apply_repair(buggy, x) == source for c in again for x in c.repairs), r

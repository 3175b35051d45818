"""Evaluation breakdowns computed from the unit tensors: the swapped-argument evidence classes."""

from __future__ import annotations

import textwrap

import pytest

from codegraph.context import build_unit
from codegraph.graph import build_file_graph
from codegraph.models.tensorize import Vocabulary, collate, tensorize
from codegraph.models.training import evaluate
from codegraph.models.training.rewrites import inject
from codegraph.scopes import analyze_scopes
from codegraph.units import AnalysisUnit

SOURCE = textwrap.dedent(
    """
    def clamp(value, limit):
        return value if value < limit else limit

    def area(width, height, value, limit):
        a = clamp(value, limit)
        b = clamp(width, height)
        c = combine(width, height)
        d = value + limit
        return a + b + c + d
    """
).encode()


def unit_of(source: bytes) -> AnalysisUnit:
    g = build_file_graph(source, "snippet.py", "snippet")
    func = next(f for f in g.functions if f.qualname.endswith(".area"))
    return build_unit(g, func, analyze_scopes(g))


def swapped(call: bytes) -> AnalysisUnit:
    """The unit of ``area`` with the arguments of ``call`` swapped (the bug and its fix recorded)."""
    unit = unit_of(SOURCE)
    lo = SOURCE.index(call)
    hi = lo + len(call)
    ci = next(
        i
        for i, c in enumerate(unit.candidates)
        if c.rule == "CG002" and c.repairs and lo <= c.repairs[0].start_byte < hi
    )
    return inject(SOURCE, unit, ci, 0).unit


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        (b"a = clamp(value, limit)", evaluate.SWAP_NAMES_DECIDE),
        (b"b = clamp(width, height)", evaluate.SWAP_NAMES_SILENT),
        (b"c = combine(width, height)", evaluate.SWAP_NO_SIGNATURE),
    ],
)
def test_swap_evidence_classes(call: bytes, expected: int) -> None:
    buggy = swapped(call)
    clean = unit_of(SOURCE)
    vocab = Vocabulary.build([buggy, clean])
    batch = collate([tensorize(clean, vocab), tensorize(buggy, vocab), tensorize(clean, vocab)])
    none = evaluate.SWAP_NOT_CG002
    assert evaluate.swap_evidence(batch).tolist() == [none, expected, none]


def test_other_rules_are_not_classed() -> None:
    unit = unit_of(SOURCE)
    ci = next(i for i, c in enumerate(unit.candidates) if c.rule == "CG003" and c.repairs)
    buggy = inject(SOURCE, unit, ci, 0).unit
    batch = collate([tensorize(buggy, Vocabulary.build([buggy]))])
    assert evaluate.swap_evidence(batch).tolist() == [evaluate.SWAP_NOT_CG002]

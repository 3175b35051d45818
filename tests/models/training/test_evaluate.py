"""Evaluation breakdowns computed from the unit tensors: swapped-argument evidence, assignment directions."""

from __future__ import annotations

import textwrap

import pytest

from codegraph.context import build_unit
from codegraph.graph import build_file_graph
from codegraph.models.tensorize import Vocabulary, tensorize
from codegraph.models.tensors import collate
from codegraph.models.training import metrics
from codegraph.models.training.rewrites import inject
from codegraph.scope_analysis import analyze_scopes
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
        (b"a = clamp(value, limit)", metrics.SWAP_NAMES_DECIDE),
        (b"b = clamp(width, height)", metrics.SWAP_NAMES_SILENT),
        (b"c = combine(width, height)", metrics.SWAP_NO_SIGNATURE),
    ],
)
def test_swap_evidence_classes(call: bytes, expected: int) -> None:
    buggy = swapped(call)
    clean = unit_of(SOURCE)
    vocab = Vocabulary.build([buggy, clean])
    batch = collate([tensorize(clean, vocab), tensorize(buggy, vocab), tensorize(clean, vocab)])
    none = metrics.SWAP_NOT_CG002
    assert metrics.swap_evidence(batch).tolist() == [none, expected, none]


def test_other_rules_are_not_classed() -> None:
    unit = unit_of(SOURCE)
    ci = next(i for i, c in enumerate(unit.candidates) if c.rule == "CG003" and c.repairs)
    buggy = inject(SOURCE, unit, ci, 0).unit
    batch = collate([tensorize(buggy, Vocabulary.build([buggy]))])
    assert metrics.swap_evidence(batch).tolist() == [metrics.SWAP_NOT_CG002]


ASSIGNMENTS = textwrap.dedent(
    """
    def area(width, height):
        total = width
        total += height
        total |= 1
        return total
    """
).encode()


@pytest.mark.parametrize(
    ("operator", "replacement", "expected"),
    [
        (b"total = width", "+=", metrics.ASSIGN_AUGMENTED),  # the bug: `total += width`
        (b"total += height", "=", metrics.ASSIGN_PLAIN),  # the bug: `total = height`
        (b"total += height", "-=", metrics.ASSIGN_SWAPPED),
        (b"total |= 1", "&=", metrics.ASSIGN_SWAPPED),
    ],
)
def test_assign_direction_classes(operator: bytes, replacement: str, expected: int) -> None:
    unit = unit_of(ASSIGNMENTS)
    at = ASSIGNMENTS.index(operator)
    ci, ri = next(
        (i, j)
        for i, c in enumerate(unit.candidates)
        if c.rule == "CG008"
        for j, r in enumerate(c.repairs)
        if at <= r.start_byte < at + len(operator) and r.replacement == replacement
    )
    buggy = inject(ASSIGNMENTS, unit, ci, ri).unit
    vocab = Vocabulary.build([buggy, unit])
    batch = collate([tensorize(unit, vocab), tensorize(buggy, vocab)])
    ids = metrics.assignment_ids(vocab)
    assert metrics.assign_direction(batch, ids).tolist() == [metrics.ASSIGN_NOT_CG008, expected]
    assert metrics.assign_direction(batch, None).tolist() == [metrics.ASSIGN_NOT_CG008] * 2

"""Per-file work grows linearly with the file: counted operations, not timings (the suite runs on
busy machines). A file of small functions, and one four times as long."""

from __future__ import annotations

import re

import pytest

from codegraph import pipeline
from codegraph.config import Settings
from codegraph.pipeline import Analyzer
from codegraph.rules import cg001_variable_misuse
from codegraph.scopes import ScopeInfo

MODULE_VARIABLES = "".join(f"LIMIT_{i} = {i}\n" for i in range(40))


def small_functions(count: int) -> bytes:
    return (
        MODULE_VARIABLES
        + "".join(
            f"def f{i}(a, b):\n    c = a + b + LIMIT_{i % 40}\n    if c > {i % 5}:\n"
            f"        return f{(i + 1) % count}(c, b)\n    return c\n\n"
            for i in range(count)
        )
    ).encode()


def _count_calls(monkeypatch: pytest.MonkeyPatch, owner: object, name: str) -> list[int]:
    calls = [0]
    original = getattr(owner, name)

    def counting(*args, **kwargs):
        calls[0] += 1
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, counting)
    return calls


def test_variable_candidates_look_at_a_bounded_number_of_symbols_per_function(monkeypatch) -> None:
    calls = _count_calls(monkeypatch, cg001_variable_misuse, "is_variable")
    visible = _count_calls(monkeypatch, ScopeInfo, "visible_symbols")
    work = []
    units = []
    for count in (150, 600):
        calls[0] = 0
        analyzer = Analyzer(Settings())
        units.append(analyzer.units(analyzer.prepare("m.py", small_functions(count))))
        work.append(calls[0])
    # the functions, then the module-level code as one unit more
    assert len(units[1]) - 1 == 4 * (len(units[0]) - 1)
    # linear: 4x the functions, about 4x the symbols looked at (it was 16x: every function went
    # through every module-level name); visible_symbols copies the whole module scope per call
    assert work[1] < 5 * work[0], work
    assert visible[0] == 0


def test_finding_positions_do_not_count_from_the_start_of_the_file(monkeypatch) -> None:
    source = small_functions(400)
    counted: list[int] = []
    real_count = bytes.count

    class Source(bytes):
        def count(self, sub, start=None, end=None):  # type: ignore[override]
            lo = 0 if start is None else start
            hi = len(self) if end is None else end
            counted.append(hi - lo)
            return real_count(self, sub, lo, hi)

    positions = [pipeline._position(Source(source), m.start()) for m in re.finditer(rb"return", source)]
    assert positions[0] == (source[: source.index(b"return")].count(b"\n") + 1, 9)
    assert len(positions) == 800
    assert sum(counted) <= len(source)  # the bytes scanned for line breaks: at most the file, once


def test_unit_assembly_allocates_per_file_not_per_unit(monkeypatch) -> None:
    import numpy as np

    from codegraph import context

    allocated = [0]
    real_full = np.full

    def counting_full(shape, *args, **kwargs):
        allocated[0] += int(np.prod(shape))
        return real_full(shape, *args, **kwargs)

    monkeypatch.setattr(context.np, "full", counting_full)
    analyzer = Analyzer(Settings())
    prepared = analyzer.prepare("m.py", small_functions(300))
    units = analyzer.units(prepared)
    assert len(units) == 300 + 1 and prepared.graph is not None  # the functions and the module
    assert allocated[0] <= prepared.graph.num_nodes  # one node map for the file (it was one per unit)

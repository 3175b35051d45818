"""The per-function prediction cache: unchanged functions never reach the model again."""

from __future__ import annotations

from dataclasses import dataclass, replace

import pytest

from codegraph.lsp.cache import PredictionCache, Superseded
from codegraph.units import AnalysisUnit, Candidate, Repair


@dataclass
class Pred:
    p_no_bug: float
    loc_probs: list[float]
    rep_probs: list[list[float]]


class CountingPredictor:
    name = "fake"
    sha256 = "0" * 64

    def __init__(self) -> None:
        self.seen: list[str] = []

    def predict(self, units: list[AnalysisUnit]) -> list[Pred]:
        self.seen += [u.function for u in units]
        return [Pred(0.5, [1.0] * len(u.candidates), [[1.0]] * len(u.candidates)) for u in units]


def unit(name: str, body: str = "a", offset: int = 0) -> AnalysisUnit:
    rep = Repair("CG001", "var", "b", 10 + offset, 11 + offset, target=1)
    return AnalysisUnit(
        path="m.py", function=name, node_type=["function_definition", "identifier"],
        node_text=["", body], node_kind=[0, 1], src=[0], dst=[1], edge_kind=[0],
        origin=[(0, 5 + offset), (0, 6 + offset)], paths=["m.py"], num_function_nodes=2,
        candidates=[Candidate(1, "CG001", [rep])],
    )  # fmt: skip


def test_only_changed_functions_reach_the_model() -> None:
    inner = CountingPredictor()
    cache = PredictionCache(inner, budget=1500)
    cache.predict([unit("f"), unit("g"), unit("h")])
    assert inner.seen == ["f", "g", "h"]
    # g's text changed, f and h moved down by 40 bytes (lines inserted above): only g is predicted
    preds = cache.predict([unit("f", offset=40), unit("g", body="c"), unit("h", offset=40)])
    assert inner.seen[3:] == ["g"]
    assert len(preds) == 3
    assert cache.stats() == {"hits": 2, "misses": 4, "entries": 4}


def test_context_changes_invalidate() -> None:
    inner = CountingPredictor()
    cache = PredictionCache(inner, budget=1500)
    u = unit("f")
    cache.predict([u])
    cache.predict([replace(u, node_text=["", "a", "param"], node_type=[*u.node_type, "identifier"])])
    assert inner.seen == ["f", "f"]


def test_lru_is_bounded() -> None:
    cache = PredictionCache(CountingPredictor(), budget=1500, max_entries=2)
    cache.predict([unit("f"), unit("g"), unit("h")])
    assert len(cache) == 2


def test_superseded_work_stops_before_the_model() -> None:
    inner = CountingPredictor()
    cache = PredictionCache(inner, budget=1500)
    cache.is_cancelled = lambda: True
    with pytest.raises(Superseded):
        cache.predict([unit("f")])
    assert inner.seen == []

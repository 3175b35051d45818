"""A deterministic stand-in for the model: scores depend only on what a unit contains.

Two units with the same content get the same prediction, and a change anywhere in a
unit (the function or its context) changes it, like a real model's; it needs no torch.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from codegraph.units import AnalysisUnit


@dataclass
class FakePrediction:
    p_no_bug: float
    loc_probs: list[float]
    rep_probs: list[list[float]]


def _score(*parts: object) -> float:
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=4).digest()
    return (int.from_bytes(digest, "big") % 1000 + 1) / 1001


@dataclass
class FakePredictor:
    """Implements codegraph.pipeline.Predictor; records which functions it saw."""

    name: str = "fake"
    sha256: str = "f" * 64
    seen: list[str] = field(default_factory=list)

    def predict(self, units: list[AnalysisUnit]) -> list[FakePrediction]:
        out = []
        for u in units:
            self.seen.append(u.function)
            content = (tuple(u.node_type), tuple(u.node_text), tuple(u.src), tuple(u.dst))
            loc = [_score(content, ci) for ci in range(len(u.candidates))]
            total = sum(loc) + 0.5
            reps = []
            for ci, c in enumerate(u.candidates):
                r = [_score(content, ci, rep.token, rep.replacement) for rep in c.repairs]
                reps.append([x / sum(r) for x in r])
            out.append(FakePrediction(0.5 / total, [x / total for x in loc], reps))
        return out

"""A test double for the detector shared by CLI tests: it picks the candidate to flag."""

from __future__ import annotations

from types import SimpleNamespace


class FirstOf:
    """Each unit's first candidate of ``rule`` (else its first candidate), first repair, at ``confidence``."""

    name, sha256 = "fixed", "f" * 64

    def __init__(self, rule: str = "CG001", confidence: float = 0.98) -> None:
        self.rule, self.confidence = rule, confidence
        self.units_seen: list[str] = []

    def predict(self, units):
        out = []
        for u in units:
            self.units_seen.append(u.function)
            loc = [0.0] * len(u.candidates)
            best = next((i for i, c in enumerate(u.candidates) if c.rule == self.rule), 0)
            if loc:
                loc[best] = self.confidence
            reps = [[1.0] + [0.0] * (len(c.repairs) - 1) for c in u.candidates]
            out.append(SimpleNamespace(p_no_bug=1 - self.confidence, loc_probs=loc, rep_probs=reps))
        return out

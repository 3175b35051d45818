"""Per-function prediction cache: after an edit only functions whose text or context changed hit the model.

The cache wraps a predictor and is itself a predictor (``codegraph.pipeline.Predictor``),
so the pipeline runs unchanged: graph, units and findings are rebuilt for the whole
file (cheap, and positions move when lines are inserted above a function), while the
model, the expensive part, only sees the units it has not seen before.

A unit's key hashes everything the model reads from it: the function's graph nodes
and their text, the context graph nodes (enclosing class, module definitions it
reads, callees in other files), the edges and the candidate repairs, plus the
model's sha256 and the node budget. Byte offsets and line numbers are left out, so
moving a function does not invalidate it.
"""

from __future__ import annotations

import hashlib
from array import array
from collections import OrderedDict
from collections.abc import Callable, Sequence

from codegraph.pipeline import Prediction, Predictor, missing_rules
from codegraph.units import AnalysisUnit

#: units per model call, so that superseded work can be abandoned between batches
BATCH = 32


class Superseded(Exception):
    """The analysis was abandoned: a newer version of the document (or new settings) arrived."""


def _never() -> bool:
    return False


def unit_key(unit: AnalysisUnit, model: str, budget: int) -> bytes:
    """A digest of what the model sees of ``unit`` (function text + context), the model and the budget."""
    h = hashlib.blake2b(digest_size=20)
    h.update(f"{model}\0{budget}\0{unit.function}\0{unit.num_function_nodes}\0".encode())
    # NUL cannot occur in analysed source (syntax.check_source rejects it), so it separates safely
    h.update("\0".join(unit.node_type).encode("utf-8", "surrogatepass"))
    h.update(b"\1")
    h.update("\0".join(unit.node_text).encode("utf-8", "surrogatepass"))
    for seq in (unit.node_kind, unit.src, unit.dst, unit.edge_kind):
        h.update(b"\1")
        h.update(array("q", (int(v) for v in seq)).tobytes())
    for cand in unit.candidates:
        h.update(f"\2{cand.node}\0{cand.rule}".encode())
        for rep in cand.repairs:
            h.update(f"\3{rep.rule}\0{rep.token}\0{rep.replacement}\0{rep.target}".encode())
    return h.digest()


class PredictionCache:
    """A caching :class:`~codegraph.pipeline.Predictor`: LRU over unit keys, abandonable between batches."""

    def __init__(self, predictor: Predictor, budget: int, max_entries: int = 50_000) -> None:
        self.inner = predictor
        self.budget = budget
        self.max_entries = max_entries
        self._entries: OrderedDict[bytes, Prediction] = OrderedDict()
        #: set by the caller for one analysis; checked before every model call
        self.is_cancelled: Callable[[], bool] = _never
        self.hits = 0
        self.misses = 0

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def sha256(self) -> str:
        return self.inner.sha256

    @property
    def missing_rules(self) -> frozenset[str]:
        return missing_rules(self.inner)

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        self._entries.clear()

    def stats(self) -> dict[str, int]:
        return {"hits": self.hits, "misses": self.misses, "entries": len(self._entries)}

    def predict(self, units: list[AnalysisUnit]) -> list[Prediction]:
        """Cached predictions for known units; the model runs on the rest, in batches."""
        keys = [unit_key(u, self.inner.sha256, self.budget) for u in units]
        out: list[Prediction | None] = [None] * len(units)
        todo: list[int] = []
        for i, key in enumerate(keys):
            hit = self._entries.get(key)
            if hit is None:
                todo.append(i)
            else:
                self._entries.move_to_end(key)
                out[i] = hit
        self.hits += len(units) - len(todo)
        self.misses += len(todo)
        for start in range(0, len(todo), BATCH):
            if self.is_cancelled():
                raise Superseded
            batch = todo[start : start + BATCH]
            for i, pred in zip(batch, self.inner.predict([units[i] for i in batch]), strict=True):
                out[i] = pred
                self._store(keys[i], pred)
        return _complete(out)

    def _store(self, key: bytes, pred: Prediction) -> None:
        self._entries[key] = pred
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)


def _complete(out: Sequence[Prediction | None]) -> list[Prediction]:
    missing = [i for i, p in enumerate(out) if p is None]
    if missing:
        raise RuntimeError(f"the model returned no prediction for units {missing[:5]}")
    return [p for p in out if p is not None]

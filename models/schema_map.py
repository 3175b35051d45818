"""What a checkpoint was trained with against what this code produces: rules and edge kinds.

A model's rule embeddings and edge-type embeddings are sized by the rules and edge
kinds it was trained with, which its config records (``ModelConfig.rules``,
``ModelConfig.edge_kinds``, in the checkpoint's sidecar). This code may know more: a
rule or an edge kind added since. :class:`SchemaMap` translates this code's ids into
the model's when the model input is made (:meth:`SchemaMap.model_input`, numpy, for the
runtime model and the torch model alike): candidates of a rule the model lacks are left
out (:attr:`SchemaMap.missing_rules` says which; their probabilities are 0), edges of a
kind it lacks are dropped before the shortcut edges and positional encodings are
computed from the rest, and the remaining rule and edge-type ids are renumbered into
the model's order. When the model was trained with exactly this code's rules and edge
kinds the map is the identity and nothing is touched.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

import numpy as np

from codegraph.models.tensorize import (
    NUM_BASE_EDGE_TYPES,
    NUM_EDGE_KINDS,
    NUM_EDGE_TYPES_WITH_NAMES,
    UnitArrays,
    Vocabulary,
    tensorize,
)
from codegraph.rules import RULE_CODES
from codegraph.schema import EdgeKind
from codegraph.units import AnalysisUnit

#: every edge kind of this code, by name, in id (embedding) order
EDGE_KIND_NAMES: tuple[str, ...] = tuple(k.name for k in sorted(EdgeKind))

__all__ = ["EDGE_KIND_NAMES", "SchemaMap", "check_names"]


def check_names(what: str, names: Sequence[str]) -> tuple[str, ...]:
    """``names`` as a tuple; ValueError when empty, not strings, or repeated."""
    out = tuple(names)
    if not out or not all(isinstance(n, str) and n for n in out):
        raise ValueError(f"model.{what} must be a non-empty list of names")
    if len(set(out)) != len(out):
        raise ValueError(f"model.{what} lists a name twice")
    return out


def _edge_type_map(model_kinds: tuple[str, ...]) -> np.ndarray:
    """This code's edge type id -> the model's, or -1 for an edge kind the model lacks.

    A forward edge of kind k has type k, its reverse k + (number of kinds); the shortcut and
    name edge types follow (see :mod:`codegraph.models.tensorize`), in either id space.
    """
    index = {name: i for i, name in enumerate(model_kinds)}
    forward = [index.get(name, -1) for name in EDGE_KIND_NAMES]
    reverse = [i + len(model_kinds) if i >= 0 else -1 for i in forward]
    extra = range(NUM_EDGE_TYPES_WITH_NAMES - NUM_BASE_EDGE_TYPES)  # shortcut and name edge types
    assert len(forward) == NUM_EDGE_KINDS and 2 * len(forward) == NUM_BASE_EDGE_TYPES
    return np.array(forward + reverse + [2 * len(model_kinds) + s for s in extra], dtype=np.int64)


class SchemaMap:
    """This code's rule and edge-type ids -> a model's (see the module docstring)."""

    def __init__(self, rules: Sequence[str], edge_kinds: Sequence[str]) -> None:
        self.rules = tuple(rules)
        self.edge_kinds = tuple(edge_kinds)
        #: this code's rules that the model was not trained with (left off)
        self.missing_rules = tuple(r for r in RULE_CODES if r not in self.rules)
        #: this code's rules that the model scores
        self.scored_rules = tuple(r for r in RULE_CODES if r in self.rules)
        #: this code's edge kinds that the model was not trained with (their edges are dropped)
        self.missing_edge_kinds = tuple(k for k in EDGE_KIND_NAMES if k not in self.edge_kinds)
        self.identity = self.rules == RULE_CODES and self.edge_kinds == EDGE_KIND_NAMES
        model_rule = {code: i for i, code in enumerate(self.rules)}
        self.rule_ids = np.array([model_rule.get(code, -1) for code in RULE_CODES], dtype=np.int64)
        self.edge_types = _edge_type_map(self.edge_kinds)
        self._scored = frozenset(self.scored_rules)

    def scored(self, unit: AnalysisUnit) -> AnalysisUnit:
        """``unit`` with only the candidates of rules the model scores (``unit`` itself if all are)."""
        if all(c.rule in self._scored for c in unit.candidates):
            return unit
        kept = [c for c in unit.candidates if c.rule in self._scored]
        return replace(unit, candidates=kept, bug=-1, fix=-1)

    def drop_edges(self, arrays: UnitArrays) -> UnitArrays:
        """``arrays`` (tensorised by this code) without the edges of kinds the model lacks."""
        if not self.missing_edge_kinds:
            return arrays
        keep = self.edge_types[arrays.edge_type] >= 0
        out = arrays.copy()
        out.edge_index, out.edge_type = arrays.edge_index[:, keep], arrays.edge_type[keep]
        return out

    def renumber(self, arrays: UnitArrays) -> UnitArrays:
        """``arrays`` (edges dropped, shortcut and name edges added) in the model's rule and
        edge-type ids; every candidate must be of a rule the model scores (see :meth:`scored`)."""
        if self.identity:
            return arrays
        rule = self.rule_ids[arrays.cand_rule]
        if (rule < 0).any():
            raise ValueError("a candidate of a rule the model was not trained with reached the model")
        out = arrays.copy()
        out.cand_rule = rule
        out.edge_type = self.edge_types[arrays.edge_type]
        out.rule_id = np.where(arrays.rule_id >= 0, self.rule_ids[np.maximum(arrays.rule_id, 0)], -1)
        return out

    def model_input(
        self, unit: AnalysisUnit, vocab: Vocabulary, transform: Callable[[UnitArrays], UnitArrays]
    ) -> UnitArrays:
        """The model input of a unit whose candidates the model all scores: tensorize, drop the
        edges the model does not know, ``transform`` (shortcuts, encodings), renumber."""
        return self.renumber(transform(self.drop_edges(tensorize(unit, vocab))))

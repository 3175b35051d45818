"""NAME_MATCH edges: exact edges for a swapped call, none for correct calls, and the model that reads them."""

from __future__ import annotations

import textwrap

import numpy as np
import torch

from codegraph.context import build_unit
from codegraph.graph import build_file_graph
from codegraph.models.detector import build_model
from codegraph.models.encodings import AddNameEdges, build_transform
from codegraph.models.model import ModelConfig, feature_transform
from codegraph.models.tensorize import (
    NAME_MATCH,
    NAME_MATCH_REV,
    NUM_EDGE_TYPES,
    NUM_EDGE_TYPES_WITH_NAMES,
    Vocabulary,
    tensorize,
)
from codegraph.models.tensors import collate
from codegraph.scope_analysis import analyze_scopes
from codegraph.units import AnalysisUnit

CALLEE = """
def clamp(value, limit):
    return value if value < limit else limit

"""


def unit_of(body: str) -> AnalysisUnit:
    source = (CALLEE + textwrap.dedent(body)).encode()
    g = build_file_graph(source, "snippet.py", "snippet")
    func = next(f for f in g.functions if f.qualname.endswith(".caller"))
    return build_unit(g, func, analyze_scopes(g))


def name_edges(unit: AnalysisUnit) -> list[tuple[str, str, str]]:
    """(source name, destination name, which) of each name edge, ``which`` saying whether the
    source is an argument of ``caller`` ("arg") or a parameter of ``clamp`` ("param")."""
    data = AddNameEdges()(tensorize(unit, Vocabulary.build([unit])))
    fn = set(np.flatnonzero(data.fn_mask).tolist())
    out = []
    for (s, d), t in zip(data.edge_index.T.tolist(), data.edge_type.tolist()):
        if t in (NAME_MATCH, NAME_MATCH_REV):
            which = "arg" if s in fn else "param"
            assert (t == NAME_MATCH) == (which == "arg")
            out.append((unit.node_text[s], unit.node_text[d], which))
    return sorted(out)


def test_a_swapped_call_joins_each_argument_to_the_parameter_named_like_it() -> None:
    unit = unit_of("def caller(value, limit):\n    return clamp(limit, value)\n")
    assert name_edges(unit) == [
        ("limit", "limit", "arg"),
        ("limit", "limit", "param"),
        ("value", "value", "arg"),
        ("value", "value", "param"),
    ]


def test_correct_and_unrelated_calls_get_none() -> None:
    assert name_edges(unit_of("def caller(value, limit):\n    return clamp(value, limit)\n")) == []
    assert name_edges(unit_of("def caller(width, height):\n    return clamp(height, width)\n")) == []
    # `limit` binds `value` in the first call; the parameter `limit` is bound in the second
    # call only, and arguments of different calls are never joined
    body = "def caller(value, limit):\n    return clamp(limit) + clamp(1, 2)\n"
    assert name_edges(unit_of(body)) == []
    body = "def caller(value, limit):\n    return clamp(limit, 0)\n"
    assert name_edges(unit_of(body)) == [("limit", "limit", "arg"), ("limit", "limit", "param")]


def test_idempotent_and_off_by_default() -> None:
    unit = unit_of("def caller(value, limit):\n    return clamp(limit, value)\n")
    data = tensorize(unit, Vocabulary.build([unit]))
    once = AddNameEdges()(data)
    twice = AddNameEdges()(once)
    assert np.array_equal(once.edge_index, twice.edge_index)
    assert np.array_equal(once.edge_type, twice.edge_type)
    plain = build_transform()(data)
    assert not bool((plain.edge_type >= NAME_MATCH).any())
    assert ModelConfig().num_edge_types == NUM_EDGE_TYPES
    assert ModelConfig(name_edges=True).num_edge_types == NUM_EDGE_TYPES_WITH_NAMES


def test_a_model_with_name_edges_reads_them() -> None:
    unit = unit_of("def caller(value, limit):\n    return clamp(limit, value)\n")
    vocab = Vocabulary.build([unit])
    torch.manual_seed(0)
    for kind in ("transformer", "baseline"):
        config = ModelConfig(kind=kind, hidden=16, layers=2, heads=2, name_edges=True).with_vocab(vocab)
        model = build_model(config).eval()
        with_names = feature_transform(config)(tensorize(unit, vocab))
        without = build_transform(rw_k=config.rw_dim, lap_k=config.lap_dim)(tensorize(unit, vocab))
        assert int((with_names.edge_type == NAME_MATCH).sum()) == 2
        with torch.no_grad():
            a, b = model(collate([with_names])), model(collate([without]))
        assert not torch.allclose(a.loc, b.loc), kind  # the edges change what the model computes

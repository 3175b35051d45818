"""AnalysisUnit -> arrays: vocabulary, fields, batching with -1 sentinels (numpy and PyG), shard files."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch_geometric.data import Batch

from codegraph.models.tensorize import (
    NUM_EDGE_KINDS,
    PAD_ID,
    RULE_INDEX,
    UNK_ID,
    Vocabulary,
    batch_arrays,
    split_subtokens,
    tensorize,
)
from codegraph.models.tensors import collate, compact, load_shard, restore_sentinels, save_shard, to_data
from codegraph.schema import EdgeKind
from codegraph.units import Candidate, Repair

sys.path.insert(0, str(Path(__file__).parent))
from toy_units import toy_unit, toy_vocab


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("snake_case_name", ["snake", "case", "name"]),
        ("getHTTPResponse2", ["get", "http", "response", "2"]),
        ("__init__", ["init"]),
        ("MAX_SIZE", ["max", "size"]),
        ("x", ["x"]),
        ("+", []),
        ("größe", ["größe"]),
    ],
)
def test_split_subtokens(text: str, parts: list[str]) -> None:
    assert split_subtokens(text) == parts


def test_vocabulary_build_lookup_and_round_trip(tmp_path) -> None:
    unit = toy_unit()
    vocab = Vocabulary.build([unit, unit], max_subtokens=3)
    assert vocab.node_types[:3] == ["<pad>", "<unk>", "<virtual>"]
    assert "identifier" in vocab.node_types
    assert len(vocab.subtokens) == 2 + 3  # specials + top 3
    assert vocab.subtokens[2] == "a"  # the most frequent identifier of the toy function
    assert vocab.node_type_id("no_such_type") == UNK_ID
    assert vocab.subtoken_ids("a_zzz") == [vocab.subtokens.index("a"), UNK_ID, PAD_ID, PAD_ID]
    assert set(vocab.repair_tokens[2:]) == {"var", "op:-", "op:*", "cmp:<=", "cmp:>"}
    path = tmp_path / "vocab.json"
    vocab.save(path)
    again = Vocabulary.load(path)
    assert again == vocab and again.fingerprint() == vocab.fingerprint()
    assert json.loads(path.read_text())["format"] == "codegraph-vocabulary"


def test_tensorize_fields() -> None:
    unit = toy_unit(bug=2, fix=1, hops=5, lines=2)
    vocab = toy_vocab()
    d = tensorize(unit, vocab)
    n, e = unit.num_nodes, len(unit.src)
    assert d.num_nodes == n
    assert d.x_type.shape == (n,) and d.x_sub.shape == (n, 4)
    assert d.x_type[0] == vocab.node_type_id("function_definition")
    # both directions; reverse edges carry kind + NUM_EDGE_KINDS
    assert d.edge_index.shape == (2, 2 * e)
    assert np.array_equal(d.edge_index[:, e:], d.edge_index[:, :e][::-1])
    assert np.array_equal(d.edge_type[e:], d.edge_type[:e] + NUM_EDGE_KINDS)
    assert int(d.fn_mask.sum()) == unit.num_function_nodes and bool(d.fn_mask[0])
    assert np.flatnonzero(d.fn_root).tolist() == [0, unit.num_function_nodes]
    assert d.cand_node.tolist() == [c.node for c in unit.candidates]
    assert d.cand_rule.tolist() == [RULE_INDEX[c.rule] for c in unit.candidates]
    assert d.rep_cand.tolist() == [0, 0, 1, 1, 2, 2, 3, 3]
    assert d.rep_target.tolist() == [r.target for c in unit.candidates for r in c.repairs]
    assert d.rep_token[2] == vocab.repair_token_id("op:-")
    assert d.y_loc.tolist() == [2] and d.y_rep.tolist() == [5]  # repairs of candidate 2 start at 4
    assert d.rule_id.tolist() == [RULE_INDEX["CG001"]]
    assert d.hops.tolist() == [5] and d.lines.tolist() == [2]
    clean = tensorize(toy_unit(), vocab)
    assert clean.y_loc.tolist() == [-1] and clean.y_rep.tolist() == [-1] and clean.rule_id.tolist() == [-1]


def test_tensorize_rejects_inconsistent_units() -> None:
    vocab = toy_vocab()
    unit = toy_unit()
    unit.src[0] = unit.num_nodes  # dangling edge
    with pytest.raises(ValueError, match="edge endpoint"):
        tensorize(unit, vocab)
    unit = toy_unit(bug=9)
    with pytest.raises(ValueError, match="bug index"):
        tensorize(unit, vocab)
    unit = toy_unit()
    unit.candidates.append(Candidate(0, "CG999", [Repair("CG999", "x", "y", 0, 1)]))
    with pytest.raises(ValueError, match="unknown rule"):
        tensorize(unit, vocab)


def test_batching_offsets_and_sentinels() -> None:
    vocab = toy_vocab()
    units = [toy_unit(), toy_unit(bug=3, fix=1), toy_unit(bug=0, fix=-1), toy_unit(bug=1, fix=0)]
    data = [tensorize(u, vocab) for u in units]
    n = data[0].num_nodes
    c, r = data[0].cand_node.size, data[0].rep_cand.size
    batch = collate(data)
    assert batch.num_graphs == 4 and batch.num_nodes == 4 * n
    assert batch.cand_node.tolist() == [node + g * n for g in range(4) for node in data[0].cand_node.tolist()]
    assert batch.cand_graph.tolist() == [g for g in range(4) for _ in range(c)]
    assert batch.rep_cand.tolist() == [cand + g * c for g in range(4) for cand in data[0].rep_cand.tolist()]
    targets = data[0].rep_target.tolist()
    assert batch.rep_target.tolist() == [t + g * n if t >= 0 else -1 for g in range(4) for t in targets]
    assert batch.y_loc.tolist() == [-1, c + 3, 2 * c + 0, 3 * c + 1]
    assert batch.y_rep.tolist() == [-1, r + 7, -1, 3 * r + 2]
    assert batch.rule_id.tolist() == [-1, RULE_INDEX["CG004"], RULE_INDEX["CG001"], RULE_INDEX["CG003"]]
    # plain PyG batching shifts -1s; restore_sentinels brings them back and is idempotent
    plain = Batch.from_data_list([to_data(d) for d in data])
    assert plain.y_loc.tolist()[0] == -1 and plain.y_loc.tolist()[2] != 0  # shifted
    fixed = restore_sentinels(plain)
    assert fixed is not plain and plain.y_rep.tolist()[2] != -1  # input untouched
    for key in ("rep_target", "y_loc", "y_rep"):
        assert torch.equal(fixed[key], batch[key])
        assert torch.equal(restore_sentinels(fixed)[key], batch[key])


def test_numpy_batching_equals_pyg_batching() -> None:
    from codegraph.models.encodings import build_transform

    vocab = toy_vocab()
    tf = build_transform(rw_k=4, lap_k=3, name_edges=True)
    units = [toy_unit(), toy_unit(bug=3, fix=1), toy_unit(bug=0, fix=-1), toy_unit(bug=1, fix=0)]
    empty = toy_unit()
    empty.candidates = []
    data = [tf(tensorize(u, vocab)) for u in [*units, empty]]
    mine, theirs = batch_arrays(data), collate(data)
    assert mine.num_nodes == theirs.num_nodes
    for key in theirs.keys():  # noqa: SIM118 (Batch is not a dict)
        if isinstance(theirs[key], torch.Tensor):
            assert np.array_equal(mine[key], theirs[key].numpy()), key
    with pytest.raises(ValueError, match="zero units"):
        batch_arrays([])


def test_compact_units_batch_like_the_originals() -> None:
    from codegraph.models.encodings import build_transform

    vocab = toy_vocab()
    tf = build_transform(rw_k=4, lap_k=3)
    data = [tf(tensorize(u, vocab)) for u in (toy_unit(), toy_unit(bug=3, fix=1), toy_unit(bug=0, fix=-1))]
    small = [compact(d) for d in data]
    assert small[0].edge_index.dtype == torch.int32 and small[0].rw_pe.dtype == torch.float16
    assert data[0].edge_index.dtype == np.int64  # the input is untouched
    wide, narrow = collate(data), collate(small)
    assert set(wide.keys()) == set(narrow.keys())
    for key in wide.keys():  # noqa: SIM118 (Batch is not a dict)
        a, b = wide[key], narrow[key]
        if isinstance(a, torch.Tensor):
            assert a.dtype == b.dtype, key
            if a.is_floating_point():
                assert torch.allclose(a, b, atol=1e-3), key
            else:
                assert torch.equal(a, b), key


def test_units_without_candidates_batch() -> None:
    vocab = toy_vocab()
    empty = toy_unit()
    empty.candidates = []
    batch = collate([tensorize(empty, vocab), tensorize(toy_unit(bug=1, fix=1), vocab)])
    assert batch.cand_graph.tolist() == [1, 1, 1, 1]
    assert batch.y_loc.tolist() == [-1, 1] and batch.y_rep.tolist() == [-1, 3]


def test_shard_round_trip_is_weights_only(tmp_path) -> None:
    vocab = toy_vocab()
    data = [tensorize(toy_unit(bug=b, fix=0 if b >= 0 else -1), vocab) for b in (-1, 0, 1, 2)]
    data[1].note = "kept"  # plain scalars survive too
    for d in data[::2]:
        d.note = "x"
    data[3].note = "y"
    path = tmp_path / "s.pt"
    save_shard(data, path)
    raw = torch.load(path, weights_only=True)  # no pickle of arbitrary objects
    assert raw["format"] == "codegraph-unitdata" and raw["count"] == 4
    assert raw["tensors"]["edge_index"].dtype == torch.int32  # stored compactly ...
    back = load_shard(path)
    assert [d.note for d in back] == ["x", "kept", "x", "y"]
    assert (
        back[0].edge_index.dtype == torch.long and back[0].fn_mask.dtype == torch.bool
    )  # ... loaded as made
    for a, b in zip(data, back):
        assert a.num_nodes == b.num_nodes
        for key in a.keys():  # noqa: SIM118
            if key != "num_nodes" and isinstance(a[key], np.ndarray):
                assert np.array_equal(a[key], b[key].numpy()), key


def test_save_shard_rejects_mixed_attributes(tmp_path) -> None:
    vocab = toy_vocab()
    a, b = tensorize(toy_unit(), vocab), tensorize(toy_unit(), vocab)
    b.extra = np.zeros(1)
    with pytest.raises(ValueError, match="attributes"):
        save_shard([a, b], tmp_path / "bad.pt")


def test_edge_kinds_are_the_schema() -> None:
    assert NUM_EDGE_KINDS == len(EdgeKind) == 11

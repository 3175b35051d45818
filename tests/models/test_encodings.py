"""Positional encodings and shortcut edges: exact values, node-order invariance, no mutation, caching."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from codegraph.models.encodings import (
    AddShortcuts,
    LaplacianPE,
    RandomWalkPE,
    RemoveShortcuts,
    base_adjacency,
    build_transform,
    canonical_signs,
)
from codegraph.models.tensorize import (
    DEF_USE,
    FROM_VIRTUAL,
    NUM_BASE_EDGE_TYPES,
    TO_VIRTUAL,
    USE_DEF,
    VIRTUAL_ID,
    UnitArrays,
    tensorize,
)
from codegraph.schema import EdgeKind

sys.path.insert(0, str(Path(__file__).parent))
from toy_units import toy_unit, toy_vocab


def graph(n: int, edges: list[tuple[int, int]], seed_types: int = 0) -> UnitArrays:
    """Bare arrays over ``n`` graph nodes with NEXT_TOKEN edges in both directions."""
    src = np.array([s for s, _ in edges], dtype=np.int64)
    dst = np.array([d for _, d in edges], dtype=np.int64)
    kind = np.full(len(edges), int(EdgeKind.NEXT_TOKEN), dtype=np.int64)
    return UnitArrays(
        n,
        x_type=np.arange(n) % 7 + seed_types,
        edge_index=np.stack([np.concatenate([src, dst]), np.concatenate([dst, src])]),
        edge_type=np.concatenate([kind, kind + len(EdgeKind)]),
    )


def random_graph(n: int, extra: int, seed: int) -> list[tuple[int, int]]:
    rng = np.random.default_rng(seed)
    edges = [(int(rng.integers(0, i)), i) for i in range(1, n)]  # a random tree: connected
    edges += [tuple(int(v) for v in rng.choice(n, 2, replace=False)) for _ in range(extra)]
    return edges  # type: ignore[return-value]


def permuted(d: UnitArrays, perm: np.ndarray) -> UnitArrays:
    """The same graph with old graph node i renamed perm[i]."""
    out = graph(int(d.num_nodes), [])
    out.edge_index = perm[d.edge_index]
    out.edge_type = d.edge_type.copy()
    inv = np.empty_like(perm)
    inv[perm] = np.arange(perm.size)
    out.x_type = d.x_type[inv]
    return out


def test_random_walk_pe_matches_dense_powers() -> None:
    d = graph(12, random_graph(12, 6, seed=1))
    pe = RandomWalkPE(k=6)(d).rw_pe
    a = base_adjacency(d).toarray()
    p = a / a.sum(1, keepdims=True)
    m = np.eye(12)
    for i in range(6):
        m = m @ p
        assert np.allclose(pe[:, i], np.diag(m), atol=1e-6)
    assert np.all(pe[:, 0] == 0)  # no self loops: a walk cannot stay put in one step
    big = graph(400, random_graph(400, 150, seed=2))  # the sparse path
    pe = RandomWalkPE(k=16)(big).rw_pe
    a = base_adjacency(big).toarray()
    p = a / a.sum(1, keepdims=True)
    m = np.eye(400)
    for i in range(16):
        m = m @ p
        assert np.allclose(pe[:, i], np.diag(m), atol=1e-6), i


def test_laplacian_pe_are_eigenvectors_with_canonical_sign() -> None:
    n, k = 40, 6
    d = graph(n, random_graph(n, 25, seed=3))
    pe = LaplacianPE(k=k)(d).lap_pe.astype(np.float64)
    a = base_adjacency(d).toarray()
    dinv = 1 / np.sqrt(a.sum(1))
    lap = np.eye(n) - dinv[:, None] * a * dinv[None, :]
    vals = np.linalg.eigvalsh(lap)
    for j in range(k):
        v = pe[:, j]
        # the (j+1)-th eigenvector: the trivial first one is skipped
        assert np.allclose(lap @ v, vals[j + 1] * v, atol=1e-4)
        assert np.isclose(np.linalg.norm(v), 1.0, atol=1e-4)
        assert v[np.argmax(np.abs(v))] > 0  # canonical sign


def test_laplacian_pe_sparse_solver_agrees_with_dense() -> None:
    n = 400  # above the dense threshold: shift-invert eigsh
    d = graph(n, random_graph(n, 300, seed=4))
    pe = LaplacianPE(k=4)(d).lap_pe.astype(np.float64)
    a = base_adjacency(d).toarray()
    dinv = 1 / np.sqrt(a.sum(1))
    vals, vecs = np.linalg.eigh(np.eye(n) - dinv[:, None] * a * dinv[None, :])
    assert np.min(np.diff(vals[:6])) > 1e-6  # distinct eigenvalues: eigenvectors unique up to sign
    assert np.allclose(pe, canonical_signs(vecs[:, 1:5]), atol=1e-4)


@pytest.mark.parametrize("transform", [RandomWalkPE(k=8), LaplacianPE(k=5)], ids=["rw", "lap"])
def test_encodings_are_invariant_to_node_order(transform) -> None:
    n = 30
    d = graph(n, random_graph(n, 15, seed=5))
    perm = np.random.default_rng(6).permutation(n)
    pe = transform(d)[transform.attr]
    pe_perm = transform(permuted(d, perm))[transform.attr]
    # graph node i of d is graph node perm[i] of the permuted graph: same encoding, sign included
    assert np.allclose(pe_perm[perm], pe, atol=1e-5)


def test_small_graphs_are_padded() -> None:
    d = graph(3, [(0, 1), (1, 2)])
    lap = LaplacianPE(k=8)(d).lap_pe
    assert lap.shape == (3, 8)
    assert np.all(lap[:, 2:] == 0) and np.all(np.abs(lap[:, :2]).sum(0) > 0)
    single = graph(1, [])
    assert np.all(LaplacianPE(k=4)(single).lap_pe == 0)
    assert np.all(RandomWalkPE(k=4)(single).rw_pe == 0)


def test_transforms_return_new_objects_and_cache() -> None:
    d = tensorize(toy_unit(), toy_vocab())
    before = {k: v.copy() for k, v in d.items() if isinstance(v, np.ndarray)}
    keys = set(d.keys())
    rw = RandomWalkPE(k=4)
    out = build_transform(shortcuts=True, rw_k=4, lap_k=3)(d)
    assert out is not d and set(d.keys()) == keys  # the input is untouched
    for k, v in before.items():
        assert np.array_equal(d[k], v), k
    assert out.rw_pe.shape == (out.num_nodes, 4) and out.lap_pe.shape == (out.num_nodes, 3)
    first = rw(d).rw_pe
    assert len(rw._cache) == 1
    again = rw(d).rw_pe
    assert len(rw._cache) == 1 and np.array_equal(first, again)


def test_add_shortcuts() -> None:
    unit = toy_unit()
    d = tensorize(unit, toy_vocab())
    out = AddShortcuts()(d)
    n = unit.num_nodes
    assert out.num_nodes == n + 2  # one virtual node for f, one for the context function g
    assert out.virtual_mask.tolist() == [False] * n + [True, True]
    assert out.x_type[n:].tolist() == [VIRTUAL_ID, VIRTUAL_ID]
    assert np.all(out.x_sub[n:] == 0)
    new = out.edge_type >= NUM_BASE_EDGE_TYPES
    ei, et = out.edge_index[:, new], out.edge_type[new]
    # f's virtual node is linked both ways to exactly f's own graph nodes, g's to g's subtree
    into_f = ei[0, (et == TO_VIRTUAL) & (ei[1] == n)]
    assert sorted(into_f.tolist()) == list(range(unit.num_function_nodes))
    from_g = ei[1, (et == FROM_VIRTUAL) & (ei[0] == n + 1)]
    assert sorted(from_g.tolist()) == list(range(unit.num_function_nodes, n))
    # `a` occurs 3 times in f (parameter, read, read): first -> third is a new DEF_USE edge
    a_nodes = [i for i in range(n) if unit.node_text[i] == "a"]
    pairs = {(s, t) for s, t in ei[:, et == DEF_USE].T.tolist()}
    assert (a_nodes[0], a_nodes[2]) in pairs
    assert (a_nodes[0], a_nodes[1]) not in pairs  # chain neighbours: already an OCCURRENCE edge
    assert {(t, s) for s, t in pairs} == {tuple(p) for p in ei[:, et == USE_DEF].T.tolist()}
    # positional encodings ignore virtual nodes and shortcut edges
    lap = LaplacianPE(k=3)
    assert np.allclose(lap(out).lap_pe[:n], lap(d).lap_pe)
    assert np.all(lap(out).lap_pe[n:] == 0)
    back = RemoveShortcuts()(out)
    assert back.num_nodes == n and np.array_equal(back.edge_index, d.edge_index)
    assert "virtual_mask" not in back and "virtual_mask" in out
    assert AddShortcuts()(out).num_nodes == n + 2  # idempotent


def test_function_scope_and_stored_encodings() -> None:
    d = tensorize(toy_unit(), toy_vocab())
    n_fn = int(d.fn_mask.sum())
    fn_only = RandomWalkPE(k=4)(d).rw_pe
    whole = RandomWalkPE(k=4, scope="unit")(d).rw_pe
    assert np.all(fn_only[n_fn:] == 0) and np.all(whole[n_fn:].sum(1) > 0)
    # an encoding already stored with the other scope is recomputed, one with the same scope kept
    stored = RandomWalkPE(k=4)(d)
    assert RandomWalkPE(k=4)(stored).rw_pe is stored.rw_pe
    assert np.array_equal(RandomWalkPE(k=4, scope="unit")(stored).rw_pe, whole)
    with pytest.raises(ValueError, match="scope"):
        RandomWalkPE(k=4, scope="module")

"""Layers: attention only along edges, per-destination softmax, relation biases, the local layers."""

from __future__ import annotations

import pytest
import torch

from codegraph.models.layers.gated_graph_conv import GatedGraphConv
from codegraph.models.layers.gps_layer import GPSLayer
from codegraph.models.layers.relational_attention import (
    EdgeCSR,
    RelationalAttention,
    RelationalTransformerLayer,
)

DIM, HEADS, TYPES = 16, 4, 5


def chain(n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Edges i -> i+1 (type 0) and i+1 -> i (type 1)."""
    fwd = torch.stack([torch.arange(n - 1), torch.arange(1, n)])
    edge_index = torch.cat([fwd, fwd.flip(0)], 1)
    edge_type = torch.cat([torch.zeros(n - 1, dtype=torch.long), torch.ones(n - 1, dtype=torch.long)])
    return edge_index, edge_type


LAYERS = {
    "attention": lambda: RelationalTransformerLayer(DIM, HEADS, TYPES, dropout=0.0),
    "gps": lambda: GPSLayer(DIM, HEADS, TYPES, dropout=0.0),
    "ggnn": lambda: GatedGraphConv(DIM, TYPES),
}


@pytest.mark.parametrize("name", list(LAYERS))
def test_one_layer_sees_only_graph_neighbours(name: str) -> None:
    torch.manual_seed(0)
    layer = LAYERS[name]().eval()
    n = 8
    edge_index, edge_type = chain(n)
    x = torch.randn(n, DIM)
    out = layer(x, edge_index, edge_type)
    far = x.clone()
    far[6] += 5 * torch.randn(DIM)  # node 6 is not adjacent to node 2
    out_far = layer(far, edge_index, edge_type)
    assert torch.allclose(out_far[:5], out[:5], atol=1e-6)  # nodes 0..4 have no edge from 6
    assert not torch.allclose(out_far[5], out[5])  # node 5 does (6 -> 5)
    assert not torch.allclose(out_far[7], out[7])


def test_attention_softmax_is_per_destination_and_relational() -> None:
    torch.manual_seed(0)
    attn = RelationalAttention(DIM, HEADS, TYPES).eval()
    with torch.no_grad():
        attn.qkv.weight.zero_()  # uniform attention, values = bias only
        attn.qkv.bias.zero_()
        attn.qkv.bias[2 * DIM :] = 1.0  # every value vector is all ones
        attn.out.weight.copy_(torch.eye(DIM))
        attn.out.bias.zero_()
        attn.rel_value.weight.zero_()
    # node 0 has 3 incoming edges, node 1 one, node 2 none
    edge_index = torch.tensor([[1, 2, 3, 0], [0, 0, 0, 1]])
    edge_type = torch.tensor([0, 0, 1, 0])
    out = attn(torch.randn(4, DIM), edge_index, edge_type)
    ones, zeros = torch.ones(DIM), torch.zeros(DIM)
    assert torch.allclose(out[0], ones) and torch.allclose(out[1], ones)  # the weights sum to 1
    assert torch.allclose(out[2], zeros) and torch.allclose(out[3], zeros)  # no incoming edges
    # an edge-type value bias moves only the nodes that receive that edge type
    with torch.no_grad():
        attn.rel_value.weight[1] = 3.0
    out2 = attn(torch.randn(4, DIM), edge_index, edge_type)
    assert torch.allclose(out2[0], torch.full((DIM,), 2.0))  # 1 + 3 * (1/3 of the attention on type 1)
    assert torch.allclose(out2[1], torch.ones(DIM))
    # a score bias per edge type shifts attention between types
    with torch.no_grad():
        attn.rel_value.weight.zero_()
        attn.rel_value.weight[1] = 3.0
        attn.rel_bias.weight[1] = 50.0
    out3 = attn(torch.randn(4, DIM), edge_index, edge_type)
    assert torch.allclose(out3[0], torch.full((DIM,), 4.0), atol=1e-4)


def test_attention_cost_is_linear_in_edges() -> None:
    """50k graph nodes: dense N x N attention scores would need ~40 GB; the sparse layer needs megabytes."""
    torch.manual_seed(0)
    n = 50_000
    layer = RelationalTransformerLayer(8, 2, TYPES, dropout=0.0).eval()
    edge_index, edge_type = chain(n)
    with torch.inference_mode():
        out = layer(torch.randn(n, 8), edge_index, edge_type)
    assert out.shape == (n, 8) and torch.isfinite(out).all()


@pytest.mark.parametrize("name", list(LAYERS))
def test_reset_parameters_and_gradients(name: str) -> None:
    torch.manual_seed(0)
    layer = LAYERS[name]()
    edge_index, edge_type = chain(6)
    x = torch.randn(6, DIM)
    layer(x, edge_index, edge_type).sum().backward()
    assert all(p.grad is not None for p in layer.parameters())
    before = [p.detach().clone() for p in layer.parameters()]
    torch.manual_seed(1)
    layer.reset_parameters()
    assert any(not torch.equal(a, p) for a, p in zip(before, layer.parameters()))


def test_inference_path_computes_the_training_paths_function() -> None:
    """The sorted-edge (CSR) path used without gradients gives the gather/scatter path's output,
    on a random multigraph with duplicate edges, self loops and graph nodes without incoming edges."""
    torch.manual_seed(0)
    n, e = 40, 300
    edge_index = torch.randint(0, n - 5, (2, e))  # graph nodes 35..39 receive nothing
    edge_index[:, :3] = torch.tensor([[4, 4, 7], [4, 9, 9]])  # a self loop, then 4 -> 9 twice
    edge_index[:, 3] = torch.tensor([4, 9])
    edge_type = torch.randint(0, TYPES, (e,))
    x = torch.randn(n, DIM)
    layer = RelationalTransformerLayer(DIM, HEADS, TYPES, dropout=0.0).eval()
    with torch.no_grad():
        for emb in (layer.attn.rel_key, layer.attn.rel_value, layer.attn.rel_bias):
            emb.weight.normal_()
    csr = EdgeCSR.build(edge_index, edge_type, n)
    assert csr.crow[-1] == e and torch.all(csr.counts[35:] == 0)
    reference = layer(x, edge_index, edge_type)  # gradients enabled: the training path
    with torch.inference_mode():
        fast = layer(x, edge_index, edge_type, csr=csr)
    assert torch.allclose(fast, reference, atol=1e-5)
    attn_ref = layer.attn(x, edge_index, edge_type)
    with torch.no_grad():
        attn_fast = layer.attn(x, edge_index, edge_type, csr=csr)
    assert torch.allclose(attn_fast[35:], layer.attn.out.bias.expand(5, DIM))  # zero update, then W_O
    assert torch.allclose(attn_fast, attn_ref, atol=1e-5)


@pytest.mark.parametrize("name", list(LAYERS))
def test_restricted_rows_give_the_full_layers_rows(name: str) -> None:
    """forward_rows on the edges into a subset of graph nodes, with the sources renumbered,
    equals the full layer's output at those graph nodes."""
    torch.manual_seed(0)
    n, e = 40, 300
    edge_index = torch.randint(0, n - 5, (2, e))
    edge_type = torch.randint(0, TYPES, (e,))
    x = torch.randn(n, DIM)
    layer = LAYERS[name]().eval()
    csr = EdgeCSR.build(edge_index, edge_type, n)
    rows_mask = torch.zeros(n, dtype=torch.bool)
    rows_mask[[3, 9, 17, 36]] = True  # 36 has no incoming edge
    cols_mask = csr.sources_of(rows_mask)
    expected_cols = rows_mask.clone()
    expected_cols[edge_index[0, rows_mask[edge_index[1]]]] = True
    assert torch.equal(cols_mask, expected_cols) and int(cols_mask.sum()) < n
    cols = cols_mask.nonzero().flatten()
    col_of = torch.full((n,), -1, dtype=torch.long)
    col_of[cols] = torch.arange(cols.numel())
    rows = rows_mask.nonzero().flatten()
    sub = csr.restrict(rows, col_of)
    assert sub.num_rows == 4 and sub.num_cols == cols.numel()
    assert int(sub.crow[-1]) == int(rows_mask[edge_index[1]].sum())
    with torch.no_grad():
        full = layer(x, edge_index, edge_type)
        part = layer.forward_rows(x[cols], sub, col_of[rows])
    assert torch.allclose(part, full[rows], atol=1e-5)


def test_ggnn_step_is_the_documented_update_rule() -> None:
    """h_i' = GRUCell(mean_{j -> i} (sum_b c_tb V_b h_j + beta_t), h_i), edge by edge."""
    torch.manual_seed(3)
    layer = GatedGraphConv(DIM, TYPES)
    nn_init = torch.nn.init
    nn_init.normal_(layer.type_bias.weight)  # non-zero biases, so they are checked too
    n, e = 7, 20
    x = torch.randn(n, DIM)
    edge_index = torch.randint(0, n - 1, (2, e))  # node n - 1 has no incoming edge
    edge_type = torch.tensor([t % 3 for t in range(e)])  # types 3 and 4 unused
    m = torch.zeros(n, DIM)
    deg = torch.zeros(n)
    with torch.no_grad():
        for k in range(e):
            j, i, t = int(edge_index[0, k]), int(edge_index[1, k]), int(edge_type[k])
            w = sum(layer.coefficients[t, b] * layer.bases[b] for b in range(layer.num_bases))
            m[i] += x[j] @ w + layer.type_bias.weight[t]
            deg[i] += 1
        m = m / deg.clamp(min=1).unsqueeze(1)
        expected = layer.gru(m, x)
        got = layer(x, edge_index, edge_type)
    assert torch.allclose(got, expected, atol=1e-5)
    assert torch.equal(m[n - 1], torch.zeros(DIM))


def test_ggnn_step_without_edges_is_a_gru_of_zero_messages() -> None:
    torch.manual_seed(4)
    layer = GatedGraphConv(DIM, TYPES)
    x = torch.randn(3, DIM)
    empty = torch.zeros(2, 0, dtype=torch.long)
    got = layer(x, empty, torch.zeros(0, dtype=torch.long))
    assert torch.allclose(got, layer.gru(torch.zeros(3, DIM), x))

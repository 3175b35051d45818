"""Relation-aware sparse multi-head attention over typed edges, and its transformer block.

Paper: Hellendoorn et al., "Global Relational Models of Source Code" (GREAT, ICLR
2020), which biases transformer attention with the program graph's edge types, in
the relation-aware form of Shaw et al., "Self-Attention with Relative Position
Representations" (2018). Unlike GREAT, scores exist only on the graph's edges, so
one layer costs O(E) instead of O(N^2).

Update rule, per head, for an edge j -> i of type t (r^K_t, r^V_t learned vectors,
b_t a learned scalar, all per head):

    e_ij  = q_i . (k_j + r^K_t) / sqrt(d) + b_t
    a_ij  = softmax over the incoming edges of i of e_ij
    out_i = W_O concat_heads( sum_j a_ij (v_j + r^V_t) )

The block is pre-LayerNorm (Xiong et al., 2020):
    x = x + Dropout(Attn(LN(x)));   x = x + Dropout(FFN(LN(x))).
A graph node with no incoming edges receives a zero attention update.

Two implementations of the same function: the training one gathers per-edge tensors
and scatters them back (autograd everywhere); the inference one (no gradients, no
attention dropout) takes the edges sorted by destination (:class:`EdgeCSR`, built once
per forward pass) and computes scores with a sampled dense-dense product and the
aggregation with a sparse-dense product per head, which on a CPU is about twice as
fast and never materialises an [E, dim] tensor.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.utils import scatter, softmax

from codegraph.models.layers.edge_csr import EdgeCSR
from codegraph.models.layers.feed_forward import FeedForward


class RelationalAttention(nn.Module):
    """Multi-head attention restricted to edges, with per-edge-type key/value/score biases."""

    def __init__(self, dim: int, heads: int, num_edge_types: int, dropout: float = 0.0) -> None:
        super().__init__()
        if dim % heads:
            raise ValueError(f"dim {dim} is not divisible by heads {heads}")
        self.dim, self.heads, self.head_dim = dim, heads, dim // heads
        self.num_edge_types = num_edge_types
        self.dropout = dropout
        self.qkv = nn.Linear(dim, 3 * dim)
        self.rel_key = nn.Embedding(num_edge_types, dim)
        self.rel_value = nn.Embedding(num_edge_types, dim)
        self.rel_bias = nn.Embedding(num_edge_types, heads)
        self.out = nn.Linear(dim, dim)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.xavier_uniform_(self.qkv.weight)
        nn.init.zeros_(self.qkv.bias)
        nn.init.normal_(self.rel_key.weight, std=0.02)
        nn.init.normal_(self.rel_value.weight, std=0.02)
        nn.init.zeros_(self.rel_bias.weight)
        nn.init.xavier_uniform_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(
        self,
        x: Tensor,
        edge_index: Tensor,
        edge_type: Tensor,
        batch: Tensor | None = None,
        csr: EdgeCSR | None = None,
    ) -> Tensor:
        """Attention update of every graph node; ``csr`` (the same edges) enables the inference path."""
        if csr is not None and self._inference():
            return self._forward_csr(x, csr)
        return self._forward_edges(x, edge_index[0], edge_index[1], edge_type)

    def forward_rows(self, x: Tensor, csr: EdgeCSR, rows: Tensor) -> Tensor:
        """Attention update of the destinations of ``csr`` only (the rows ``rows`` of ``x``,
        which holds the sources); differentiable while training, the CSR path otherwise."""
        if self._inference():
            return self._forward_csr(x, csr, rows)
        return self._forward_edges(x, csr.src, csr.dst, csr.edge_type, rows)

    def _inference(self) -> bool:
        return not torch.is_grad_enabled() and not (self.training and self.dropout > 0)

    def _forward_edges(
        self, x: Tensor, src: Tensor, dst: Tensor, edge_type: Tensor, rows: Tensor | None = None
    ) -> Tensor:
        """The gather / scatter form (autograd everywhere): destinations ``dst`` index ``rows``
        (default: every row of ``x``), sources ``src`` index the rows of ``x``."""
        h, d, t = self.heads, self.head_dim, self.num_edge_types
        q, k, v = (z.contiguous() for z in self.qkv(x).view(x.size(0), 3, h, d).unbind(1))
        if rows is not None:
            q = q.index_select(0, rows)
        n = q.size(0)
        # q_i . r^K_t for every node and edge type, then one gather per edge: avoids an [E, dim] bias tensor
        q_rel = torch.einsum("nhd,thd->nth", q, self.rel_key.weight.view(t, h, d)).reshape(n * t, h)
        slot = dst * t + edge_type  # (destination, edge type) pairs
        score = (q.index_select(0, dst) * k.index_select(0, src)).sum(-1) + q_rel.index_select(0, slot)
        score = score / math.sqrt(d) + self.rel_bias(edge_type)
        alpha = softmax(score, dst, num_nodes=n)  # [E, H], normalised per destination
        alpha = F.dropout(alpha, p=self.dropout, training=self.training)
        out = scatter(v.index_select(0, src) * alpha.unsqueeze(-1), dst, dim=0, dim_size=n, reduce="sum")
        # sum_j a_ij r^V_t = sum_t (attention mass on type-t edges into i) r^V_t
        mass = scatter(alpha, slot, dim=0, dim_size=n * t, reduce="sum").view(n, t, h)
        out = out + torch.einsum("nth,thd->nhd", mass, self.rel_value.weight.view(t, h, d))
        return self.out(out.reshape(n, self.dim))

    def _forward_csr(self, x: Tensor, csr: EdgeCSR, rows: Tensor | None = None) -> Tensor:
        """Attention update of the destinations of ``csr`` (the rows ``rows`` of ``x``, default
        all); ``x`` holds the states of the sources (the columns of ``csr``)."""
        h, d, t = self.heads, self.head_dim, self.num_edge_types
        q, k, v = self.qkv(x).view(x.size(0), 3, h, d).unbind(1)
        if rows is not None:
            q = q.index_select(0, rows)
        n = q.size(0)
        q_rel = torch.einsum("nhd,thd->nth", q, self.rel_key.weight.view(t, h, d)).reshape(n * t, h)
        slot = csr.dst * t + csr.edge_type
        pattern = csr.matrix(torch.zeros(csr.src.numel(), dtype=x.dtype, device=x.device))
        qh, kh = q.permute(1, 0, 2).contiguous(), k.permute(1, 2, 0).contiguous()
        score = torch.stack(
            [torch.sparse.sampled_addmm(pattern, qh[i], kh[i], beta=0.0).values() for i in range(h)], 1
        )
        score = (score + q_rel.index_select(0, slot)) / math.sqrt(d) + self.rel_bias(csr.edge_type)
        # softmax over each destination's segment of incoming edges (empty segments: max -inf -> 0)
        top = torch.segment_reduce(score, "max", lengths=csr.counts, unsafe=True).nan_to_num(neginf=0.0)
        e = (score - top.repeat_interleave(csr.counts, 0)).exp()
        total = torch.segment_reduce(e, "sum", lengths=csr.counts, unsafe=True)
        alpha = e / (total.repeat_interleave(csr.counts, 0) + 1e-16)
        vh, ah = v.permute(1, 0, 2).contiguous(), alpha.t().contiguous()
        out = torch.stack([torch.sparse.mm(csr.matrix(ah[i]), vh[i]) for i in range(h)], 1)
        mass = scatter(alpha, slot, dim=0, dim_size=n * t, reduce="sum").view(n, t, h)
        out = out + torch.einsum("nth,thd->nhd", mass, self.rel_value.weight.view(t, h, d))
        return self.out(out.reshape(n, self.dim))


class RelationalTransformerLayer(nn.Module):
    """Pre-LayerNorm transformer block: relational sparse attention, then a position-wise FFN."""

    def __init__(
        self,
        dim: int,
        heads: int,
        num_edge_types: int,
        ffn_mult: int = 2,
        dropout: float = 0.1,
        attention_dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = RelationalAttention(dim, heads, num_edge_types, attention_dropout)
        self.norm2 = nn.LayerNorm(dim)
        self.ffn = FeedForward(dim, ffn_mult)
        self.dropout = nn.Dropout(dropout)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        self.norm1.reset_parameters()
        self.norm2.reset_parameters()
        self.attn.reset_parameters()
        self.ffn.reset_parameters()

    def forward(
        self,
        x: Tensor,
        edge_index: Tensor,
        edge_type: Tensor,
        batch: Tensor | None = None,
        csr: EdgeCSR | None = None,
    ) -> Tensor:
        x = x + self.dropout(self.attn(self.norm1(x), edge_index, edge_type, batch, csr))
        return x + self.dropout(self.ffn(self.norm2(x)))

    def forward_rows(self, x: Tensor, csr: EdgeCSR, rows: Tensor) -> Tensor:
        """The block's output at the rows ``rows`` of ``x`` only (the sources of ``csr``, whose
        destinations are those rows in order): pruned inference, and pruned training."""
        a = self.attn.forward_rows(self.norm1(x), csr, rows)
        x = x.index_select(0, rows) + self.dropout(a)
        return x + self.dropout(self.ffn(self.norm2(x)))

"""Relational gated graph convolution: local message passing for the baseline and the GPS layer.

Paper: Li et al., "Gated Graph Sequence Neural Networks" (ICLR 2016), with typed edges
as in Allamanis et al., "Learning to Represent Programs with Graphs" (ICLR 2018). The
per-edge-type weights use the basis decomposition of Schlichtkrull et al., "Modeling
Relational Data with Graph Convolutional Networks" (R-GCN, 2018): T * B coefficients and
B matrices instead of T matrices of parameters.

Update rule, for the edges j -> i of type t:

    W_t   = sum_b c_tb V_b
    m_i   = mean_{j -> i} (W_t h_j + beta_t)
    h_i'  = GRUCell(m_i, h_i)

A graph node without incoming edges gets m_i = 0.

The messages are computed per edge type: the edges are grouped by type and each group's
gathered sources multiplied by its W_t, so the work is O(E d^2 + T B d^2) with no
[E, B, d] or [N, T, d] intermediate.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn
from torch_geometric.utils import scatter

from codegraph.models.layers.edge_csr import EdgeCSR


class GatedGraphConv(nn.Module):
    """One GGNN propagation step over typed edges (basis-decomposed relation weights, GRU update)."""

    def __init__(self, dim: int, num_edge_types: int, num_bases: int = 4) -> None:
        super().__init__()
        self.dim, self.num_edge_types, self.num_bases = dim, num_edge_types, num_bases
        self.bases = nn.Parameter(torch.empty(num_bases, dim, dim))
        self.coefficients = nn.Parameter(torch.empty(num_edge_types, num_bases))
        self.type_bias = nn.Embedding(num_edge_types, dim)
        self.gru = nn.GRUCell(dim, dim)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1.0 / math.sqrt(self.dim)
        nn.init.uniform_(self.bases, -bound, bound)
        nn.init.normal_(self.coefficients, std=1.0 / math.sqrt(self.num_bases))
        nn.init.zeros_(self.type_bias.weight)
        self.gru.reset_parameters()

    def forward(
        self, x: Tensor, edge_index: Tensor, edge_type: Tensor, batch: Tensor | None = None
    ) -> Tensor:
        m = self.mean_messages(x, edge_index[0], edge_index[1], edge_type, x.size(0))
        return self.gru(m, x)

    def forward_rows(self, x: Tensor, csr: EdgeCSR, rows: Tensor) -> Tensor:
        """The step's output at the rows ``rows`` of ``x`` (the sources of ``csr``, whose
        destinations are those rows in order)."""
        m = self.mean_messages(x, csr.src, csr.dst, csr.edge_type, csr.num_rows)
        return self.gru(m, x.index_select(0, rows))

    def mean_messages(self, x: Tensor, src: Tensor, dst: Tensor, edge_type: Tensor, n: int) -> Tensor:
        """m_i = mean_{j -> i} (W_t h_j + beta_t) for the ``n`` destinations (0 without edges)."""
        weights = torch.einsum("tb,bde->tde", self.coefficients, self.bases)  # W_t, [T, d, d]
        order = torch.argsort(edge_type, stable=True)
        src, dst, types = src[order], dst[order], edge_type[order]
        sizes = torch.bincount(types, minlength=self.num_edge_types).tolist()
        gathered = x.index_select(0, src).split(sizes)
        msg = torch.cat(
            [chunk @ weights[t] for t, chunk in enumerate(gathered) if chunk.numel()]
            or [x.new_zeros(0, self.dim)]
        )
        msg = msg + self.type_bias(types)
        return scatter(msg, dst, dim=0, dim_size=n, reduce="mean")

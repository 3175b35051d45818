"""Edges sorted by destination, with row pointers: the sparse layout of the inference path.

The relational attention's inference path (and pruned training) computes attention
scores with a sampled dense-dense product and aggregates with a sparse-dense product
per head over this layout; built once per forward pass and shared by the layers.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import torch
from torch import Tensor

warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta state")


@dataclass(frozen=True)
class EdgeCSR:
    """Edges sorted by (destination, source), with row pointers per destination.

    Rows are destinations and columns sources; both are graph node ids when built by
    :meth:`build`, and positions in chosen node subsets after :meth:`restrict`.
    """

    num_rows: int
    num_cols: int
    crow: Tensor  # [rows + 1]
    src: Tensor  # [E] column index of each sorted edge
    dst: Tensor  # [E] row index of each sorted edge
    edge_type: Tensor  # [E]
    counts: Tensor  # [rows] incoming edges per row

    @classmethod
    def build(cls, edge_index: Tensor, edge_type: Tensor, num_nodes: int) -> EdgeCSR:
        order = torch.argsort(edge_index[1] * num_nodes + edge_index[0])
        src, dst = edge_index[0, order], edge_index[1, order]
        counts = torch.bincount(dst, minlength=num_nodes)
        crow = torch.zeros(num_nodes + 1, dtype=torch.long, device=edge_index.device)
        crow[1:] = counts.cumsum(0)
        return cls(num_nodes, num_nodes, crow, src, dst, edge_type[order], counts)

    def matrix(self, values: Tensor) -> Tensor:
        """The sparse [rows, cols] matrix with ``values`` at (dst, src) of each edge."""
        return torch.sparse_csr_tensor(
            self.crow, self.src, values, (self.num_rows, self.num_cols), check_invariants=False
        )

    def sources_of(self, rows: Tensor) -> Tensor:
        """A boolean row mask grown by the sources of every edge into it (square CSR only)."""
        grown = rows.clone()
        grown[self.src[rows[self.dst]]] = True
        return grown

    def restrict(self, rows: Tensor, col_of: Tensor) -> EdgeCSR:
        """The edges into ``rows`` (ascending row ids), columns renumbered by ``col_of``.

        ``col_of`` maps every row id of this CSR to a column of the result; every
        source of an edge into ``rows`` must map to one (>= 0).
        """
        counts = self.counts[rows]
        crow = torch.zeros(rows.numel() + 1, dtype=torch.long, device=rows.device)
        crow[1:] = counts.cumsum(0)
        total = int(crow[-1])
        # the kept edges: each row's segment of the sorted edges, in order
        shift = torch.repeat_interleave(self.crow[rows] - crow[:-1], counts, output_size=total)
        edges = torch.arange(total, device=rows.device) + shift
        dst = torch.repeat_interleave(
            torch.arange(rows.numel(), device=rows.device), counts, output_size=total
        )
        num_cols = int(col_of.max()) + 1 if col_of.numel() else 0
        return EdgeCSR(
            rows.numel(), num_cols, crow, col_of[self.src[edges]], dst, self.edge_type[edges], counts
        )

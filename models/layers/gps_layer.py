"""GraphGPS layer: local message passing and global (here: sparse relational) attention in parallel.

Paper: Rampášek et al., "Recipe for a General, Powerful, Scalable Graph Transformer"
(NeurIPS 2022). The attention is the relational sparse attention of
:mod:`.relational_attention` over the unit's edges plus its long-range shortcut edges,
the local model the gated graph convolution of :mod:`.gated_graph_conv`.

Update rule (LayerNorm in place of the paper's BatchNorm):

    x_M = LN(x + Dropout(GGNN(x)))
    x_T = LN(x + Dropout(Attn(x)))
    x'  = LN((x_M + x_T) + Dropout(FFN(x_M + x_T)))
"""

from __future__ import annotations

from torch import Tensor, nn

from codegraph.models.layers.edge_csr import EdgeCSR
from codegraph.models.layers.feed_forward import FeedForward
from codegraph.models.layers.gated_graph_conv import GatedGraphConv
from codegraph.models.layers.relational_attention import RelationalAttention


class GPSLayer(nn.Module):
    """Parallel GGNN + relational sparse attention, summed, followed by an FFN."""

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
        self.local = GatedGraphConv(dim, num_edge_types)
        self.attn = RelationalAttention(dim, heads, num_edge_types, attention_dropout)
        self.norm_local = nn.LayerNorm(dim)
        self.norm_attn = nn.LayerNorm(dim)
        self.norm_out = nn.LayerNorm(dim)
        self.ffn = FeedForward(dim, ffn_mult)
        self.dropout = nn.Dropout(dropout)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        self.local.reset_parameters()
        self.attn.reset_parameters()
        for norm in (self.norm_local, self.norm_attn, self.norm_out):
            norm.reset_parameters()
        self.ffn.reset_parameters()

    def forward(
        self,
        x: Tensor,
        edge_index: Tensor,
        edge_type: Tensor,
        batch: Tensor | None = None,
        csr: EdgeCSR | None = None,
    ) -> Tensor:
        """``csr`` (the same edges) enables the attention's inference path."""
        x_m = self.norm_local(x + self.dropout(self.local(x, edge_index, edge_type, batch)))
        x_t = self.norm_attn(x + self.dropout(self.attn(x, edge_index, edge_type, batch, csr)))
        h = x_m + x_t
        return self.norm_out(h + self.dropout(self.ffn(h)))

    def forward_rows(self, x: Tensor, csr: EdgeCSR, rows: Tensor) -> Tensor:
        """The block's output at the rows ``rows`` of ``x`` only (the sources of ``csr``, whose
        destinations are those rows in order): pruned inference, and pruned training."""
        own = x.index_select(0, rows)
        x_m = self.norm_local(own + self.dropout(self.local.forward_rows(x, csr, rows)))
        x_t = self.norm_attn(own + self.dropout(self.attn.forward_rows(x, csr, rows)))
        h = x_m + x_t
        return self.norm_out(h + self.dropout(self.ffn(h)))

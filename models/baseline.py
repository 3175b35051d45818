"""The message-passing baseline: the detector's inputs and heads, with GGNN steps instead of attention.

Paper: Allamanis et al., "Learning to Represent Programs with Graphs" (ICLR 2018): a
gated graph neural network over the typed program graph. Each of the ``layers`` steps
is a :class:`~codegraph.models.layers.gated_graph_conv.GatedGraphConv` (own weights per
step) followed by dropout:

    h^(l+1) = Dropout(GRUCell(mean_{j -> i} W_t h_j^(l), h_i^(l)))

Without gradients, only the graph nodes the heads read (and, going backwards, their
in-neighbours) are computed, as in the detector.

Embeddings, positional encodings (if enabled in the config) and the localisation /
repair heads are shared with :class:`~codegraph.models.detector.Detector` via
:class:`~codegraph.models.detector.BugModel`.
"""

from __future__ import annotations

from torch import Tensor, nn

from codegraph.models.layers.edge_csr import EdgeCSR
from codegraph.models.layers.gated_graph_conv import GatedGraphConv
from codegraph.models.model import BugModel, ModelConfig


class Baseline(BugModel):
    """GGNN baseline: ``config.layers`` relational gated graph convolutions."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config)
        self.layers = nn.ModuleList(
            GatedGraphConv(config.hidden, config.num_edge_types) for _ in range(config.layers)
        )
        self.dropout = nn.Dropout(config.dropout)

    def encode(
        self, x: Tensor, edge_index: Tensor, edge_type: Tensor, batch: Tensor, needed: Tensor | None = None
    ) -> Tensor:
        if needed is not None and self._prunes(needed):
            return self._encode_needed(x, EdgeCSR.build(edge_index, edge_type, x.size(0)), needed)
        for layer in self.layers:
            x = self.after_layer(layer(x, edge_index, edge_type, batch))
        return x

    def after_layer(self, x: Tensor) -> Tensor:
        return self.dropout(x)

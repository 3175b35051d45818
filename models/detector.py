"""The detector: node embeddings + positional encodings -> relational sparse transformer -> bug heads.

``Detector`` stacks :class:`~codegraph.models.layers.relational_attention.RelationalTransformerLayer`
blocks (or GraphGPS blocks with ``local_mp = true``) over the unit's typed edges and the
shortcut edges, then scores "no bug", every candidate location and every candidate
repair with the shared :class:`~codegraph.models.layers.bug_heads.BugHeads`. The
message-passing baseline (:mod:`codegraph.models.baseline`) shares everything but the
layer stack through :class:`~codegraph.models.model.BugModel`.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from codegraph.models.baseline import Baseline
from codegraph.models.layers.edge_csr import EdgeCSR
from codegraph.models.layers.gps_layer import GPSLayer
from codegraph.models.layers.relational_attention import RelationalTransformerLayer
from codegraph.models.model import BugModel, ModelConfig


class Detector(BugModel):
    """The sparse graph transformer: L relational attention blocks (or GPS blocks) over typed edges."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config)
        block = GPSLayer if config.local_mp else RelationalTransformerLayer
        self.layers = nn.ModuleList(
            block(
                config.hidden,
                config.heads,
                config.num_edge_types,
                config.ffn_mult,
                config.dropout,
                config.attention_dropout,
            )
            for _ in range(config.layers)
        )

    def encode(
        self, x: Tensor, edge_index: Tensor, edge_type: Tensor, batch: Tensor, needed: Tensor | None = None
    ) -> Tensor:
        if needed is not None and self._prunes(needed):
            return self._encode_needed(x, EdgeCSR.build(edge_index, edge_type, x.size(0)), needed)
        if not torch.is_grad_enabled():
            csr = EdgeCSR.build(edge_index, edge_type, x.size(0))  # the inference path, shared by layers
            for layer in self.layers:
                x = layer(x, edge_index, edge_type, batch, csr)
            return x
        for layer in self.layers:
            x = layer(x, edge_index, edge_type, batch)
        return x


def build_model(config: ModelConfig) -> BugModel:
    """``Detector`` for kind "transformer", ``Baseline`` for kind "baseline"."""
    if config.kind == "baseline":
        return Baseline(config)
    return Detector(config)

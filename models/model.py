"""What every bug model shares: its config, its input transforms, and :class:`BugModel`.

:class:`BugModel` holds the node encoder, the final LayerNorm and the shared
:class:`~codegraph.models.layers.bug_heads.BugHeads`; a subclass supplies the layer stack
(``encode``): :class:`~codegraph.models.detector.Detector`, the sparse graph
transformer, and :class:`~codegraph.models.baseline.Baseline`, GGNN message passing.
:func:`~codegraph.models.detector.build_model` picks one by ``ModelConfig.kind``.

Models take batches of :class:`~codegraph.models.tensorize.UnitData` that went through
:func:`feature_transform` (the config decides shortcuts and encodings); they never
build tensors themselves.
"""

from __future__ import annotations

from typing import Protocol, cast

import torch
from torch import Tensor, nn
from torch_geometric.data import Data

from codegraph.models.config import MODEL_KINDS, ModelConfig, input_transform
from codegraph.models.layers.bug_heads import BugHeads, BugLogits, bug_loss
from codegraph.models.layers.edge_csr import EdgeCSR
from codegraph.models.layers.node_encoder import NodeEncoder
from codegraph.models.tensors import TorchTransform, restore_sentinels

__all__ = ["MODEL_KINDS", "BugModel", "ModelConfig", "feature_transform"]


def feature_transform(config: ModelConfig) -> TorchTransform:
    """The transforms (shortcut edges, positional encodings) this model's inputs need, on
    ``UnitData`` (:func:`~codegraph.models.config.input_transform` is the numpy one)."""
    return TorchTransform(input_transform(config))


class RowLayer(Protocol):
    """A layer with an inference path for a subset of destination rows (see ``_encode_needed``)."""

    def forward_rows(self, x: Tensor, csr: EdgeCSR, rows: Tensor) -> Tensor: ...


class BugModel(nn.Module):
    """Embeddings -> ``encode`` (the layer stack, subclass-specific) -> LayerNorm -> shared bug heads."""

    layers: nn.ModuleList  # set by each subclass
    #: training computes only what the loss reads (see ``_encode_needed``): the same function
    #: and gradients, about a third of the layer work; set by ``codegraph train`` (train.prune)
    prune_training: bool = False

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        if min(config.num_node_types, config.num_subtokens, config.num_repair_tokens) <= 0:
            raise ValueError("vocabulary sizes are not set: use ModelConfig.with_vocab(vocab)")
        self.config = config
        self.embed = NodeEncoder(
            config.num_node_types,
            config.num_subtokens,
            config.hidden,
            rw_k=config.rw_dim,
            lap_k=config.lap_dim,
            sign_flip=config.lap_sign_flip,
            dropout=config.dropout,
        )
        self.final_norm = nn.LayerNorm(config.hidden)
        self.heads = BugHeads(config.hidden, config.num_repair_tokens, len(config.rules), config.dropout)

    def reset_parameters(self) -> None:
        for m in self.modules():
            reset = getattr(m, "reset_parameters", None)
            if m is not self and callable(reset):
                reset()

    def encode(
        self, x: Tensor, edge_index: Tensor, edge_type: Tensor, batch: Tensor, needed: Tensor | None = None
    ) -> Tensor:
        """The layer stack. ``needed`` (a boolean graph node mask) allows an implementation to
        compute the final states of those graph nodes only; the other rows are then undefined."""
        raise NotImplementedError

    def node_states(self, data: Data, needed: Tensor | None = None) -> Tensor:
        """Final graph node states [N, hidden] of a (batched) UnitData (see :meth:`encode` for ``needed``)."""
        batch = self._batch_vector(data)
        x = self.embed(
            data.x_type, data.x_sub, getattr(data, "rw_pe", None), getattr(data, "lap_pe", None), batch
        )
        return self.final_norm(self.encode(x, data.edge_index, data.edge_type, batch, needed))

    @staticmethod
    def _prunes(needed: Tensor) -> bool:
        """Whether ``encode`` computes only ``needed`` (a non-empty mask; :meth:`forward` passes
        one in inference, and in training when ``prune_training`` is set)."""
        return bool(needed.any())

    def _encode_needed(self, x: Tensor, csr: EdgeCSR, needed: Tensor) -> Tensor:
        """Layer l updates only the graph nodes that later layers (or the heads) read.

        Every layer of ``self.layers`` has ``forward_rows(x, csr, rows)`` (its output at the
        destinations of a restricted CSR, differentiable in training mode).

        Going backwards from ``needed``, the input of each layer must hold the sources of
        the edges into its output nodes; everything else is never computed. The rows of
        ``needed`` equal those of the full computation; the other rows are zero.
        """
        masks = [needed]
        for _ in self.layers:
            masks.append(csr.sources_of(masks[-1]))
        masks.reverse()  # masks[0]: the first layer's input, masks[l + 1]: layer l's output
        keep = masks[0].nonzero().flatten()
        x = x.index_select(0, keep)
        col_of = torch.full((csr.num_rows,), -1, dtype=torch.long, device=x.device)
        for layer, mask in zip(self.layers, masks[1:], strict=True):
            col_of.fill_(-1)
            col_of[keep] = torch.arange(keep.numel(), device=x.device)
            rows = mask.nonzero().flatten()
            x = self.after_layer(
                cast(RowLayer, layer).forward_rows(x, csr.restrict(rows, col_of), col_of[rows])
            )
            keep = rows
        return x.new_zeros(csr.num_rows, x.size(1)).index_copy(0, keep, x)

    def after_layer(self, x: Tensor) -> Tensor:
        """What the stack applies to each layer's output besides the layer itself (none here)."""
        return x

    @staticmethod
    def read_by_heads(data: Data) -> Tensor:
        """The graph nodes whose final states the heads read: the functions' own graph nodes
        (pooling), candidate locations and repair targets."""
        needed = data.fn_mask.clone()
        needed[data.cand_node] = True
        needed[data.rep_target[data.rep_target >= 0]] = True
        return needed

    @staticmethod
    def _batch_vector(data: Data) -> Tensor:
        batch = getattr(data, "batch", None)
        if batch is None:
            batch = torch.zeros(data.x_type.size(0), dtype=torch.long, device=data.x_type.device)
        return batch

    def forward(self, data: Data) -> BugLogits:
        data = restore_sentinels(data)
        prune = self.prune_training or not (torch.is_grad_enabled() or self.training)
        h = self.node_states(data, self.read_by_heads(data) if prune else None)
        return self.heads(
            h,
            self._batch_vector(data),
            int(data.y_loc.numel()),
            data.fn_mask,
            data.cand_node,
            data.cand_rule,
            data.cand_graph,
            data.rep_cand,
            data.rep_token,
            data.rep_target,
        )

    def loss(self, data: Data) -> tuple[Tensor, dict[str, float], BugLogits]:
        """Training loss of a batch (see :func:`~codegraph.models.layers.bug_heads.bug_loss`)."""
        data = restore_sentinels(data)
        logits = self(data)
        loss, parts = bug_loss(logits, data.y_loc, data.y_rep)
        return loss, parts, logits


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())

"""Initial graph node states: type embedding + summed subtoken embeddings + positional encodings.

Update rule (the first layer of every model):

    h_i = LN( E_type[type_i] + sum_s E_sub[sub_is] + W_rw rw_i + W_lap (sigma_g * lap_i) )

``sigma_g`` is a random +-1 per graph and eigenvector while training
(``sign_flip``; Dwivedi & Bresson 2021, Kreuzer et al. 2021), all ones in eval mode.
Subtoken id 0 is padding and contributes nothing. Either encoding can be switched off
(``rw_k = 0`` / ``lap_k = 0``) for ablations.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class NodeEncoder(nn.Module):
    """Embeds graph node types, identifier subtokens and (optionally) RW / Laplacian encodings."""

    def __init__(
        self,
        num_node_types: int,
        num_subtokens: int,
        dim: int,
        rw_k: int = 0,
        lap_k: int = 0,
        sign_flip: bool = True,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.rw_k, self.lap_k, self.sign_flip = rw_k, lap_k, sign_flip
        self.type_emb = nn.Embedding(num_node_types, dim)
        self.sub_emb = nn.Embedding(num_subtokens, dim, padding_idx=0)
        self.rw_proj = nn.Linear(rw_k, dim) if rw_k > 0 else None
        self.lap_proj = nn.Linear(lap_k, dim) if lap_k > 0 else None
        self.norm = nn.LayerNorm(dim)
        self.dropout = nn.Dropout(dropout)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.normal_(self.type_emb.weight, std=0.1)
        nn.init.normal_(self.sub_emb.weight, std=0.1)
        with torch.no_grad():
            self.sub_emb.weight[0].zero_()
        for proj in (self.rw_proj, self.lap_proj):
            if proj is not None:
                proj.reset_parameters()
        self.norm.reset_parameters()

    def forward(
        self,
        x_type: Tensor,
        x_sub: Tensor,
        rw_pe: Tensor | None = None,
        lap_pe: Tensor | None = None,
        batch: Tensor | None = None,
    ) -> Tensor:
        h = self.type_emb(x_type) + self.sub_emb(x_sub).sum(1)
        if self.rw_proj is not None:
            if rw_pe is None or rw_pe.size(-1) != self.rw_k:
                raise ValueError(f"the model needs rw_pe with {self.rw_k} columns (apply RandomWalkPE)")
            h = h + self.rw_proj(rw_pe)
        if self.lap_proj is not None:
            if lap_pe is None or lap_pe.size(-1) != self.lap_k:
                raise ValueError(f"the model needs lap_pe with {self.lap_k} columns (apply LaplacianPE)")
            if self.training and self.sign_flip:
                graph = batch if batch is not None else torch.zeros_like(x_type)
                num_graphs = int(graph.max()) + 1 if graph.numel() else 0
                signs = torch.randint(0, 2, (num_graphs, self.lap_k), device=lap_pe.device) * 2 - 1
                lap_pe = lap_pe * signs[graph].to(lap_pe.dtype)
            h = h + self.lap_proj(lap_pe)
        return self.dropout(self.norm(h))

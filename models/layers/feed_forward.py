"""The position-wise feed-forward block of the transformer layers.

Vaswani et al., "Attention Is All You Need" (2017), with GELU (Hendrycks and Gimpel, 2016):

    FFN(x) = W_2 GELU(W_1 x + b_1) + b_2,   W_1: dim -> mult * dim,  W_2: mult * dim -> dim

Shared by :class:`~codegraph.models.layers.relational_attention.RelationalTransformerLayer`
and :class:`~codegraph.models.layers.gps_layer.GPSLayer`. A ``Sequential`` of
(Linear, GELU, Linear), so its parameters are named ``0.*`` and ``2.*`` in checkpoints.
"""

from __future__ import annotations

from torch import nn


class FeedForward(nn.Sequential):
    """Linear(dim, mult * dim) -> GELU -> Linear(mult * dim, dim).

    Args:
        dim: input and output width.
        mult: the hidden width as a multiple of ``dim`` (default 2).
    """

    def __init__(self, dim: int, mult: int = 2) -> None:
        super().__init__(nn.Linear(dim, mult * dim), nn.GELU(), nn.Linear(mult * dim, dim))

    def reset_parameters(self) -> None:
        for m in self:
            if isinstance(m, nn.Linear):
                m.reset_parameters()

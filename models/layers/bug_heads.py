"""Localisation and repair heads (pointer networks over candidates and repairs), shared by every model.

Paper: Vasic et al., "Neural Program Repair by Jointly Learning to Localize and Repair"
(ICLR 2019), extended with a learned no-bug score and typed repairs as in Allamanis
et al., "Self-Supervised Bug Detection and Repair" (BugLab, NeurIPS 2021).

With final graph node states h, per graph a summary g pooled over the function's own
graph nodes i (mean, max and softmax-attention pooling as in Li et al. 2016), candidate
c at graph node n_c with rule r_c, and repair q of candidate c with token tau_q and
optional target graph node t_q:

    g          = W_g [mean_i h_i ; max_i h_i ; sum_i softmax_i(w . h_i) h_i]
    s_nobug(g) = MLP_0(g)
    s_loc(c)   = MLP_L([h_{n_c} ; E_rule[r_c] ; g ; h_{n_c} * g])
    P(loc)     = softmax over {no bug} + the candidates of g
    e_q        = E_tok[tau_q] + E_rule'[r_c] + [t_q >= 0] W_t h_{t_q}
    s_rep(q)   = MLP_R([h_{n_c} ; e_q ; h_{n_c} * e_q ; g * e_q])
    P(rep | c) = softmax over the repairs of c

Loss = CE(location incl. no bug) + CE(repair | true location), the second only for
buggy samples with a known fix. A temperature T divides the logits before the
softmaxes at inference (calibration).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch_geometric.utils import scatter, softmax


def grouped_log_softmax(scores: Tensor, index: Tensor, num_groups: int) -> Tensor:
    """log softmax of ``scores`` within the groups given by ``index`` (numerically stable)."""
    if scores.numel() == 0:
        return scores
    top = scatter(scores.detach(), index, dim=0, dim_size=num_groups, reduce="max")
    shifted = scores - top[index]
    total = scatter(shifted.exp(), index, dim=0, dim_size=num_groups, reduce="sum")
    return shifted - total.clamp_min(1e-30).log()[index]


@dataclass
class BugLogits:
    """Raw scores of a batch: ``no_bug`` [B], ``loc`` [C], ``rep`` [R] and how they group."""

    no_bug: Tensor
    loc: Tensor
    rep: Tensor
    cand_graph: Tensor
    rep_cand: Tensor

    @property
    def num_graphs(self) -> int:
        return int(self.no_bug.numel())

    def log_probs(self, t_loc: float = 1.0, t_rep: float = 1.0) -> tuple[Tensor, Tensor, Tensor]:
        """(log P(no bug) [B], log P(bug at c) [C], log P(repair q | its candidate) [R]) at temperatures."""
        b = self.num_graphs
        scores = torch.cat([self.no_bug, self.loc]) / t_loc
        index = torch.cat([torch.arange(b, device=scores.device), self.cand_graph])
        lsm = grouped_log_softmax(scores, index, b)
        rep = grouped_log_softmax(self.rep / t_rep, self.rep_cand, self.loc.numel())
        return lsm[:b], lsm[b:], rep


def bug_loss(logits: BugLogits, y_loc: Tensor, y_rep: Tensor) -> tuple[Tensor, dict[str, float]]:
    """Mean CE of the location (no-bug slot when ``y_loc < 0``) + mean CE of the true location's repair."""
    no_bug_lp, loc_lp, rep_lp = logits.log_probs()
    has_bug = y_loc >= 0
    loc_term = torch.where(has_bug, loc_lp[y_loc.clamp_min(0)] if loc_lp.numel() else no_bug_lp, no_bug_lp)
    loc_loss = -loc_term.mean()
    has_fix = has_bug & (y_rep >= 0)
    # a batch without fixes still touches the repair logits, so every parameter gets a gradient
    rep_loss = -rep_lp[y_rep[has_fix]].mean() if bool(has_fix.any()) else logits.rep.sum() * 0.0
    loss = loc_loss + rep_loss
    return loss, {
        "loss": float(loss.detach()),
        "loc_loss": float(loc_loss.detach()),
        "rep_loss": float(rep_loss.detach()),
    }


def _mlp(inp: int, hidden: int, dropout: float) -> nn.Sequential:
    return nn.Sequential(nn.Linear(inp, hidden), nn.GELU(), nn.Dropout(dropout), nn.Linear(hidden, 1))


class BugHeads(nn.Module):
    """Pointer heads: no-bug score per graph, location score per candidate, repair score per repair."""

    def __init__(self, dim: int, num_repair_tokens: int, num_rules: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.pool_score = nn.Linear(dim, 1)
        self.pool = nn.Linear(3 * dim, dim)
        self.loc_rule = nn.Embedding(num_rules, dim)
        self.rep_rule = nn.Embedding(num_rules, dim)
        self.rep_token = nn.Embedding(num_repair_tokens, dim)
        self.rep_target = nn.Linear(dim, dim)
        self.no_bug = _mlp(dim, dim, dropout)
        self.loc = _mlp(4 * dim, dim, dropout)
        self.rep = _mlp(4 * dim, dim, dropout)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for m in self.modules():
            if isinstance(m, nn.Linear):
                m.reset_parameters()
            elif isinstance(m, nn.Embedding):
                nn.init.normal_(m.weight, std=0.1)

    def forward(
        self,
        h: Tensor,
        batch: Tensor,
        num_graphs: int,
        fn_mask: Tensor,
        cand_node: Tensor,
        cand_rule: Tensor,
        cand_graph: Tensor,
        rep_cand: Tensor,
        rep_token: Tensor,
        rep_target: Tensor,
    ) -> BugLogits:
        fn = torch.nonzero(fn_mask).flatten()
        fn_graph = batch[fn]
        h_fn = h[fn]
        mean = scatter(h_fn, fn_graph, dim=0, dim_size=num_graphs, reduce="mean")
        top = scatter(h_fn, fn_graph, dim=0, dim_size=num_graphs, reduce="max")
        weight = softmax(self.pool_score(h_fn).squeeze(-1), fn_graph, num_nodes=num_graphs)
        attended = scatter(weight.unsqueeze(-1) * h_fn, fn_graph, dim=0, dim_size=num_graphs, reduce="sum")
        g = self.pool(torch.cat([mean, top, attended], -1))
        no_bug = self.no_bug(g).squeeze(-1)

        h_cand = h[cand_node]
        g_cand = g[cand_graph]
        loc = self.loc(torch.cat([h_cand, self.loc_rule(cand_rule), g_cand, h_cand * g_cand], -1)).squeeze(-1)

        has_target = (rep_target >= 0).unsqueeze(-1).to(h.dtype)
        e = (
            self.rep_token(rep_token)
            + self.rep_rule(cand_rule[rep_cand])
            + has_target * self.rep_target(h[rep_target.clamp_min(0)])
        )
        h_loc, g_rep = h_cand[rep_cand], g_cand[rep_cand]
        rep = self.rep(torch.cat([h_loc, e, h_loc * e, g_rep * e], -1)).squeeze(-1)
        return BugLogits(no_bug=no_bug, loc=loc, rep=rep, cand_graph=cand_graph, rep_cand=rep_cand)

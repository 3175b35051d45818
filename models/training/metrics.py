"""What a model gets right on a dataset split: per-unit outcomes and the figures drawn from them.

Each unit's most likely outcome ("no bug", or a location and a repair) against its
label; accuracies overall, per rule and per distance bucket, paired differences with
bootstrap intervals, and precision / recall over confidence thresholds (confidence =
P(bug at c) x P(r | c) of the most likely pair, as the scanner computes it).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor
from torch_geometric.data import Data

from codegraph.config import DEFAULT_MIN_CONFIDENCE
from codegraph.models.layers.bug_heads import BugLogits
from codegraph.models.model import BugModel
from codegraph.models.tensorize import UNK_ID, Vocabulary
from codegraph.models.tensors import collate
from codegraph.models.training.shards import node_budget_batches
from codegraph.rules import RULE_INDEX
from codegraph.schema import EdgeKind

#: the thresholds of the reports: a coarse grid and the scanner's default
THRESHOLDS: tuple[float, ...] = tuple(
    sorted({0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, DEFAULT_MIN_CONFIDENCE})
)
#: the finer grid of ``--json``'s ``curve`` (0.01 ... 0.99), for reading recall at any threshold
FINE: tuple[float, ...] = tuple(round(k / 100, 2) for k in range(1, 100))


# -- per-unit outcomes ----------------------------------------------------------------------------
def group_argmax(values: Tensor, index: Tensor, num_groups: int) -> tuple[Tensor, Tensor]:
    """(max value, index of the first maximum) per group; (-inf, -1) for empty groups."""
    best = torch.full((num_groups,), float("-inf"), dtype=values.dtype)
    best = best.scatter_reduce(0, index, values, reduce="amax", include_self=True)
    big = values.numel()
    pos = torch.where(values == best[index], torch.arange(big), torch.full_like(index, big))
    first = torch.full((num_groups,), big, dtype=torch.long).scatter_reduce(
        0, index, pos, reduce="amin", include_self=True
    )
    return best, torch.where(first == big, -1, first)


@dataclass
class Outcomes:
    """Per unit (CPU tensors of length B) for one batch or a whole split."""

    is_bug: Tensor
    has_fix: Tensor
    rule: Tensor
    hops: Tensor
    lines: Tensor
    said_no_bug: Tensor
    loc_ok: Tensor
    rep_ok: Tensor
    joint_ok: Tensor
    confidence: Tensor
    top_ok: Tensor
    top_rule: Tensor
    swap_evidence: Tensor
    assign_direction: Tensor

    @classmethod
    def cat(cls, parts: Sequence[Outcomes]) -> Outcomes:
        names = list(cls.__dataclass_fields__)
        return cls(**{n: torch.cat([getattr(p, n) for p in parts]) for n in names})

    @classmethod
    def empty(cls) -> Outcomes:
        longs = ("rule", "hops", "lines", "top_rule", "swap_evidence", "assign_direction")
        dtypes = {**{n: torch.long for n in longs}, "confidence": torch.float}
        return cls(**{n: torch.zeros(0, dtype=dtypes.get(n, torch.bool)) for n in cls.__dataclass_fields__})

    def __len__(self) -> int:
        return int(self.is_bug.numel())

    def select(self, mask: Tensor) -> Outcomes:
        return Outcomes(**{n: getattr(self, n)[mask] for n in self.__dataclass_fields__})


def outcomes(
    logits: BugLogits,
    batch: Data,
    t_loc: float = 1.0,
    t_rep: float = 1.0,
    assign_ids: tuple[int, int] | None = None,
) -> Outcomes:
    """Score one batch's logits against its labels (``batch`` as returned by ``collate``);
    ``assign_ids`` (see :func:`assign_direction`) classifies the injected CG008 bugs."""
    lp_nobug, lp_loc, lp_rep = (t.detach().float().cpu() for t in logits.log_probs(t_loc, t_rep))
    cand_graph, rep_cand = logits.cand_graph.cpu(), logits.rep_cand.cpu()
    b, c = logits.num_graphs, lp_loc.numel()
    y_loc, y_rep = batch.y_loc.cpu(), batch.y_rep.cpu()
    best_loc, pred_loc = group_argmax(lp_loc, cand_graph, b)
    best_rep, pred_rep = group_argmax(lp_rep, rep_cand, c)  # per candidate
    said_no_bug = lp_nobug >= best_loc
    pred_loc = torch.where(said_no_bug, -1, pred_loc)
    is_bug = y_loc >= 0
    has_fix = is_bug & (y_rep >= 0)

    def rep_at(cands: Tensor) -> Tensor:
        """The most likely repair at each of ``cands`` (-1 where the candidate is -1)."""
        if c == 0:
            return torch.full_like(cands, -1)
        return torch.where(cands >= 0, pred_rep[cands.clamp_min(0)], -1)

    loc_ok = torch.where(is_bug, pred_loc == y_loc, said_no_bug)
    rep_ok = has_fix & (rep_at(y_loc) == y_rep)
    joint_ok = torch.where(is_bug, loc_ok & (rep_at(pred_loc) == y_rep), said_no_bug)
    # confidence of the best (location, repair) pair, candidates only (as the scanner reports)
    pair = lp_loc + torch.where(best_rep > float("-inf"), best_rep, torch.zeros_like(best_rep))
    pair = torch.where(best_rep > float("-inf"), pair, torch.full_like(pair, float("-inf")))
    best_pair, top_cand = group_argmax(pair, cand_graph, b)
    confidence = torch.where(top_cand >= 0, best_pair.exp(), torch.zeros_like(best_pair))
    top_ok = has_fix & (top_cand == y_loc) & (rep_at(top_cand) == y_rep)
    cand_rule = batch.cand_rule.cpu()
    top_rule = torch.where(top_cand >= 0, cand_rule[top_cand.clamp_min(0)] if c else top_cand, -1)
    return Outcomes(
        is_bug=is_bug,
        has_fix=has_fix,
        rule=batch.rule_id.cpu(),
        hops=batch.hops.cpu(),
        lines=batch.lines.cpu(),
        said_no_bug=said_no_bug,
        loc_ok=loc_ok,
        rep_ok=rep_ok,
        joint_ok=joint_ok,
        confidence=confidence,
        top_ok=top_ok,
        top_rule=top_rule,
        swap_evidence=swap_evidence(batch),
        assign_direction=assign_direction(batch, assign_ids),
    )


#: :func:`swap_evidence` per unit: not a swapped-arguments bug; the callee's parameters are
#: not in the graph; the names decide (an argument shares a subtoken with the parameter
#: the other one binds, and neither with its own); the names do not decide
SWAP_NOT_CG002, SWAP_NO_SIGNATURE, SWAP_NAMES_DECIDE, SWAP_NAMES_SILENT = -1, 0, 1, 2
SWAP_LABELS = {
    SWAP_NO_SIGNATURE: "callee's parameters not in the graph",
    SWAP_NAMES_DECIDE: "parameters in the graph, the names decide",
    SWAP_NAMES_SILENT: "parameters in the graph, the names do not decide",
}


def swap_evidence(batch: Data) -> Tensor:
    """What the graph shows of a swapped-arguments bug, per unit (``SWAP_*``; -1 for other units).

    The bug's location and the fix's target are the two swapped arguments; each binds a
    callee parameter through a FORMAL_ARG_NAME edge when the callee is resolved and in
    the unit. The names decide when an argument shares a subtoken with the parameter
    the *other* argument binds, and neither shares one with the parameter it binds.
    """
    y_loc, y_rep, rule = batch.y_loc.cpu(), batch.y_rep.cpu(), batch.rule_id.cpu()
    out = torch.full_like(y_loc, SWAP_NOT_CG002)
    units = torch.nonzero((rule == RULE_INDEX["CG002"]) & (y_loc >= 0) & (y_rep >= 0)).flatten()
    if not units.numel():
        return out
    src, dst = batch.edge_index.cpu()
    formal = batch.edge_type.cpu() == int(EdgeKind.FORMAL_ARG_NAME)
    param = torch.full((int(batch.num_nodes),), -1, dtype=torch.long)
    param[src[formal]] = dst[formal]
    arg = batch.cand_node.cpu()[y_loc[units]]
    other = batch.rep_target.cpu()[y_rep[units]]
    sub = batch.x_sub.cpu()

    def share(u: Tensor, v: Tensor) -> Tensor:
        su, sv = sub[u.clamp_min(0)], sub[v.clamp_min(0)]
        same = (su.unsqueeze(2) == sv.unsqueeze(1)) & (su.unsqueeze(2) > UNK_ID)
        return same.flatten(1).any(1) & (u >= 0) & (v >= 0)

    p_arg, p_other = param[arg], torch.where(other >= 0, param[other.clamp_min(0)], -1)
    shown = (other >= 0) & (p_arg >= 0) & (p_other >= 0)
    decide = (share(arg, p_other) | share(other, p_arg)) & ~(share(arg, p_arg) | share(other, p_other))
    out[units] = torch.where(
        shown, torch.where(decide, SWAP_NAMES_DECIDE, SWAP_NAMES_SILENT), SWAP_NO_SIGNATURE
    )
    return out


#: :func:`assign_direction` per unit: not an assignment-operator bug (or not classified); the
#: bug is an ``op=`` where ``=`` was meant; an ``=`` where ``op=`` was meant; one ``op=`` for another
ASSIGN_NOT_CG008, ASSIGN_AUGMENTED, ASSIGN_PLAIN, ASSIGN_SWAPPED = -1, 0, 1, 2
ASSIGN_LABELS = {
    ASSIGN_AUGMENTED: "`op=` where `=` was meant",
    ASSIGN_PLAIN: "`=` where `op=` was meant (an accumulation lost)",
    ASSIGN_SWAPPED: "one `op=` for another",
}


def assignment_ids(vocab: Vocabulary) -> tuple[int, int]:
    """The ids :func:`assign_direction` reads: the node type ``=`` and the repair ``assign:=``."""
    return vocab.node_type_id("="), vocab.repair_token_id("assign:=")


def assign_direction(batch: Data, ids: tuple[int, int] | None) -> Tensor:
    """Which way each injected assignment-operator bug went (``ASSIGN_*``; -1 for other units,
    and for every unit without ``ids``): the operator now at the bug's location and the fix."""
    y_loc, y_rep, rule = batch.y_loc.cpu(), batch.y_rep.cpu(), batch.rule_id.cpu()
    out = torch.full_like(y_loc, ASSIGN_NOT_CG008)
    units = torch.nonzero((rule == RULE_INDEX["CG008"]) & (y_loc >= 0) & (y_rep >= 0)).flatten()
    if ids is None or not units.numel():
        return out
    plain_type, plain_fix = ids
    now = batch.x_type.cpu()[batch.cand_node.cpu()[y_loc[units]]]
    fix = batch.rep_token.cpu()[y_rep[units]]
    out[units] = torch.where(
        now == plain_type, ASSIGN_PLAIN, torch.where(fix == plain_fix, ASSIGN_AUGMENTED, ASSIGN_SWAPPED)
    )
    return out


def summary(o: Outcomes) -> dict[str, float]:
    """Counts and rates (NaN where a rate has no units)."""
    n = len(o)
    bug = o.is_bug
    clean = ~bug

    def rate(num: Tensor, den: Tensor) -> float:
        d = int(den.sum())
        return float((num & den).sum()) / d if d else float("nan")

    return {
        "units": float(n),
        "buggy": float(bug.sum()),
        "clean": float(clean.sum()),
        "no_bug_accuracy": rate(o.said_no_bug, clean),
        "detection": rate(~o.said_no_bug, bug),
        "localisation": rate(o.loc_ok, bug),
        "repair": rate(o.rep_ok, o.has_fix),
        "joint": rate(o.joint_ok, bug),
        "accuracy": float(o.joint_ok.sum()) / n if n else float("nan"),
    }


def paired_difference(
    a: Tensor, b: Tensor, reps: int = 10_000, level: float = 0.95, seed: int = 0
) -> tuple[float, float, float]:
    """Rate of ``a`` minus rate of ``b`` over the same units (booleans per unit), with a
    paired bootstrap interval: units are resampled with replacement, so what the two
    models got right on the same unit moves together. Each unit's difference is -1, 0 or
    1, so a resample is a multinomial draw of those three counts (exact, and cheap for any
    number of units). NaNs for no units."""
    n = int(a.numel())
    if n == 0:
        return float("nan"), float("nan"), float("nan")
    d = a.long() - b.long()
    p = np.array([float((d == v).sum()) for v in (-1, 0, 1)]) / n
    draws = np.random.default_rng(seed).multinomial(n, p, size=reps)  # [reps, 3] counts
    means = (draws[:, 2] - draws[:, 0]) / n
    tail = (1.0 - level) / 2
    lo, hi = (float(x) for x in np.quantile(means, [tail, 1.0 - tail]))
    return float(d.double().mean()), lo, hi


def precision_recall(o: Outcomes, thresholds: Sequence[float] = THRESHOLDS) -> list[dict[str, float]]:
    """Per threshold: units flagged, precision, recall, and the clean units flagged (their share)."""
    rows = []
    buggy = int(o.is_bug.sum())
    clean = len(o) - buggy
    for t in thresholds:
        flagged = o.confidence >= t
        right = int((flagged & o.top_ok).sum())
        nflag = int(flagged.sum())
        rows.append(
            {
                "threshold": t,
                "flagged": float(nflag),
                "precision": right / nflag if nflag else float("nan"),
                "recall": right / buggy if buggy else float("nan"),
                "clean_flagged": int((flagged & ~o.is_bug).sum()) / clean if clean else float("nan"),
            }
        )
    return rows


@torch.inference_mode()
def run_model(
    model: BugModel,
    data: Sequence[Data],
    *,
    t_loc: float = 1.0,
    t_rep: float = 1.0,
    batch_nodes: int = 16_384,
    device: torch.device | str = "cpu",
    keep_logits: bool = False,
    no_bug_bias: float = 0.0,
    assign_ids: tuple[int, int] | None = None,
) -> tuple[Outcomes, list[tuple[BugLogits, Tensor, Tensor]]]:
    """Outcomes of ``model`` on ``data`` (in order), and optionally the raw logits per batch.

    ``no_bug_bias`` is added to every unit's no-bug logit (before the temperature): a
    positive bias trades joint accuracy for no-bug accuracy, to compare models at equal
    no-bug accuracy.
    """
    was_training = model.training
    model.eval()
    parts: list[Outcomes] = []
    raw: list[tuple[BugLogits, Tensor, Tensor]] = []
    for idx in node_budget_batches([int(d.num_nodes or 0) for d in data], batch_nodes, 256):
        batch = collate([data[i] for i in idx]).to(device)
        logits = model(batch)
        if no_bug_bias:
            logits = dataclasses.replace(logits, no_bug=logits.no_bug + no_bug_bias)
        parts.append(outcomes(logits, batch, t_loc, t_rep, assign_ids))
        if keep_logits:
            raw.append((logits, batch.y_loc, batch.y_rep))
    model.train(was_training)
    return (Outcomes.cat(parts) if parts else Outcomes.empty()), raw


ALIGNED = ("is_bug", "has_fix", "rule", "hops", "lines", "swap_evidence", "assign_direction")

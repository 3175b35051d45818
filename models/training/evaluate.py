"""`codegraph train eval`: accuracy of the detector (and the baseline) on a dataset split, as markdown.

    codegraph train eval --checkpoint models/weights/detector --baseline runs/baseline/detector \\
        --split test --out models/weights/EVAL.md
    codegraph train eval --config models/training/shipped.toml     # paths from the training config
    codegraph train eval --checkpoint A --baseline B --data data/dataset-full --data data/test-seed1
                                                  # the test split of two builds, one report

With a baseline, each comparison also gives the paired difference (same units) with a
95% bootstrap interval, so a win can be told from sampling noise.

Metrics, each overall, per rule (buggy units), and per distance bucket (``hops`` and
``lines`` recorded by the dataset builder):

* no-bug accuracy: clean units for which "no bug" is the most likely outcome;
* localisation: buggy units whose most likely outcome is the injected bug's location;
* repair: buggy units whose most likely repair at the true location is the fix;
* joint: buggy units with both the location and (at that location) the repair right;
* overall: clean units right about "no bug" + buggy units jointly right.

Swapped-argument bugs are also split by what the graph shows of the callee: not its
parameters (an unresolved callee), its parameters with names that decide which argument
goes where, or its parameters with names that do not (:func:`swap_evidence`).

Precision / recall over confidence thresholds use confidence = P(bug at c) x P(r | c)
of the most likely (location c, repair r) pair, as the scanner does: a unit is flagged
when confidence >= threshold, a flag is correct when the pair is the bug and its fix,
recall is over all buggy units.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import time
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch_geometric.data import Data

from codegraph.command import CommandError, command
from codegraph.config import DEFAULT_MIN_CONFIDENCE
from codegraph.models.layers.bug_heads import BugLogits
from codegraph.models.model import BugModel
from codegraph.models.tensorize import RULES, UNK_ID, UnitData, Vocabulary, collate, load_shard, save_shard
from codegraph.models.training.calibrate import expected_calibration_error, fit_no_bug_bias, merge_logits
from codegraph.schema import EdgeKind

#: the thresholds of the reports: a coarse grid and the scanner's default
THRESHOLDS: tuple[float, ...] = tuple(
    sorted({0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, DEFAULT_MIN_CONFIDENCE})
)
#: the finer grid of ``--json``'s ``curve`` (0.01 ... 0.99), for reading recall at any threshold
FINE: tuple[float, ...] = tuple(round(k / 100, 2) for k in range(1, 100))
HOPS_BUCKETS: tuple[tuple[int, int, str], ...] = (
    (0, 2, "0-1"),
    (2, 4, "2-3"),
    (4, 8, "4-7"),
    (8, 16, "8-15"),
    (16, 1 << 62, "16+"),
)
LINES_BUCKETS: tuple[tuple[int, int, str], ...] = (
    (0, 1, "same line"),
    (1, 5, "1-4"),
    (5, 20, "5-19"),
    (20, 50, "20-49"),
    (50, 1 << 62, "50+"),
)


# -- data ---------------------------------------------------------------------------------------
def shard_files(data_dir: Path, split: str) -> list[Path]:
    return sorted((data_dir / split).glob("*.pt"))


def load_split(
    data_dir: str | Path,
    split: str,
    transform: Callable[[Data], Data] | None = None,
    cache_dir: str | Path | None = None,
    limit: int | None = None,
) -> list[UnitData]:
    """All units of ``DIR/SPLIT/*.pt`` with ``transform`` applied.

    With ``cache_dir``, transformed shards are kept in ``cache_dir/SPLIT/`` under a
    name that depends on the shard file and the transform, so positional encodings are
    computed once per dataset and feature configuration.
    """
    data_dir = Path(data_dir)
    files = shard_files(data_dir, split)
    if not files:
        raise FileNotFoundError(
            f"no shards in {data_dir / split} "
            "(expected *.pt files written by `codegraph train dataset build`)"
        )
    out: list[UnitData] = []
    for f in files:
        out += load_transformed_shard(f, split, transform, Path(cache_dir) if cache_dir else None)
        if limit is not None and len(out) >= limit:
            return out[:limit]
    return out


def cached_shard_path(shard: Path, split: str, transform: Callable[[Data], Data], cache_dir: Path) -> Path:
    """Where the transformed copy of ``shard`` lives: keyed on the shard file and the transform."""
    st = shard.stat()
    stamp = f"{shard.resolve()}|{st.st_size}|{st.st_mtime_ns}|{transform!r}"
    return cache_dir / split / f"{shard.stem}-{hashlib.sha1(stamp.encode()).hexdigest()[:16]}.pt"


def load_transformed_shard(
    shard: Path, split: str, transform: Callable[[Data], Data] | None, cache_dir: Path | None
) -> list[UnitData]:
    """One shard with ``transform`` applied, through the cache when ``cache_dir`` is given.

    Shards whose samples already carry what the transform adds (the dataset builder
    precomputes the default encodings) are not copied into the cache.
    """
    if transform is None:
        return load_shard(shard)
    cached = cached_shard_path(shard, split, transform, cache_dir) if cache_dir is not None else None
    if cached is not None and cached.is_file():
        try:
            return load_shard(cached)
        except (OSError, ValueError, RuntimeError):
            pass  # unreadable: rebuilt below
    raw = load_shard(shard)
    out = []
    computed = False  # False when the shard already had everything the transform adds
    for d in raw:
        t = transform(d)
        t = t if isinstance(t, UnitData) else UnitData(**t.to_dict())
        same = set(t.keys()) == set(d.keys()) and all(t[k] is d[k] for k in d.keys())  # noqa: SIM118
        computed = computed or not same
        out.append(t)
    if cached is not None and computed:
        save_shard(out, cached)
    return out


def dataset_vocabulary(data_dir: str | Path) -> Vocabulary:
    path = Path(data_dir) / "vocab.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: the dataset builder writes the vocabulary there")
    return Vocabulary.load(path)


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
    units = torch.nonzero((rule == RULES.index("CG002")) & (y_loc >= 0) & (y_rep >= 0)).flatten()
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
    units = torch.nonzero((rule == RULES.index("CG008")) & (y_loc >= 0) & (y_rep >= 0)).flatten()
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


def _pts(diff: tuple[float, float, float]) -> str:
    """A paired difference in percentage points with its interval; * where it excludes 0."""
    mid, lo, hi = (100.0 * x for x in diff)
    if mid != mid:
        return "-"
    star = "*" if lo > 0 or hi < 0 else ""
    return f"{mid:+.1f} [{lo:+.1f}, {hi:+.1f}]{star}"


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


def node_budget_batches(sizes: Sequence[int], batch_nodes: int, batch_graphs: int) -> list[list[int]]:
    """Consecutive indices packed greedily, at most ``batch_nodes`` nodes / ``batch_graphs`` units each."""
    batches: list[list[int]] = []
    nodes = 0
    for i, n in enumerate(sizes):
        if batches and nodes + n <= batch_nodes and len(batches[-1]) < batch_graphs:
            batches[-1].append(i)
            nodes += n
        else:
            batches.append([i])
            nodes = n
    return batches


#: per-unit labels two evaluations of one dataset share, unit by unit
ALIGNED = ("is_bug", "has_fix", "rule", "hops", "lines", "swap_evidence", "assign_direction")


# -- report ---------------------------------------------------------------------------------------
def _pct(x: float, digits: int = 1) -> str:
    return "–" if x != x else f"{100 * x:.{digits}f}%"


def _rule_names() -> dict[str, str]:
    try:
        from codegraph.rules import RULES_BY_CODE

        return {code: rule.name for code, rule in RULES_BY_CODE.items()}
    except ImportError:  # pragma: no cover - the rules module is part of the package
        return {}


def _bucket_masks(values: Tensor, buckets: Sequence[tuple[int, int, str]]) -> list[tuple[str, Tensor]]:
    out = [(label, (values >= lo) & (values < hi)) for lo, hi, label in buckets]
    out.append(("unknown", values < 0))
    return out


def render_markdown(results: dict[str, Outcomes], info: dict[str, Any]) -> str:
    """The EVAL.md report: one column per model (first the detector, then the baseline)."""
    names = list(results)
    first = results[names[0]]
    lines = [f"# Evaluation on the `{info.get('split', 'test')}` split", ""]
    for key in ("dataset", "models", "date", "no-bug bias"):
        if key in info:
            lines.append(f"- {key}: {info[key]}")
    s0 = summary(first)
    lines += [
        f"- units: {int(s0['units'])} ({int(s0['buggy'])} with an injected bug, {int(s0['clean'])} clean)",
        "",
        "## Overall",
        "",
        "| metric | " + " | ".join(names) + " |",
        "|---|" + "---:|" * len(names),
    ]
    sums = {n: summary(o) for n, o in results.items()}
    labels = [
        ("no_bug_accuracy", "no-bug accuracy (clean units called clean)"),
        ("detection", "detection (buggy units flagged)"),
        ("localisation", "localisation accuracy (buggy units)"),
        ("repair", "repair accuracy (at the true location)"),
        ("joint", "joint accuracy (location and repair)"),
        ("accuracy", "overall accuracy (clean: no bug; buggy: joint)"),
    ]
    for key, label in labels:
        lines.append(f"| {label} | " + " | ".join(_pct(sums[n][key]) for n in names) + " |")
    ece = [expected_calibration_error(o.confidence.tolist(), o.top_ok.tolist()) for o in results.values()]
    lines.append("| calibration error (confidence ECE) | " + " | ".join(f"{e:.3f}" for e in ece) + " |")
    paired = len(names) == 2
    if paired:
        a, b = results[names[0]], results[names[1]]
        same = len(a) == len(b) and all(torch.equal(getattr(a, k), getattr(b, k)) for k in ALIGNED)
        if not same:
            raise ValueError("the two models were evaluated on different units")
        clean = ~a.is_bug
        lines += [
            "",
            f"Paired differences, {names[0]} minus {names[1]}, in percentage points over the same",
            "units, with 95% bootstrap intervals (units resampled; * where the interval excludes 0):",
            "",
            f"- no-bug accuracy: {_pts(paired_difference(a.said_no_bug[clean], b.said_no_bug[clean]))}",
            f"- joint accuracy: {_pts(paired_difference(a.joint_ok[a.is_bug], b.joint_ok[a.is_bug]))}",
            f"- overall accuracy: {_pts(paired_difference(a.joint_ok, b.joint_ok))}",
        ]

    def breakdown(title: str, groups: list[tuple[str, Tensor]], what: str) -> None:
        lines.extend(["", f"## {title}", ""])
        head = f"| {what} | units | " + " | ".join(
            f"{metric} {n}" for metric in ("localisation", "repair", "joint") for n in names
        )
        if paired:
            head += f" | joint {names[0]} − {names[1]} (95% CI)"
        lines.append(head + " |")
        lines.append("|---|---:|" + "---:|" * (3 * len(names) + int(paired)))
        for label, mask in groups:
            count = int(mask.sum())
            if not count:
                continue
            cells = []
            for metric in ("localisation", "repair", "joint"):
                for n in names:
                    cells.append(_pct(summary(results[n].select(mask))[metric]))
            if paired:
                cells.append(_pts(paired_difference(a.joint_ok[mask], b.joint_ok[mask])))
            lines.append(f"| {label} | {count} | " + " | ".join(cells) + " |")

    rule_names = _rule_names()
    bug = first.is_bug
    breakdown(
        "Per rule (buggy units)",
        [
            (f"{code} {rule_names.get(code, '')}".strip(), bug & (first.rule == i))
            for i, code in enumerate(RULES)
        ],
        "rule",
    )
    breakdown(
        "By distance in graph hops (buggy units)",
        [(label, bug & m) for label, m in _bucket_masks(first.hops, HOPS_BUCKETS)],
        "hops",
    )
    breakdown(
        "By distance in lines (buggy units)",
        [(label, bug & m) for label, m in _bucket_masks(first.lines, LINES_BUCKETS)],
        "lines",
    )
    if bool((first.swap_evidence >= 0).any()):
        breakdown(
            "Swapped arguments (CG002) by what the graph shows of the callee",
            [(label, first.swap_evidence == value) for value, label in SWAP_LABELS.items()],
            "evidence",
        )
    if bool((first.assign_direction >= 0).any()):
        breakdown(
            "Assignment operators (CG008) by the direction of the injected bug",
            [(label, first.assign_direction == value) for value, label in ASSIGN_LABELS.items()],
            "bug",
        )

    lines += [
        "",
        "## Precision and recall over confidence thresholds",
        "",
        "confidence = P(bug at the location) x P(repair | location) of the most likely pair; a flag is",
        "correct when that pair is the injected bug and its fix; recall is over all buggy units;",
        "clean flagged: the share of clean units with a flag. The scanner's default threshold is "
        f"{DEFAULT_MIN_CONFIDENCE:g}.",
        "",
        "| threshold | "
        + " | ".join(f"precision {n} | recall {n} | flagged {n} | clean flagged {n}" for n in names)
        + " |",
        "|---:|" + "---:|---:|---:|---:|" * len(names),
    ]
    curves = {n: precision_recall(o) for n, o in results.items()}
    for i, t in enumerate(THRESHOLDS):
        cells = []
        for n in names:
            row = curves[n][i]
            cells += [_pct(row["precision"]), _pct(row["recall"]), str(int(row["flagged"]))]
            cells.append(_pct(row["clean_flagged"], 2))
        lines.append(f"| {t:g} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


# -- command ---------------------------------------------------------------------------------------
def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="codegraph train eval", description="Evaluate checkpoints on a dataset split."
    )
    p.add_argument("--checkpoint", help="the detector checkpoint (NAME, NAME.safetensors or NAME.json)")
    p.add_argument("--baseline", help="a second checkpoint reported beside the first")
    p.add_argument("--config", help="training config: supplies the dataset and checkpoint paths")
    p.add_argument(
        "--data",
        action="append",
        help="dataset directory (default: from --config or the checkpoint metadata); repeat it to "
        "evaluate on the same split of several builds (e.g. other injection seeds, same vocabulary)",
    )
    p.add_argument("--split", default="test", help="dataset split (default: test)")
    p.add_argument("--out", help="markdown report path (default: print to stdout)")
    p.add_argument("--json", help="also write the numbers as JSON here")
    p.add_argument("--max-units", type=int, help="evaluate only the first N units")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    p.add_argument(
        "--no-bug-bias",
        type=float,
        default=0.0,
        help="add this to every no-bug logit (before the temperature), to trace joint against "
        "no-bug accuracy; the scanner uses none (default 0)",
    )
    p.add_argument(
        "--fit-no-bug-bias",
        action="store_true",
        help="fit a no-bug bias with the location temperature on the validation split of the first "
        "--data (least NLL, each model its own) and evaluate with them; the scanner uses none",
    )
    return p


@command("codegraph train eval")
def main(argv: Sequence[str]) -> int:
    from codegraph.models.model import feature_transform
    from codegraph.models.predict import ModelError, load_checkpoint

    args = _parser().parse_args(argv)
    cfg: dict[str, Any] = {}
    if args.config:
        with open(args.config, "rb") as f:
            cfg = tomllib.load(f)
    checkpoint = args.checkpoint
    baseline = args.baseline
    if checkpoint is None and cfg:
        checkpoint = cfg.get("export", {}).get("path") or str(
            Path(cfg.get("train", {}).get("out", "runs/default")) / "detector"
        )
        baseline = baseline or cfg.get("eval", {}).get("baseline")
    if checkpoint is None:
        raise CommandError("give --checkpoint (or --config)")
    if args.fit_no_bug_bias and args.no_bug_bias:
        raise CommandError("give --no-bug-bias or --fit-no-bug-bias, not both")
    out = args.out or (cfg.get("eval", {}).get("out") if cfg else None)
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        models = {"detector": load_checkpoint(checkpoint)}
        if baseline:
            models["baseline"] = load_checkpoint(baseline)
    except ModelError as exc:
        raise CommandError(str(exc)) from None
    default_dir = cfg.get("data", {}).get("dir") or models["detector"][3].get("data_dir")
    data_dirs: list[str] = args.data or ([default_dir] if default_dir else [])
    if not data_dirs:
        raise CommandError("no dataset directory (give --data)")
    results: dict[str, Outcomes] = {}
    described = []
    try:
        for data_dir in data_dirs:
            fingerprint = dataset_vocabulary(data_dir).fingerprint()
            for label, (_, vocab, _, _) in models.items():
                if vocab.fingerprint() != fingerprint:
                    raise CommandError(
                        f"the {label} checkpoint's vocabulary differs from {data_dir}/vocab.json"
                    )
        fitted = []
        for label, (model, vocab, config, meta) in models.items():
            start = time.perf_counter()
            temp = meta.get("temperature", {})
            t_loc, t_rep = temp.get("location", 1.0), temp.get("repair", 1.0)
            bias = args.no_bug_bias
            if args.fit_no_bug_bias:
                valid = load_split(data_dirs[0], "valid", feature_transform(config))
                _, raw = run_model(model, valid, t_loc=1.0, t_rep=t_rep, keep_logits=True)
                del valid
                bias, t_loc = fit_no_bug_bias(*merge_logits(raw)[:2])
                fitted.append(f"{label} {bias:+.3f} (T_location {t_loc:.3f})")
            parts = []
            left = args.max_units
            for data_dir in data_dirs:  # one build in memory at a time
                if left is not None and left <= 0:
                    break
                data = load_split(data_dir, args.split, feature_transform(config), limit=left)
                left = None if left is None else left - len(data)
                part, _ = run_model(
                    model, data, t_loc=t_loc, t_rep=t_rep, no_bug_bias=bias, assign_ids=assignment_ids(vocab)
                )
                parts.append(part)
                del data
            results[label] = Outcomes.cat(parts)
            seconds = time.perf_counter() - start
            described.append(
                f"{label} = `{meta.get('name')}` ({config.kind}, {meta.get('steps_trained', '?')} training "
                f"steps, sha256 {str(meta.get('sha256'))[:12]}, evaluated in {seconds:.0f} s)"
            )
    except (FileNotFoundError, ValueError) as exc:
        raise CommandError(str(exc)) from None
    info = {
        "split": args.split,
        "dataset": ", ".join(f"`{d}`" for d in data_dirs),
        "models": "; ".join(described),
        "date": time.strftime("%Y-%m-%d"),
    }
    if args.fit_no_bug_bias:
        info["no-bug bias"] = (
            f"fitted on the `valid` split of `{data_dirs[0]}` (least NLL): {'; '.join(fitted)} "
            "(not the scanner's decision rule)"
        )
    elif args.no_bug_bias:
        info["no-bug bias"] = f"{args.no_bug_bias:+g} on every no-bug logit (not the scanner's decision rule)"
    report = render_markdown(results, info)
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(report, encoding="utf-8")
        print(f"wrote {out}")
    else:
        print(report)
    if args.json:
        payload = {
            n: {"summary": summary(o), "thresholds": precision_recall(o), "curve": precision_recall(o, FINE)}
            for n, o in results.items()
        }
        Path(args.json).write_text(json.dumps(payload, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Temperature scaling of the location and repair softmaxes, and calibration error.

Guo et al., "On Calibration of Modern Neural Networks" (ICML 2017): one scalar T per
softmax, fitted on the validation split by minimising the negative log-likelihood;
the argmax (and so every accuracy) is unchanged. The location softmax (no bug +
candidates) and the repair softmax (per candidate) get separate temperatures.

:func:`fit_no_bug_bias` also fits an offset of the no-bug logit with the location
temperature (least NLL again); unlike a temperature it moves the argmax, so it is a
choice of operating point, measured by ``codegraph train eval --fit-no-bug-bias`` and not
applied by the scanner.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Sequence

import numpy as np
import torch
from torch import Tensor

from codegraph.models.layers.bug_heads import BugLogits

#: temperatures tried before the golden-section refinement
_GRID = np.exp(np.linspace(np.log(0.05), np.log(20.0), 121))


def merge_logits(parts: Sequence[tuple[BugLogits, Tensor, Tensor]]) -> tuple[BugLogits, Tensor, Tensor]:
    """Concatenate per-batch (logits, y_loc, y_rep) into one, fixing the group indices (-1 stays -1)."""
    no_bug, loc, rep, cand_graph, rep_cand, y_loc, y_rep = [], [], [], [], [], [], []
    graphs = cands = reps = 0
    for logits, yl, yr in parts:
        no_bug.append(logits.no_bug.detach().float().cpu())
        loc.append(logits.loc.detach().float().cpu())
        rep.append(logits.rep.detach().float().cpu())
        cand_graph.append(logits.cand_graph.cpu() + graphs)
        rep_cand.append(logits.rep_cand.cpu() + cands)
        y_loc.append(torch.where(yl.cpu() >= 0, yl.cpu() + cands, -1))
        y_rep.append(torch.where(yr.cpu() >= 0, yr.cpu() + reps, -1))
        graphs += logits.num_graphs
        cands += int(logits.loc.numel())
        reps += int(logits.rep.numel())

    def cat(xs: list[Tensor], dtype: torch.dtype) -> Tensor:
        return torch.cat(xs) if xs else torch.zeros(0, dtype=dtype)

    merged = BugLogits(
        no_bug=cat(no_bug, torch.float),
        loc=cat(loc, torch.float),
        rep=cat(rep, torch.float),
        cand_graph=cat(cand_graph, torch.long),
        rep_cand=cat(rep_cand, torch.long),
    )
    return merged, cat(y_loc, torch.long), cat(y_rep, torch.long)


def location_nll(logits: BugLogits, y_loc: Tensor, t_loc: float) -> float:
    no_bug, loc, _ = logits.log_probs(t_loc, 1.0)
    if no_bug.numel() == 0:
        return 0.0
    target = torch.where(y_loc >= 0, loc[y_loc.clamp_min(0)] if loc.numel() else no_bug, no_bug)
    return float(-target.mean())


def repair_nll(logits: BugLogits, y_loc: Tensor, y_rep: Tensor, t_rep: float) -> float:
    _, _, rep = logits.log_probs(1.0, t_rep)
    known = (y_loc >= 0) & (y_rep >= 0)
    if not bool(known.any()):
        return 0.0
    return float(-rep[y_rep[known]].mean())


def _golden(fn: Callable[[float], float], lo: float, hi: float, steps: int = 40) -> float:
    """Golden-section search for the minimum of a unimodal ``fn`` on [lo, hi]."""
    ratio = (np.sqrt(5) - 1) / 2
    a, b = hi - ratio * (hi - lo), lo + ratio * (hi - lo)
    fa, fb = fn(a), fn(b)
    for _ in range(steps):
        if fa < fb:
            hi, b, fb = b, a, fa
            a = hi - ratio * (hi - lo)
            fa = fn(a)
        else:
            lo, a, fa = a, b, fb
            b = lo + ratio * (hi - lo)
            fb = fn(b)
    return (lo + hi) / 2


def _grid_then_golden(fn: Callable[[float], float], grid: np.ndarray, steps: int) -> float:
    """The minimum of ``fn`` over ``grid``, refined by golden-section search between its neighbours."""
    values = [fn(float(x)) for x in grid]
    i = int(np.argmin(values))
    lo, hi = float(grid[max(i - 1, 0)]), float(grid[min(i + 1, len(grid) - 1)])
    best = _golden(fn, lo, hi, steps)
    return best if fn(best) <= values[i] else float(grid[i])


def _minimise(fn: Callable[[float], float], grid: np.ndarray = _GRID) -> float:
    """Grid search over T, then golden-section search on log T around the best grid point."""
    return float(np.exp(_grid_then_golden(lambda x: fn(float(np.exp(x))), np.log(grid), steps=30)))


def location_nll_biased(logits: BugLogits, y_loc: Tensor, bias: float, t_loc: float) -> float:
    """:func:`location_nll` with ``bias`` added to every no-bug logit before the temperature."""
    return location_nll(dataclasses.replace(logits, no_bug=logits.no_bug + bias), y_loc, t_loc)


def fit_no_bug_bias(logits: BugLogits, y_loc: Tensor, rounds: int = 4) -> tuple[float, float]:
    """(bias, T_location) minimising the NLL of softmax([no_bug + bias, loc] / T) on ``logits``.

    Coordinate descent: the temperature by :func:`_minimise`, the bias by a grid over
    [-4, 4] (step 0.1) refined by golden-section search; (0.0, 1.0) when there is no data.
    """
    if not logits.num_graphs:
        return 0.0, 1.0
    bias, t_loc = 0.0, _fit_temperature(logits, y_loc, 0.0)
    for _ in range(rounds):
        bias = _fit_bias(logits, y_loc, t_loc)
        t_loc = _fit_temperature(logits, y_loc, bias)
    return float(bias), float(t_loc)


def _fit_temperature(logits: BugLogits, y_loc: Tensor, bias: float) -> float:
    """The location temperature of least NLL at a fixed no-bug bias."""
    return _minimise(lambda t: location_nll_biased(logits, y_loc, bias, t))


def _fit_bias(logits: BugLogits, y_loc: Tensor, t_loc: float) -> float:
    """The no-bug bias of least NLL at a fixed temperature: a grid over [-4, 4], then golden section."""
    grid = np.linspace(-4.0, 4.0, 81)
    return _grid_then_golden(lambda b: location_nll_biased(logits, y_loc, b, t_loc), grid, steps=40)


def fit_temperatures(logits: BugLogits, y_loc: Tensor, y_rep: Tensor) -> tuple[float, float]:
    """(T_location, T_repair) minimising the validation NLL of each softmax (1.0 when there is no data)."""
    t_loc = _minimise(lambda t: location_nll(logits, y_loc, t)) if logits.num_graphs else 1.0
    has_fix = bool(((y_loc >= 0) & (y_rep >= 0)).any())
    t_rep = _minimise(lambda t: repair_nll(logits, y_loc, y_rep, t)) if has_fix else 1.0
    return t_loc, t_rep


def expected_calibration_error(confidence: Iterable[float], correct: Iterable[bool], bins: int = 10) -> float:
    """ECE: the bin-size-weighted mean |accuracy - mean confidence| over equal-width confidence bins."""
    conf = np.asarray(list(confidence), dtype=float)
    ok = np.asarray(list(correct), dtype=float)
    if conf.size == 0:
        return 0.0
    which = np.minimum((conf * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        sel = which == b
        if sel.any():
            total += sel.sum() / conf.size * abs(ok[sel].mean() - conf[sel].mean())
    return float(total)

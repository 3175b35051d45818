"""Calibration: temperatures and the no-bug bias recover what generated the labels."""

from __future__ import annotations

import torch

from codegraph.models.layers.bug_heads import BugLogits
from codegraph.models.training.calibrate import fit_no_bug_bias, fit_temperatures, location_nll_biased


def _sampled(num_graphs: int, cands: int, bias: float, temperature: float, seed: int = 0):
    """Logits of a model whose no-bug score is ``bias`` too low, labels drawn from the true softmax."""
    g = torch.Generator().manual_seed(seed)
    no_bug = torch.randn(num_graphs, generator=g)
    loc = 2.0 * torch.randn(num_graphs * cands, generator=g)
    cand_graph = torch.arange(num_graphs).repeat_interleave(cands)
    true = torch.cat([(no_bug + bias).unsqueeze(1), loc.view(num_graphs, cands)], 1) / temperature
    pick = torch.multinomial(torch.softmax(true, 1), 1, generator=g).squeeze(1)
    y_loc = torch.where(pick == 0, -1, torch.arange(num_graphs) * cands + pick - 1)
    rep_cand = torch.arange(num_graphs * cands)
    logits = BugLogits(
        no_bug=no_bug, loc=loc, rep=torch.zeros(num_graphs * cands), cand_graph=cand_graph, rep_cand=rep_cand
    )
    return logits, y_loc


def test_fitted_bias_and_temperature_recover_the_generating_ones() -> None:
    logits, y_loc = _sampled(20_000, 3, bias=1.5, temperature=1.6)
    bias, t_loc = fit_no_bug_bias(logits, y_loc)
    assert abs(bias - 1.5) < 0.15 and abs(t_loc - 1.6) < 0.1
    # it beats the temperature alone, which cannot move the no-bug prior
    t_only, _ = fit_temperatures(logits, y_loc, torch.full_like(y_loc, -1))
    assert (
        location_nll_biased(logits, y_loc, bias, t_loc)
        < location_nll_biased(logits, y_loc, 0.0, t_only) - 0.01
    )


def test_no_bias_is_fitted_where_none_generated_the_labels() -> None:
    logits, y_loc = _sampled(20_000, 3, bias=0.0, temperature=1.0, seed=1)
    bias, t_loc = fit_no_bug_bias(logits, y_loc)
    assert abs(bias) < 0.15 and abs(t_loc - 1.0) < 0.08


def test_no_data_fits_nothing() -> None:
    empty = BugLogits(
        no_bug=torch.zeros(0), loc=torch.zeros(0), rep=torch.zeros(0),
        cand_graph=torch.zeros(0, dtype=torch.long), rep_cand=torch.zeros(0, dtype=torch.long),
    )  # fmt: skip
    assert fit_no_bug_bias(empty, torch.zeros(0, dtype=torch.long)) == (0.0, 1.0)

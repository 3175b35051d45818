"""The detector and the baseline: outputs, loss, shared heads, sensitivity to code, and a toy task learned."""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest
import torch

from codegraph.models.baseline import Baseline
from codegraph.models.detector import Detector, build_model
from codegraph.models.layers.bug_heads import BugHeads, bug_loss
from codegraph.models.model import ModelConfig, feature_transform
from codegraph.models.tensorize import tensorize
from codegraph.models.tensors import collate

sys.path.insert(0, str(Path(__file__).parent))
from toy_units import far_task_unit, toy_unit, toy_vocab

TINY = {"hidden": 16, "layers": 2, "heads": 2, "ffn_mult": 2, "dropout": 0.0, "rw_k": 4, "lap_k": 3}


def make(kind: str = "transformer", **overrides: object):  # type: ignore[no-untyped-def]
    vocab = toy_vocab()
    config = ModelConfig(kind=kind, **{**TINY, **overrides}).with_vocab(vocab)  # type: ignore[arg-type]
    torch.manual_seed(0)
    return build_model(config), vocab, feature_transform(config)


def batch_of(units, vocab, transform):  # type: ignore[no-untyped-def]
    return collate([transform(tensorize(u, vocab)) for u in units])


@pytest.mark.parametrize("kind", ["transformer", "baseline"])
def test_outputs_are_distributions(kind: str) -> None:
    model, vocab, tf = make(kind)
    empty = toy_unit()
    empty.candidates = []
    units = [toy_unit(), toy_unit(bug=1, fix=0), empty, toy_unit(swapped=True)]
    with torch.no_grad():
        logits = model.eval()(batch_of(units, vocab, tf))
    no_bug, loc, rep = (t.exp() for t in logits.log_probs())
    assert no_bug.shape == (4,) and loc.shape == (12,) and rep.shape == (24,)
    per_graph = no_bug.clone().index_add_(0, logits.cand_graph, loc)
    assert torch.allclose(per_graph, torch.ones(4), atol=1e-5)
    assert no_bug[2] == pytest.approx(1.0)  # no candidates: certainly no bug
    per_cand = torch.zeros(12).index_add_(0, logits.rep_cand, rep)
    assert torch.allclose(per_cand, torch.ones(12), atol=1e-5)
    # temperatures change confidence, not the ranking
    hot = logits.log_probs(t_loc=5.0)[1]
    order = logits.log_probs()[1].argsort()  # (identical units tie up to rounding)
    assert torch.all(hot[order].diff() >= -1e-5) and not torch.allclose(hot, logits.log_probs()[1])


@pytest.mark.parametrize("kind", ["transformer", "baseline"])
def test_loss_reaches_every_parameter(kind: str) -> None:
    model, vocab, tf = make(kind, local_mp=kind == "transformer")
    batch = batch_of([toy_unit(bug=0, fix=1), toy_unit(), toy_unit(bug=3, fix=0)], vocab, tf)
    loss, parts, _ = model.train().loss(batch)
    assert parts["loc_loss"] > 0 and parts["rep_loss"] > 0
    loss.backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None]
    assert not missing
    # batches without any fix still give every parameter a (zero) gradient: needed by DDP
    model.zero_grad(set_to_none=True)
    loss, parts, _ = model.loss(batch_of([toy_unit()], vocab, tf))
    loss.backward()
    assert parts["rep_loss"] == 0.0
    assert all(p.grad is not None for p in model.parameters())


def test_detector_and_baseline_share_the_heads() -> None:
    det, _, _ = make("transformer")
    base, _, _ = make("baseline")
    assert isinstance(det, Detector) and isinstance(base, Baseline)
    assert type(det.heads) is type(base.heads) is BugHeads
    assert type(det.embed) is type(base.embed)


def test_swapping_two_variables_changes_the_score() -> None:
    model, vocab, tf = make()
    model.eval()
    original = model(batch_of([toy_unit()], vocab, tf))
    swapped = model(batch_of([toy_unit(swapped=True)], vocab, tf))
    assert not torch.allclose(original.loc, swapped.loc, atol=1e-6)
    assert not torch.allclose(original.no_bug, swapped.no_bug, atol=1e-6)
    again = model(batch_of([toy_unit()], vocab, tf))
    assert torch.equal(original.loc, again.loc)  # deterministic in eval mode


def test_laplacian_signs_are_flipped_only_while_training() -> None:
    model, vocab, tf = make(rw_pe=False)
    batch = batch_of([toy_unit()] * 4, vocab, tf)
    model.train()
    torch.manual_seed(1)
    outs = [model(batch).loc for _ in range(4)]
    assert any(not torch.allclose(outs[0], o) for o in outs[1:])
    model.eval()
    assert torch.equal(model(batch).loc, model(batch).loc)


@pytest.mark.parametrize(
    "flags",
    [{"rw_pe": False}, {"lap_pe": False}, {"shortcuts": False}, {"rw_pe": False, "lap_pe": False}],
    ids=["no-rw", "no-lap", "no-shortcuts", "no-pe"],
)
def test_ablations_build_and_run(flags: dict[str, bool]) -> None:
    model, vocab, tf = make(**flags)
    data = tf(tensorize(toy_unit(), vocab))
    assert ("rw_pe" in data) == flags.get("rw_pe", True)
    assert ("lap_pe" in data) == flags.get("lap_pe", True)
    assert ("virtual_mask" in data) == flags.get("shortcuts", True)
    logits = model.eval()(collate([data]))
    assert torch.isfinite(logits.loc).all()


def test_missing_encodings_are_a_clear_error() -> None:
    model, vocab, _ = make()
    with pytest.raises(ValueError, match="RandomWalkPE"):
        model(collate([tensorize(toy_unit(), vocab)]))


@pytest.fixture
def one_thread():  # type: ignore[no-untyped-def]
    """Small models run fastest (and reproducibly) on one thread, above all on a busy machine."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["transformer"])
def test_tiny_model_learns_a_far_away_task(kind: str, one_thread: None) -> None:
    """Which read is the bug (or none) and its fix are decided by two tokens 10+ statements away."""
    rng = random.Random(0)
    train = [far_task_unit(rng) for _ in range(128)]
    test = [far_task_unit(rng) for _ in range(48)]
    vocab = toy_vocab(train)
    config = ModelConfig(kind=kind, **{**TINY, "hidden": 32, "heads": 4}).with_vocab(vocab)  # type: ignore[arg-type]
    tf = feature_transform(config)
    torch.manual_seed(0)
    model = build_model(config)
    train_data = [tf(tensorize(u, vocab)) for u in train]
    test_batch = collate([tf(tensorize(u, vocab)) for u in test])
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    gen = torch.Generator().manual_seed(0)
    model.train()
    for _ in range(160):
        idx = torch.randperm(len(train_data), generator=gen)[:32].tolist()
        batch = collate([train_data[i] for i in idx])
        loss, _ = bug_loss(model(batch), batch.y_loc, batch.y_rep)
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        logits = model(test_batch)
    no_bug, loc, rep = logits.log_probs()
    scores = torch.stack([no_bug, *loc.view(-1, 2).t()], 1)  # [B, no-bug + 2 candidates]
    predicted = scores.argmax(1) - 1
    truth = test_batch.y_loc - 2 * torch.arange(len(test))
    truth = torch.where(test_batch.y_loc < 0, -1, truth)
    assert (predicted == truth).float().mean() >= 0.9
    buggy = test_batch.y_loc >= 0
    best_rep = rep.view(-1, 2).argmax(1)  # per candidate
    fix = best_rep[test_batch.y_loc[buggy]] + 2 * test_batch.y_loc[buggy]
    assert (fix == test_batch.y_rep[buggy]).float().mean() >= 0.9


@pytest.mark.parametrize(
    ("kind", "local_mp"), [("transformer", False), ("transformer", True), ("baseline", False)]
)
def test_inference_computes_only_what_the_heads_read_and_changes_nothing(kind: str, local_mp: bool) -> None:
    """Without gradients the model skips graph nodes no later layer or head reads
    (here the context function of every toy unit); the scores are those of the full stack,
    for attention blocks, GPS blocks and the GGNN baseline."""
    model, vocab, tf = make(kind, layers=3, local_mp=local_mp)
    model.eval()
    batch = batch_of([toy_unit(), toy_unit(bug=1, fix=0), far_task_unit(random.Random(3))], vocab, tf)
    needed = model.read_by_heads(batch)
    assert 0 < int(needed.sum()) < batch.num_nodes
    with torch.no_grad():
        fast = model(batch)
        h = model.node_states(batch, None)  # every graph node, every layer
        full = model.heads(
            h,
            batch.batch,
            3,
            batch.fn_mask,
            batch.cand_node,
            batch.cand_rule,
            batch.cand_graph,
            batch.rep_cand,
            batch.rep_token,
            batch.rep_target,
        )
        restricted = model.node_states(batch, needed)
    trained_path = model.node_states(batch, None).detach()  # with gradients: the training code
    assert torch.allclose(h, trained_path, atol=1e-5)
    assert torch.allclose(fast.no_bug, full.no_bug, atol=1e-5)
    assert torch.allclose(fast.loc, full.loc, atol=1e-5)
    assert torch.allclose(fast.rep, full.rep, atol=1e-5)
    assert torch.allclose(restricted[needed], h[needed], atol=1e-5)
    assert not torch.allclose(restricted, h)  # the context's final states were not computed


@pytest.mark.parametrize(
    ("kind", "local_mp"), [("transformer", False), ("transformer", True), ("baseline", False)]
)
def test_pruned_training_gives_the_same_loss_and_gradients(kind: str, local_mp: bool) -> None:
    """``prune_training`` computes each layer only at the graph nodes the loss depends on;
    without dropout the loss and every parameter's gradient equal the full stack's."""
    model, vocab, tf = make(kind, layers=3, local_mp=local_mp, lap_sign_flip=False)
    batch = batch_of(
        [toy_unit(bug=0, fix=1), toy_unit(), far_task_unit(random.Random(5)), toy_unit(bug=3, fix=0)],
        vocab,
        tf,
    )
    assert 0 < int(model.read_by_heads(batch).sum()) < batch.num_nodes
    results = []
    for prune in (False, True):
        model.prune_training = prune
        model.train().zero_grad(set_to_none=True)
        loss, _, _ = model.loss(batch)
        loss.backward()
        results.append((loss.detach(), {n: p.grad.clone() for n, p in model.named_parameters()}))
    (full_loss, full_grads), (pruned_loss, pruned_grads) = results
    assert torch.allclose(full_loss, pruned_loss, atol=1e-5)
    for name, grad in full_grads.items():
        assert torch.allclose(grad, pruned_grads[name], atol=1e-5), name
    assert any(float(g.abs().sum()) > 0 for g in full_grads.values())

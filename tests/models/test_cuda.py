"""The model and `codegraph train` on a CUDA device: the same numbers as on the CPU, a run
trained there that resumes and exports, and weights that load back on a machine without one.

These tests need a CUDA device and are skipped where torch sees none."""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

import pytest
import torch

from codegraph.models.detector import build_model
from codegraph.models.model import ModelConfig, feature_transform
from codegraph.models.predict import load_checkpoint, load_predictor
from codegraph.models.tensorize import tensorize
from codegraph.models.tensors import collate, load_shard
from codegraph.models.training import train

sys.path.insert(0, str(Path(__file__).parent))
from toy_units import far_task_unit, toy_unit, toy_vocab, write_dataset

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")

TINY = str(Path(train.__file__).with_name("tiny.toml"))
CUDA = torch.device("cuda")


def model_and_batch(kind: str, local_mp: bool):  # type: ignore[no-untyped-def]
    vocab = toy_vocab()
    config = ModelConfig(
        kind=kind,
        hidden=16,
        layers=3,
        heads=2,
        dropout=0.0,
        rw_k=4,
        lap_k=3,
        local_mp=local_mp,
        lap_sign_flip=False,  # random signs are drawn from each device's own generator
    ).with_vocab(vocab)
    torch.manual_seed(0)
    tf = feature_transform(config)
    units = [toy_unit(), toy_unit(bug=1, fix=0), toy_unit(swapped=True), far_task_unit(random.Random(3))]
    return build_model(config), collate([tf(tensorize(u, vocab)) for u in units])


@pytest.mark.parametrize(
    ("kind", "local_mp"), [("transformer", False), ("transformer", True), ("baseline", False)]
)
def test_scores_and_gradients_on_cuda_equal_the_cpu(kind: str, local_mp: bool) -> None:
    model, batch = model_and_batch(kind, local_mp)
    model.eval()
    with torch.no_grad():
        cpu = model(batch)  # the pruned inference path
    gpu_model = build_model(model.config)
    gpu_model.load_state_dict(model.state_dict())
    gpu_model.to(CUDA).eval()
    gpu_batch = batch.clone().to(CUDA)  # (a batch's .to moves it in place)
    with torch.no_grad():
        gpu = gpu_model(gpu_batch)
    for name in ("no_bug", "loc", "rep"):
        a, b = getattr(cpu, name), getattr(gpu, name).cpu()
        assert torch.allclose(a, b, atol=1e-4), name

    model.train()
    gpu_model.train()
    loss_cpu, _, _ = model.loss(batch)
    loss_gpu, _, _ = gpu_model.loss(gpu_batch)
    loss_cpu.backward()
    loss_gpu.backward()
    assert loss_cpu.item() == pytest.approx(loss_gpu.item(), abs=1e-4)
    grads = dict(gpu_model.named_parameters())
    for name, p in model.named_parameters():
        g = grads[name].grad
        assert p.grad is not None and g is not None, name
        assert torch.allclose(p.grad, g.cpu(), atol=1e-4, rtol=1e-3), name


def test_train_on_cuda_resumes_exports_and_loads_on_cpu(tmp_path: Path) -> None:
    data = tmp_path / "data"
    write_dataset(data, units_per_split=24)

    def run(out: Path, *extra: str) -> int:
        args = ["--config", TINY, "--set", f"data.dir={data}", "--set", "train.device=cuda"]
        return train.main([*args, "--out", str(out), "--quiet", *extra])

    straight, split = tmp_path / "straight", tmp_path / "split"
    assert run(straight, "--no-export") == 0
    assert run(split, "--max-steps", "5", "--no-export") == 0
    assert run(split, "--resume", "--export", str(tmp_path / "export" / "det")) == 0
    a = torch.load(straight / "last.pt", weights_only=True, map_location="cpu")
    b = torch.load(split / "last.pt", weights_only=True, map_location="cpu")
    assert a["step"] == b["step"] == 12
    # the generators were carried across the resume: both runs end in the same states
    assert b["cuda_rng"][0] is not None
    assert torch.equal(a["cuda_rng"][0], b["cuda_rng"][0]) and torch.equal(a["rng"][0], b["rng"][0])
    log = [json.loads(line) for line in (straight / "log.jsonl").read_text().splitlines()]
    assert all(r["loss"] > 0 for r in log if "loss" in r)

    # the export was written from CUDA tensors and loads on the CPU
    model, _, config, meta = load_checkpoint(tmp_path / "export" / "det.safetensors")
    assert all(p.device.type == "cpu" for p in model.parameters())
    assert config.hidden == 16 and meta["steps_trained"] == 12
    preds = load_predictor(tmp_path / "export" / "det").predict([toy_unit(), toy_unit(bug=1, fix=0)])
    assert all(0 <= p.p_no_bug <= 1 for p in preds)

    # Scatter-adds on a GPU sum in no fixed order, so the two runs' weights agree to rounding
    # only, and Adam turns rounding into full-size steps for a weight whose true gradient is
    # zero (a softmax's shift); their predictions on the test split still agree.
    tf = feature_transform(config)
    batch = collate([tf(u) for u in load_shard(sorted((data / "test").glob("*.pt"))[0])])
    probs = []
    for state in (a, b):
        model.load_state_dict(state["model"])
        with torch.no_grad():
            probs.append(torch.cat([t.exp() for t in model.eval()(batch).log_probs()]))
    assert torch.allclose(probs[0], probs[1], atol=2e-3), (probs[0] - probs[1]).abs().max()

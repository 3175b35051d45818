"""DistributedDataParallel on CPU: two gloo processes train a few steps and stay identical."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp

from codegraph.models.detector import ModelConfig, build_model
from codegraph.models.tensorize import Vocabulary
from codegraph.models.training import train

sys.path.insert(0, str(Path(__file__).parent))
from toy_units import ddp_worker, write_dataset


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_two_process_ddp_keeps_replicas_identical(tmp_path: Path) -> None:
    dataset, out = tmp_path / "data", tmp_path / "run"
    write_dataset(dataset, units_per_split=32)
    tiny = Path(train.__file__).with_name("tiny.toml")
    config = train.load_config(tiny, [f"data.dir={dataset}", "train.eval_every=2", "optim.batch_graphs=4"])
    mp.spawn(ddp_worker, args=(2, free_port(), config, str(out)), nprocs=2, join=True)
    a = torch.load(out / "replica-0.pt", weights_only=True)
    b = torch.load(out / "replica-1.pt", weights_only=True)
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key
    # and they trained: the weights moved away from the common initialisation
    vocab = Vocabulary.load(dataset / "vocab.json")
    torch.manual_seed(config["seed"])
    init = build_model(ModelConfig.from_dict(config["model"]).with_vocab(vocab)).state_dict()
    assert any(not torch.equal(init[k], a[k]) for k in a)
    state = torch.load(out / "last.pt", weights_only=True)
    assert state["step"] == 4 and state["world"] == 2 and len(state["rng"]) == 2

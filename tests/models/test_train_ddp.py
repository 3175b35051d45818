"""DistributedDataParallel on CPU: two gloo processes train a few steps and stay identical."""

from __future__ import annotations

import shutil
import socket
import sys
import time
import warnings
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp

from codegraph.models.detector import build_model
from codegraph.models.model import ModelConfig
from codegraph.models.tensorize import Vocabulary
from codegraph.models.training import train

sys.path.insert(0, str(Path(__file__).parent))
from toy_units import ddp_worker, write_dataset


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


#: a run takes seconds; past this the workers are taken as hung
DEADLINE_S = 180.0


def run_two_workers(config: dict, out: Path) -> bool:  # type: ignore[type-arg]
    """Train with 2 gloo processes; False (workers killed) when they do not finish by the deadline.

    A worker that fails raises here at once. A hang is bounded: gloo can hang in rendezvous
    or teardown on a loaded machine (pytorch/pytorch#75097), which must not stall the suite.
    """
    ctx = mp.spawn(ddp_worker, args=(2, free_port(), config, str(out)), nprocs=2, join=False)
    deadline = time.monotonic() + DEADLINE_S
    while not ctx.join(timeout=2.0):
        if time.monotonic() > deadline:
            for process in ctx.processes:
                if process.is_alive():
                    process.kill()
            return False
    return True


@pytest.mark.slow
def test_two_process_ddp_keeps_replicas_identical(tmp_path: Path) -> None:
    dataset, out = tmp_path / "data", tmp_path / "run"
    write_dataset(dataset, units_per_split=32)
    tiny = Path(train.__file__).with_name("tiny.toml")
    config = train.load_config(tiny, [f"data.dir={dataset}", "train.eval_every=2", "optim.batch_graphs=4"])
    if not run_two_workers(config, out):  # one more try from scratch, then it is a failure
        warnings.warn(f"the DDP workers did not finish in {DEADLINE_S:.0f} s; retrying once", stacklevel=1)
        shutil.rmtree(out, ignore_errors=True)
        assert run_two_workers(config, out), f"the DDP workers hung twice (> {DEADLINE_S:.0f} s each)"
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

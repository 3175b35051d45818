"""The training set: resident or streamed shards, the epoch plan, extra datasets, bounded memory."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import torch

from codegraph.models.model import ModelConfig, feature_transform
from codegraph.models.training import train, trainset
from codegraph.models.training.trainset import TrainSet, epoch_batches

sys.path.insert(0, str(Path(__file__).parents[1]))
from toy_units import write_dataset

TINY = str(Path(train.__file__).with_name("tiny.toml"))


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("ds")
    write_dataset(root, units_per_split=30, shards=5)  # 5 training shards of 6 units
    return root


def shards_of(root: Path) -> list[tuple[Path, str]]:
    return [(f, "train") for f in sorted((root / "train").glob("*.pt"))]


def unit_ids(units: list) -> list[str]:  # type: ignore[type-arg]
    """A unit's content (node kinds and subtokens, edges, labels): equal units give equal keys."""
    keys = ("x_type", "x_sub", "edge_index", "edge_type", "y_loc", "y_rep")
    return [repr([u[k].tolist() for k in keys]) for u in units]


def test_resident_plan_is_the_shuffle_of_all_units(dataset: Path, tmp_path: Path) -> None:
    ts = TrainSet(shards_of(dataset), None, tmp_path)
    assert len(ts) == 30 and ts.resident is not None and len(ts.resident) == 30
    sizes = [x for s in ts.sizes for x in s]
    assert sizes == [int(u.num_nodes) for u in ts.resident]
    plan = ts.epoch_plan(seed=3, epoch=1, batch_nodes=400, batch_graphs=4)
    assert plan == [(0, b) for b in epoch_batches(sizes, 3, 1, 400, 4)]
    assert ts.units(3, 1, 0) is ts.resident


def test_streamed_epochs_cover_every_unit_once_one_window_at_a_time(dataset: Path, tmp_path: Path) -> None:
    resident = TrainSet(shards_of(dataset), None, tmp_path / "r")
    everything = sorted(unit_ids(resident.resident or []))
    loads: list[Path] = []
    ts = TrainSet(shards_of(dataset), None, tmp_path / "s", window=2)
    real_load = ts._load
    ts._load = lambda path, split: loads.append(path) or real_load(path, split)  # type: ignore[method-assign]
    assert ts.resident is None and len(ts) == 30
    seen_windows = []
    for epoch in (0, 1):
        windows = ts.windows(seed=5, epoch=epoch)
        assert [len(w) for w in windows] == [2, 2, 1] and sorted(s for w in windows for s in w) == [
            0,
            1,
            2,
            3,
            4,
        ]
        seen_windows.append(windows)
        plan = ts.epoch_plan(5, epoch, batch_nodes=300, batch_graphs=3)
        assert [w for w, _ in plan] == sorted(w for w, _ in plan)  # window by window
        got = []
        for w, idx in plan:
            units = ts.units(5, epoch, w)
            assert len(units) == sum(ts.shards[s].take for s in windows[w])  # only this window is held
            got += [units[i] for i in idx]
        assert sorted(unit_ids(got)) == everything
    assert seen_windows[0] != seen_windows[1]  # shards are reshuffled every epoch
    assert len(loads) == 2 * 5  # each shard loaded once per epoch
    # the plan depends on (seed, epoch) only: a second instance (a resumed run) plans the same
    again = TrainSet(shards_of(dataset), None, tmp_path / "s", window=2)
    assert again.epoch_plan(5, 1, 300, 3) == ts.epoch_plan(5, 1, 300, 3)


def test_sizes_are_kept_so_streaming_does_not_reload(dataset: Path, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    tf = feature_transform(ModelConfig(rw_k=4, lap_k=3))
    first = TrainSet(shards_of(dataset), tf, tmp_path, window=1)
    assert json.loads((tmp_path / "unit-sizes.json").read_text())
    calls: list[Path] = []
    monkeypatch.setattr(trainset, "load_transformed_shard", lambda *a: calls.append(a[0]) or [])
    second = TrainSet(shards_of(dataset), tf, tmp_path, window=1)
    assert calls == [] and second.sizes == first.sizes


def test_a_unit_limit_cuts_the_last_shard(dataset: Path, tmp_path: Path) -> None:
    ts = TrainSet(shards_of(dataset), None, tmp_path, limit=14, window=2)
    assert [s.take for s in ts.shards] == [6, 6, 2] and len(ts) == 14
    plan = ts.epoch_plan(0, 0, 300, 3)
    assert sum(len(b) for _, b in plan) == 14


def test_training_streams_and_joins_extra_datasets(dataset: Path, tmp_path: Path) -> None:
    from codegraph.models.training.shards import dataset_vocabulary

    other = tmp_path / "seed1"
    write_dataset(other, units_per_split=30, seed=1, vocab=dataset_vocabulary(dataset), shards=3)

    def run(out: Path, *extra: str) -> int:
        args = ["--config", TINY, "--set", f"data.dir={dataset}", "--out", str(out), "--quiet"]
        args += ["--set", f'data.extra_train=["{other}"]', "--set", "data.window_shards=2", "--no-export"]
        return train.main([*args, *extra])

    out, straight = tmp_path / "run", tmp_path / "straight"
    assert run(out, "--max-steps", "5") == 0
    config = train.load_config(TINY, [f"data.dir={dataset}", f'data.extra_train=["{other}"]'])
    trainer = train.Trainer(config, tmp_path / "x", quiet=True)
    assert len(trainer.train_set) == 60 and len(trainer.train_set.shards) == 8
    # stopped and resumed: the same weights as a straight run
    assert run(straight, "--max-steps", "9") == 0
    assert run(out, "--resume", "--max-steps", "9") == 0
    a = torch.load(straight / "last.pt", weights_only=True)["model"]
    b = torch.load(out / "last.pt", weights_only=True)["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_an_extra_dataset_with_another_vocabulary_is_refused(dataset: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    write_dataset(other, units_per_split=10, seed=7)  # its own vocabulary
    vocab = train.dataset_vocabulary(dataset)
    with pytest.raises(train.TrainError, match="another vocabulary"):
        train.training_shards(dataset, "train", [str(other)], vocab)
    with pytest.raises(train.TrainError, match="extra_train"):
        train.training_shards(dataset, "train", [str(tmp_path / "missing")], vocab)

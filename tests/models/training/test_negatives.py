"""`codegraph dataset negatives`: the clean units a checkpoint flags, as a training dataset."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import torch

from codegraph.models.detector import ModelConfig, build_model, feature_transform
from codegraph.models.predict import load_checkpoint, save_checkpoint
from codegraph.models.tensorize import load_shard
from codegraph.models.training import dataset as dataset_cli
from codegraph.models.training import negatives, train
from codegraph.models.training.evaluate import load_split, run_model

sys.path.insert(0, str(Path(__file__).parents[1]))
from toy_units import write_dataset


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("negatives")
    data = root / "data"
    vocab = write_dataset(data, units_per_split=40, shards=3)
    torch.manual_seed(3)
    model = build_model(ModelConfig(hidden=16, layers=1, heads=2, rw_k=4, lap_k=2).with_vocab(vocab))
    save_checkpoint(root / "model", model, vocab, name="random", temperature=(0.5, 1.0))
    return data, root / "model"


def scores(data: Path, checkpoint: Path) -> tuple[list, torch.Tensor, torch.Tensor]:
    """Every training unit (as stored), whether it is clean, and its calibrated confidence."""
    model, _, config, meta = load_checkpoint(checkpoint)
    raw = load_split(data, "train")
    o, _ = run_model(model, load_split(data, "train", feature_transform(config)), t_loc=0.5, t_rep=1.0)
    assert meta["temperature"] == {"location": 0.5, "repair": 1.0}
    return raw, ~o.is_bug, o.confidence


def test_mines_exactly_the_flagged_clean_units(setup: tuple[Path, Path], tmp_path: Path) -> None:
    data, checkpoint = setup
    raw, clean, conf = scores(data, checkpoint)
    tau = float(conf[clean].median())
    out = tmp_path / "neg"
    manifest = negatives.mine(data, checkpoint, out, min_confidence=tau)
    expected = [i for i in range(len(raw)) if clean[i] and conf[i] >= tau]
    assert 0 < len(expected) < int(clean.sum()) < len(raw)
    assert manifest["units"] == len(raw) and manifest["clean"] == int(clean.sum())
    assert manifest["mined"] == len(expected) == sum(manifest["rules"].values())
    for t, n in manifest["flagged"].items():
        assert n == int((clean & (conf >= float(t))).sum())
    mined = [u for s in sorted((out / "train").glob("*.pt")) for u in load_shard(s)]
    assert len(mined) == len(expected)
    for unit, i in zip(mined, expected):  # unchanged, in source order, still labelled clean
        assert int(unit.y_loc) == -1
        assert torch.equal(unit.x_type, raw[i].x_type) and torch.equal(unit.edge_index, raw[i].edge_index)
    assert (out / "vocab.json").read_bytes() == (data / "vocab.json").read_bytes()

    # a training run takes them, each extra dataset repeated as asked
    vocab = train.dataset_vocabulary(data)
    once = train.training_shards(data, "train", [str(out)], vocab)
    thrice = train.training_shards(data, "train", [str(out)], vocab, [3])
    assert len(thrice) - len(once) == 2 * len(list((out / "train").glob("*.pt")))
    with pytest.raises(train.TrainError, match="extra_repeat"):
        train.training_shards(data, "train", [str(out)], vocab, [0])
    with pytest.raises(train.TrainError, match="extra_repeat"):
        train.training_shards(data, "train", [str(out)], vocab, [1, 2])


def test_resumes_finished_parts_and_redoes_changed_ones(setup: tuple[Path, Path], tmp_path: Path) -> None:
    data, checkpoint = setup
    out = tmp_path / "neg"
    first = negatives.mine(data, checkpoint, out, min_confidence=0.01)
    sidecars = sorted((out / "parts").glob("part-*.json"))
    assert len(sidecars) == 3
    stamps = [p.stat().st_mtime_ns for p in sidecars]
    again = negatives.mine(data, checkpoint, out, min_confidence=0.01)
    assert [p.stat().st_mtime_ns for p in sidecars] == stamps
    assert {k: v for k, v in again.items() if k != "seconds"} == {
        k: v for k, v in first.items() if k != "seconds"
    }
    stricter = negatives.mine(data, checkpoint, out, min_confidence=0.99)
    assert json.loads(sidecars[0].read_text())["key"]["min_confidence"] == 0.99
    assert stricter["mined"] < first["mined"]


def test_clear_errors(setup: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data, checkpoint = setup
    other = tmp_path / "other"
    write_dataset(other, units_per_split=4, seed=1, shards=1)
    (other / "vocab.json").write_text((other / "vocab.json").read_text().replace("identifier", "identifierx"))
    cases = [
        (["--from", str(other), "--checkpoint", str(checkpoint)], "not the checkpoint's vocabulary"),
        (["--from", str(data), "--checkpoint", str(tmp_path / "none")], "not found"),
        (["--from", str(data), "--checkpoint", str(checkpoint), "--min-confidence", "0"], "min-confidence"),
        (["--from", str(tmp_path), "--checkpoint", str(checkpoint)], "vocab.json"),
    ]
    for argv, message in cases:
        code = dataset_cli.main(["negatives", *argv, "--out", str(tmp_path / "o")])
        assert code == 2
        assert message in capsys.readouterr().out.replace("\n", "")
    assert (
        dataset_cli.main(
            ["negatives", "--from", str(data), "--checkpoint", str(checkpoint), "--out", str(data)]
        )
        == 2
    )

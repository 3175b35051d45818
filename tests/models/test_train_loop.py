"""`codegraph train run` / `codegraph train eval` end to end on a tiny dataset: resume, export, report."""

from __future__ import annotations

import itertools
import json
import shutil
import sys
from pathlib import Path

import pytest
import torch

from codegraph.config import DEFAULT_MIN_CONFIDENCE
from codegraph.models.predict import load_checkpoint, load_predictor
from codegraph.models.training import eval_report, evaluate, metrics, train, trainset

sys.path.insert(0, str(Path(__file__).parent))
from toy_units import toy_unit, write_dataset

TINY = str(Path(train.__file__).with_name("tiny.toml"))


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("dataset")
    write_dataset(root, units_per_split=24)
    return root


def run_train(dataset: Path, out: Path, *extra: str) -> int:
    return train.main(
        ["--config", TINY, "--set", f"data.dir={dataset}", "--out", str(out), "--quiet", *extra]
    )


def test_config_defaults_and_overrides(tmp_path: Path) -> None:
    config = train.load_config(TINY, ["model.kind=baseline", "optim.lr=0.5", "train.out=elsewhere"])
    assert config["model"]["kind"] == "baseline" and config["optim"]["lr"] == 0.5
    assert config["train"]["out"] == "elsewhere" and config["model"]["hidden"] == 16  # from tiny.toml
    assert config["optim"]["clip"] == 1.0  # a default
    default = train.load_config(train.DEFAULT_CONFIG)
    assert default["model"]["kind"] == "transformer" and default["data"]["dir"] == "data/dataset-full"
    with pytest.raises(train.TrainError, match=r"unknown config key model\.colour"):
        train.load_config(TINY, ["model.colour=red"])
    with pytest.raises(train.TrainError, match="select must be one of accuracy, top_joint, not 'recall'"):
        train.load_config(TINY, ["train.select=recall"])
    bad = tmp_path / "bad.toml"
    bad.write_text("[model]\nheads = 3\n")
    with pytest.raises(train.TrainError, match="divisible"):
        train.load_config(bad)


def test_epoch_batches_are_deterministic_and_cover_the_data() -> None:
    sizes = [30, 50, 10, 200, 40, 40, 5, 60]
    a = trainset.epoch_batches(sizes, seed=1, epoch=0, batch_nodes=100, batch_graphs=3)
    assert a == trainset.epoch_batches(sizes, seed=1, epoch=0, batch_nodes=100, batch_graphs=3)
    assert a != trainset.epoch_batches(sizes, seed=1, epoch=1, batch_nodes=100, batch_graphs=3)
    assert sorted(i for b in a for i in b) == list(range(len(sizes)))
    for b in a:
        assert len(b) <= 3 and (len(b) == 1 or sum(sizes[i] for i in b) <= 100)


def test_train_resume_export_and_evaluate(dataset: Path, tmp_path: Path) -> None:
    straight, split = tmp_path / "straight", tmp_path / "split"
    assert run_train(dataset, straight) == 0
    summary = json.loads((straight / "summary.json").read_text())
    assert summary["step"] == 12 and summary["finished"]
    assert (straight / "last.pt").is_file() and (straight / "best.pt").is_file()
    log = [json.loads(line) for line in (straight / "log.jsonl").read_text().splitlines()]
    valid = [r for r in log if "valid" in r]
    assert [r["step"] for r in valid] == [4, 8, 12]
    assert all(0 <= r["valid"]["top_joint"] <= 1 for r in valid)
    # the kept step has the highest validation accuracy ([train] select's default), of equals the lowest loss
    kept = max(valid, key=lambda r: (r["valid"]["accuracy"], -r["valid"]["loss"]))
    assert summary["best"]["step"] == kept["step"]
    assert all(r["loss"] > 0 for r in log if "loss" in r)

    # stop at step 5, then resume: the same weights as the uninterrupted run
    assert run_train(dataset, split, "--max-steps", "5", "--no-export") == 0
    assert json.loads((split / "summary.json").read_text())["step"] == 5
    assert run_train(dataset, split) == 2  # refuses to overwrite a run without --resume
    # a checkpoint from before a model field existed resumes (the field takes its default);
    # one with another architecture does not
    state = torch.load(split / "last.pt", weights_only=True)
    original = dict(state["model_config"])
    del state["model_config"]["name_edges"]
    torch.save(state, split / "last.pt")
    state["model_config"] = {**original, "hidden": 32}
    torch.save(state, tmp_path / "other.pt")
    shutil.copytree(split, tmp_path / "other")
    shutil.copy(tmp_path / "other.pt", tmp_path / "other" / "last.pt")
    assert run_train(dataset, tmp_path / "other", "--resume", "--no-export") == 2
    assert run_train(dataset, split, "--resume", "--export", str(tmp_path / "shipped" / "det")) == 0
    a = torch.load(straight / "last.pt", weights_only=True)
    b = torch.load(split / "last.pt", weights_only=True)
    assert a["step"] == b["step"] == 12 and a["epoch"] == b["epoch"]
    for key, value in a["model"].items():
        assert torch.equal(value, b["model"][key]), key

    # the export: calibrated, loadable, runnable
    _, _, config, meta = load_checkpoint(tmp_path / "shipped" / "det.safetensors")
    assert config.hidden == 16 and meta["data_dir"] == str(dataset) and meta["steps_trained"] == 12
    assert meta["temperature"]["location"] > 0 and meta["name"] == "codegraph-tiny"
    assert (tmp_path / "shipped" / "det.json").is_file() and (split / "detector.safetensors").is_file()
    preds = load_predictor(tmp_path / "shipped" / "det").predict([toy_unit()])
    assert 0 <= preds[0].p_no_bug <= 1

    # the export takes the best validation step's weights (here planted, shifted by one from the
    # run's latest weights, so the two differ)
    best = torch.load(split / "best.pt", weights_only=True)
    best["model"] = {k: v + 1 if v.is_floating_point() else v for k, v in best["model"].items()}
    torch.save(best, split / "best.pt")
    latest = tmp_path / "latest" / "det"
    assert run_train(dataset, split, "--resume", "--export", str(latest)) == 0
    shifted, _, _, meta = load_checkpoint(latest)
    assert meta["exported_step"] == 12
    last_weights = torch.load(split / "last.pt", weights_only=True)["model"]
    for key, value in shifted.state_dict().items():
        if value.is_floating_point():
            assert torch.allclose(value, last_weights[key].half().float() + 1, atol=1e-2), key
    for removed in ('export.weights="last"', 'train.cache="elsewhere"'):
        with pytest.raises(train.TrainError, match="unknown config key"):
            train.load_config(TINY, [removed])

    # fine-tuning starts from the export's weights; another architecture is refused
    cfg = train.load_config(TINY, [f"data.dir={dataset}", f"train.init={tmp_path / 'shipped' / 'det'}"])
    tuned = train.Trainer(cfg, tmp_path / "tuned", quiet=True)
    start = load_checkpoint(tmp_path / "shipped" / "det")[0].state_dict()
    assert all(torch.equal(v, start[k].float()) for k, v in tuned.model.state_dict().items())
    scratch = train.Trainer(
        train.load_config(TINY, [f"data.dir={dataset}"]), tmp_path / "scratch", quiet=True
    )
    assert any(not torch.equal(v, start[k].float()) for k, v in scratch.model.state_dict().items())
    wider = [f"data.dir={dataset}", f"train.init={tmp_path / 'shipped' / 'det'}", "model.hidden=32"]
    with pytest.raises(train.TrainError, match="another model config"):
        train.Trainer(train.load_config(TINY, wider), tmp_path / "wider", quiet=True)

    # validation from another dataset directory (same vocabulary), or a clear error
    cfg = train.load_config(TINY, [f"data.dir={dataset}", f"data.valid_dir={dataset}"])
    assert len(train.Trainer(cfg, tmp_path / "valid-dir", quiet=True).valid_data) > 0
    with pytest.raises(train.TrainError):
        missing = [f"data.dir={dataset}", f"data.valid_dir={tmp_path / 'none'}"]
        train.Trainer(train.load_config(TINY, missing), tmp_path / "missing", quiet=True)

    # a baseline beside it, then the report
    base = tmp_path / "baseline"
    assert run_train(dataset, base, "--set", "model.kind=baseline", "--max-steps", "3") == 0
    assert load_checkpoint(base / "detector")[2].kind == "baseline"
    report, numbers = tmp_path / "EVAL.md", tmp_path / "eval.json"
    args = ["--checkpoint", str(straight / "detector"), "--baseline", str(base / "detector")]
    args += ["--data", str(dataset), "--split", "test", "--out", str(report), "--json", str(numbers)]
    assert evaluate.main(args) == 0
    text = report.read_text()
    for heading in ("## Overall", "## Per rule", "## By distance in graph hops", "## By distance in lines"):
        assert heading in text
    assert "| detector | baseline |" in text and "CG001" in text and "| 0.5 |" in text
    assert "Paired differences, detector minus baseline" in text
    assert "| joint detector − baseline (95% CI) |" in text
    data = json.loads(numbers.read_text())
    assert data["detector"]["summary"]["units"] == 24
    curve = data["detector"]["curve"]  # recall at every threshold 0.01 ... 0.99, as on the coarse grid
    assert [r["threshold"] for r in curve] == [k / 100 for k in range(1, 100)]
    assert all(x["recall"] >= y["recall"] for x, y in itertools.pairwise(curve))
    for row in data["detector"]["thresholds"]:
        assert next(r for r in curve if r["threshold"] == row["threshold"])["recall"] == row["recall"]
    # the same split of two builds (here one build twice): twice the units, the same rates
    twice = tmp_path / "twice.json"
    args = ["--checkpoint", str(straight / "detector"), "--baseline", str(base / "detector")]
    args += ["--data", str(dataset), "--data", str(dataset), "--out", str(tmp_path / "E2.md")]
    assert evaluate.main([*args, "--json", str(twice)]) == 0
    doubled = json.loads(twice.read_text())["detector"]["summary"]
    assert doubled["units"] == 48 and doubled["joint"] == data["detector"]["summary"]["joint"]
    assert f"`{dataset}`, `{dataset}`" in (tmp_path / "E2.md").read_text()
    assert 0 <= data["baseline"]["summary"]["accuracy"] <= 1
    # a no-bug bias moves the operating point: huge, every unit is called clean; very negative, none
    for bias, no_bug in (("1000", 1.0), ("-1000", 0.0)):
        shifted = tmp_path / f"bias{bias}.json"
        args = ["--checkpoint", str(straight / "detector"), "--data", str(dataset), "--no-bug-bias", bias]
        assert evaluate.main([*args, "--out", str(tmp_path / "B.md"), "--json", str(shifted)]) == 0
        summary = json.loads(shifted.read_text())["detector"]["summary"]
        assert summary["no_bug_accuracy"] == no_bug and summary["detection"] == 1.0 - no_bug
        assert f"- no-bug bias: {float(bias):+g} on every no-bug logit" in (tmp_path / "B.md").read_text()
    # the bias fitted on the validation split: reported per model, and exclusive with a given one
    args = ["--checkpoint", str(straight / "detector"), "--data", str(dataset), "--fit-no-bug-bias"]
    assert evaluate.main([*args, "--out", str(tmp_path / "F.md")]) == 0
    line = next(x for x in (tmp_path / "F.md").read_text().splitlines() if x.startswith("- no-bug bias:"))
    assert (
        f"fitted on the `valid` split of `{dataset}`" in line and "detector " in line and "T_location" in line
    )
    assert evaluate.main([*args, "--no-bug-bias", "0.5"]) == 2


def test_clear_errors(tmp_path: Path) -> None:
    assert run_train(tmp_path / "no-dataset", tmp_path / "out") == 2
    assert evaluate.main(["--checkpoint", str(tmp_path / "missing")]) == 2
    assert evaluate.main([]) == 2


def test_outcomes_count_the_right_things(dataset: Path) -> None:
    """The metrics of a model that always says 'no bug' with certainty."""
    from codegraph.models.layers.bug_heads import BugLogits
    from codegraph.models.tensors import collate, load_shard

    data = load_shard(sorted((dataset / "test").glob("*.pt"))[0])
    batch = collate(data)
    c, r = batch.cand_node.numel(), batch.rep_cand.numel()
    logits = BugLogits(
        no_bug=torch.full((len(data),), 50.0),
        loc=torch.zeros(c),
        rep=torch.zeros(r),
        cand_graph=batch.cand_graph,
        rep_cand=batch.rep_cand,
    )
    o = metrics.outcomes(logits, batch)
    s = metrics.summary(o)
    clean = int((batch.y_loc < 0).sum())
    assert s["no_bug_accuracy"] == 1.0 and s["detection"] == 0.0 and s["localisation"] == 0.0
    assert s["accuracy"] == pytest.approx(clean / len(data))
    assert torch.all(o.confidence < 1e-10)
    rows = metrics.precision_recall(o)
    assert rows[0]["flagged"] == 0 and rows[0]["recall"] == 0.0


def test_precision_recall_counts_flags_of_buggy_and_clean_units() -> None:
    # units: two buggy found (0.99, 0.6), one buggy mislocated (0.98), one buggy missed (0.1),
    # clean units at 0.97, 0.5, 0.2 and 0.0
    o = metrics.Outcomes.empty()
    n = 8
    fields = {name: getattr(o, name).new_zeros(n) for name in o.__dataclass_fields__}
    fields["is_bug"] = torch.tensor([True, True, True, True, False, False, False, False])
    fields["top_ok"] = torch.tensor([True, True, False, False, False, False, False, False])
    fields["confidence"] = torch.tensor([0.99, 0.6, 0.98, 0.1, 0.97, 0.5, 0.2, 0.0])
    rows = {
        r["threshold"]: r for r in metrics.precision_recall(metrics.Outcomes(**fields), (0.5, 0.97, 0.995))
    }
    assert rows[0.5] == pytest.approx(
        {"threshold": 0.5, "flagged": 5, "precision": 2 / 5, "recall": 2 / 4, "clean_flagged": 2 / 4}
    )
    assert rows[0.97] == pytest.approx(
        {"threshold": 0.97, "flagged": 3, "precision": 1 / 3, "recall": 1 / 4, "clean_flagged": 1 / 4}
    )
    assert rows[0.995]["flagged"] == 0 and rows[0.995]["precision"] != rows[0.995]["precision"]  # nan
    assert DEFAULT_MIN_CONFIDENCE in metrics.THRESHOLDS  # the reports show the scanner's threshold


def test_paired_difference_and_its_interval() -> None:
    same = torch.tensor([True, False] * 50)
    assert metrics.paired_difference(same, same) == (0.0, 0.0, 0.0)
    right, wrong = torch.ones(40, dtype=torch.bool), torch.zeros(40, dtype=torch.bool)
    assert metrics.paired_difference(right, wrong) == (1.0, 1.0, 1.0)
    assert all(x != x for x in metrics.paired_difference(right[:0], wrong[:0]))

    g = torch.Generator().manual_seed(0)
    b = torch.rand(4000, generator=g) < 0.5
    a = b.clone()
    a[:300] = True  # a is also right on the units b got wrong among the first 300
    diff, lo, hi = metrics.paired_difference(a, b)
    assert diff == pytest.approx(float(a.float().mean() - b.float().mean()))
    assert 0 < lo < diff < hi
    # the interval is the normal one for the mean of the per-unit differences
    d = (a.long() - b.long()).double()
    half = 1.96 * float(d.std() / len(d) ** 0.5)
    assert (hi - lo) / 2 == pytest.approx(half, rel=0.1)
    assert eval_report._pts((diff, lo, hi)).endswith("*")

    # two unrelated coin flips: no difference can be claimed
    x, y = torch.rand(300, generator=g) < 0.5, torch.rand(300, generator=g) < 0.5
    mid, lo, hi = metrics.paired_difference(x, y)
    assert lo < 0 < hi and not eval_report._pts((mid, lo, hi)).endswith("*")

"""Shippable checkpoints (safetensors + JSON sidecar) and the batched Predictor."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import torch

from codegraph.models.detector import build_model
from codegraph.models.model import ModelConfig
from codegraph.models.predict import (
    ModelError,
    Prediction,
    Predictor,
    checkpoint_paths,
    load_checkpoint,
    load_predictor,
    save_checkpoint,
)

sys.path.insert(0, str(Path(__file__).parent))
from toy_units import toy_unit, toy_vocab

TINY = {"hidden": 16, "layers": 2, "heads": 2, "ffn_mult": 2, "rw_k": 4, "lap_k": 3}


@pytest.fixture
def saved(tmp_path: Path):  # type: ignore[no-untyped-def]
    vocab = toy_vocab()
    torch.manual_seed(0)
    model = build_model(ModelConfig(**TINY).with_vocab(vocab)).eval()  # type: ignore[arg-type]
    weights, sidecar = save_checkpoint(
        tmp_path / "det",
        model,
        vocab,
        name="toy",
        temperature=(1.5, 0.8),
        metadata={"note": "test"},
        half=False,
    )
    return model, vocab, weights, sidecar


def units() -> list:  # type: ignore[type-arg]
    empty = toy_unit()
    empty.candidates = []
    return [toy_unit(), empty, toy_unit(swapped=True), toy_unit(bug=1, fix=0)]


def test_checkpoint_files_and_sidecar(saved) -> None:  # type: ignore[no-untyped-def]
    _, vocab, weights, sidecar = saved
    assert weights.name == "det.safetensors" and sidecar.name == "det.json"
    info = json.loads(sidecar.read_text())
    assert info["format"] == "codegraph-checkpoint" and info["name"] == "toy"
    assert info["temperature"] == {"location": 1.5, "repair": 0.8}
    assert info["vocab"] == vocab.to_dict() and info["model"]["hidden"] == 16
    assert len(info["weights"]["sha256"]) == 64
    assert checkpoint_paths(weights) == checkpoint_paths(sidecar) == checkpoint_paths(weights.with_suffix(""))


def test_reload_gives_identical_outputs(saved) -> None:  # type: ignore[no-untyped-def]
    model, vocab, weights, _ = saved
    loaded, vocab2, config, meta = load_checkpoint(weights)
    assert vocab2 == vocab and config == model.config
    assert meta["name"] == "toy" and meta["note"] == "test" and meta["temperature"]["location"] == 1.5
    assert not loaded.training
    original = Predictor(model, vocab, model.config, meta).predict(units())
    again = Predictor(loaded, vocab2, config, meta).predict(units())
    assert original == again  # float32 weights: bit-identical


def test_half_precision_checkpoint(tmp_path: Path, saved) -> None:  # type: ignore[no-untyped-def]
    model, vocab, weights, _ = saved
    w16, _ = save_checkpoint(tmp_path / "half", model, vocab)  # float16 by default
    assert w16.stat().st_size < 0.6 * weights.stat().st_size
    a = load_predictor(w16).predict(units())
    b = load_predictor(w16).predict(units())
    assert a == b
    full = load_predictor(weights)
    full.t_loc = full.t_rep = 1.0  # the half checkpoint was saved at temperature 1
    ref = full.predict(units())
    assert a[0].loc_probs == pytest.approx(ref[0].loc_probs, abs=1e-2)


def test_predictions_are_calibrated_distributions(saved) -> None:  # type: ignore[no-untyped-def]
    _, _, weights, _ = saved
    predictor = load_predictor(weights, num_threads=1)
    assert predictor.name == "toy" and len(predictor.sha256) == 64
    threads = torch.get_num_threads()
    preds = predictor.predict(units())
    assert torch.get_num_threads() == threads  # restored
    assert [p.function for p in preds] == ["toy.f"] * 4
    assert all(isinstance(p, Prediction) for p in preds)
    empty = preds[1]
    assert empty.p_no_bug == 1.0 and empty.loc_probs == [] and empty.best() is None
    for p in (preds[0], preds[2], preds[3]):
        assert len(p.loc_probs) == 4 and all(len(r) == 2 for r in p.rep_probs)
        assert p.p_no_bug + sum(p.loc_probs) == pytest.approx(1.0, abs=1e-5)
        assert all(sum(r) == pytest.approx(1.0, abs=1e-5) for r in p.rep_probs)
        _, _, conf = p.best()  # type: ignore[misc]
        assert conf == pytest.approx(max(lp * rp for lp, row in zip(p.loc_probs, p.rep_probs) for rp in row))
    # the same units one at a time give the same numbers as in a batch
    single = predictor.predict([units()[2]])[0]
    assert single.loc_probs == pytest.approx(preds[2].loc_probs, abs=1e-6)
    # temperature: a hotter location softmax is flatter
    hot = Predictor(predictor.model, predictor.vocab, predictor.config, {"temperature": {"location": 10.0}})
    cold = Predictor(predictor.model, predictor.vocab, predictor.config, {"temperature": {"location": 0.1}})
    hot_p, cold_p = hot.predict(units()[:1])[0], cold.predict(units()[:1])[0]
    spread = [max([*p.loc_probs, p.p_no_bug]) for p in (hot_p, cold_p)]
    assert spread[0] < spread[1]


def corrupt(path: Path, offset: int = -10) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


def test_corrupt_weights_raise_model_error(saved) -> None:  # type: ignore[no-untyped-def]
    _, _, weights, _ = saved
    corrupt(weights)
    with pytest.raises(ModelError, match="corrupt or was modified"):
        load_checkpoint(weights)


def test_tampered_weights_with_matching_hash_raise_model_error(saved) -> None:  # type: ignore[no-untyped-def]
    """A truncated file whose sha256 was 'fixed' in the sidecar still cannot be read."""
    import hashlib

    _, _, weights, sidecar = saved
    weights.write_bytes(weights.read_bytes()[:100])
    info = json.loads(sidecar.read_text())
    info["weights"]["sha256"] = hashlib.sha256(weights.read_bytes()).hexdigest()
    sidecar.write_text(json.dumps(info))
    with pytest.raises(ModelError, match="cannot read the model weights"):
        load_checkpoint(weights)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda info: info.update(format="something-else"), "not a codegraph checkpoint"),
        (lambda info: info.update(version=99), "version 99"),
        (lambda info: info["model"].update(hidden=32, heads=2), "does not fit the model|has shape"),
        (lambda info: info["model"].update(layers=3), "does not fit the model"),
        (lambda info: info["model"].update(kind="nonsense"), "invalid checkpoint description"),
        (lambda info: info["vocab"]["subtokens"].append("extra"), "vocabulary sizes"),
        (lambda info: info.pop("vocab"), "invalid checkpoint description"),
    ],
)
def test_bad_sidecars_raise_model_error(saved, edit, message: str) -> None:  # type: ignore[no-untyped-def]
    _, _, weights, sidecar = saved
    info = json.loads(sidecar.read_text())
    edit(info)
    sidecar.write_text(json.dumps(info))
    with pytest.raises(ModelError, match=message):
        load_checkpoint(weights)


def test_missing_or_unreadable_files_raise_model_error(saved, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _, _, weights, sidecar = saved
    with pytest.raises(ModelError, match="not found"):
        load_checkpoint(tmp_path / "nothing.safetensors")
    sidecar.write_text("{not json")
    with pytest.raises(ModelError, match="cannot read the model sidecar"):
        load_checkpoint(weights)
    sidecar.unlink()
    with pytest.raises(ModelError, match="not found"):
        load_predictor(str(weights))

"""A checkpoint records the rules and edge kinds it was trained with; one that lacks some of this
code's still loads and scores the rest (runtime model and torch model alike), and scan says, in
one line, which rules are left off."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from codegraph.context import units_for_file
from codegraph.graph import build_file_graph
from codegraph.models.checkpoint import LEGACY_EDGE_KINDS, LEGACY_RULES, checkpoint_rules
from codegraph.models.detector import ModelConfig, build_model
from codegraph.models.predict import load_checkpoint, load_predictor, save_checkpoint
from codegraph.models.runtime import load_runtime, read_sidecar
from codegraph.models.schema_map import EDGE_KIND_NAMES, SchemaMap
from codegraph.models.tensorize import PAD, UNK, VIRTUAL, Vocabulary
from codegraph.rules import RULE_CODES
from codegraph.schema import EdgeKind
from codegraph.scope_analysis import analyze_scopes
from codegraph.units import AnalysisUnit

SOURCE = b"""\
def total(items, scale):
    acc = 0
    for item in items:
        acc = item * scale
    return clamp(acc, scale)


def clamp(value, limit):
    return min(value, limit)
"""
OLD_RULES = tuple(r for r in RULE_CODES if r != "CG008")  # as if trained before CG008 existed
OLD_EDGES = tuple(k for k in EDGE_KIND_NAMES if k != "FORMAL_ARG_NAME")


def _save(path: Path, **config: object) -> Path:
    vocab = Vocabulary(
        [PAD, UNK, VIRTUAL, "identifier", "call"], [PAD, UNK, "acc"], [PAD, UNK, "var", "swap"]
    )
    torch.manual_seed(0)
    tiny = {"hidden": 16, "layers": 2, "heads": 2, "rw_k": 4, "lap_k": 2, "name_edges": True}
    model_config = ModelConfig(**{**tiny, **config}).with_vocab(vocab)  # type: ignore[arg-type]
    save_checkpoint(path, build_model(model_config), vocab, name="old", half=False)
    return path


def _total() -> AnalysisUnit:
    g = build_file_graph(SOURCE, "m.py", "m")
    return units_for_file(g, analyze_scopes(g))[0]


def _without_formal_arg_edges(unit: AnalysisUnit) -> AnalysisUnit:
    keep = [i for i, k in enumerate(unit.edge_kind) if k != EdgeKind.FORMAL_ARG_NAME]
    unit.src = [unit.src[i] for i in keep]
    unit.dst = [unit.dst[i] for i in keep]
    unit.edge_kind = [unit.edge_kind[i] for i in keep]
    return unit


def test_the_sidecar_records_rules_and_edge_kinds(tmp_path: Path) -> None:
    path = _save(tmp_path / "new")
    model = json.loads(path.with_suffix(".json").read_text())["model"]
    assert model["rules"] == list(RULE_CODES)
    assert model["edge_kinds"] == [k.name for k in sorted(EdgeKind)]
    assert read_sidecar(path).config.rules == RULE_CODES == checkpoint_rules(str(path))
    assert load_checkpoint(path)[2].edge_kinds == EDGE_KIND_NAMES


def test_a_sidecar_without_them_was_trained_with_the_legacy_lists(tmp_path: Path) -> None:
    path = _save(tmp_path / "legacy")
    sidecar = path.with_suffix(".json")
    info = json.loads(sidecar.read_text())
    del info["model"]["rules"], info["model"]["edge_kinds"]
    sidecar.write_text(json.dumps(info))
    for config in (read_sidecar(path).config, load_checkpoint(path)[2]):
        assert config.rules == LEGACY_RULES and config.edge_kinds == LEGACY_EDGE_KINDS
    assert checkpoint_rules(str(path)) == LEGACY_RULES
    assert tuple(f"CG00{i}" for i in range(1, 9)) == LEGACY_RULES
    assert tuple(k.name for k in sorted(EdgeKind) if k <= EdgeKind.FORMAL_ARG_NAME) == LEGACY_EDGE_KINDS
    # the shipped model records none: it scores every rule this code has today
    shipped = load_runtime()
    assert shipped.config.rules == LEGACY_RULES and shipped.missing_rules == ()


def test_schema_map_renumbers_into_the_models_ids() -> None:
    schema = SchemaMap(("CG002", "CG001"), ("CHILD", "CALLS"))
    assert schema.missing_rules == tuple(r for r in RULE_CODES if r not in ("CG001", "CG002"))
    assert schema.rule_ids[:3].tolist() == [1, 0, -1]
    k = len(EdgeKind)
    types = schema.edge_types
    assert types[EdgeKind.CHILD] == 0 and types[EdgeKind.CALLS] == 1 and types[EdgeKind.NEXT_TOKEN] == -1
    assert types[k + EdgeKind.CALLS] == 3 and types[2 * k] == 4  # reverse, then the first shortcut type
    assert SchemaMap(RULE_CODES, EDGE_KIND_NAMES).identity
    fewer = ModelConfig(edge_kinds=("CHILD", "CALLS"))
    assert fewer.num_edge_types == ModelConfig().num_edge_types - 2 * (k - 2)


@pytest.mark.parametrize("loader", [load_runtime, load_predictor], ids=["runtime", "torch"])
def test_a_model_without_a_rule_and_an_edge_kind_scores_the_rest(tmp_path: Path, loader) -> None:  # type: ignore[no-untyped-def]
    predictor = loader(_save(tmp_path / "old", rules=OLD_RULES, edge_kinds=OLD_EDGES))
    assert predictor.missing_rules == ("CG008",)
    unit = _total()
    rules = {c.rule for c in unit.candidates}
    assert {"CG008", "CG001"} <= rules
    assert EdgeKind.FORMAL_ARG_NAME in unit.edge_kind
    (pred,) = predictor.predict([unit])
    assert len(pred.loc_probs) == len(unit.candidates)
    for cand, p_loc, p_rep in zip(unit.candidates, pred.loc_probs, pred.rep_probs, strict=True):
        assert len(p_rep) == len(cand.repairs)
        if cand.rule == "CG008":
            assert p_loc == 0.0 and set(p_rep) == {0.0}
        else:
            assert p_loc > 0.0 and sum(p_rep) == pytest.approx(1.0, abs=1e-5)
    assert pred.p_no_bug + sum(pred.loc_probs) == pytest.approx(1.0, abs=1e-5)
    # the edges of the kind the model lacks never reach it: without them the scores are the same
    (same,) = predictor.predict([_without_formal_arg_edges(_total())])
    assert np.allclose(same.loc_probs, pred.loc_probs, atol=1e-6)


def test_runtime_and_torch_model_agree_on_a_model_lacking_a_rule(tmp_path: Path) -> None:
    path = _save(tmp_path / "old", rules=OLD_RULES, edge_kinds=OLD_EDGES)
    g = build_file_graph(SOURCE, "m.py", "m")
    units = [u for u in units_for_file(g, analyze_scopes(g)) if u.candidates]
    ours, theirs = load_runtime(path).predict(units), load_predictor(path).predict(units)
    for a, b in zip(ours, theirs, strict=True):
        assert a.p_no_bug == pytest.approx(b.p_no_bug, abs=1e-4)
        assert np.allclose(a.loc_probs, b.loc_probs, atol=1e-4)


def test_scan_with_a_model_lacking_a_rule_says_so_once_and_finds_none_of_it(tmp_path: Path) -> None:
    model = _save(tmp_path / "old", rules=OLD_RULES)
    (tmp_path / "m.py").write_bytes(SOURCE)
    proc = subprocess.run(
        [sys.executable, "-m", "codegraph", "scan", "m.py", "--model", str(model), "--min-confidence", "0",
         "--format", "json", "--no-cache"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert lines == [
        "codegraph: the model was not trained with CG008 (wrong-assignment-operator); CG008 is left off"
    ]
    findings = json.loads(proc.stdout)["findings"]
    assert {f["function"] for f in findings} >= {"m.total", "m.clamp"}
    assert all(f["rule"] != "CG008" for f in findings)
    # a rule the user switched off is not worth a word
    proc = subprocess.run(
        [sys.executable, "-m", "codegraph", "scan", "m.py", "--model", str(model), "--ignore", "CG008",
         "--no-cache"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert "left off" not in proc.stderr

"""Real fixes as units: the labelled buggy function, its fixed twin, scores and the threshold rule."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from codegraph.command import CommandError
from codegraph.models.predict import load_predictor
from codegraph.models.training import realfixes
from codegraph.models.training.realfixes import Scored, choose_threshold, fix_units, metrics

SOURCE = """\
def area(width, height):
    scale = 2
    return width * width * scale


def other(a, b):
    return a + b
"""


def record(**over: Any) -> dict[str, Any]:
    rec = {
        "id": "o/r@abc:geo.py:3",
        "repo": "o/r",
        "rule": "CG001",
        "path": "geo.py",
        "line": 3,
        "buggy_line": "    return width * width * scale",
        "fixed_line": "    return width * height * scale",
        "bug": {"line": 3, "column": 20, "end_line": 3, "end_column": 25, "text": "width"},
        "fix": {"line": 3, "column": 20, "end_line": 3, "end_column": 25, "replacement": "height"},
        "source": SOURCE,
    }
    rec.update(over)
    return rec


def test_the_real_fix_is_marked_on_the_buggy_unit() -> None:
    fu = fix_units(record(), clean=1)
    assert fu.reason == "" and fu.match is not None
    unit = fu.buggy
    assert unit is not None and (unit.bug, unit.fix) == fu.match
    rep = unit.candidates[unit.bug].repairs[unit.fix]
    assert (rep.rule, rep.replacement) == ("CG001", "height")
    assert SOURCE.encode()[rep.start_byte : rep.end_byte] == b"width"
    assert rep.start_byte == SOURCE.index("width * scale")
    assert fu.fixed is not None and fu.fixed.bug == -1 and fu.fixed.function == "area"
    assert [u.function for u in fu.clean] == ["other"]


def unexpressible_record() -> dict[str, Any]:
    """A fix to a name that occurs nowhere in the file: outside the enumeration."""
    return record(
        buggy_line="    return width * width * scale",
        fixed_line="    return width * width * SCALE",
        bug={"line": 3, "column": 32, "end_line": 3, "end_column": 37, "text": "scale"},
        fix={"line": 3, "column": 32, "end_line": 3, "end_column": 37, "replacement": "SCALE"},
    )


def test_a_fix_outside_the_enumeration_is_not_expressible() -> None:
    fu = fix_units(unexpressible_record())
    assert fu.match is None and fu.buggy is not None and fu.buggy.bug == -1


def test_module_level_fixes_are_units_of_the_module() -> None:
    src = "import os\n\nLIMIT = 11\nPATH = os.sep\n"
    rec = record(
        source=src,
        rule="CG006",
        line=3,
        buggy_line="LIMIT = 11",
        fixed_line="LIMIT = 10",
        bug={"line": 3, "column": 9, "end_line": 3, "end_column": 11, "text": "11"},
        fix={"line": 3, "column": 9, "end_line": 3, "end_column": 11, "replacement": "10"},
    )
    fu = fix_units(rec)
    assert fu.reason == "" and fu.match is not None
    assert fu.buggy.function == fu.fixed.function == "geo"  # the module's unit, named after the file
    ci, ri = fu.match
    assert fu.buggy.candidates[ci].repairs[ri].replacement == "10"


def test_cached_scores_agree_with_the_predictor() -> None:
    predictor = load_predictor(None)
    entry = realfixes.score_inputs(record(), predictor, clean=1)
    assert [u["role"] for u in entry["units"]] == ["buggy", "fixed", "clean"]
    (scored,), clean = realfixes.score_cached([entry], None)
    fu = fix_units(record())
    pred = predictor.predict([fu.buggy, fu.fixed])
    best = pred[0].best()
    assert best is not None
    assert abs(scored.confidence - best[2]) < 1e-5
    assert scored.joint_ok == ((best[0], best[1]) == fu.match)
    assert scored.expressible and len(clean) == 1 and clean[0][1] == 2


def test_cached_scores_of_the_runtime_model_agree_with_the_torch_model(tmp_path: Path) -> None:
    from codegraph.models.export import export_runtime
    from codegraph.models.predict import DEFAULT_CHECKPOINT, load_checkpoint

    for suffix in (".json", ".safetensors"):  # the shipped weights with a float32 runtime model
        (tmp_path / f"detector{suffix}").write_bytes(DEFAULT_CHECKPOINT.with_suffix(suffix).read_bytes())
    export_runtime(load_checkpoint(tmp_path / "detector")[0], tmp_path / "detector")
    entry = realfixes.score_inputs(record(), load_predictor(None), clean=1)
    (torch_scored,), torch_clean = realfixes.score_cached([entry], None)
    (int8_scored,), _ = realfixes.score_cached([entry], "runtime:shipped")  # the shipped runtime: int8
    assert abs(int8_scored.confidence - torch_scored.confidence) < 0.05
    (runtime_scored,), runtime_clean = realfixes.score_cached([entry], f"runtime:{tmp_path / 'detector'}")
    assert abs(runtime_scored.confidence - torch_scored.confidence) < 1e-4
    assert runtime_scored.fixed_confidence == pytest.approx(torch_scored.fixed_confidence, abs=1e-4)
    assert (runtime_scored.loc_ok, runtime_scored.joint_ok) == (torch_scored.loc_ok, torch_scored.joint_ok)
    assert [c for c, _ in runtime_clean] == pytest.approx([c for c, _ in torch_clean], abs=1e-4)


def scored(conf: float, joint: bool, fixed: float) -> Scored:
    return Scored("i", "r", "CG001", True, conf, joint, joint, joint, fixed, 100)


def test_threshold_rule() -> None:
    valid = [
        scored(0.9, True, 0.1),
        scored(0.6, True, 0.55),
        scored(0.3, False, 0.2),
        scored(0.95, True, 0.96),
    ]
    released = [(0.5, 1000), (0.8, 1000), (0.1, 8000)]
    # below 0.56 two of the four fixed functions are flagged; 0.56 flags one (0.96) and one released
    # function of 10,000 lines (0.8): both limits hold, and recall only falls above it
    choice = choose_threshold(valid, released, max_fixed_flagged=0.25, max_per_kloc=0.1)
    assert choice is not None
    t, row = choice
    assert t == 0.56
    assert row == {"threshold": 0.56, "recall": 0.75, "fixed_flagged": 0.25, "per_kloc": 0.1}
    m = metrics(valid, 0.0)
    assert m["joint"] == 0.75 and m["fixed_flagged"] == 1.0
    assert choose_threshold(valid, [(1.0, 10)], max_fixed_flagged=0.0, max_per_kloc=0.0) is None
    # a corpus population of 20,000 lines with three functions at 0.7, 0.65 and 0.62: 0.56 gives
    # 0.15 findings per 1,000 lines there, over the limit; 0.63 gives 0.1 and recall falls to 0.5
    corpus = [("corpus split valid", [0.7, 0.65, 0.62, 0.1], 20_000)]
    t, row = choose_threshold(valid, released, max_fixed_flagged=0.25, max_per_kloc=0.1, corpus=corpus) or (
        0,
        {},
    )
    assert t == 0.63
    assert row["recall"] == 0.5 and row["per_kloc corpus split valid"] == 0.1


def test_corpus_released_reads_threshold_flags(tmp_path: Path) -> None:
    flags = tmp_path / "flags.json"
    pop = {"functions": 3, "lines": 120, "confidence": [0.5, 0.9], "group": ["a", "b"]}
    flags.write_text(json.dumps({"model": {}, "populations": {"corpus split valid": pop}}))
    assert realfixes.corpus_released(flags) == [("corpus split valid", [0.5, 0.9], 120)]
    del pop["lines"]
    flags.write_text(json.dumps({"model": {}, "populations": {"corpus split valid": pop}}))
    with pytest.raises(CommandError, match="not a `threshold flags` file with line counts"):
        realfixes.corpus_released(flags)

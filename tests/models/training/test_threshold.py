"""Choosing the default threshold: injected-bug precision and the flag rate on released code."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from codegraph.config import Settings
from codegraph.graph import build_file_graph
from codegraph.models.training import threshold
from codegraph.pipeline import Analyzer

# precision, recall, flagged units per threshold of injected bugs
CURVE = {0.8: (0.94, 0.50, 100), 0.85: (0.96, 0.45, 90), 0.9: (0.97, 0.40, 80), 0.95: (0.99, 0.30, 60)}


def _real(confidence: list[float], group: list[str] | None = None) -> threshold.Population:
    return threshold.Population("p", np.array(confidence), group or ["a"] * len(confidence), {})


def test_choose_takes_the_lowest_threshold_meeting_both_rules() -> None:
    synthetic = threshold.Synthetic(CURVE)
    # 1,000 functions: five at 0.87, one at 0.92, one at 0.97 -> flags 7, 7, 2, 1 at 0.8 ... 0.95
    real = _real([0.87] * 5 + [0.92, 0.97] + [0.1] * 993)
    assert threshold.choose(synthetic, real, 0.95, 0.002) == 0.9  # 0.85 flags 0.7%
    assert threshold.choose(synthetic, real, 0.95, 0.01) == 0.85  # 0.8 has precision 94%
    assert threshold.choose(synthetic, real, 0.98, 0.01) == 0.95
    assert threshold.choose(synthetic, real, 0.90, 0.01) == 0.8
    with pytest.raises(threshold.ThresholdError, match="no threshold"):
        threshold.choose(synthetic, real, 0.95, 0.0)  # 0.97 is flagged at every threshold


def _corpus(root: Path) -> None:
    files = {
        (
            "geom",
            "valid",
            "geom/core.py",
        ): b"def area(w, h):\n    return w * h\n\n\ndef side(a, b):\n    return a < b\n",
        ("geom", "valid", "geom/broken.py"): b"def f(:\n",
        ("util", "valid", "util/io.py"): b"def read(path, mode):\n    return open(path, mode)\n",
        ("other", "train", "other/x.py"): b"def g(a, b):\n    return a - b\n",
    }
    entries = []
    for (package, split, relpath), source in files.items():
        (root / "files" / relpath).parent.mkdir(parents=True, exist_ok=True)
        (root / "files" / relpath).write_bytes(source)
        entries.append(
            {"package": package, "version": "1", "split": split, "relpath": relpath, "sha256": "", "lines": 2}
        )
    (root / "corpus.json").write_text(json.dumps({"files": entries}))


def test_flags_scores_every_function_of_the_split(tmp_path: Path, tiny_model: Path) -> None:
    _corpus(tmp_path / "corpus")
    out = tmp_path / "real.json"
    argv = [
        "flags",
        "--corpus",
        str(tmp_path / "corpus"),
        "--checkpoint",
        str(tiny_model),
        "--json",
        str(out),
    ]
    assert threshold.main(argv) == 0
    payload = json.loads(out.read_text())
    assert payload["model"]["name"] == "tiny-random"
    pop = payload["populations"]["corpus split valid"]
    analyzer = Analyzer(Settings(model=str(tiny_model)))
    expected, functions = [], 0
    for relpath in ("geom/core.py", "geom/broken.py", "util/io.py"):  # not the train split's file
        source = (tmp_path / "corpus" / "files" / relpath).read_bytes()
        graph = build_file_graph(source, relpath)
        expected += [relpath.split("/")[0]] * len(analyzer.units(analyzer.prepare(relpath, source)))
        functions += len(graph.functions)
    assert pop["group"] == expected and len(pop["confidence"]) == len(expected) >= 3
    assert pop["functions"] == functions and all(0.0 <= c <= 1.0 for c in pop["confidence"])
    population = threshold.Population.load(out)
    assert population.name == "corpus split valid" and population.group == expected

    empty = ["flags", "--corpus", str(tmp_path / "corpus"), "--split", "test", "--json", str(out)]
    assert threshold.main(empty) == 2


def test_choose_writes_the_report_and_rejects_bad_input(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    curve = [{"threshold": t, "precision": p, "recall": r, "flagged": n} for t, (p, r, n) in CURVE.items()]
    (tmp_path / "eval.json").write_text(json.dumps({"detector": {"curve": curve}}))
    confidence = [0.87] * 5 + [0.92] + [0.1] * 994
    valid = {
        "populations": {
            "corpus split valid": {"functions": 1000, "confidence": confidence, "group": ["a"] * 1000}
        }
    }
    (tmp_path / "valid.json").write_text(json.dumps(valid))
    out = tmp_path / "THRESHOLD.md"
    argv = ["choose", "--eval", str(tmp_path / "eval.json"), "--real", str(tmp_path / "valid.json"),
            "--max-flag-rate", "0.002", "--out", str(out)]  # fmt: skip
    assert threshold.main(argv) == 0
    text = out.read_text()
    assert "| 0.90 | 97.0% | 40.0% | 1 | 0.10% | chosen |" in text
    assert "| 0.85 | 96.0% | 45.0% | 6 | 0.60% |  |" in text

    assert threshold.main([*argv[:-2], "--max-flag-rate", "0", "--min-precision", "0.995"]) == 2
    assert "no threshold" in capsys.readouterr().err
    assert threshold.main(["choose", "--eval", str(tmp_path / "missing.json"), "--real", str(out)]) == 2
    assert threshold.main([*argv, "--key", "baseline"]) == 2

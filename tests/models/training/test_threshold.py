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


def test_flag_ratio_counts_and_resamples_packages() -> None:
    real = _real([0.9, 0.9, 0.86, 0.5, 0.96, 0.86, 0.1], ["p", "p", "p", "p", "q", "q", "q"])
    ratio = threshold.flag_ratio(real, 0.88, 0.85, draws=500)
    assert ratio is not None
    assert ratio[0] == pytest.approx(3 / 5)  # 0.9, 0.9, 0.96 against those and 0.86 twice
    assert ratio[1] <= 0.6 <= ratio[2] and ratio[1] >= 0.5 and ratio[2] <= 2 / 3  # p: 2/3, q: 1/2
    assert threshold.flag_ratio(real, 0.99, 0.97) is None


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
        graph = build_file_graph((tmp_path / "corpus" / "files" / relpath).read_bytes(), relpath)
        expected += [relpath.split("/")[0]] * len(analyzer.units(graph, None))
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
    held_out = {
        "model": {"name": "m", "sha256": "0" * 64},
        "populations": {
            "files of the fixes (newer release)": {"functions": 1, "confidence": [0.99], "group": ["z"]},
            "newest releases (1 files per package)": {
                "functions": 4,
                "confidence": [0.86, 0.91, 0.86, 0.2],
                "group": ["x", "x", "y", "y"],
            },
        },
    }
    (tmp_path / "valid.json").write_text(json.dumps(valid))
    (tmp_path / "test.json").write_text(json.dumps(held_out))
    out = tmp_path / "THRESHOLD.md"
    argv = ["choose", "--eval", str(tmp_path / "eval.json"), "--real", str(tmp_path / "valid.json"),
            "--max-flag-rate", "0.002", "--compare-with", "0.85", "--out", str(out)]  # fmt: skip
    assert threshold.main(argv) == 0
    text = out.read_text()
    assert "| 0.90 | 97.0% | 40.0% | 1 | 0.10% | chosen |" in text
    assert "| 0.85 | 96.0% | 45.0% | 6 | 0.60% | compared |" in text
    assert "Held-out" not in text

    both = [*argv, "--test-eval", str(tmp_path / "eval.json"), "--test-real", str(tmp_path / "test.json")]
    assert threshold.main(both) == 0
    text = out.read_text()
    assert "| 0.90 (chosen) | 97.0% | 40.0% | 1 | 25.00% |" in text  # the newest-release population
    assert "| 0.85 (compared) | 96.0% | 45.0% | 3 | 75.00% |" in text
    assert "Flags at 0.90 / flags at 0.85 on the held-out released functions: 0.33 [" in text

    alone = threshold.render(
        threshold.Synthetic(CURVE), threshold.Population.load(tmp_path / "valid.json"), 0.95, 0.002, 0.9,
        (threshold.Synthetic(CURVE), threshold.Population.load(tmp_path / "test.json")),
    )  # fmt: skip
    assert "| 0.90 (chosen) |" in alone and "compared" not in alone and "Flags at" not in alone

    assert threshold.main([*argv[:-2], "--max-flag-rate", "0", "--min-precision", "0.995"]) == 2
    assert "no threshold" in capsys.readouterr().err
    assert threshold.main([*argv, "--test-eval", str(tmp_path / "eval.json")]) == 2
    assert threshold.main(["choose", "--eval", str(tmp_path / "missing.json"), "--real", str(out)]) == 2
    assert threshold.main([*argv, "--key", "baseline"]) == 2
    assert threshold.main([*both, "--test-key", "baseline"]) == 2

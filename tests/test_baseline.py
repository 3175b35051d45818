"""Baselines hide known findings, survive line shifts and count duplicates."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from codegraph.baseline import Baseline, BaselineError, fingerprint, fingerprints, normalise_line
from codegraph.findings import Finding, Fix


def _finding(line: int, function: str = "m.f", rule: str = "CG001") -> Finding:
    return Finding(
        "m.py", line, 5, line, 6, rule, "variable-misuse", "msg", 0.9, function, Fix(line, 5, line, 6, "b")
    )


def _lines(text: str):
    return lambda path: text.splitlines()


def test_fingerprint_ignores_whitespace_and_line_numbers() -> None:
    assert normalise_line("   x  =\ta  +  b ") == "x = a + b"
    assert fingerprint(_finding(3), "  x = a + a") == fingerprint(_finding(40), "x   = a + a")
    assert fingerprint(_finding(3), "x = a + a") != fingerprint(_finding(3, rule="CG003"), "x = a + a")
    assert fingerprint(_finding(3), "x = a + a") != fingerprint(_finding(3, function="m.g"), "x = a + a")


def test_occurrence_index_tells_identical_lines_apart() -> None:
    src = "def f(a, b):\n    x = a\n    x = a\n"
    fps = fingerprints([_finding(3), _finding(2)], _lines(src))
    assert fps[0][0] == fps[1][0] and fps[1][1] == 0 and fps[0][1] == 1


def test_baseline_hides_known_findings_after_a_shift(tmp_path: Path) -> None:
    src = "def f(a, b):\n    x = a\n    return x + a\n"
    known = [_finding(2), _finding(3)]
    path = tmp_path / "baseline.json"
    Baseline.from_findings(known, _lines(src)).write(path)
    shifted_src = "import os\n\n" + src + "def g(a, b):\n    return a\n"
    new = _finding(6, function="m.g")
    kept, hidden = Baseline.read(path).filter([replace(f, line=f.line + 2) for f in known] + [new],
                                              _lines(shifted_src))  # fmt: skip
    assert kept == [new] and hidden == 2


def test_counts_limit_what_is_hidden(tmp_path: Path) -> None:
    src = "def f(a, b):\n    x = a\n    x = a\n    x = a\n"
    base = Baseline.from_findings([_finding(2)], _lines(src))
    kept, hidden = base.filter([_finding(2), _finding(3), _finding(4)], _lines(src))
    assert hidden == 1 and [f.line for f in kept] == [3, 4]


def test_file_format(tmp_path: Path) -> None:
    path = tmp_path / "b.json"
    Baseline.from_findings([_finding(2)], _lines("\n    y = a\n")).write(path)
    data = json.loads(path.read_text())
    assert data["version"] == 1 and data["tool"] == "codegraph"
    (row,) = data["findings"]
    assert row["path"] == "m.py" and row["rule"] == "CG001" and row["function"] == "m.f" and row["count"] == 1


@pytest.mark.parametrize("content", ["", "{}", '{"version": 1, "findings": [{"path": 1}]}', "[1]"])
def test_bad_baseline_files(tmp_path: Path, content: str) -> None:
    path = tmp_path / "b.json"
    path.write_text(content)
    with pytest.raises(BaselineError):
        Baseline.read(path)
    with pytest.raises(BaselineError, match="no such baseline"):
        Baseline.read(tmp_path / "missing.json")

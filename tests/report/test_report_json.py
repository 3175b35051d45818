"""The JSON report is exactly the contract object of design.md section 4."""

from __future__ import annotations

import json

from codegraph import __version__
from codegraph.findings import ScanResult
from codegraph.report import ReportMeta, json_report


def test_contract_shape(result: ScanResult, meta: ReportMeta) -> None:
    data = json.loads(json_report.render(result, meta))
    assert list(data) == ["version", "model", "min_confidence", "findings", "errors", "stats"]
    assert data["version"] == __version__
    assert data["model"] == {"name": "tiny", "sha256": "ab" * 32}
    assert data["min_confidence"] == 0.8
    assert data["stats"] == {"files": 3, "functions": 2, "seconds": 0.25}
    assert data["errors"] == [{"path": "pkg/blob.py", "message": "binary file (contains NUL bytes)"}]
    assert data["findings"][0] == {
        "path": "pkg/geometry.py", "line": 3, "column": 20, "end_line": 3, "end_column": 25,
        "rule": "CG001", "name": "variable-misuse",
        "message": "`width` is used here, but `height` looks intended",
        "confidence": 0.934, "function": "pkg.geometry.area",
        "fix": {"line": 3, "column": 20, "end_line": 3, "end_column": 25, "replacement": "height"},
        "related": [{"path": "pkg/geometry.py", "line": 1, "column": 17,
                     "message": "`height` is defined or last used here"}],
    }  # fmt: skip
    assert data["findings"][1]["related"] == []


def test_module_does_not_shadow_stdlib_json() -> None:
    assert json.dumps is not None and json.__name__ == "json"


def test_non_finite_numbers_are_never_written(result: ScanResult, meta: ReportMeta) -> None:
    import dataclasses

    import pytest

    from codegraph.report import sarif

    for bad in (float("nan"), float("inf")):
        result.findings[0] = dataclasses.replace(result.findings[0], confidence=bad)
        for render in (json_report.render, sarif.render):
            with pytest.raises(ValueError, match="not a number between 0 and 1"):
                render(result, meta)

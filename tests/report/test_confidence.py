"""Every report prints a confidence rounded down: a finding shown at 97% passes a 0.97 threshold."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from codegraph.findings import ScanResult, confidence_percent, shown_confidence
from codegraph.report import ReportMeta, github, json_report, sarif, text


def test_rounding_down() -> None:
    assert confidence_percent(0.9652) == "96%"
    assert confidence_percent(0.96999) == "96%"
    assert confidence_percent(0.97) == "97%" and confidence_percent(0.29) == "29%"
    assert shown_confidence(0.96999) == 0.9699 and shown_confidence(0.29) == 0.29
    assert shown_confidence(1.0) == 1.0 and shown_confidence(0.0) == 0.0


def test_every_format_shows_a_value_the_threshold_would_keep(project: Path, result: ScanResult) -> None:
    result.findings = [replace(f, confidence=0.969996) for f in result.findings[:1]]
    meta = ReportMeta(model={"name": "m", "sha256": "0" * 64}, min_confidence=0.9)
    assert "(confidence 96%)" in text.render(result, meta).splitlines()[0]
    assert "(confidence 96%25)" in github.render(result, meta)  # % escaped in workflow commands
    log = json.loads(sarif.render(result, meta))
    (res,) = log["runs"][0]["results"]
    assert res["properties"]["confidence"] == 0.9699 and "(confidence 96%)" in res["message"]["text"]
    assert json.loads(json_report.render(result, meta))["findings"][0]["confidence"] == 0.9699
